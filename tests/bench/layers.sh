#!/usr/bin/env bash
# di-closure --layers: the sharing of tests/bench/layers.py (di-closure's
# plan against referencesByPopularity and auto-layer on the same graphs),
# then the time to write the STACK of a closure of about 1 GB against GNU
# tar writing each of the same layers twice, once to learn its size and
# once to write it (streamLayeredImage's two passes per layer), and peak
# memory at two closure sizes.
set -eu
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/tree.bash"
bench_tmp
: "${LAYERS_SCALE:=3}" # x 365 MB
: "${LAYERS_N:=100}"

python3 "$TOP/tests/bench/layers.py" "$BT/plans" $(seq 1 "${LAYERS_SEEDS:-20}")

S=$BT/store
mkdir -p "$S"
python3 "$TOP/tests/lib/synthstore.py" "$S" "$BT/app" app --scale "$LAYERS_SCALE"
roots=$(cat "$BT/app.roots")
echo "closure: $(di-closure --store "$S" --graph "$BT/app.graph" --list $roots | wc -l) store paths, $(du -smc "$S"/* | tail -1 | cut -f1) MiB"
di-closure --store "$S" --graph "$BT/app.graph" --layers "$LAYERS_N" --list $roots >"$BT/plan"
echo "plan: $(wc -l <"$BT/plan") layers"

# The reference: a tar per layer of the plan, twice.  Output goes through
# a pipe (GNU tar reads no data when it sees /dev/null), to OUT.
cat >"$BT/ref.sh" <<REF
set -e
out=\$1
: >"\$out"
while read -r name size paths; do
	tar -C / --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 \\
		-cf - \$(echo "\$paths" | sed 's|^/||; s| /| |g') | wc -c >/dev/null
	tar -C / --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 \\
		-cf - \$(echo "\$paths" | sed 's|^/||; s| /| |g') | cat >>"\$out"
done <"$BT/plan"
REF
ours="di-closure --store $S --graph $BT/app.graph --layers $LAYERS_N $roots | cat > /dev/null"
image="di-closure --store $S --graph $BT/app.graph --layers $LAYERS_N $roots | di-cook -n bench | cat > /dev/null"
ref="bash $BT/ref.sh /dev/null"

di-closure --store "$S" --graph "$BT/app.graph" --layers "$LAYERS_N" $roots >"$BT/stack.tar"
bash "$BT/ref.sh" "$BT/ref.tar"
# The same entries in both, layer by layer (tar -i reads past each end).
tar -xOf "$BT/stack.tar" $(cut -d' ' -f1 "$BT/plan") | tar -ti | grep -v '/$' | sort >"$BT/ours.names"
tar -tif "$BT/ref.tar" | grep -v '/$' | sort | cmp - "$BT/ours.names"

bench_time t_ours "$ours"
bench_time t_image "$image"
bench_time t_ref "$ref"
rss_big=$(bench_rss "$ours")
rm -rf "$S" "$BT/stack.tar" "$BT/image.tar" "$BT/ref.tar"
mkdir -p "$S"
python3 "$TOP/tests/lib/synthstore.py" "$S" "$BT/small" app --scale 0.5
rss_small=$(bench_rss "di-closure --store $S --graph $BT/small.graph --layers $LAYERS_N $(cat "$BT/small.roots") > /dev/null")
echo "median wall time, mean CPU time (user + system) of $BENCH_RUNS runs, output through a pipe:"
printf 'di-closure --layers %d           %6.2f s  %6.2f s CPU\n' "$LAYERS_N" "$t_ours" "$t_ours_cpu"
printf 'di-closure --layers %d | di-cook %6.2f s  %6.2f s CPU\n' "$LAYERS_N" "$t_image" "$t_image_cpu"
printf 'tar twice per layer              %6.2f s  %6.2f s CPU\n' "$t_ref" "$t_ref_cpu"
echo "speed-up: $(bench_ratio "$t_ref" "$t_ours")x for the STACK ($(bench_ratio "$t_ref_cpu" "$t_ours_cpu")x in CPU), $(bench_ratio "$t_ref" "$t_image")x for the whole image ($(bench_ratio "$t_ref_cpu" "$t_image_cpu")x in CPU) (goal: 3x)"
echo "peak RSS: $rss_big KiB at scale $LAYERS_SCALE, $rss_small KiB at scale 0.5"
