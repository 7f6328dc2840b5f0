# tree.bash: test data for the di-layer and di-closure benchmarks.
#
#   bench_usr_tree DIR MIB    copies of whole directories of /usr/lib and
#                             /usr/share into DIR until they hold about MIB
#                             MiB; prints one directory name per line

bench_usr_tree() {
	local dir=$1 want=$2 total=0 mib d name
	mkdir -p "$dir"
	while read -r mib d; do
		[ "$total" -lt "$want" ] || break
		# Skip single directories bigger than what is left to fill.
		[ $((total + mib)) -le $((want + want / 4)) ] || continue
		name=$(basename "$(dirname "$d")")-$(basename "$d")
		cp -a "$d" "$dir/$name" 2>/dev/null || continue
		total=$((total + mib))
		echo "$name"
	done < <(du -sm /usr/lib/* /usr/share/* 2>/dev/null | sort -k2)
}
