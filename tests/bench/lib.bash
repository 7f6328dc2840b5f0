# lib.bash: shared by the benchmark scripts.
#
#   bench_tmp                  a temp dir in $BENCH_TMP (removed on exit)
#   bench_median NAME CMD      median wall seconds of CMD over $BENCH_RUNS
#                              runs (hyperfine, one warm-up), into NAME
#   bench_rss CMD              peak resident set of CMD in KiB
#   bench_ratio A B            A/B with two decimals

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
