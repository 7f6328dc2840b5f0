#!/usr/bin/env bats
# di-closure: store paths and their references as a TREE, or as a list.
# The stores are fakes made here: valid Nix hash parts, files that mention
# each other's hashes, symlinks between store paths; and for --layers,
# synthetic closures of a hundred-odd paths (tests/lib/synthstore.py) and a
# real Nix store (Debian's nix-bin, single-user, builds from
# builtins.derivation with busybox as the builder), whose layered images
# Docker and podman run.

load lib/testlib
load lib/peers

setup_file() {
	if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; then
		dockerd_start || export DOCKERD_FAILED=1
		podman_setup || true
	fi
}

teardown_file() {
	podman_cleanup
	dockerd_stop
}

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

# --- --layers: a STACK -------------------------------------------------------

SYNTH=$TOP/tests/lib/synthstore.py

# synth NAME SCENARIO [SCALE]: the scenario's closure in the store $S
# (shared by the scenarios), its graph in $T/NAME.graph, its roots in
# $T/NAME.roots; sizes times SCALE (default 1/1000: a 30 KB libc).
synth() {
	python3 "$SYNTH" "$S" "$T/$1" "$2" --scale "${3:-0.001}"
}

# layered NAME N [OPTION...]: the STACK of NAME's closure in $T/NAME.N.stack.
layered() {
	local name=$1 n=$2
	shift 2
	di-closure --store "$S" --graph "$T/$name.graph" --layers "$n" "$@" \
		$(cat "$T/$name.roots") >"$T/$name.$n.stack"
}

# stack_list STACK: its stack.json.
stack_list() {
	tar -xOf "$1" stack.json
}

# shared OLD NEW: the share (in percent) of NEW's layer bytes in layers OLD
# has, a layer being the same when its member's bytes are.
shared() {
	local f d
	for f in "$1" "$2"; do
		d=$f.d
		mkdir -p "$d"
		tar -C "$d" -xf "$f"
		(cd "$d" && sha256sum [0-9]*.tar | sort -k2) >"$f.sums"
	done
	python3 - "$1" "$2" <<'PY'
import os, sys
def sums(f):
    return {line.split()[1]: line.split()[0] for line in open(f + ".sums")}
old, new = sums(sys.argv[1]), sums(sys.argv[2])
size = lambda f, m: os.path.getsize(os.path.join(f + ".d", m))
total = sum(size(sys.argv[2], m) for m in new)
kept = sum(size(sys.argv[2], m) for m, h in new.items() if h in old.values())
print("%.1f" % (100.0 * kept / total))
PY
}

@test "--layers: every closure path in exactly one layer, with its parents, normalized; sizes before bytes" {
	synth app app
	layered app 10
	tar -tvf "$T/app.10.stack" >"$T/members"
	[ "$(awk '{print $6}' "$T/members" | head -1)" = stack.json ]
	[ "$(awk 'NR > 1 {print $6}' "$T/members" | tr '\n' ' ')" = "001.tar 002.tar 003.tar 004.tar 005.tar 006.tar 007.tar 008.tar 009.tar 010.tar " ]
	stack_list "$T/app.10.stack" | jq -r '.layers[].paths[]' | sort >"$T/in-layers"
	di-closure --store "$S" --graph "$T/app.graph" --list $(cat "$T/app.roots") >"$T/closure"
	[ "$(wc -l <"$T/closure")" -gt 100 ]
	diff "$T/closure" "$T/in-layers"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/app.10.stack"
	local d=
	for c in $(echo "${S#/}" | tr '/' ' '); do
		d=$d$c/
		echo "$d"
	done >"$T/parents"
	for i in $(seq 0 9); do
		local m=$(printf '%03d.tar' $((i + 1)))
		# The size in the list is the member's, and the member a whole tar.
		[ "$(stack_list "$T/app.10.stack" | jq ".layers[$i].size")" = "$(stat -c %s "$T/x/$m")" ]
		[ "$(stack_list "$T/app.10.stack" | jq -r ".layers[$i].name")" = "$m" ]
		has_eoa "$T/x/$m"
		# Store paths of its own and their parents, nothing else, sorted,
		# owner 0:0, time 1.
		TZ=UTC tar --numeric-owner --full-time -tvf "$T/x/$m" >"$T/l"
		! grep -v ' 0/0 ' "$T/l"
		! grep -v ' 1970-01-01 00:00:01 ' "$T/l"
		tar -tf "$T/x/$m" >"$T/names"
		LC_ALL=C sort -c "$T/names"
		stack_list "$T/app.10.stack" | jq -r ".layers[$i].paths[]" | sed 's|^/||; s|$|/|' >"$T/want"
		grep -E "^${S#/}/[^/]+/$" "$T/names" | diff "$T/want" -
		grep -vE "^${S#/}/." "$T/names" | diff "$T/parents" -
	done
}

