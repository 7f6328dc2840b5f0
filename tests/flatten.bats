#!/usr/bin/env bats
# common/flatten (through the driver tests/unit/flatten), common/pathset
# and common/whiteout: a stack of layers becomes the tree a runtime would
# extract, with nothing extracted.

load lib/testlib
load lib/tree

flatten() {
	"$DI_UNIT/flatten" "$@"
}

# Layers from directories L1 L2 ... under $T, flattened and applied by the
# reference; both trees' listings must agree.
check_stack() {
	local layers=() d
	for d in "$@"; do
		tar -C "$T/$d" -cf "$T/$d.tar" . || return 1
		layers+=("$T/$d.tar")
	done
	flatten "${layers[@]}" >"$T/flat.tar" || return 1
	mkdir "$T/got" "$T/want"
	tar -C "$T/got" -xpf "$T/flat.tar" || return 1
	for d in "${layers[@]}"; do
		apply_layer "$T/want" "$d" || return 1
	done
	tree_list "$T/want" >"$T/want.list"
	tree_list "$T/got" >"$T/got.list"
	diff -u "$T/want.list" "$T/got.list" || return 1
	# Each path once, no whiteout left, a whole archive.
	[ -z "$(tar_list "$T/flat.tar" | sort | uniq -d)" ] || return 1
	[ -z "$(tar_list "$T/flat.tar" | grep -F .wh.)" ] || return 1
	has_eoa "$T/flat.tar"
}

@test "pathset: a million paths, found again, sorted" {
	run "$DI_UNIT/test_pathset"
	echo "$output"
	[ "$status" -eq 0 ]
	refute grep -q '^not ok' <<<"$output"
	grep -q '^1\.\.8$' <<<"$output"
}

@test "whiteouts delete a file and a directory from lower layers only" {
	mkdir -p "$T/l1/etc/x" "$T/l2/etc"
	echo a >"$T/l1/etc/passwd"
	echo b >"$T/l1/etc/x/y"
	echo c >"$T/l1/etc/keep"
	touch "$T/l2/etc/.wh.passwd" "$T/l2/etc/.wh.x"
	check_stack l1 l2
	[ "$(tar_list "$T/flat.tar" | sort | tr '\n' ' ')" = "etc etc/keep " ]
}

@test "a whiteout never hides an entry of its own layer, wherever it sits" {
	mkdir -p "$T/l1/d" "$T/l2/d"
	echo old >"$T/l1/d/f"
	echo new >"$T/l2/d/f"
	touch "$T/l2/d/.wh.f"
	# The whiteout is written after the file it names.
	tar -C "$T/l2" -cf "$T/l2.tar" ./d/f ./d/.wh.f
	tar -C "$T/l1" -cf "$T/l1.tar" .
	flatten "$T/l1.tar" "$T/l2.tar" >"$T/flat.tar"
	[ "$(tar -xOf "$T/flat.tar" ./d/f)" = new ]
	[ "$(tar_list "$T/flat.tar" | sort | tr '\n' ' ')" = "d d/f " ]
}

@test "an opaque directory hides the lower contents, keeps its own" {
	mkdir -p "$T/l1/d/sub" "$T/l2/d" "$T/l3/d"
	echo 1 >"$T/l1/d/old"
	echo 1 >"$T/l1/d/sub/deep"
	echo 2 >"$T/l2/d/mine"
	touch "$T/l2/d/.wh..wh..opq"
	echo 3 >"$T/l3/d/top"
	check_stack l1 l2 l3
	[ "$(tar_list "$T/flat.tar" | sort | tr '\n' ' ')" = "d d/mine d/top " ]
}

