#!/usr/bin/env bash
# di-layer against the seed's mkPureLayer steps on the same tree:
#   tar --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner -cf
# followed by Docker's Go tarsum of the result.  The tree is a few hundred
# MiB of copies of /usr/lib and /usr/share.
set -eu
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/tree.bash"
. "$TOP/tests/lib/peers.bash"
gotarsum_build >/dev/null
bench_tmp
: "${LAYER_MIB:=400}"
bench_usr_tree "$BT/tree" "$LAYER_MIB" >/dev/null
mib=$(du -sm "$BT/tree" | cut -f1)
entries=$(find "$BT/tree" -mindepth 1 | wc -l)
echo "input: $mib MiB, $entries entries"

seed="tar -C $BT/tree --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner -cf $BT/seed.tar . && $GOTARSUM < $BT/seed.tar > $BT/seed.sum"
ours="di-layer $BT/tree > $BT/layer.bundle"

# Both name the same checksum for their own layer; ours is di-tarsum's.
eval "$seed"
eval "$ours"
tar -xOf "$BT/layer.bundle" layer.tar >"$BT/layer.tar"
sum=$(tar -xOf "$BT/layer.bundle" json | jq -r .checksum)
[ "$sum" = "$("$GOTARSUM" <"$BT/layer.tar")" ] || {
	echo "checksum differs from Go's tarsum of layer.tar" >&2
	exit 1
}
rm -f "$BT/layer.tar"

bench_time t_ours "$ours"
bench_time t_pipe "di-layer $BT/tree | cat > $BT/layer.bundle"
bench_time t_tar "di-layer --tar $BT/tree > $BT/layer.tar"
bench_time t_seed "$seed"
rss_ours=$(bench_rss "$ours")
rss_seed_tar=$(bench_rss "tar -C $BT/tree --sort=name -cf $BT/seed.tar .")
rss_seed_sum=$(bench_rss "$GOTARSUM < $BT/seed.tar")
echo "median wall time, mean CPU time (user + system), peak RSS:"
printf 'di-layer > file        %6.2f s  %6.2f s CPU  %6d KiB (one walk)\n' "$t_ours" "$t_ours_cpu" "$rss_ours"
printf 'di-layer | cat > file  %6.2f s  %6.2f s CPU  (two walks)\n' "$t_pipe" "$t_pipe_cpu"
printf 'di-layer --tar         %6.2f s  %6.2f s CPU\n' "$t_tar" "$t_tar_cpu"
printf 'tar --sort + Go tarsum %6.2f s  %6.2f s CPU  %6d + %d KiB\n' "$t_seed" "$t_seed_cpu" "$rss_seed_tar" "$rss_seed_sum"
echo "speed-up: $(bench_ratio "$t_seed" "$t_ours")x into a file, $(bench_ratio "$t_seed" "$t_pipe")x through a pipe (goal: 2x)"
