#!/usr/bin/env bats
# common/dirtree: a directory read as sorted tar entries (tests/unit/dirtree
# prints the walk).

load lib/testlib

dirtree() {
	"$DI_UNIT/dirtree" "$@"
}

make_socket() {
	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(),
		Local => $ARGV[0], Listen => 1) or die "$ARGV[0]: $!\n"' "$1"
}

# A small tree made in an order unlike the walk's, with every file type.
make_tree() {
	local d=$1
	mkdir -p "$d/z" "$d/a-c" "$d/a/b"
	printf 'hello\n' >"$d/a/b/f"
	printf 'x' >"$d/B"
	ln "$d/a/b/f" "$d/z/hl"
	ln -s ../a "$d/z/sym"
	mkfifo "$d/fifo"
	chmod 0755 "$d/z" "$d/a-c" "$d/a" "$d/a/b"
	chmod 0640 "$d/a/b/f"
	chmod 4755 "$d/B"
}

@test "walk order: directory before its contents, siblings in byte order" {
	make_tree "$T/t"
	run dirtree "$T/t"
	[ "$status" -eq 0 ]
	[ "$output" = "0 4755 0:0 1 B sha256:2d711642b726
5 0755 0:0 0 a/
5 0755 0:0 0 a/b/
0 0640 0:0 6 a/b/f sha256:5891b5b522d5
5 0755 0:0 0 a-c/
6 0644 0:0 0 fifo
5 0755 0:0 0 z/
0 0640 0:0 6 z/hl sha256:5891b5b522d5
2 0777 0:0 0 z/sym -> ../a" ]
}

@test "dirtree_cmp: '/' sorts before every byte, a parent before its children" {
	[ "$(dirtree -c a/b a-c)" = "<" ]
	[ "$(dirtree -c a a/b)" = "<" ]
	[ "$(dirtree -c a/b a)" = ">" ]
	[ "$(dirtree -c a-c a/b)" = ">" ]
	[ "$(dirtree -c a/b a/b)" = "=" ]
	[ "$(dirtree -c B a)" = "<" ]
	[ "$(dirtree -c a/z ab)" = "<" ]
	[ "$(dirtree -c 'a b' a)" = ">" ]
}

@test "hard links become '1' entries naming the first path, without attributes" {
	require setfattr
	make_tree "$T/t"
	setfattr -n user.k -v v "$T/t/a/b/f"
	run dirtree -l -p pre "$T/t"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "0 0640 0:0 6 pre/a/b/f SCHILY.xattr.user.k=76 sha256:5891b5b522d5" ]
	[ "${lines[7]}" = "1 0640 0:0 0 pre/z/hl -> pre/a/b/f" ]
}

@test "the root itself with DIRTREE_SELF: a directory, a file, a symlink" {
	make_tree "$T/t"
	chmod 0711 "$T/t"
	run dirtree -s -p nix/store/x "$T/t"
	[ "${lines[0]}" = "5 0711 0:0 0 nix/store/x/" ]
	[ "${lines[1]}" = "0 4755 0:0 1 nix/store/x/B sha256:2d711642b726" ]
	[ "${#lines[@]}" -eq 10 ]
	run dirtree -s -p nix/store/f "$T/t/a/b/f"
	[ "$output" = "0 0640 0:0 6 nix/store/f sha256:5891b5b522d5" ]
	run dirtree -s -p nix/store/l "$T/t/z/sym"
	[ "$output" = "2 0777 0:0 0 nix/store/l -> ../a" ]
}

@test "without DIRTREE_SELF the root must be a directory; a symlink to one is followed" {
	make_tree "$T/t"
	ln -s t "$T/link"
	run dirtree "$T/link"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0 4755 0:0 1 B sha256:2d711642b726" ]
	run dirtree "$T/t/B"
	[ "$status" -eq 1 ]
	[ "$output" = "dirtree: $T/t/B: Not a directory" ]
	run dirtree "$T/missing"
	[ "$status" -eq 1 ]
	[ "$output" = "dirtree: $T/missing: No such file or directory" ]
}

