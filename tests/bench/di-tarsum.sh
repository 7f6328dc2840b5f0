#!/usr/bin/env bash
# di-tarsum against Docker's Go tarsum (pkg/tarsum, built from Debian's
# packages) on a tar of /usr/share: over 1 GB, tens of thousands of entries.
set -eu
. "$(dirname "$0")/lib.bash"
. "$TOP/tests/lib/peers.bash"
gotarsum_build >/dev/null
bench_tmp
tar -C / -cf "$BT/usr.tar" usr/share 2>/dev/null || true
size=$(stat -c %s "$BT/usr.tar")
entries=$(tar -tf "$BT/usr.tar" | wc -l)
echo "input: $((size / 1048576)) MiB, $entries entries"
cat "$BT/usr.tar" >/dev/null # into the page cache

[ "$(di-tarsum "$BT/usr.tar")" = "$("$GOTARSUM" <"$BT/usr.tar")" ] || {
	echo "sums differ" >&2
	exit 1
}
bench_median ours "di-tarsum $BT/usr.tar"
bench_median one "di-tarsum --threads 1 $BT/usr.tar"
bench_median ref "$GOTARSUM < $BT/usr.tar"
rss_ours=$(bench_rss "di-tarsum $BT/usr.tar")
rss_ref=$(bench_rss "$GOTARSUM < $BT/usr.tar")
printf 'di-tarsum        %6.2f s  %6d KiB peak\n' "$ours" "$rss_ours"
printf 'di-tarsum -j1    %6.2f s\n' "$one"
printf 'Go tarsum        %6.2f s  %6d KiB peak\n' "$ref" "$rss_ref"
echo "speed-up: $(bench_ratio "$ref" "$ours")x (one thread: $(bench_ratio "$ref" "$one")x)"
echo "throughput: $(awk -v s="$size" -v t="$ours" 'BEGIN{printf "%.0f", s/t/1048576}') MiB/s"
