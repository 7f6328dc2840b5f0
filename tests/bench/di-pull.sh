#!/usr/bin/env bash
# di-pull against skopeo (copy docker://... docker-archive:) from the same
# local distribution registry, for an image of 1.2 GB in 6 layers made of
# the machine's own files under /usr (real binaries and text, as images
# hold), gzip-compressed by skopeo when pushed.
set -eu
. "$(dirname "$0")/lib.bash"
. "$TOP/tests/lib/peers.bash"
. "$TOP/tests/lib/pullimg.bash"
: "${BENCH_LAYERS:=6}" "${BENCH_LAYER_MB:=200}"
bench_tmp
trap 'registry_stop; rm -rf "$BT"' EXIT
registry_start

bench_usr_layers "$BENCH_LAYERS" "$BENCH_LAYER_MB"
layers=()
for l in $(seq "$BENCH_LAYERS"); do layers+=("$BT/l$l.tar"); done
make_archive_tars "$BT/img.tar" bench/img:1 amd64 "${layers[@]}"
size=$(stat -c %s "$BT/img.tar")
skopeo copy -q --dest-tls-verify=false "docker-archive:$BT/img.tar" \
	"docker://$REGISTRY_ADDR/bench/img:1"
rm -f "$BT/img.tar"
blobs=$(du -sm "$REGISTRY_DIR/data" | cut -f1)
echo "image: $((size / 1048576)) MiB in $BENCH_LAYERS layers, $blobs MiB in the registry (gzip)"

ours="rm -f $BT/ours.tar; di-pull --plain-http -q -o $BT/ours.tar $REGISTRY_ADDR/bench/img:1"
ref="rm -f $BT/sk.tar; skopeo copy -q --src-tls-verify=false docker://$REGISTRY_ADDR/bench/img:1 docker-archive:$BT/sk.tar"

# Both hold the same layers.
bash -c "$ours" && bash -c "$ref"
for f in ours sk; do
	mkdir "$BT/$f" && tar -C "$BT/$f" -xf "$BT/$f.tar" manifest.json
	jq -r '.[0].Layers | length' "$BT/$f/manifest.json"
done | uniq | grep -qx "$BENCH_LAYERS" || {
	echo "layer counts differ" >&2
	exit 1
}

bench_median t_ours "$ours"
bench_median t_ref "$ref"
# BENCH_BEFORE=DIR: the di-pull in DIR (another build) too, on the same
# registry in the same run, and its output compared byte for byte.
if [ -n "${BENCH_BEFORE:-}" ]; then
	before="rm -f $BT/before.tar; $BENCH_BEFORE/di-pull --plain-http -q -o $BT/before.tar $REGISTRY_ADDR/bench/img:1"
	bash -c "$before" && cmp "$BT/before.tar" "$BT/ours.tar"
	bench_median t_before "$before"
fi
rss_ours=$(bench_rss "$ours")
rss_ref=$(bench_rss "$ref")
# CPU time (user + system) as well: on a shared machine it varies less.
cpu() { /usr/bin/time -f '%U %S' bash -c "$1" 2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}'; }
cpu_ours=$(cpu "$ours")
cpu_ref=$(cpu "$ref")
printf 'di-pull          %6.2f s  %7d KiB peak  %6.2f s CPU\n' "$t_ours" "$rss_ours" "$cpu_ours"
printf 'skopeo copy      %6.2f s  %7d KiB peak  %6.2f s CPU\n' "$t_ref" "$rss_ref" "$cpu_ref"
if [ -n "${BENCH_BEFORE:-}" ]; then
	cpu_before=$(cpu "$before")
	printf 'di-pull before   %6.2f s  %7d KiB peak  %6.2f s CPU  (%s, same output)\n' "$t_before" \
		"$(bench_rss "$before")" "$cpu_before" "$BENCH_BEFORE"
	echo "against before: $(bench_ratio "$t_before" "$t_ours")x faster, $(bench_ratio "$cpu_before" "$cpu_ours")x less CPU"
fi
echo "speed-up: $(bench_ratio "$t_ref" "$t_ours")x, memory: $(bench_ratio "$rss_ref" "$rss_ours")x less, CPU: $(bench_ratio "$cpu_ref" "$cpu_ours")x less"

# The bound: the work itself, on the same blobs from the registry's disk,
# both cores busy: each blob's digest (sha256sum), and its inflate with the
# diff_id's SHA-256 behind it in a pipe, with zlib (gzip -dc) and with
# ISA-L (igzip -dc, the inflater di-pull uses).
find "$REGISTRY_DIR/data" -path '*/blobs/*' -name data -size +1M >"$BT/blobs"
bound() {
	echo "xargs -P 2 -I{} sh -c 'sha256sum {} >/dev/null; $1 -dc {} | sha256sum >/dev/null' <$BT/blobs"
}
bench_median t_zlib "$(bound gzip)"
bench_median t_isal "$(bound igzip)"
printf 'bound, zlib      %6.2f s  (gzip -dc | sha256sum, sha256sum of each blob, 2 at once)\n' "$t_zlib"
printf 'bound, ISA-L     %6.2f s  (the same with igzip -dc)\n' "$t_isal"
echo "di-pull takes $(bench_ratio "$t_ours" "$t_isal")x the ISA-L bound ($(bench_ratio "$t_ours" "$t_zlib")x the zlib one)"

# Where di-pull's time goes: perf's profile by library and function
# (BENCH_PROFILE=1; perf is in Debian's linux-perf).
if [ "${BENCH_PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
	perf record -q -o "$BT/perf.data" -- bash -c "$ours" 2>/dev/null
	perf report -q -i "$BT/perf.data" --no-children --sort dso,sym \
		--percent-limit 1 2>/dev/null | grep "%" | head -25
fi
