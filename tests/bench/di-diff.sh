#!/usr/bin/env bash
# di-diff against the seed's way of finding a layer's new files: listings
# with tar -tf, sort, comm -1 -3, then tar -xpf --files-from and tar -cf of
# what is new.  The base is a tar of /usr/share/doc and /usr/lib/python3*;
# NEW is the base plus /usr/share/man.
set -eu
. "$(dirname "$0")/lib.bash"
bench_tmp
tar -C / -cf "$BT/base.tar" usr/share/doc usr/lib/python3.11 2>/dev/null || true
tar -C / -cf "$BT/new.tar" usr/share/doc usr/lib/python3.11 usr/share/man 2>/dev/null || true
echo "base: $(($(stat -c %s "$BT/base.tar") / 1048576)) MiB, new: $(($(stat -c %s "$BT/new.tar") / 1048576)) MiB, $(tar -tf "$BT/new.tar" | wc -l) entries"

cat >"$BT/seed.sh" <<'EOS'
set -e
cd "$1"
rm -rf x && mkdir x
tar -tf base.tar | sort >bf
tar -tf new.tar | sort >nf
comm -1 -3 bf nf >list
tar -C x -xpf new.tar --no-recursion --files-from list
tar -C x -cf out.tar --no-recursion --files-from list
EOS
bash "$BT/seed.sh" "$BT"
di-diff --base "$BT/base.tar" "$BT/new.tar" >"$BT/di.tar"
[ "$(tar -tf "$BT/di.tar" | sort | sed 's,/$,,')" = "$(sed 's,/$,,' "$BT/list" | sort)" ] || {
	echo "di-diff and the seed's way differ" >&2
	exit 1
}
bench_median ours "di-diff --base $BT/base.tar $BT/new.tar > $BT/di.tar"
bench_median ref "bash $BT/seed.sh $BT"
rss=$(bench_rss "di-diff --base $BT/base.tar $BT/new.tar > /dev/null")
printf 'di-diff          %6.2f s  %6d KiB peak\n' "$ours" "$rss"
printf "seed's comm way  %6.2f s\n" "$ref"
echo "speed-up: $(bench_ratio "$ref" "$ours")x"
