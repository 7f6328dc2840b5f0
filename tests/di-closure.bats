#!/usr/bin/env bats
# di-closure: store paths and their references as a TREE, or as a list.
# The stores are fakes made here: valid Nix hash parts, files that mention
# each other's hashes, symlinks between store paths.  No Nix needed.

load lib/testlib

# Hash parts: 32 characters of Nix's base32 alphabet (no e, o, u, t).
HA=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a
HB=1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b
HC=2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c
HD=3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d
HE=4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f
HF=5g5g5g5g5g5g5g5g5g5g5g5g5g5g5g5g

setup() {
	di_setup
	S=$T/store
	A=$S/$HA-app B=$S/$HB-lib C=$S/$HC-conf D=$S/$HD-conf-link
	E=$S/$HE-unrelated F=$S/$HF-data
}

teardown() {
	di_teardown
}

# app -> lib (text in a script, and a symlink into it), lib -> conf (bytes
# inside a binary file), app -> conf-link (a store path that is a symlink
# to conf), data referenced by nothing; unrelated stays out.
make_store() {
	mkdir -p "$A/bin" "$A/share" "$B/lib" "$F"
	printf '#!/bin/sh\nexec %s/lib/run "$@"\n' "$B" >"$A/bin/app"
	cp "$A/bin/app" "$A/share/app-copy"
	ln "$A/bin/app" "$A/bin/app-hardlink"
	ln -s "$B/lib/libb.so" "$A/share/lib-link"
	ln -s "$D" "$A/share/conf"
	{
		printf '\177ELF\0\0\0'
		printf '%s' "$C" | cut -c1-200
		printf '\0\1\2'
	} >"$B/lib/libb.so"
	printf 'run\n' >"$B/lib/run"
	printf 'conf\n' >"$C"
	ln -s "$C" "$D"
	printf 'unrelated, mentions %s\n' "$A" >"$E"
	printf 'self: %s\n' "$F" >"$F/self"
	mkdir "$S/$HA-app.lock.d" 2>/dev/null || true
	: >"$S/$HE-unrelated.lock"
	chmod 0555 "$A/bin/app" "$A/bin" "$B/lib/run"
	chmod 0444 "$C"
}

