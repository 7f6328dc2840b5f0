#!/usr/bin/env bats
# di-layer: reproducible layers (BUNDLE or --tar) from directories and trees.

load lib/testlib
load lib/peers

setup_file() {
	# Docker's Go tarsum is the reference for the bundle's checksum.
	if command -v go >/dev/null; then
		gotarsum_build >&2 || true
	fi
}

# A tree with every kind of entry, made in the order the arguments say
# ("forward" or "reverse") so that two trees can differ only in how they
# were made.  Modes are set explicitly: the umask must not matter.
make_tree() {
	local d=$1 order=${2:-forward}
	local long
	long=$(printf 'l%.0s' {1..120})
	mkdir -p "$d"
	if [ "$order" = forward ]; then
		mkdir -p "$d/usr/bin" "$d/usr/lib" "$d/etc" "$d/$long/$long"
		printf '#!/bin/sh\necho hi\n' >"$d/usr/bin/hello"
		printf 'config\n' >"$d/etc/conf"
		ln "$d/usr/bin/hello" "$d/usr/lib/hello-link"
		ln -s ../bin/hello "$d/usr/lib/sym"
		ln -s "$(printf 't%.0s' {1..150})" "$d/etc/longlink"
		printf 'deep\n' >"$d/$long/$long/file with space é"
		mkfifo "$d/etc/fifo"
		: >"$d/empty"
		head -c 70000 /dev/zero | tr '\0' x >"$d/usr/lib/big"
	else
		head -c 70000 /dev/zero | tr '\0' x >"$d/big.tmp"
		: >"$d/empty"
		mkdir -p "$d/$long/$long" "$d/etc" "$d/usr/lib" "$d/usr/bin"
		mkfifo "$d/etc/fifo"
		printf 'deep\n' >"$d/$long/$long/file with space é"
		ln -s "$(printf 't%.0s' {1..150})" "$d/etc/longlink"
		ln -s ../bin/hello "$d/usr/lib/sym"
		printf '#!/bin/sh\necho hi\n' >"$d/usr/lib/hello-link"
		ln "$d/usr/lib/hello-link" "$d/usr/bin/hello"
		printf 'config\n' >"$d/etc/conf"
		mv "$d/big.tmp" "$d/usr/lib/big"
	fi
	find "$d" -type d -exec chmod 0755 {} +
	chmod 0750 "$d/etc"
	chmod 0755 "$d/usr/bin/hello"
	chmod 0640 "$d/etc/conf"
	chmod 0600 "$d/etc/fifo"
	chmod 0644 "$d/empty" "$d/usr/lib/big" "$d/$long/$long/file with space é"
	setfattr -n user.origin -v "made by a test" "$d/etc/conf"
	setfattr -n security.capability \
		-v 0x0100000200200000000000000000000000000000 "$d/usr/bin/hello"
}

# What a tree holds, as one line per path: type, mode, size and digest of
# files, link target, link count, extended attributes.
tree_dump() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -printf '%P\t%y\t%m\t%l\t%n\n' | LC_ALL=C sort |
			while IFS=$'\t' read -r p y m l n; do
				local h='' x
				[ "$y" != f ] || h=$(sha256sum <"$p" | cut -c1-16)
				x=$(getfattr -h -d -m - -e hex "$p" 2>/dev/null |
					grep -v '^#' | grep -v '^$' | LC_ALL=C sort | tr '\n' ' ')
				printf '%s %s %s %s %s %s %s\n' "$p" "$y" "$m" "$h" "$l" "$n" "$x"
			done
	)
}

listing() {
	TZ=UTC tar --numeric-owner --full-time -tvf "$1"
}

@test "a bundle: VERSION, json with the checksum, layer.tar, in that order" {
	make_tree "$T/t"
	di-layer "$T/t" >"$T/b.tar"
	run listing "$T/b.tar"
	[ "${lines[0]}" = "-rw-r--r-- 0/0               3 1970-01-01 00:00:01 VERSION" ]
	[[ ${lines[1]} == "-rw-r--r-- 0/0             179 1970-01-01 00:00:01 json" ]]
	[[ ${lines[2]} == "-rw-r--r-- 0/0 "*" 1970-01-01 00:00:01 layer.tar" ]]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(tar -xOf "$T/b.tar" VERSION)" = "1.0" ]
	tar -xOf "$T/b.tar" layer.tar >"$T/layer.tar"
	local sum
	sum=$(di-tarsum "$T/layer.tar")
	[ "$(tar -xOf "$T/b.tar" json)" = "{\"architecture\":\"amd64\",\"checksum\":\"$sum\",\"config\":null,\"created\":\"1970-01-01T00:00:01Z\",\"os\":\"linux\"}" ]
	has_eoa "$T/b.tar"
	has_eoa "$T/layer.tar"
}

