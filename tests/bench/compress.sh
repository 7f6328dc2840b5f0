#!/usr/bin/env bash
# di-cook --compress against gzip -n -6, pigz -n -6 and zstd -T0 -3 on one
# layer of BENCH_MB (default 1024) MiB made of the machine's own files
# under /usr (binaries and text, as images hold).  Each program reads the
# same file from the page cache; di-cook also hashes the layer twice (its
# diff_id and its blob digest) and spools the compressed bytes, which the
# references do not.  Wall time is the median of BENCH_RUNS (default 3)
# runs; CPU time (user + system, the mean) is printed too, as it varies
# less on a shared machine.  Every program writes its output to a file in
# $BENCH_TMP.
set -eu
. "$(dirname "$0")/lib.bash"
: "${BENCH_MB:=1024}"
BENCH_RUNS=${BENCH_COMPRESS_RUNS:-3}
bench_tmp

find /usr -xdev -type f -readable -size -100M -printf '%s %P\n' | sort -k2 |
	awk -v max="$((BENCH_MB * 1048576))" '
		{ size[NR] = $1; sub(/^[0-9]+ /, ""); name[NR] = $0 }
		END {
			# the same files again when /usr is too small
			for (i = 1; got < max; i = i % NR + 1) {
				print "usr/" name[i]
				got += size[i] + 512
			}
		}' >"$BT/list"
# Repeated names make a longer tar (GNU tar stores each again).
tar -C / --mtime=@1 --owner=0 --group=0 --numeric-owner \
	-cf "$BT/layer.tar" -T "$BT/list" 2>/dev/null || true
size=$(stat -c %s "$BT/layer.tar")
cat "$BT/layer.tar" >/dev/null

# run NAME CMD: median wall and mean CPU seconds into NAME_wall, NAME_cpu.
run() {
	local name=$1 json
	json=$(mktemp)
	hyperfine --style none --warmup 0 --runs "$BENCH_RUNS" \
		--export-json "$json" "$2" >/dev/null 2>&1 || {
		echo "benchmark failed: $2" >&2
		exit 1
	}
	printf -v "${name}_wall" '%s' "$(jq '.results[0].median' "$json")"
	printf -v "${name}_cpu" '%s' "$(jq '.results[0].user + .results[0].system' "$json")"
	rm -f "$json"
}

# Each writes to a file, so that its last run gives the size.
di_gz="di-cook -n bench --format oci --compress gzip -o $BT/di_gz.tar $BT/layer.tar"
di_zs="di-cook -n bench --format oci --compress zstd -o $BT/di_zs.tar $BT/layer.tar"
run gzip "gzip -n -6 <$BT/layer.tar >$BT/gzip.out"
run pigz "pigz -n -6 <$BT/layer.tar >$BT/pigz.out"
run di_gz "$di_gz"
run zstd "zstd -q -T0 -3 <$BT/layer.tar >$BT/zstd.out"
run di_zs "$di_zs"
# BENCH_BEFORE=DIR: the di-cook in DIR (another build) too, in the same run.
if [ -n "${BENCH_BEFORE:-}" ]; then
	run before_gz "$BENCH_BEFORE/di-cook -n bench --format oci --compress gzip -o $BT/di_gz.tar.before $BT/layer.tar"
	run before_zs "$BENCH_BEFORE/di-cook -n bench --format oci --compress zstd -o $BT/di_zs.tar.before $BT/layer.tar"
fi

# stored IMAGE: the size of its one layer as di-cook stored it.
stored() {
	tar -xOf "$1" --wildcards '*/layer.tar' | wc -c
}
s_gzip=$(stat -c %s "$BT/gzip.out")
s_pigz=$(stat -c %s "$BT/pigz.out")
s_zstd=$(stat -c %s "$BT/zstd.out")
s_di_gz=$(stored "$BT/di_gz.tar")
s_di_zs=$(stored "$BT/di_zs.tar")
# and what it stored is what it was given
gzip -dc <"$BT/pigz.out" | cmp - "$BT/layer.tar"
tar -xOf "$BT/di_gz.tar" --wildcards '*/layer.tar' | gzip -dc | cmp - "$BT/layer.tar"
tar -xOf "$BT/di_zs.tar" --wildcards '*/layer.tar' | zstd -dc | cmp - "$BT/layer.tar"

echo "layer: $((size / 1048576)) MiB, $(nproc) processors, load $(cut -d' ' -f1-3 /proc/loadavg)"
line() {
	local w=${1}_wall c=${1}_cpu s=s_$1
	printf '%-22s %7.2f s  %7.2f s CPU  %11d bytes (%.1f%%)\n' "$2" "${!w}" "${!c}" "${!s}" \
		"$(awk -v a="${!s}" -v b="$size" 'BEGIN { print 100 * a / b }')"
}
line gzip "gzip -n -6"
line pigz "pigz -n -6"
line di_gz "di-cook --compress gzip"
line zstd "zstd -T0 -3"
line di_zs "di-cook --compress zstd"
if [ -n "${BENCH_BEFORE:-}" ]; then
	# the same bytes from both builds, and from ours through a pipe
	for k in gz zs; do
		cmp "$BT/di_$k.tar" "$BT/di_$k.tar.before"
		printf -v "s_before_$k" '%s' "$(stored "$BT/di_$k.tar.before")"
	done
	di-cook -n bench --format oci --compress gzip "$BT/layer.tar" | cmp - "$BT/di_gz.tar"
	line before_gz "before: --compress gzip"
	line before_zs "before: --compress zstd"
fi
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f%%", 100 * (a - b) / b }'; }
echo "gzip: $(bench_ratio "$gzip_wall" "$di_gz_wall")x faster than gzip -n -6 (CPU $(bench_ratio "$gzip_cpu" "$di_gz_cpu")x less), size $(pct "$s_di_gz" "$s_gzip") (goal: 1.7x, within 2%)"
echo "gzip: $(bench_ratio "$pigz_wall" "$di_gz_wall")x the speed of pigz -n -6 (CPU $(bench_ratio "$pigz_cpu" "$di_gz_cpu")x), size $(pct "$s_di_gz" "$s_pigz")"
echo "zstd: $(bench_ratio "$zstd_wall" "$di_zs_wall")x the speed of zstd -T0 -3 (CPU $(bench_ratio "$zstd_cpu" "$di_zs_cpu")x), size $(pct "$s_di_zs" "$s_zstd") (goal: 1x or more)"