# An exportReferencesGraph file: PATH [REF...] per argument group,
# groups separated by ";".
graph() {
	local out=$1
	shift
	: >"$out"
	while [ $# -gt 0 ]; do
		local p=$1 refs=()
		shift
		while [ $# -gt 0 ] && [ "$1" != ";" ]; do
			refs+=("$1")
			shift
		done
		[ $# -eq 0 ] || shift
		printf '%s\n\n%s\n' "$p" "${#refs[@]}" >>"$out"
		[ ${#refs[@]} -eq 0 ] || printf '%s\n' "${refs[@]}" >>"$out"
	done
}

app_graph() {
	graph "$T/graph" "$A" "$A" "$B" "$D" \; "$B" "$B" "$C" \; "$C" \; "$D" "$C"
}

listing() {
	TZ=UTC tar --numeric-owner --full-time -tvf "$1" | sed "s|${S#/}|STORE|g"
}

@test "--list: the closure from an exportReferencesGraph file, sorted" {
	make_store
	app_graph
	run di-closure --store "$S" --graph "$T/graph" --list "$A"
	[ "$status" -eq 0 ]
	[ "$output" = "$A
$B
$C
$D" ]
	run di-closure --store "$S" --graph "$T/graph" --list "$B"
	[ "$output" = "$B
$C" ]
	# NUL-separated, and --exclude-roots.
	di-closure --store "$S" --graph "$T/graph" --list -0 --exclude-roots "$A" >"$T/out"
	[ "$(tr '\0' '\n' <"$T/out")" = "$B
$C
$D" ]
	[ "$(tr -cd '\0' <"$T/out" | wc -c)" -eq 3 ]
}

@test "--scan finds the same closure as the graph, the way Nix finds references" {
	make_store
	app_graph
	run di-closure --store "$S" --scan --list "$A"
	[ "$status" -eq 0 ]
	[ "$output" = "$(di-closure --store "$S" --graph "$T/graph" --list "$A")" ]
	# A self-reference is no cycle; the lock file is no candidate.
	run di-closure --store "$S" --scan --list "$F" "$E"
	[ "$output" = "$A
$B
$C
$D
$E
$F" ]
}

@test "the scanner finds hashes across the boundaries of what it reads" {
	local h1=0123456789abcdfghijklmnpqrsvwxyz h2=zyxwvsrqpnmlkjihgfdcba9876543210
	local p
	for p in 1 2 7 31 32 33 4096; do
		run "$DI_UNIT/refscan" "$p" "$h1" "$h2" 00000000000000000000000000000000 \
			< <(printf 'xx%s-foo\0/nix/store/%s%s' "$h1" "$h2" "$h1")
		[ "$output" = "$h1
$h2" ]
	done
	# 31 characters of a hash are not the hash; nor is one split by a byte
	# outside the alphabet.
	run "$DI_UNIT/refscan" 5 "$h1" < <(printf '%s' "${h1:0:31}" ; printf 'X%s' "${h1:1}")
	[ "$output" = "" ]
	run "$DI_UNIT/refscan" 3 "$h1" < <(printf 'e%se' "$h1")
	[ "$output" = "$h1" ]
}

@test "without --graph or --scan the closure is the roots; roots come from stdin too" {
	make_store
	run di-closure --store "$S" --list "$C" "$A" "$C"
	[ "$output" = "$A
$C" ]
	run di-closure --store "$S" --list < <(printf '%s\n\n%s/\n' "$C" "$B")
	[ "$output" = "$B
$C" ]
	di-closure --store "$S" --list -0 < <(printf '%s\0%s\0' "$C" "$B") >"$T/out"
	[ "$(tr '\0' '\n' <"$T/out")" = "$B
$C" ]
}

@test "the tree: every path at its place, parents made, sorted, owner 0:0, modes, links" {
	make_store
	app_graph
	chown -R 1000:1000 "$S"
	di-closure --store "$S" --graph "$T/graph" "$A" >"$T/out.tar"
	has_eoa "$T/out.tar"
	local dirs
	dirs=$(dirname "${S#/}")
	run listing "$T/out.tar"
	[ "${lines[0]}" = "drwxr-xr-x 0/0               0 1970-01-01 00:00:01 ${dirs%%/*}/" ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -v ' STORE/' | grep -c -v '^drwxr-xr-x 0/0 ')" -eq 0 ]
	local app lib
	app=$(stat -c %s "$A/bin/app")
	lib=$(stat -c %s "$B/lib/libb.so")
	[ "$(printf '%s\n' "${lines[@]}" | grep ' STORE')" = "$(cat <<EOF
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/$HA-app/
dr-xr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/$HA-app/bin/
-r-xr-xr-x 0/0 $(printf '%15s' "$app") 1970-01-01 00:00:01 STORE/$HA-app/bin/app
hr-xr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/$HA-app/bin/app-hardlink link to STORE/$HA-app/bin/app
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/$HA-app/share/
-rw-r--r-- 0/0 $(printf '%15s' "$app") 1970-01-01 00:00:01 STORE/$HA-app/share/app-copy
lrwxrwxrwx 0/0               0 1970-01-01 00:00:01 STORE/$HA-app/share/conf -> /STORE/$HD-conf-link
lrwxrwxrwx 0/0               0 1970-01-01 00:00:01 STORE/$HA-app/share/lib-link -> /STORE/$HB-lib/lib/libb.so
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/$HB-lib/
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 STORE/$HB-lib/lib/
-rw-r--r-- 0/0 $(printf '%15s' "$lib") 1970-01-01 00:00:01 STORE/$HB-lib/lib/libb.so
-r-xr-xr-x 0/0               4 1970-01-01 00:00:01 STORE/$HB-lib/lib/run
-r--r--r-- 0/0               5 1970-01-01 00:00:01 STORE/$HC-conf
lrwxrwxrwx 0/0               0 1970-01-01 00:00:01 STORE/$HD-conf-link -> /STORE/$HC-conf
EOF
)" ]
	# bsdtar reads it the same.
	[ "$(bsdtar -tf "$T/out.tar")" = "$(tar -tf "$T/out.tar")" ]
}

@test "extracting the tree gives back the store paths, byte for byte" {
	make_store
	app_graph
	di-closure --store "$S" --graph "$T/graph" "$A" >"$T/out.tar"
	mkdir "$T/x"
	tar -xpf "$T/out.tar" -C "$T/x"
	local p
	for p in "$A" "$B" "$C" "$D"; do
		diff -r --no-dereference "$p" "$T/x$p"
		[ "$(stat -c %a "$p")" = "$(stat -c %a "$T/x$p")" ]
	done
	[ ! -e "$T/x$E" ]
	[ ! -e "$T/x$F" ]
	[ "$(stat -c %i "$T/x$A/bin/app")" = "$(stat -c %i "$T/x$A/bin/app-hardlink")" ]
	[ "$(readlink "$T/x$D")" = "$C" ]
}

@test "--root-contents puts each root's contents at / too; --exclude-roots leaves the roots out" {
	make_store
	app_graph
	di-closure --store "$S" --graph "$T/graph" --root-contents --exclude-roots "$A" >"$T/out.tar"
	run tar -tf "$T/out.tar"
	[ "${lines[0]}" = "bin/" ]
	[ "${lines[1]}" = "bin/app" ]
	[ "${lines[2]}" = "bin/app-hardlink" ]
	[ "${lines[3]}" = "share/" ]
	! printf '%s\n' "${lines[@]}" | grep -q "$HA-app"
	printf '%s\n' "${lines[@]}" | grep -q "^${S#/}/$HB-lib/lib/run$"
	[ "$(tar -xOf "$T/out.tar" bin/app)" = "$(cat "$A/bin/app")" ]
	# Hard links within the root's contents stay links among themselves.
	[ "$(tar -tvf "$T/out.tar" bin/app-hardlink | cut -c1)" = h ]
	# With the roots, app is both at / and at its store path.
	di-closure --store "$S" --graph "$T/graph" --root-contents "$A" | tar -t >"$T/list"
	grep -q "^bin/app$" "$T/list"
	grep -q "^${S#/}/$HA-app/bin/app$" "$T/list"
}

@test "the same store made another way, under another umask and time zone, gives the same bytes" {
	make_store
	app_graph
	di-closure --store "$S" --graph "$T/graph" "$A" >"$T/one.tar"
	rm -rf "$S"
	(umask 077 && make_store)
	chmod 0755 "$A" "$A/share" "$B" "$B/lib" "$S"
	chmod 0644 "$A/share/app-copy" "$B/lib/libb.so"
	chmod 0555 "$A/bin/app" "$A/bin" "$B/lib/run"
	TZ=Asia/Tokyo LC_ALL=C.UTF-8 di-closure --store "$S" --graph "$T/graph" "$A" >"$T/two.tar"
	cmp "$T/one.tar" "$T/two.tar"
	SOURCE_DATE_EPOCH=86400 di-closure --store "$S" "$C" | tar -tvf - --full-time --utc 2>/dev/null |
		grep -q ' 1970-01-02 00:00:00 '
}

@test "bad graphs: clear errors naming the file and line" {
	make_store
	graph "$T/g" "$A" "$B" \; "$B" "$A"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$status" -eq 1 ]
	[ "$output" = "di-closure: the references form a cycle: $A -> $B -> $A" ]
	graph "$T/g" "$A" "$C"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$status" -eq 1 ]
	[ "$output" = "di-closure: $A references $C, which has no record in the graph" ]
	run di-closure --store "$S" --graph "$T/g" --list "$B"
	[ "$status" -eq 1 ]
	[ "$output" = "di-closure: $B: not in the reference graph" ]
	printf '%s\n\nthree\n' "$A" >"$T/g"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$status" -eq 1 ]
	[ "$output" = "di-closure: $T/g: line 3: bad reference count 'three'" ]
	printf '%s\n\n2\n%s\n' "$A" "$B" >"$T/g"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$output" = "di-closure: $T/g: line 5: the file ends where a reference was expected" ]
	printf '%s\n\n100\n%s\n' "$A" "$B" >"$T/g"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$output" = "di-closure: $T/g: line 3: 100 references, but the file is too short for them" ]
	printf '%s\n\n1\n%s\n%s\n\n0\n' "$A" "$B" "$B" >"$T/g"
	printf '%s\n\n0\n%s\n\n0\n' "$A" "$B" >"$T/g2"
	run di-closure --store "$S" --graph "$T/g" --graph "$T/g2" --list "$A"
	[ "$output" = "di-closure: $T/g2: line 1: $A is recorded twice with different references" ]
	printf 'relative/path\n\n0\n' >"$T/g"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$output" = "di-closure: $T/g: line 1: expected a store path, not 'relative/path'" ]
	printf '%s\n' "$A" >"$T/g"
	run di-closure --store "$S" --graph "$T/g" --list "$A"
	[ "$output" = "di-closure: $T/g: line 2: the record of $A ends early" ]
	run di-closure --store "$S" --graph "$T/missing" --list "$A"
	[ "$output" = "di-closure: $T/missing: No such file or directory" ]
}

@test "missing paths and paths outside the store are errors; the tar is cut short" {
	make_store
	run di-closure --store "$S" --list "$T/elsewhere"
	[ "$status" -eq 1 ]
	[ "$output" = "di-closure: $T/elsewhere: not a store path in $S" ]
	run di-closure --store "$S" --list "$S/not-a-hash-name"
	[ "$output" = "di-closure: $S/not-a-hash-name: not a store path in $S" ]
	run di-closure --store "$S" --list relative
	[ "$output" = "di-closure: relative: not a store path in $S" ]
	local gone=$S/6h6h6h6h6h6h6h6h6h6h6h6h6h6h6h6h-gone
	di-closure --store "$S" "$A" "$gone" >"$T/out" 2>"$T/err" && false
	[ "$(cat "$T/err")" = "di-closure: $gone: No such file or directory" ]
	! has_eoa "$T/out"
	run di-closure --store "$S" --scan "$gone"
	[ "$status" -eq 1 ]
	run di-closure --graph "$T/x" --scan "$A"
	[ "$status" -eq 2 ]
	run di-closure --store relative "$A"
	[ "$status" -eq 2 ]
	# A root whose contents are wanted must be a directory.
	run di-closure --store "$S" --root-contents "$C"
	[ "$status" -eq 1 ]
	[[ $output == "di-closure: $C: Not a directory" ]]
}

@test "memory stays flat whatever the file size, with --scan too" {
	require /usr/bin/time
	local big=$S/7j7j7j7j7j7j7j7j7j7j7j7j7j7j7j7j-big
	mkdir -p "$big"
	truncate -s 256M "$big/zeros"
	/usr/bin/time -f %M -o "$T/rss" di-closure --store "$S" --scan "$big" >/dev/null
	echo "peak RSS $(cat "$T/rss") KiB"
	[ "$(cat "$T/rss")" -lt 40000 ]
}

@test "--help, --version, -o" {
	run di-closure --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: di-closure "* ]]
	run di-closure --version
	[[ $output == "di-closure (di) "* ]]
	make_store
	di-closure --store "$S" -o "$T/c.tar" "$C"
	[ "$(tar -xOf "$T/c.tar" "${C#/}")" = conf ]
	di-closure --store "$S" --list -o "$T/list" "$C"
	[ "$(cat "$T/list")" = "$C" ]
}