@test "layer.tar is normalized: sorted, relative, owner 0:0, one time, no root entry" {
	make_tree "$T/t"
	chown -R 1234:5678 "$T/t"
	di-layer --tar "$T/t" >"$T/layer.tar"
	local long
	long=$(printf 'l%.0s' {1..120})
	run listing "$T/layer.tar"
	[ "$output" = "-rw-r--r-- 0/0               0 1970-01-01 00:00:01 empty
drwxr-x--- 0/0               0 1970-01-01 00:00:01 etc/
-rw-r----- 0/0               7 1970-01-01 00:00:01 etc/conf
prw------- 0/0               0 1970-01-01 00:00:01 etc/fifo
lrwxrwxrwx 0/0               0 1970-01-01 00:00:01 etc/longlink -> $(printf 't%.0s' {1..150})
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 $long/
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 $long/$long/
-rw-r--r-- 0/0               5 1970-01-01 00:00:01 $long/$long/file with space é
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 usr/
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 usr/bin/
-rwxr-xr-x 0/0              18 1970-01-01 00:00:01 usr/bin/hello
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 usr/lib/
-rw-r--r-- 0/0           70000 1970-01-01 00:00:01 usr/lib/big
hrwxr-xr-x 0/0               0 1970-01-01 00:00:01 usr/lib/hello-link link to usr/bin/hello
lrwxrwxrwx 0/0               0 1970-01-01 00:00:01 usr/lib/sym -> ../bin/hello" ]
	# No user or group names, no atime or ctime records.
	! grep -a -q -e 'root' -e 'atime=' -e 'ctime=' "$T/layer.tar"
	run bsdtar -tf "$T/layer.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "$(tar -tf "$T/layer.tar")" ]
	[ "${#lines[@]}" -eq 15 ]
}

@test "the checksum equals di-tarsum's and Docker's Go tarsum of layer.tar" {
	make_tree "$T/t"
	di-layer "$T/t" >"$T/b.tar"
	tar -xOf "$T/b.tar" layer.tar >"$T/layer.tar"
	local sum
	sum=$(tar -xOf "$T/b.tar" json | jq -r .checksum)
	[[ $sum == tarsum.v1+sha256:* ]]
	[ "$sum" = "$(di-tarsum "$T/layer.tar")" ]
	require go
	[ -x "${GOTARSUM:-}" ] || gotarsum_build
	[ "$sum" = "$("$GOTARSUM" <"$T/layer.tar")" ]
	# Large owners and long names go into pax records: still equal.
	di-layer --owner 3000000:4000000 "$T/t" >"$T/b2.tar"
	tar -xOf "$T/b2.tar" layer.tar >"$T/layer2.tar"
	grep -a -q '3000000' "$T/layer2.tar"
	sum=$(tar -xOf "$T/b2.tar" json | jq -r .checksum)
	[ "$sum" = "$("$GOTARSUM" <"$T/layer2.tar")" ]
	[ "$sum" = "$(di-tarsum "$T/layer2.tar")" ]
}

@test "--tar writes exactly the bundle's layer.tar" {
	make_tree "$T/t"
	di-layer "$T/t" >"$T/b.tar"
	tar -xOf "$T/b.tar" layer.tar >"$T/layer.tar"
	di-layer --tar "$T/t" >"$T/plain.tar"
	cmp "$T/layer.tar" "$T/plain.tar"
}

@test "GNU tar and bsdtar extract layer.tar to the input tree: contents, modes, links, xattrs" {
	require getfattr bsdtar
	make_tree "$T/t"
	di-layer --tar "$T/t" >"$T/layer.tar"
	mkdir "$T/gnu" "$T/bsd"
	tar --xattrs --xattrs-include='*' -xpf "$T/layer.tar" -C "$T/gnu"
	bsdtar -xpf "$T/layer.tar" -C "$T/bsd"
	tree_dump "$T/t" >"$T/want"
	grep -q 'security.capability=0x01000002' "$T/want"
	grep -q 'user.origin=0x6d61646520' "$T/want"
	grep -q '^usr/lib/hello-link f 755 [0-9a-f]* 2 ' "$T/want"
	tree_dump "$T/gnu" >"$T/got-gnu"
	tree_dump "$T/bsd" >"$T/got-bsd"
	diff "$T/want" "$T/got-gnu"
	diff "$T/want" "$T/got-bsd"
}

@test "the same tree made in another order, umask, time zone, locale and user gives the same bytes" {
	make_tree "$T/a" forward
	(umask 077 && make_tree "$T/b" reverse)
	[ "$(tree_dump "$T/a")" = "$(tree_dump "$T/b")" ]
	chmod 0755 "$T"
	TZ=UTC LC_ALL=C di-layer "$T/a" >"$T/a.tar"
	(umask 077 && TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 di-layer "$T/b" >"$T/b.tar")
	cmp "$T/a.tar" "$T/b.tar"
	# Another user who can read the tree.
	chmod 0755 "$T/b/etc"
	chmod 0644 "$T/b/etc/conf"
	chmod 0755 "$T/a/etc"
	chmod 0644 "$T/a/etc/conf"
	di-layer "$T/a" >"$T/a2.tar"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env TZ=America/New_York LANG=de_DE.UTF-8 "$(di_tool di-layer)" "$T/b" >"$T/b2.tar"
	cmp "$T/a2.tar" "$T/b2.tar"
	# And the same bytes twice in a row.
	di-layer "$T/a" | cmp - "$T/a2.tar"
}

@test "SOURCE_DATE_EPOCH sets entry times and created; --mtime and --owner set the entries" {
	mkdir -p "$T/t/d"
	echo x >"$T/t/d/f"
	SOURCE_DATE_EPOCH=1700000000 di-layer "$T/t" >"$T/b.tar"
	[ "$(tar -xOf "$T/b.tar" json | jq -r .created)" = "2023-11-14T22:13:20Z" ]
	run listing "$T/b.tar"
	[[ ${lines[0]} == *" 2023-11-14 22:13:20 VERSION" ]]
	tar -xOf "$T/b.tar" layer.tar >"$T/l.tar"
	run listing "$T/l.tar"
	[ "${lines[1]}" = "-rw-r--r-- 0/0               2 2023-11-14 22:13:20 d/f" ]
	di-layer --tar --mtime 2001-02-03T04:05:06Z --owner 1000:100 "$T/t" >"$T/l2.tar"
	run listing "$T/l2.tar"
	[ "${lines[1]}" = "-rw-r--r-- 1000/100          2 2001-02-03 04:05:06 d/f" ]
	di-layer --tar --mtime @981173106 "$T/t" | cmp - <(di-layer --tar --mtime 981173106 "$T/t")
	run di-layer --tar --mtime yesterday "$T/t"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "di-layer: --mtime: bad time 'yesterday'" ]
	run di-layer --owner root "$T/t"
	[ "$status" -eq 2 ]
	SOURCE_DATE_EPOCH=soon run di-layer "$T/t"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "di-layer: SOURCE_DATE_EPOCH is not a number of seconds from 0 to 253402300799: 'soon'" ]
}