@test "a file replaces a directory, and a directory a file" {
	mkdir -p "$T/l1/a/deep" "$T/l1/b" "$T/l2/b/c" "$T/l3"
	echo x >"$T/l1/a/deep/f"
	echo x >"$T/l1/b/was"
	: >"$T/l1/c"
	echo file >"$T/l2/a"
	echo in >"$T/l2/b/c/f"
	mkdir "$T/l3/c"
	echo dir >"$T/l3/c/f"
	check_stack l1 l2 l3
	grep -q '^a f ' "$T/got.list"
	refute grep -q '^a/' "$T/got.list"
	grep -q '^c/f f ' "$T/got.list"
}

@test "overlayfs forms: a 0/0 character device deletes, the opaque xattr hides" {
	require setfattr mknod
	mkdir -p "$T/l1/d" "$T/l1/o" "$T/l2/d" "$T/l2/o"
	echo 1 >"$T/l1/d/gone"
	echo 1 >"$T/l1/d/kept"
	echo 1 >"$T/l1/o/hidden"
	mknod "$T/l2/d/gone" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$T/l2/o" ||
		skip "no trusted xattrs here"
	echo 2 >"$T/l2/o/own"
	tar -C "$T/l1" -cf "$T/l1.tar" .
	tar --xattrs --xattrs-include='*' -C "$T/l2" -cf "$T/l2.tar" .
	tar -tvf "$T/l2.tar" | grep -q '^c.* 0,0 .*d/gone'
	flatten "$T/l1.tar" "$T/l2.tar" >"$T/flat.tar"
	[ "$(tar_list "$T/flat.tar" | sort | tr '\n' ' ')" = "d d/kept o o/own " ]
	# The mark is not carried into the tree.
	refute grep -a -q 'overlay.opaque' "$T/flat.tar"
}

@test "winning entries are copied byte for byte" {
	mkdir -p "$T/l1/d" "$T/l2/d"
	head -c 70000 /dev/urandom >"$T/l1/d/big"
	echo top >"$T/l2/d/small"
	ln -s "$(printf 'x%.0s' {1..150})" "$T/l2/longlink"
	tar --format=pax -C "$T/l1" -cf "$T/l1.tar" .
	tar --format=gnu -C "$T/l2" -cf "$T/l2.tar" .
	flatten "$T/l1.tar" "$T/l2.tar" >"$T/flat.tar"
	# l2's members come first and whole; l1's ./d is decided, ./d/big is not.
	local n2
	n2=$(tar -tvR -f "$T/l2.tar" | awk '/block [0-9]+: \*\* End of File/ {print $2}' | tr -d :)
	cmp -n $((n2 * 512)) "$T/l2.tar" "$T/flat.tar"
	tar -xOf "$T/flat.tar" ./d/big | cmp - "$T/l1/d/big"
}

@test "hardlinks: replaced target becomes a copy, further links follow it" {
	mkdir -p "$T/l1" "$T/l2"
	echo original >"$T/l1/f"
	ln "$T/l1/f" "$T/l1/g"
	ln "$T/l1/f" "$T/l1/h"
	echo replaced >"$T/l2/f"
	check_stack l1 l2
	grep -q '^g f 644 0:0 2 ' "$T/got.list"
	[ "$(cat "$T/got/g")" = original ] && [ "$(cat "$T/got/f")" = replaced ]
}

@test "hardlinks: target deleted above, link kept" {
	mkdir -p "$T/l1/bin" "$T/l2/bin"
	echo prog >"$T/l1/bin/a"
	ln "$T/l1/bin/a" "$T/l1/bin/b"
	touch "$T/l2/bin/.wh.a"
	check_stack l1 l2
	[ "$(tar_list "$T/flat.tar" | tr '\n' ' ')" = "bin bin/b " ]
}