@test "extended attributes: sorted, binary-safe, host ones left out unless asked" {
	require setfattr
	mkdir "$T/t"
	: >"$T/t/f"
	setfattr -n user.z -v 1 "$T/t/f"
	setfattr -n user.a -v 0x00ff "$T/t/f"
	setfattr -n trusted.overlay.opaque -v y "$T/t/f"
	if command -v setcap >/dev/null; then
		setcap cap_net_raw+ep "$T/t/f"
	else
		setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$T/t/f"
	fi
	run dirtree "$T/t"
	[ "$output" = "0 0644 0:0 0 f SCHILY.xattr.security.capability=0100000200200000000000000000000000000000 SCHILY.xattr.user.a=00ff SCHILY.xattr.user.z=31 sha256:e3b0c44298fc" ]
	run dirtree -a "$T/t"
	[[ $output == *" SCHILY.xattr.trusted.overlay.opaque=79 "* ]]
	run dirtree -x "$T/t"
	[ "$output" = "0 0644 0:0 0 f sha256:e3b0c44298fc" ]
}

@test "devices keep their numbers; sockets are skipped with a warning" {
	mkdir "$T/t"
	mknod "$T/t/null" c 1 3
	mknod "$T/t/loop" b 7 200
	make_socket "$T/t/sock"
	run dirtree "$T/t"
	[ "$output" = "4 0644 0:0 0 loop dev 7,200
3 0644 0:0 0 null dev 1,3
dirtree: $T/t/sock: socket skipped" ]
}

@test "a pruned directory's contents are not read" {
	mkdir -p "$T/t/prune/deep" "$T/t/q"
	chmod 000 "$T/t/prune/deep"
	: >"$T/t/prune/x"
	run dirtree -P "$T/t"
	[ "$status" -eq 0 ]
	[ "$output" = "5 0755 0:0 0 prune/
5 0755 0:0 0 q/" ]
}

@test "owner, long names and deep trees" {
	local long
	long=$(printf 'n%.0s' {1..200})
	mkdir -p "$T/t/$long/$long/$long"
	echo x >"$T/t/$long/$long/$long/$long"
	chown -R 12345:678 "$T/t"
	run dirtree "$T/t"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[3]}" = "0 0644 12345:678 2 $long/$long/$long/$long sha256:73cb3858a687" ]
}

@test "stamps are equal for an unchanged tree and differ for any change" {
	require setfattr
	make_tree "$T/t"
	run dirtree -t "$T/t"
	[ "$output" = same ]
	local change
	for change in 'echo hellO >"$1/a/b/f"' 'touch -h "$1/z/sym"' \
		'chmod 0600 "$1/a/b/f"' 'setfattr -n user.n -v 1 "$1/a-c"' \
		'mv "$1/a-c" "$1/a-d"' 'ln -sfn ../b "$1/z/sym"' \
		'mkdir "$1/a/b/g"'; do
		rm -rf "$T/t" && make_tree "$T/t"
		rm -f "$T/go" "$T/out"
		mkfifo "$T/go"
		dirtree -t -w "$T/t" <"$T/go" >"$T/out" &
		exec 5>"$T/go"
		until [ -s "$T/out" ]; do sleep 0.01; done
		bash -c "$change" _ "$T/t"
		echo go >&5
		exec 5>&-
		wait $!
		line=$(tail -n 1 "$T/out")
		echo "$change: $line"
		[ "$line" != same ]
	done
}

@test "a file that cannot be read is an error naming it" {
	make_tree "$T/t"
	printf 'secret' >"$T/t/a/b/f"
	chmod 0000 "$T/t/a/b/f"
	chmod 0755 "$T"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$DI_UNIT/dirtree" "$T/t"
	[ "$status" -eq 1 ]
	[[ $output == *"dirtree: $T/t/a/b/f: Permission denied"* ]]
}