@test "-c BASEJSON: its fields are kept, the checksum is added, the text is canonical" {
	mkdir "$T/t"
	echo x >"$T/t/f"
	printf '{ "os": "linux", "architecture": "arm64",\n "config": {"Env": ["A=1"]}, "created": "2020-01-01T00:00:00Z", "checksum": "old" }\n' >"$T/base.json"
	di-layer -c "$T/base.json" "$T/t" >"$T/b.tar"
	local sum
	sum=$(di-layer --tar "$T/t" | di-tarsum)
	[ "$(tar -xOf "$T/b.tar" json)" = "{\"architecture\":\"arm64\",\"checksum\":\"$sum\",\"config\":{\"Env\":[\"A=1\"]},\"created\":\"2020-01-01T00:00:00Z\",\"os\":\"linux\"}" ]
	echo '[1]' >"$T/bad.json"
	run di-layer -c "$T/bad.json" "$T/t"
	[ "$status" -eq 1 ]
	[ "$output" = "di-layer: $T/bad.json: not a JSON object" ]
	echo '{' >"$T/bad.json"
	run di-layer -c "$T/bad.json" "$T/t"
	[ "$status" -eq 1 ]
	[[ ${lines[0]} == "di-layer: $T/bad.json: "* ]]
}

@test "tree inputs (ustar, GNU, pax, bsdtar; gzip, zstd, xz, bzip2; stdin) give the directory's layer" {
	require zstd xz bzip2
	make_tree "$T/t"
	di-layer --tar "$T/t" >"$T/want.tar"
	tar --xattrs --xattrs-include='*' --format=posix -C "$T/t" -cf "$T/pax.tar" .
	(cd "$T/t" && bsdtar -cf "$T/bsd.tar" --xattrs *)
	local f
	for f in pax bsd; do
		di-layer --tar "$T/$f.tar" | cmp - "$T/want.tar"
	done
	for c in "gzip -n" zstd xz bzip2; do
		$c <"$T/pax.tar" >"$T/c"
		di-layer --tar "$T/c" | cmp - "$T/want.tar"
		di-layer --tar <"$T/c" | cmp - "$T/want.tar"
		$c <"$T/pax.tar" | di-layer --tar - | cmp - "$T/want.tar"
	done
	# Formats without xattrs: compare with the tree without them.
	setfattr -x user.origin "$T/t/etc/conf"
	setfattr -x security.capability "$T/t/usr/bin/hello"
	di-layer --tar "$T/t" >"$T/want.tar"
	tar --format=gnu -C "$T/t" -cf - . | di-layer --tar | cmp - "$T/want.tar"
	# ustar cannot hold the long symlink target and names: leave them out.
	rm -r "$T/t/etc/longlink" "$T/t/lll"*
	di-layer --tar "$T/t" >"$T/want.tar"
	tar --format=ustar -C "$T/t" -cf - . | di-layer --tar | cmp - "$T/want.tar"
	# Absolute names are made relative too.
	tar -P --transform 's,^\.,/,S' -C "$T/t" -cf - . | di-layer --tar | cmp - "$T/want.tar"
}