@test "--layers 1 is the one tree, byte for byte; the layered image flattens to it" {
	synth app app
	layered app 1
	di-closure --store "$S" --graph "$T/app.graph" $(cat "$T/app.roots") >"$T/tree.tar"
	[ "$(stack_list "$T/app.1.stack" | jq '.layers | length')" = 1 ]
	tar -xOf "$T/app.1.stack" 001.tar | cmp - "$T/tree.tar"
	layered app 10
	di-cook -n synth -t v1 <"$T/app.10.stack" >"$T/img.tar"
	di-overlay --from "$T/img.tar" --export >"$T/flat.tar"
	# The export lists the top layer's entries first: compare sorted.
	TZ=UTC tar --numeric-owner --full-time -tvf "$T/tree.tar" | sort -k6 >"$T/want"
	TZ=UTC tar --numeric-owner --full-time -tvf "$T/flat.tar" | sort -k6 | diff "$T/want" -
	[ "$(wc -l <"$T/want")" -gt 300 ]
}

@test "--layers: the plan is a pure function of the graph and the sizes" {
	synth app app
	layered app 10
	# The graph's records in another order.
	python3 - "$T/app.graph" >"$T/shuffled.graph" <<'PY'
import random, sys
lines = open(sys.argv[1]).read().split("\n")
recs, i = [], 0
while i < len(lines) - 1:
    n = int(lines[i + 2])
    refs = lines[i + 3:i + 3 + n]
    random.Random(7).shuffle(refs)
    recs.append([lines[i], lines[i + 1], str(n)] + refs)
    i += 3 + n
random.Random(3).shuffle(recs)
print("\n".join(l for r in recs for l in r))
PY
	! cmp -s "$T/app.graph" "$T/shuffled.graph"
	di-closure --store "$S" --graph "$T/shuffled.graph" --layers 10 $(tac "$T/app.roots") | cmp - "$T/app.10.stack"
	# The references found by scanning are the graph's: the same STACK.
	di-closure --store "$S" --scan --layers 10 $(cat "$T/app.roots") | cmp - "$T/app.10.stack"
	# Another store, made in another order, gives the same bytes.
	S2=$T/other/${S#/}
	mkdir -p "$S2"
	(S=$S2 && cd "$T" && python3 "$SYNTH" "$S2" "$T/o" app)
	run diff <(sed "s|$S2|S|g" "$T/o.graph") <(sed "s|$S|S|g" "$T/app.graph")
	[ "$status" -eq 0 ]
}

@test "--layers: a rebuilt application, an added dependency, a sibling application: what they share" {
	synth app app 0.01
	synth rebuilt app-rebuilt 0.01
	synth dep app-dep 0.01
	synth sibling sibling 0.01
	for n in 10 50 100; do
		for v in app rebuilt dep sibling; do layered $v $n; done
		local leaf dep sib
		leaf=$(shared "$T/app.$n.stack" "$T/rebuilt.$n.stack")
		dep=$(shared "$T/app.$n.stack" "$T/dep.$n.stack")
		sib=$(shared "$T/app.$n.stack" "$T/sibling.$n.stack")
		echo "N=$n: rebuilt $leaf%, dependency added $dep%, sibling $sib%"
		# The changed paths are the application and its wrapper: every
		# other layer is the old one, byte for byte.  A new path only the
		# application uses goes with what only it uses: 90% kept.  The
		# sibling loses what only one of the two uses (about 8% here)
		# and, with ten layers, the small modules they share.
		[ "${leaf%.*}" -ge 95 ]
		[ "${dep%.*}" -ge 90 ]
		[ "${sib%.*}" -ge $((n > 10 ? 85 : 75)) ]
		# The sibling has the base's layers: libc's and the runtime's.
		for p in glibc-2.37 python3-3.11; do
			local a b
			a=$(stack_list "$T/app.$n.stack" | jq -r ".layers[] | select(.paths | any(endswith(\"-$p\"))) | .name")
			b=$(stack_list "$T/sibling.$n.stack" | jq -r ".layers[] | select(.paths | any(endswith(\"-$p\"))) | .name")
			cmp "$T/app.$n.stack.d/$a" "$T/sibling.$n.stack.d/$b"
		done
	done
}

@test "--layers: fewer layers than N when the closure is smaller, never an empty one" {
	synth app app
	make_store
	app_graph
	di-closure --store "$S" --graph "$T/graph" --layers 100 "$A" >"$T/small"
	[ "$(stack_list "$T/small" | jq -c '[.layers[].paths | length]')" = "[1,1,1,1]" ]
	layered app 100
	stack_list "$T/app.100.stack" | jq -e '(.layers | length) <= 100 and all(.layers[]; .paths | length > 0)'
	layered app 2
	[ "$(stack_list "$T/app.2.stack" | jq '.layers | length')" = 2 ]
}

@test "--layers --list: the plan, a line per layer: name, size, store paths" {
	synth app app
	layered app 10
	di-closure --store "$S" --graph "$T/app.graph" --layers 10 --list $(cat "$T/app.roots") >"$T/plan"
	stack_list "$T/app.10.stack" | jq -r '.layers[] | ([.name, (.size | tostring)] + .paths) | join(" ")' | diff - "$T/plan"
}

@test "roots: a path inside a store path, and symlinks that lead into the store, as nix-store -qR takes them" {
	make_store
	app_graph
	di-closure --store "$S" --graph "$T/graph" --list "$A" >"$T/want"
	ln -s "$A" "$T/result"
	ln -s result "$T/result-link"
	ln -s "$A/bin" "$T/bin-link"
	(cd "$T" && di-closure --store "$S" --graph graph --list ./result) | diff "$T/want" -
	(cd "$T" && di-closure --store "$S" --graph graph --list result-link) | diff "$T/want" -
	di-closure --store "$S" --graph "$T/graph" --list "$A/bin/app" | diff "$T/want" -
	di-closure --store "$S" --graph "$T/graph" --list "$T/bin-link/app" | diff "$T/want" -
	printf '%s\n' "$T/result" "$A/share/" | di-closure --store "$S" --graph "$T/graph" --list | diff "$T/want" -
	# A store path that is a link stays itself.
	di-closure --store "$S" --graph "$T/graph" --list "$D" | diff <(printf '%s\n' "$C" "$D") -
	# A link out of the store is not a root.
	ln -s /etc "$T/etc-link"
	run di-closure --store "$S" --list "$T/etc-link"
	[ "$status" -eq 1 ]
	[ "$output" = "di-closure: $T/etc-link: not a store path in $S" ]
}

@test "--layers: usage errors" {
	make_store
	for bad in 0 1001 x -3 ''; do
		run di-closure --store "$S" --layers "$bad" "$A"
		[ "$status" -eq 2 ]
		[[ $output == "di-closure: --layers wants a number from 1 to 1000, not '$bad'"* ]]
	done
	run di-closure --store "$S" --layers 3 --root-contents "$A"
	[ "$status" -eq 2 ]
	# A path gone from the store: no STACK end-of-archive.
	local gone=$S/6h6h6h6h6h6h6h6h6h6h6h6h6h6h6h6h-gone
	di-closure --store "$S" --layers 3 "$A" "$gone" >"$T/out" 2>"$T/err" && false
	[ "$(cat "$T/err")" = "di-closure: $gone: No such file or directory" ]
	! has_eoa "$T/out"
}

# --- a real Nix store --------------------------------------------------------

# nix_build: a busybox (busybox-static, added with nix-store --add) as the
# builder of three derivations: a library, an application that references
# it, and the application's exportReferencesGraph file.  Single-user Nix as
# root, no sandbox, no substituters: offline.  Sets APP, GRAPH, RESULT.
nix_build() {
	peers_require nix-build nix-store busybox
	peers_require_root
	export NIX_CONFIG=$'sandbox = false\nbuild-users-group =\nsubstituters =\n'
	mkdir -p "$T/nix/bbdir"
	cp "$(command -v busybox)" "$T/nix/bbdir/busybox"
	local bbdir
	bbdir=$(nix-store --add "$T/nix/bbdir")
	cat >"$T/nix/test.nix" <<'NIX'
{ busybox, salt }:
let
  bb = "${builtins.storePath busybox}/busybox";
  mk = name: script: extra: builtins.derivation ({
    inherit name salt bb;
    system = builtins.currentSystem;
    builder = bb;
    args = [ "sh" "-c" script ];
  } // extra);
  lib = mk "di-test-lib" ''
    $bb mkdir -p $out/lib
    echo libdata > $out/lib/data
    $bb ln -s $bb $out/lib/busybox
  '' { salt = ""; };
  app = mk "di-test-app" ''
    $bb mkdir -p $out/bin
    printf '#!%s sh\necho hello from nix\n%s cat %s/lib/data\n' $bb $bb ${lib} > $out/bin/app
    $bb chmod +x $out/bin/app
  '' { };
  graph = mk "di-test-graph" "$bb cp closure $out" {
    exportReferencesGraph = [ "closure" app ];
  };
in { inherit app graph; }
NIX
	(cd "$T/nix" && nix-build test.nix --argstr busybox "$bbdir" \
		--argstr salt "${1:-}" -A app -A graph >/dev/null)
	RESULT=$T/nix/result
	APP=$(readlink "$RESULT")
	GRAPH=$T/nix/result-2
}

@test "a real Nix store: exportReferencesGraph and --scan give one plan; ./result and \$out/bin/app are roots" {
	nix_build
	nix-store -qR "$RESULT" | sort >"$T/want"
	[ "$(wc -l <"$T/want")" = 3 ]
	di-closure --graph "$GRAPH" --list "$RESULT" | diff "$T/want" -
	di-closure --scan --list "$APP/bin/app" | diff "$T/want" -
	di-closure --graph "$GRAPH" --layers 10 "$RESULT" >"$T/g.stack"
	di-closure --scan --layers 10 "$RESULT" | cmp - "$T/g.stack"
	stack_list "$T/g.stack" | jq -r '.layers[].paths[]' | sort | diff "$T/want" -
}

@test "a real Nix store to docker run and podman run, layered; the export is the one tree" {
	nix_build
	peers_check
	peers_require docker podman
	printf '{"Cmd":["%s/bin/app"]}\n' "$APP" >"$T/config.json"
	di-closure --graph "$GRAPH" --layers 2 "$RESULT" \
		| di-cook -n di-closure-nix -t v1 -c "$T/config.json" - >"$T/img.tar"
	[ "$(tar -xOf "$T/img.tar" manifest.json | jq '.[0].Layers | length')" = 2 ]
	docker load -i "$T/img.tar"
	run docker run --rm di-closure-nix:v1
	[ "$status" -eq 0 ]
	[ "$output" = $'hello from nix\nlibdata' ]
	docker rmi -f di-closure-nix:v1 >/dev/null
	podman_private load -i "$T/img.tar"
	run podman_private run --rm di-closure-nix:v1
	[ "$output" = $'hello from nix\nlibdata' ]
	di-overlay --from "$T/img.tar" --export | TZ=UTC tar --numeric-owner --full-time -tv | sort -k6 >"$T/flat"
	di-closure --graph "$GRAPH" "$RESULT" | TZ=UTC tar --numeric-owner --full-time -tv | sort -k6 | diff - "$T/flat"
}

@test "a real Nix store: the application rebuilt, its library's layer kept byte for byte" {
	nix_build
	di-closure --graph "$GRAPH" --layers 3 "$RESULT" >"$T/one.stack"
	local app1=$APP
	nix_build rebuilt
	[ "$APP" != "$app1" ]
	di-closure --graph "$GRAPH" --layers 3 "$RESULT" >"$T/two.stack"
	[ "$(shared "$T/one.stack" "$T/two.stack")" != 0.0 ]
	for m in 001.tar 002.tar; do cmp "$T/one.stack.d/$m" "$T/two.stack.d/$m"; done
	! cmp -s "$T/one.stack.d/003.tar" "$T/two.stack.d/003.tar"
}