@test "hardlinks: a link in an upper layer to a target in a lower one" {
	mkdir -p "$T/l1" "$T/l2" "$T/l3"
	echo low >"$T/l1/t"
	echo low2 >"$T/l1/u"
	tar -C "$T/l1" -cf "$T/l1.tar" .
	# l2 holds only hardlinks to l1's t and u; l3 replaces u.
	mkdir -p "$T/h" && cd "$T/h" && echo low >t && echo low2 >u &&
		ln t lt && ln u lu &&
		tar -cf "$T/l2.tar" t lt u lu && tar --delete -f "$T/l2.tar" t u
	echo new >"$T/l3/u"
	tar -C "$T/l3" -cf "$T/l3.tar" .
	tar -tvf "$T/l2.tar" | grep -q '^h.*lt link to t'
	flatten "$T/l1.tar" "$T/l2.tar" "$T/l3.tar" >"$T/flat.tar"
	mkdir "$T/got" && tar -C "$T/got" -xpf "$T/flat.tar"
	[ "$(cat "$T/got/lt")" = low ] && [ "$(cat "$T/got/t")" = low ]
	[ "$(stat -c %h "$T/got/lt")" = 2 ]
	[ "$(cat "$T/got/lu")" = low2 ] && [ "$(cat "$T/got/u")" = new ]
	[ "$(stat -c %h "$T/got/lu")" = 1 ]
}

@test "hardlink to a path no layer below holds: an error naming it" {
	mkdir -p "$T/h" && cd "$T/h" && echo x >t && ln t l &&
		tar -cf "$T/l.tar" t l && tar --delete -f "$T/l.tar" t
	run flatten "$T/l.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 1 ("*"'l': hardlink to 't': no layer below holds it"* ]]
}

@test "a name with .. is refused, an absolute name made relative" {
	mkdir -p "$T/d" && echo x >"$T/d/f"
	tar -C "$T/d" -cf "$T/bad.tar" --transform 's,^\./f,../f,' ./f
	tar -tf "$T/bad.tar" | grep -qx '../f'
	run flatten "$T/bad.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"'../f': name climbs out"* ]]
	tar -C "$T/d" -cPf "$T/abs.tar" --transform 's,^\./f,/etc/f,' ./f
	flatten "$T/abs.tar" >"$T/flat.tar"
	[ "$(tar -tf "$T/flat.tar" | tr '\n' ' ')" = "etc/f etc/ " ]
}

@test "implied parents become directories, written last" {
	mkdir -p "$T/d/x/y" && echo x >"$T/d/x/y/f"
	tar -C "$T/d" -cf "$T/l.tar" x/y/f
	SOURCE_DATE_EPOCH=7 flatten "$T/l.tar" >"$T/flat.tar"
	[ "$(tar -tf "$T/flat.tar" | tr '\n' ' ')" = "x/y/f x/ x/y/ " ]
	tar -tvf "$T/flat.tar" --full-time | grep -q '^drwxr-xr-x 0/0 .* 1970-01-01 00:00:07 x/$'
}

@test "the same layers give the same bytes" {
	random_layer "$T/l1" 11
	random_layer "$T/l2" 12
	tar -C "$T/l1" -cf "$T/l1.tar" . && tar -C "$T/l2" -cf "$T/l2.tar" .
	flatten "$T/l1.tar" "$T/l2.tar" >"$T/a.tar"
	flatten "$T/l1.tar" "$T/l2.tar" >"$T/b.tar"
	cmp "$T/a.tar" "$T/b.tar"
}

@test "random stacks of three layers agree with applying them one by one" {
	local seed
	for seed in $(seq 1 40); do
		rm -rf "$T"/*
		random_layer "$T/l1" $((seed * 3))
		random_layer "$T/l2" $((seed * 3 + 1))
		random_layer "$T/l3" $((seed * 3 + 2))
		check_stack l1 l2 l3 || { echo "seed $seed"; return 1; }
	done
}

@test "a truncated layer fails without an end-of-archive" {
	mkdir -p "$T/d" && head -c 5000 /dev/urandom >"$T/d/f"
	tar -C "$T/d" -cf "$T/l.tar" .
	head -c 3000 "$T/l.tar" >"$T/cut.tar"
	run flatten "$T/cut.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"truncated"* ]]
}
