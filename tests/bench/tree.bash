# tree.bash: test data for the di-layer and di-closure benchmarks.
#
#   bench_usr_tree DIR MIB    copies of whole directories of /usr/lib and
#                             /usr/share (about half from each) into DIR
#                             until they hold about MIB MiB; prints one
#                             directory name per line

bench_usr_tree() {
	local dir=$1 want=$2 top
	mkdir -p "$dir"
	for top in /usr/lib /usr/share; do
		_bench_fill "$dir" "$top" $((want / 2))
	done
}

_bench_fill() {
	local dir=$1 top=$2 want=$3 total=0 mib d name
	while read -r mib d; do
		[ "$total" -lt "$want" ] || break
		# Skip single directories bigger than what is left to fill.
		[ $((total + mib)) -le $((want + want / 4)) ] || continue
		name=$(basename "$top")-$(basename "$d")
		cp -a "$d" "$dir/$name" 2>/dev/null || continue
		total=$((total + mib))
		echo "$name"
	done < <(du -sm "$top"/* 2>/dev/null | sort -k2)
}

#   bench_time NAME CMD [PREPARE]
#                             median wall seconds of CMD over $BENCH_RUNS
#                             runs into NAME, and its mean CPU seconds (user
#                             and system) into NAME_cpu; PREPARE runs before
#                             each run, untimed
bench_time() {
	local name=$1 cmd=$2 prepare=${3:-true} json
	json=$(mktemp)
	hyperfine --style none --warmup 1 --runs "$BENCH_RUNS" \
		--prepare "$prepare" --export-json "$json" "$cmd" >/dev/null 2>&1 || {
		echo "benchmark failed: $cmd" >&2
		rm -f "$json"
		return 1
	}
	printf -v "$name" '%s' "$(jq '.results[0].median' "$json")"
	printf -v "${name}_cpu" '%s' "$(jq '.results[0].user + .results[0].system' "$json")"
	rm -f "$json"
}
