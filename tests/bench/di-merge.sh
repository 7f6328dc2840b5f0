#!/usr/bin/env bash
# di-merge against the seed's mergeTarballs: each tarball extracted in turn
# with tar -xkp (the first to hold a path keeps it; --skip-old-files is -k
# without an error for each kept path), then the directory put back into one
# tar with tar -cp.  Three inputs of about MERGE_MIB MiB (default 300) cut
# from one tree of /usr/lib and /usr/share, each sharing a third of it with
# each other.
set -eu
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/tree.bash"
: "${MERGE_MIB:=300}"
bench_tmp
bench_usr_tree "$BT/tree" $((MERGE_MIB * 3 / 2)) >"$BT/names"
# Each input leaves out a different third of the tree's directories, so
# that any two share a third.
awk 'NR % 3 != 0' "$BT/names" >"$BT/a.list"
awk 'NR % 3 != 1' "$BT/names" >"$BT/b.list"
awk 'NR % 3 != 2' "$BT/names" >"$BT/c.list"
for i in a b c; do
	tar -C "$BT/tree" -cf "$BT/$i.tar" -T "$BT/$i.list"
done
rm -rf "$BT/tree"
for i in a b c; do
	echo "$i.tar: $(($(stat -c %s "$BT/$i.tar") / 1048576)) MiB, $(tar -tf "$BT/$i.tar" | wc -l) entries"
done

cat >"$BT/seed.sh" <<'EOS'
set -e
cd "$1"
rm -rf tmp && mkdir tmp
for tb in a.tar b.tar c.tar; do
	tar -C tmp --skip-old-files -xpf "$tb"
done
tar -C tmp -cpf seed.tar .
rm -rf tmp
EOS
bash "$BT/seed.sh" "$BT"
di-merge "$BT/a.tar" "$BT/b.tar" "$BT/c.tar" >"$BT/di.tar"
names() { tar -tf "$1" | sed 's,^\./,,; s,/$,,' | grep -v '^\.\?$' | LC_ALL=C sort; }
if [ "$(names "$BT/di.tar")" != "$(names "$BT/seed.tar")" ]; then
	echo "di-merge and mergeTarballs hold different paths" >&2
	exit 1
fi
rm -f "$BT/seed.tar"
bench_median ours "di-merge $BT/a.tar $BT/b.tar $BT/c.tar > $BT/di.tar"
bench_median ref "bash $BT/seed.sh $BT"
rss=$(bench_rss "di-merge $BT/a.tar $BT/b.tar $BT/c.tar > /dev/null")
printf 'di-merge           %6.2f s  %6d KiB peak\n' "$ours" "$rss"
printf 'mergeTarballs way  %6.2f s\n' "$ref"
echo "speed-up: $(bench_ratio "$ref" "$ours")x"
