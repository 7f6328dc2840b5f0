#!/usr/bin/env bash
# di-edit on a 1 GB image of 5 layers: drop layer 3 and change Cmd, as one
# pipe (di-edit drop | di-edit set), against the same edit done the way
# crane and umoci users do it, through an OCI layout on disk: the manifest
# and config rewritten (the layer and its diff_id and history entry out,
# blobs re-hashed), `umoci config --config.cmd`, `umoci unpack` and
# `umoci repack` (what a change to the files costs), `umoci gc`, and the
# layout archived again with tar.  Also the peak memory of the di pipe.
set -eu
. "$(dirname "$0")/lib.bash"
: "${BENCH_RUNS:=3}" "${BENCH_LAYERS:=5}" "${BENCH_LAYER_MB:=200}"
bench_tmp
cd "$BT"

# Disjoint windows of the machine's own files under /usr, LAYER_MB each.
find /usr -xdev -type f -readable -size -100M -printf '%s %P\n' |
	LC_ALL=C sort -k2 >files
awk -v n="$BENCH_LAYERS" -v per="$((BENCH_LAYER_MB * 1048576))" '
	BEGIN { l = 1 }
	{ print "usr/" substr($0, index($0, " ") + 1) > ("list" l); got += $1 }
	got >= per { l++; got = 0; if (l > n) exit }' files
layers=()
for l in $(seq "$BENCH_LAYERS"); do
	tar -C / --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner \
		-cf "l$l.tar" -T "list$l" 2>/dev/null || true
	layers+=("l$l.tar")
done
di-cook -n bench/edit -t 1 -o img.tar "${layers[@]}"
rm -f "${layers[@]}" list* files
echo "image: $(($(stat -c %s img.tar) / 1048576)) MiB in $BENCH_LAYERS layers"

ours="di-edit drop 3 $BT/img.tar | di-edit set --cmd '[\"/bin/true\"]' -o $BT/ours.tar"
bash -c "$ours"
[ "$(di-edit config ours.tar | jq -c .config.Cmd)" = '["/bin/true"]' ]
[ "$(di-edit config ours.tar | jq '.rootfs.diff_ids | length')" = $((BENCH_LAYERS - 1)) ]
bench_median t_ours "$ours"
rss_ours=$(bench_rss "$ours")
printf 'di-edit drop | di-edit set     %7.2f s  %8d KiB peak\n' "$t_ours" "$rss_ours"

if ! command -v umoci >/dev/null || ! command -v skopeo >/dev/null; then
	echo "umoci or skopeo missing: no comparison" >&2
	exit 0
fi
skopeo copy -q "docker-archive:$BT/img.tar" "oci:$BT/oci0:x"

# The reference, as a script: the layout is copied fresh before each run.
cat >ref.sh <<'SH'
set -eu
L=$1/oci
blob() { echo "$L/blobs/sha256/${1#sha256:}"; }
put() { local d; d=$(sha256sum <"$1" | cut -c1-64); mv "$1" "$L/blobs/sha256/$d"; echo "sha256:$d"; }
man=$(jq -r '.manifests[0].digest' "$L/index.json")
cfg=$(jq -r .config.digest "$(blob "$man")")
jq -c 'del(.rootfs.diff_ids[2]) | .history |= del(.[2])' "$(blob "$cfg")" >"$1/c.json"
size=$(stat -c %s "$1/c.json")
cfg=$(put "$1/c.json")
jq -c --arg d "$cfg" --argjson s "$size" 'del(.layers[2]) | .config.digest = $d | .config.size = $s' \
	"$(blob "$man")" >"$1/m.json"
size=$(stat -c %s "$1/m.json")
man=$(put "$1/m.json")
jq -c --arg d "$man" --argjson s "$size" '.manifests[0].digest = $d | .manifests[0].size = $s' \
	"$L/index.json" >"$1/i.json" && mv "$1/i.json" "$L/index.json"
umoci config --image "$L:x" --config.cmd /bin/true
umoci unpack --image "$L:x" "$1/bundle" >/dev/null
umoci repack --image "$L:x" "$1/bundle" >/dev/null
umoci gc --layout "$L"
tar -C "$L" -cf "$1/ref.tar" .
SH
prep="rm -rf $BT/oci $BT/bundle $BT/ref.tar; cp -a $BT/oci0 $BT/oci"
bash -c "$prep" && bash ref.sh "$BT"
[ "$(skopeo inspect --config "oci-archive:$BT/ref.tar:x" | jq -c .config.Cmd)" = '["/bin/true"]' ]
json=$(mktemp)
hyperfine --style none --warmup 1 --runs "$BENCH_RUNS" --prepare "$prep" \
	--export-json "$json" "bash $BT/ref.sh $BT" >/dev/null 2>&1
t_ref=$(jq '.results[0].median' "$json")
rm -f "$json"
printf 'OCI layout: jq + umoci config, unpack, repack, gc + tar  %7.2f s\n' "$t_ref"
echo "speed-up over the umoci layout: $(bench_ratio "$t_ref" "$t_ours")x"
