# lib.bash: shared by the benchmark scripts.
#
#   bench_tmp                  a temp dir in $BENCH_TMP (removed on exit)
#   bench_median NAME CMD      median wall seconds of CMD over $BENCH_RUNS
#                              runs (hyperfine, one warm-up), into NAME
#   bench_rss CMD              peak resident set of CMD in KiB
#   bench_ratio A B            A/B with two decimals
#   bench_usr_layers N MB      N layer tars $BT/l1.tar... of MB MiB each,
#                              made of the files under /usr (real
#                              binaries and text, as images hold)

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$TOP/build/bin:$PATH"
: "${BENCH_RUNS:=5}"
: "${BENCH_TMP:=${TMPDIR:-/tmp}}"

bench_tmp() {
	BT=$(mktemp -d "$BENCH_TMP/di-bench.XXXXXX")
	trap 'rm -rf "$BT"' EXIT
}

bench_median() {
	local name=$1 json
	shift
	json=$(mktemp)
	hyperfine --style none --warmup 1 --runs "$BENCH_RUNS" \
		--export-json "$json" "$*" >/dev/null 2>&1 || {
		echo "benchmark failed: $*" >&2
		rm -f "$json"
		return 1
	}
	printf -v "$name" '%s' "$(jq '.results[0].median' "$json")"
	rm -f "$json"
}

bench_rss() {
	/usr/bin/time -f %M bash -c "$*" 2>&1 >/dev/null | tail -n 1
}

bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# Files under /usr in name order, cut into layers of MB MiB; when /usr is
# too small the same files fill the later layers again.
bench_usr_layers() {
	local n=$1 mb=$2 l
	find /usr -xdev -type f -readable -size -100M -printf '%s %P\n' | sort -k2 >"$BT/files"
	awk -v n="$n" -v per="$((mb * 1048576))" -v dir="$BT" '
		{ size[NR] = $1; sub(/^[0-9]+ /, ""); name[NR] = $0 }
		END {
			i = 1
			for (l = 1; l <= n; l++) {
				for (got = 0; got < per; i = i % NR + 1) {
					print "usr/" name[i] > (dir "/list" l)
					got += size[i]
				}
			}
		}' "$BT/files"
	for l in $(seq "$n"); do
		tar -C / --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner \
			-cf "$BT/l$l.tar" -T "$BT/list$l" 2>/dev/null || true
	done
}
