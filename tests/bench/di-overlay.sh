#!/usr/bin/env bash
# di-overlay --export of a 1 GB image in 6 layers against `umoci unpack`
# followed by `tar -c` of its rootfs (the issue's bound: 5 times faster),
# and the peak memory of di-overlay, which must not grow with the bytes.
#
# The layers are the machine's own files under /usr (real binaries and text,
# as images hold), 200 MiB each, in windows that overlap by a quarter so that
# every layer replaces files of the one below; a sixth layer deletes some
# files (.wh.) and empties some directories (.wh..wh..opq).
set -eu
. "$(dirname "$0")/lib.bash"
: "${BENCH_RUNS:=3}" "${BENCH_LAYERS:=5}" "${BENCH_LAYER_MB:=200}"
bench_tmp
cd "$BT"

find /usr -xdev -type f -readable -size -100M -printf '%s %P\n' |
	LC_ALL=C sort -k2 >files
awk -v n="$BENCH_LAYERS" -v per="$((BENCH_LAYER_MB * 1048576))" '
	{ size[NR] = $1; sub(/^[0-9]+ /, ""); name[NR] = $0 }
	END {
		i = 1
		for (l = 1; l <= n; l++) {
			first = i
			for (got = 0; got < per; i = i % NR + 1) {
				print "usr/" name[i] > ("list" l)
				got += size[i]
				if (got > per * 3 / 4 && !back) back = i
			}
			i = back; back = 0
		}
	}' files
layers=()
for l in $(seq "$BENCH_LAYERS"); do
	tar -C / --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner \
		-cf "l$l.tar" -T "list$l" 2>/dev/null || true
	layers+=("l$l.tar")
done
# The top layer: every 50th file of the first layer deleted, every 20th
# directory of the second made opaque.
mkdir wh
awk 'NR % 50 == 0' list1 | while read -r f; do
	mkdir -p "wh/$(dirname "$f")"
	: >"wh/$(dirname "$f")/.wh.$(basename "$f")"
done
sed 's|/[^/]*$||' list2 | uniq | awk 'NR % 20 == 0' | while read -r d; do
	mkdir -p "wh/$d"
	: >"wh/$d/.wh..wh..opq"
done
tar -C wh --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner \
	-cf wh.tar .
layers+=(wh.tar)
di-cook -n bench/overlay -t 1 --format docker -o img.tar "${layers[@]}"
rm -rf wh "${layers[@]}" list* files
size=$(stat -c %s img.tar)
echo "image: $((size / 1048576)) MiB in $((BENCH_LAYERS + 1)) layers"

ours="di-overlay --from $BT/img.tar -o $BT/ours.tar"
ref="rm -rf $BT/bundle; umoci unpack --image $BT/oci:x $BT/bundle >/dev/null && tar -C $BT/bundle/rootfs -cf $BT/ref.tar ."
bash -c "$ours"
out=$(stat -c %s ours.tar)
echo "flattened: $((out / 1048576)) MiB, $(tar -tf ours.tar | wc -l) entries"

# -o FILE syncs the file to disk before renaming it; a redirection (as
# tar -cf does) leaves that to the kernel.
bench_median t_ours "$ours"
bench_median t_redir "di-overlay --from $BT/img.tar >$BT/ours.tar"
rss_ours=$(bench_rss "$ours")
printf 'di-overlay --export -o FILE  %6.2f s  %7d KiB peak\n' "$t_ours" "$rss_ours"
printf 'di-overlay --export > FILE   %6.2f s\n' "$t_redir"

# Memory flat in the bytes: two images with the same 4 x 500 paths, files
# of 16 KiB in one and of 512 KiB (32 times the bytes, 1 GiB) in the other.
flat_image() { # OUT KIB
	local l f
	for l in 1 2 3 4; do
		mkdir -p "f$l/d$l"
		for f in $(seq 500); do
			head -c "${2}K" /dev/urandom >"f$l/d$l/$f"
		done
		tar -C "f$l" --sort=name --mtime=@1 --owner=0 --group=0 \
			--numeric-owner -cf "f$l.tar" . && rm -rf "f$l"
	done
	di-cook -n bench/flat -t 1 --format docker -o "$1" f1.tar f2.tar f3.tar f4.tar
	rm -f f?.tar
}
flat_image small.tar 16
flat_image large.tar 512
rss_small=$(bench_rss "di-overlay --from $BT/small.tar >/dev/null")
rss_large=$(bench_rss "di-overlay --from $BT/large.tar >/dev/null")
printf 'same paths, 16 KiB files (%4d MiB):  %7d KiB peak\n' \
	"$(($(stat -c %s small.tar) / 1048576))" "$rss_small"
printf 'same paths, 512 KiB files (%4d MiB): %7d KiB peak\n' \
	"$(($(stat -c %s large.tar) / 1048576))" "$rss_large"
rm -f small.tar large.tar

if ! command -v umoci >/dev/null || ! command -v skopeo >/dev/null; then
	echo "umoci or skopeo missing: no comparison" >&2
	exit 0
fi
skopeo copy -q "docker-archive:$BT/img.tar" "oci:$BT/oci:x"
bash -c "$ref"
bash -c "$ours"
# Both hold the same names (once normalized: layers may say ./usr or usr).
names() {
	tar -tf "$1" | sed 's|^\./||; s|/$||' | grep -v '^\.\?$' | LC_ALL=C sort
}
cmp <(names ours.tar) <(names ref.tar) || {
	echo "di-overlay and umoci disagree on the names" >&2
	exit 1
}
bench_median t_ref "$ref"
rss_ref=$(bench_rss "$ref")
printf 'umoci unpack + tar -c        %6.2f s  %7d KiB peak\n' "$t_ref" "$rss_ref"
echo "speed-up over umoci + tar: $(bench_ratio "$t_ref" "$t_ours")x with -o FILE," \
	"$(bench_ratio "$t_ref" "$t_redir")x with > FILE"
