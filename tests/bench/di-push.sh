#!/usr/bin/env bash
# di-push against skopeo (copy docker-archive:... docker://...) into the
# same local distribution registry: an image of 1 GB in 5 uncompressed
# layers made of the machine's own files under /usr, gzip on the wire, the
# registry emptied before every run; then a second push of an image whose
# layers are already compressed (an oci-archive), everything present.
set -eu
. "$(dirname "$0")/lib.bash"
. "$TOP/tests/lib/peers.bash"
. "$TOP/tests/lib/pullimg.bash"
: "${BENCH_LAYERS:=5}" "${BENCH_LAYER_MB:=200}"
# DI_PUSH: another build of di-push to measure (a path); BENCH_COMPRESS:
# gzip or zstd, for both.
: "${DI_PUSH:=di-push}" "${BENCH_COMPRESS:=gzip}"
bench_tmp
trap 'registry_stop; rm -rf "$BT"' EXIT
registry_start

bench_usr_layers "$BENCH_LAYERS" "$BENCH_LAYER_MB"
layers=()
for l in $(seq "$BENCH_LAYERS"); do layers+=("$BT/l$l.tar"); done
make_archive_tars "$BT/img.tar" bench/img:1 amd64 "${layers[@]}"
size=$(stat -c %s "$BT/img.tar")
echo "image: $((size / 1048576)) MiB in $BENCH_LAYERS uncompressed layers"

empty="rm -rf $REGISTRY_DIR/data/docker"
ours="$empty; $DI_PUSH --plain-http -q --compress $BENCH_COMPRESS $BT/img.tar $REGISTRY_ADDR/bench/ours:1 >/dev/null"
fmt=$([ "$BENCH_COMPRESS" = zstd ] && echo "--format oci" || true)
ref="$empty; skopeo copy -q --dest-tls-verify=false $fmt --dest-compress-format $BENCH_COMPRESS docker-archive:$BT/img.tar docker://$REGISTRY_ADDR/bench/sk:1"

# Both push the same layers, compressed alike.
gzip_layers() {
	skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_ADDR/bench/$1:1" |
		jq -r --arg c "$BENCH_COMPRESS" '[.layers[] | .mediaType | test($c)] | map(select(.)) | length'
}
{
	bash -c "$ours" && gzip_layers ours
	bash -c "$ref" && gzip_layers sk
} | uniq | grep -qx "$BENCH_LAYERS" || {
	echo "the pushed manifests differ from what was expected" >&2
	exit 1
}
blobs=$(du -sm "$REGISTRY_DIR/data" | cut -f1)
echo "in the registry: $blobs MiB (skopeo's push)"

bench_median t_ours "$ours"
bench_median t_ref "$ref"
rss_ours=$(bench_rss "$ours")
rss_ref=$(bench_rss "$ref")
cpu() { /usr/bin/time -f '%U %S' bash -c "$1" 2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}'; }
cpu_ours=$(cpu "$ours")
cpu_ref=$(cpu "$ref")
printf 'di-push           %6.2f s  %7d KiB peak  %6.2f s CPU\n' "$t_ours" "$rss_ours" "$cpu_ours"
printf 'skopeo copy       %6.2f s  %7d KiB peak  %6.2f s CPU\n' "$t_ref" "$rss_ref" "$cpu_ref"
echo "first push: $(bench_ratio "$t_ref" "$t_ours")x faster, memory: $(bench_ratio "$rss_ref" "$rss_ours")x less"

# The second push: layers already gzip in an OCI archive, every blob in
# the registry; only HEADs and the manifest go.
skopeo copy -q "docker-archive:$BT/img.tar" "oci-archive:$BT/gz.tar:img"
rm -f "$BT/img.tar" "$BT"/l*.tar
again="$DI_PUSH --plain-http -q $BT/gz.tar $REGISTRY_ADDR/bench/again:1 >/dev/null"
ref_again="skopeo copy -q --dest-tls-verify=false oci-archive:$BT/gz.tar docker://$REGISTRY_ADDR/bench/again:2"
bash -c "$again" && bash -c "$ref_again"
bench_median t_again "$again"
bench_median t_ref_again "$ref_again"
rss_again=$(bench_rss "$again")
printf 'di-push again     %6.2f s  %7d KiB peak\n' "$t_again" "$rss_again"
printf 'skopeo again      %6.2f s\n' "$t_ref_again"
echo "second push: $(bench_ratio "$t_ref_again" "$t_again")x faster"
