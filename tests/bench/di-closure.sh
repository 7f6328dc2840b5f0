#!/usr/bin/env bash
# di-closure against the seed's mkTarball steps on a closure of over 500 MiB:
# cp -drf --preserve=mode of each closure path into a rootfs directory, then
# tar -C rootfs -cpf.  The store is fake: copies of /usr/lib and /usr/share
# directories as store paths, and a root that references them all.
set -eu
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/tree.bash"
bench_tmp
: "${CLOSURE_MIB:=600}"
S=$BT/store
bench_usr_tree "$BT/data" "$CLOSURE_MIB" >"$BT/names"

# A store path per directory: a hash part from the name (hex, with 'e',
# which Nix's base32 lacks, made 'z').
hash_of() {
	printf '%s' "$1" | sha256sum | cut -c1-32 | tr e z
}
mkdir -p "$S"
while read -r name; do
	p=$S/$(hash_of "$name")-$name
	mv "$BT/data/$name" "$p"
	echo "$p"
done <"$BT/names" >"$BT/deps"
root=$S/$(hash_of root)-root
mkdir -p "$root/etc"
cp "$BT/deps" "$root/etc/references"
{
	printf '%s\n\n%s\n' "$root" "$(($(wc -l <"$BT/deps") + 1))"
	echo "$root"
	cat "$BT/deps"
	while read -r p; do printf '%s\n\n0\n' "$p"; done <"$BT/deps"
} >"$BT/graph"
mib=$(du -smc "$S"/* | tail -1 | cut -f1)
echo "closure: $(($(wc -l <"$BT/deps") + 1)) store paths, $mib MiB, $(find "$S" | wc -l) entries"

ours="di-closure --store $S --graph $BT/graph $root > $BT/ours.tar"
scan="di-closure --store $S --scan $root > $BT/scan.tar"
seed="mkdir -p $BT/rootfs$S && for p in \$(di-closure --store $S --graph $BT/graph --list $root); do cp -drf --preserve=mode \$p $BT/rootfs$S/; done && tar -C $BT/rootfs -cpf $BT/seed.tar ."

# The same files either way.
eval "$ours"
eval "$scan"
cmp "$BT/ours.tar" "$BT/scan.tar"
eval "$seed"
diff <(tar -tf "$BT/ours.tar" | grep -v '/$' | sort) \
	<(tar -tf "$BT/seed.tar" | sed 's|^\./||' | grep -v '/$' | grep . | sort) >/dev/null

bench_time t_ours "$ours"
bench_time t_scan "$scan"
bench_time t_seed "$seed" "rm -rf $BT/rootfs"
rss_ours=$(bench_rss "$ours")
rss_scan=$(bench_rss "$scan")
rm -rf "$BT/rootfs"
echo "median wall time, mean CPU time (user + system), peak RSS:"
printf 'di-closure --graph   %6.2f s  %6.2f s CPU  %6d KiB\n' "$t_ours" "$t_ours_cpu" "$rss_ours"
printf 'di-closure --scan    %6.2f s  %6.2f s CPU  %6d KiB\n' "$t_scan" "$t_scan_cpu" "$rss_scan"
printf 'cp -drf + tar -cpf   %6.2f s  %6.2f s CPU\n' "$t_seed" "$t_seed_cpu"
echo "speed-up: $(bench_ratio "$t_seed" "$t_ours")x with --graph, $(bench_ratio "$t_seed" "$t_scan")x with --scan (goal: 3x)"