@test "a tree: the first entry for a path wins (the tree rule of every tool), missing parents are made, links to later names work" {
	mkdir -p "$T/s/a/b"
	echo one >"$T/s/a/b/f"
	echo two >"$T/s/g"
	ln "$T/s/g" "$T/s/a/b/h"
	# f twice (the first wins, as in di-merge and di-overlay), a hard
	# link whose target sorts after it, no entries for a/ and a/b/.
	tar -C "$T/s" --sort=name -cf "$T/x.tar" g a/b/h a/b/f
	echo ONE >"$T/s/a/b/f"
	tar -C "$T/s" -rf "$T/x.tar" a/b/f
	di-layer --tar "$T/x.tar" >"$T/l.tar"
	run listing "$T/l.tar"
	[ "$output" = "drwxr-xr-x 0/0               0 1970-01-01 00:00:01 a/
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 a/b/
-rw-r--r-- 0/0               4 1970-01-01 00:00:01 a/b/f
-rw-r--r-- 0/0               4 1970-01-01 00:00:01 a/b/h
hrw-r--r-- 0/0               0 1970-01-01 00:00:01 g link to a/b/h" ]
	[ "$(tar -xOf "$T/l.tar" a/b/f)" = one ]
	[ "$(tar -xOf "$T/l.tar" a/b/h)" = two ]
}

@test "several inputs merge first-wins: directories merge, a file hides what is under its path" {
	mkdir -p "$T/one/etc" "$T/one/opt" "$T/two/etc/sub" "$T/two/opt/pkg" "$T/two/bin"
	echo first >"$T/one/etc/conf"
	echo second >"$T/two/etc/conf"
	echo sub >"$T/two/etc/sub/x"
	echo pkg >"$T/two/opt/pkg/y"
	echo bin >"$T/two/bin/sh"
	rmdir "$T/one/opt"
	echo file >"$T/one/opt"
	chmod 0700 "$T/one/etc"
	tar -C "$T/two" -cf "$T/two.tar" .
	di-layer --tar "$T/one" "$T/two.tar" >"$T/l.tar"
	run listing "$T/l.tar"
	[ "$output" = "drwxr-xr-x 0/0               0 1970-01-01 00:00:01 bin/
-rw-r--r-- 0/0               4 1970-01-01 00:00:01 bin/sh
drwx------ 0/0               0 1970-01-01 00:00:01 etc/
-rw-r--r-- 0/0               6 1970-01-01 00:00:01 etc/conf
drwxr-xr-x 0/0               0 1970-01-01 00:00:01 etc/sub/
-rw-r--r-- 0/0               4 1970-01-01 00:00:01 etc/sub/x
-rw-r--r-- 0/0               5 1970-01-01 00:00:01 opt" ]
	[ "$(tar -xOf "$T/l.tar" etc/conf)" = first ]
	# The other way round, the tree wins.
	di-layer --tar "$T/two.tar" "$T/one" >"$T/l2.tar"
	[ "$(tar -xOf "$T/l2.tar" etc/conf)" = second ]
	[ "$(tar -xOf "$T/l2.tar" opt/pkg/y)" = pkg ]
	# Directories given as such and as trees are the same input.
	tar -C "$T/one" -cf "$T/one.tar" .
	di-layer --tar "$T/one.tar" "$T/two" | cmp - "$T/l.tar"
}

@test "sockets are skipped with a warning; devices keep their numbers" {
	mkdir "$T/t"
	mknod "$T/t/null" c 1 3
	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(),
		Local => $ARGV[0], Listen => 1) or die' "$T/t/sock"
	di-layer --tar "$T/t" 2>"$T/err" >"$T/l.tar"
	[ "$(cat "$T/err")" = "di-layer: $T/t/sock: socket skipped" ]
	run listing "$T/l.tar"
	[ "$output" = "crw-r--r-- 0/0             1,3 1970-01-01 00:00:01 null" ]
	# Two walks through a pipe, one warning.
	di-layer "$T/t" 2>"$T/err" | cat >/dev/null
	[ "$(cat "$T/err")" = "di-layer: $T/t/sock: socket skipped" ]
}

@test "an output file inside the input tree is left out of the layer" {
	mkdir "$T/t"
	echo x >"$T/t/a"
	(cd "$T/t" && di-layer . >out.bundle 2>"$T/err")
	[ "$(cat "$T/err")" = "di-layer: ./out.bundle: the output file, skipped" ]
	[ "$(tar -xOf "$T/t/out.bundle" layer.tar | tar -t)" = a ]
	(cd "$T/t" && di-layer --tar -o out2.tar . 2>"$T/err")
	[[ $(cat "$T/err") == "di-layer: ./out2.tar.tmp."*": the output file, skipped" ]]
	[ "$(tar -tf "$T/t/out2.tar")" = "a
out.bundle" ]
}

@test "memory stays flat whatever the file size" {
	require /usr/bin/time
	mkdir "$T/t"
	truncate -s 256M "$T/t/big"
	/usr/bin/time -f %M -o "$T/rss" di-layer "$T/t" >/dev/null
	echo "peak RSS $(cat "$T/rss") KiB"
	[ "$(cat "$T/rss")" -lt 40000 ]
}

@test "bad input: exit 1, a message naming it, no end-of-archive on stdout" {
	mkdir "$T/t"
	echo x >"$T/t/f"
	run di-layer "$T/missing"
	[ "$status" -eq 1 ]
	[ "$output" = "di-layer: $T/missing: No such file or directory" ]
	printf 'not a tar %.0s' {1..60} >"$T/junk"
	run di-layer "$T/junk"
	[ "$status" -eq 1 ]
	[ "$output" = "di-layer: $T/junk: offset 0: not a tar archive" ]
	# A truncated tree on stdin, after a good directory: cut inside the
	# data of ./f (an end in its padding would be a whole archive, as Go
	# reads it).
	tar -C "$T/t" -cf "$T/good.tar" .
	head -c 1025 "$T/good.tar" >"$T/cut.tar"
	di-layer --tar "$T/t" - <"$T/cut.tar" >"$T/out" 2>"$T/err" && false
	[[ $(cat "$T/err") == "di-layer: stdin: offset "*truncated* ]]
	! has_eoa "$T/out"
	# Names that lead out of the tree, links to nothing.
	tar -P --transform 's,^,../,' -C "$T/t" -cf "$T/up.tar" f
	run di-layer "$T/up.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-layer: $T/up.tar: offset 0: '../f': name leads out of the tree" ]
	mkdir -p "$T/s"
	echo y >"$T/s/a"
	ln "$T/s/a" "$T/s/b"
	tar -C "$T/s" -cf "$T/link.tar" a b
	tar -C "$T/s" --delete -f "$T/link.tar" a
	run di-layer "$T/link.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-layer: $T/link.tar: 'b': hard link to 'a', which is not in the archive" ]
	# Usage errors.
	run di-layer --bogus
	[ "$status" -eq 2 ]
	run di-layer - - </dev/null
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "di-layer: standard input given twice" ]
}

