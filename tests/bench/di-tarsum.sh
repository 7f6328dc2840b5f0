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

# Large sparse files: two of 1 GiB each, mostly holes, as GNU tar writes
# them (pax 1.0); both sides hash every logical byte.
mkdir -p "$BT/sp"
for f in a b; do
	truncate -s 1G "$BT/sp/$f"
	printf 'data' | dd of="$BT/sp/$f" bs=1 seek=123456789 conv=notrunc 2>/dev/null
done
tar -C "$BT" --sparse --format=posix --sparse-version=1.0 -cf "$BT/sparse.tar" sp
echo "sparse input: $(($(stat -c %s "$BT/sparse.tar") / 1024)) KiB holding 2 GiB of files"
[ "$(di-tarsum "$BT/sparse.tar")" = "$("$GOTARSUM" <"$BT/sparse.tar")" ] || {
	echo "sparse sums differ" >&2
	exit 1
}
bench_median sours "di-tarsum $BT/sparse.tar"
bench_median sref "$GOTARSUM < $BT/sparse.tar"
rss_sours=$(bench_rss "di-tarsum $BT/sparse.tar")
printf 'sparse: di-tarsum %6.2f s  %6d KiB peak; Go tarsum %6.2f s\n' "$sours" "$rss_sours" "$sref"
echo "sparse speed-up: $(bench_ratio "$sref" "$sours")x"
