#!/usr/bin/env bats
# Each tool under valgrind's memcheck on a representative pipeline: no
# errors and no definite leaks.  Runs the plain build (valgrind and ASan do
# not mix), once.

load lib/testlib

setup() {
	di_setup
	[ "${DI_BUILD:-plain}" = plain ] || skip "valgrind runs with the plain build"
	require valgrind python3
	VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
	B=$TOP/build/bin
	python3 "$TOP/tests/lib/mktars.py" "$T/cases"
}

@test "valgrind: di-tarsum over every generated case, threads and not" {
	local f
	for f in "$T"/cases/*.tar; do
		$VG "$B/di-tarsum" "$f" >/dev/null
		$VG "$B/di-tarsum" --threads 1 -v v0 --json "$f" >/dev/null
	done
	gzip -c "$T/cases/many.tar" >"$T/many.gz"
	$VG "$B/di-tarsum" --tee -o "$T/sum" "$T/many.gz" >"$T/copy"
	cmp "$T/many.gz" "$T/copy"
	head -c 3000 "$T/cases/many.tar" >"$T/cut.tar"
	run $VG "$B/di-tarsum" "$T/cut.tar"
	[ "$status" -eq 1 ]
}

# vg TOOL ARG...: the tool under memcheck (plain build); its status is kept.
vg() {
	local tool=$1
	shift
	$VG "$B/$tool" "$@"
}

@test "valgrind: di-layer from a directory, a tar, a compressed pipe; a bundle and a bare layer; a bad tar" {
	mkdir -p "$T/dir/etc" "$T/dir/bin"
	echo hi >"$T/dir/etc/file"
	ln "$T/dir/etc/file" "$T/dir/etc/hard"
	ln -s ../etc/file "$T/dir/bin/link"
	vg di-layer "$T/dir" "$T/cases/xattrs.tar" >"$T/b.tar"
	tar -tf "$T/b.tar" | grep -qx layer.tar
	vg di-layer -o "$T/o.tar" --tar "$T/cases/many.tar" "$T/cases/global.tar"
	tar -tf "$T/o.tar" | grep -qx after-global
	gzip -c "$T/cases/gnu-basic.tar" | vg di-layer --tar - >"$T/l.tar"
	tar -tf "$T/l.tar" | grep -qx dir/file
	head -c 3000 "$T/cases/many.tar" >"$T/cut.tar"
	run $VG "$B/di-layer" --tar "$T/cut.tar"
	[ "$status" -eq 1 ]
}

@test "valgrind: di-closure over a small store, by graph and by scanning; a bad graph" {
	local s=$T/store a=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a b=1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b
	mkdir -p "$s/$a-app/bin" "$s/$b-lib"
	printf '#!/bin/sh\nexec %s/run\n' "$s/$b-lib" >"$s/$a-app/bin/app"
	echo run >"$s/$b-lib/run"
	ln -s "$s/$b-lib/run" "$s/$a-app/bin/link"
	vg di-closure --store "$s" --scan "$s/$a-app" >"$T/c.tar"
	tar -tf "$T/c.tar" | grep -q "$b-lib/run"
	printf '%s\n\n1\n%s\n%s\n\n0\n' "$s/$a-app" "$s/$b-lib" "$s/$b-lib" >"$T/graph"
	vg di-closure --store "$s" --graph "$T/graph" --list "$s/$a-app" >"$T/list"
	[ "$(wc -l <"$T/list")" -eq 2 ]
	printf '%s\n\n7\n' "$s/$a-app" >"$T/bad"
	run $VG "$B/di-closure" --store "$s" --graph "$T/bad" "$s/$a-app"
	[ "$status" -eq 1 ]
}

@test "valgrind: di-cook of layers and a bundle on a base, every format; a bad layer" {
	python3 "$TOP/tests/lib/hostile.py" tar absolute >"$T/l1.tar"
	"$B/di-layer" "$T/cases/gnu-basic.tar" >"$T/b.tar"
	vg di-cook -n base -t 1 "$T/l1.tar" >"$T/base.tar"
	local f
	for f in hybrid docker oci legacy; do
		vg di-cook -n x --from "$T/base.tar" --format $f \
			"$T/b.tar" "$T/cases/xattrs.tar" >"$T/$f.tar"
	done
	gzip -c "$T/l1.tar" | vg di-cook -n x - >"$T/gz.tar"
	vg di-cook -n x --compress gzip --threads 2 "$T/b.tar" "$T/cases/xattrs.tar" >"$T/cgz.tar"
	vg di-cook -n x --compress zstd --format oci --from "$T/gz.tar" "$T/b.tar" >"$T/czs.tar"
	run $VG "$B/di-cook" -n x "$T/cases/no-end.tar"
	[ "$status" -eq 1 ]
}

@test "valgrind: di-merge of tars, a directory and a pipe, with links; a bad tar" {
	mkdir -p "$T/dir/sub"
	echo dir >"$T/dir/sub/file"
	ln "$T/dir/sub/file" "$T/dir/sub/hard"
	gzip -c "$T/cases/gnu-basic.tar" |
		vg di-merge "$T/cases/many.tar" "$T/dir" - "$T/cases/xattrs.tar" >"$T/m.tar"
	tar -tf "$T/m.tar" | grep -qx sub/hard
	tar -tf "$T/m.tar" | grep -qx dir/hard
	vg di-merge --last-wins "$T/cases/many.tar" "$T/m.tar" >/dev/null
	run $VG "$B/di-merge" "$T/m.tar" "$T/cases/no-end.tar"
	[ "$status" -eq 0 ]
	head -c 3000 "$T/cases/many.tar" >"$T/cut.tar"
	run $VG "$B/di-merge" "$T/m.tar" "$T/cut.tar"
	[ "$status" -eq 1 ]
}

@test "valgrind: di-diff against a tree and an image, every mode; a bad base" {
	mkdir -p "$T/new/sub"
	echo changed >"$T/new/sub/file"
	echo added >"$T/new/added"
	ln "$T/new/added" "$T/new/hard"
	tar -C "$T/new" -cf "$T/new.tar" .
	"$B/di-cook" -n x "$T/cases/gnu-basic.tar" >"$T/img.tar"
	vg di-diff --base "$T/cases/gnu-basic.tar" "$T/new.tar" >"$T/d.tar"
	tar -tf "$T/d.tar" | grep -qx ./added
	vg di-diff --base "$T/img.tar" --base "$T/cases/many.tar" --changed \
		--whiteouts - <"$T/new.tar" >"$T/w.tar"
	tar -tf "$T/w.tar" | grep -q '\.wh\.'
	vg di-diff --base "$T/img.tar" --list -0 "$T/new.tar" >"$T/list"
	grep -qz '^A added$' "$T/list"
	head -c 3000 "$T/cases/many.tar" >"$T/cut.tar"
	run $VG "$B/di-diff" --base "$T/cut.tar" "$T/new.tar"
	[ "$status" -eq 1 ]
}

@test "valgrind: di-overlay --export of a stack with whiteouts and links; a bad image" {
	python3 "$TOP/tests/lib/hostile.py" tar absolute >"$T/l1.tar"
	mkdir -p "$T/up/abs"
	: >"$T/up/abs/.wh.file"
	echo new >"$T/up/abs/new"
	"$B/di-layer" --tar "$T/up" >"$T/l2.tar"
	"$B/di-cook" -n x "$T/l1.tar" "$T/cases/gnu-basic.tar" "$T/l2.tar" >"$T/img.tar"
	vg di-overlay --from "$T/img.tar" >"$T/root.tar"
	tar -tf "$T/root.tar" | grep -qx abs/new
	! tar -tf "$T/root.tar" | grep -qx abs/file
	vg di-overlay --from - <"$T/img.tar" >/dev/null
	head -c 5000 "$T/img.tar" >"$T/cut.tar"
	run $VG "$B/di-overlay" --from "$T/cut.tar"
	[ "$status" -eq 1 ]
}

@test "valgrind: di-pull from a local registry; a registry that answers garbage" {
	local fault
	for fault in none manifest-garbage; do
		rm -f "$T/port"
		python3 "$TOP/tests/lib/hostile.py" serve $fault "$T/port" &
		local srv=$!
		for _ in $(seq 100); do
			[ -s "$T/port" ] && break
			sleep 0.05
		done
		run $VG "$B/di-pull" --plain-http -q --retries 0 -o "$T/img.tar" \
			"127.0.0.1:$(cat "$T/port")/hostile:1"
		kill $srv
		wait $srv 2>/dev/null || true
		if [ $fault = none ]; then
			[ "$status" -eq 0 ]
			"$B/di-overlay" --from "$T/img.tar" | tar -t | grep -qx etc/hostname
		else
			[ "$status" -eq 1 ]
		fi
	done
}