@test "a directory that changes between the two reads is an error, and the bundle is cut short" {
	mkdir -p "$T/t"
	head -c 2000000 /dev/urandom >"$T/t/a-big"
	echo before >"$T/t/z"
	mkfifo "$T/pipe" "$T/go"
	# The reader holds back until z has changed, so di-layer blocks in its
	# second walk, after a-big, before z.
	(
		exec 4<"$T/pipe"
		read -r _ <"$T/go"
		cat <&4 >"$T/out"
	) &
	local reader=$!
	di-layer "$T/t" >"$T/pipe" 2>"$T/err" &
	local pid=$!
	# Wait until it is blocked writing.
	local i
	for i in $(seq 100); do
		[ "$(cut -d' ' -f1 /proc/$pid/syscall 2>/dev/null)" = 1 ] && break
		sleep 0.05
	done
	echo after >"$T/t/z"
	echo go >"$T/go"
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 1 ]
	wait "$reader"
	[ "$(cat "$T/err")" = "di-layer: 'z': input changed between the two reads" ]
	! has_eoa "$T/out"
}

@test "into a file (one walk) and into a pipe (two walks) the bundle is the same" {
	make_tree "$T/t"
	di-layer "$T/t" >"$T/file.tar"
	di-layer "$T/t" | cat >"$T/pipe.tar"
	cmp "$T/file.tar" "$T/pipe.tar"
	di-layer -o "$T/o.tar" "$T/t"
	cmp "$T/o.tar" "$T/pipe.tar"
	# After other bytes in the same file, and appended.
	{ printf 'x%.0s' {1..1000}; di-layer "$T/t"; } >"$T/after"
	tail -c +1001 "$T/after" | cmp - "$T/pipe.tar"
	printf 'y' >"$T/app"
	di-layer "$T/t" >>"$T/app"
	tail -c +2 "$T/app" | cmp - "$T/pipe.tar"
	# A failure leaves no bundle and no end-of-archive in the file.
	printf 'secret' >"$T/t/usr/lib/zz-unreadable"
	chmod -R o+rX "$T"
	chmod 0000 "$T/t/usr/lib/zz-unreadable"
	: >"$T/failed.tar"
	chmod 0666 "$T/failed.tar"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '"$1" "$2" >"$3"' _ \
		"$(di_tool di-layer)" "$T/t" "$T/failed.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"zz-unreadable: Permission denied"* ]]
	! tar -tf "$T/failed.tar" >/dev/null 2>&1
	! has_eoa "$T/failed.tar"
}

@test "-o FILE appears only on success; a tar is not written to a terminal" {
	mkdir "$T/t"
	echo x >"$T/t/f"
	di-layer -o "$T/b.tar" "$T/t"
	di-layer "$T/t" | cmp - "$T/b.tar"
	run di-layer -o "$T/c.tar" "$T/missing"
	[ "$status" -eq 1 ]
	[ ! -e "$T/c.tar" ]
	[ -z "$(ls "$T" | grep '\.tmp\.')" ]
	if command -v script >/dev/null; then
		run script -qec "$(di_tool di-layer) $T/t" /dev/null
		[ "$status" -eq 2 ]
		[[ $output == *"refusing to write a tar to a terminal"* ]]
	fi
}

@test "--help and --version" {
	run di-layer --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: di-layer "* ]]
	run di-layer --version
	[ "$status" -eq 0 ]
	[[ $output == "di-layer (di) "* ]]
}
