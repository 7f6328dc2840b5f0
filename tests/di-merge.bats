#!/usr/bin/env bats
# di-merge: several trees into one, the first input to have a path wins,
# as extracting them one after another with tar -xk does.

load lib/testlib
load lib/tree

# Extract the tars given one after another with tar -xkpf into $T/want
# (errors ignored, as the seed's mergeTarballs did); list it.
tar_xk() {
	local f
	mkdir -p "$T/want"
	for f in "$@"; do
		tar -C "$T/want" -xkpf "$f" 2>>"$T/tar.err" || true
	done
	tree_list "$T/want" >"$T/want.list"
}

# Extract di-merge's output into $T/got and list it.
got_list() {
	mkdir -p "$T/got"
	tar -C "$T/got" -xpf "$1"
	tree_list "$T/got" >"$T/got.list"
}

# di-merge ARGS... against tar -xkpf of the tars TARS... (after --): equal
# listings, or, where a hardlink's target was hidden by another input's
# non-directory, the same failure in both.
merge_matches_xk() {
	local args=() a
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	rm -rf "$T/want" "$T/got" "$T/tar.err"
	tar_xk "$@"
	if ! di-merge "${args[@]}" >"$T/out.tar" 2>"$T/err"; then
		grep -q "hardlink to '.*', which the output does not hold" "$T/err" &&
			grep -q 'Cannot hard link' "$T/tar.err"
		return
	fi
	got_list "$T/out.tar" || return 1
	diff -u "$T/want.list" "$T/got.list" || return 1
	[ -z "$(tar_list "$T/out.tar" | sort | uniq -d)" ]
}

@test "agrees with tar -xkpf over random trees with colliding paths" {
	local seed
	for seed in $(seq 1 30); do
		rm -rf "${T:?}"/*
		random_tree "$T/i1" $((seed * 5))
		random_tree "$T/i2" $((seed * 5 + 1))
		random_tree "$T/i3" $((seed * 5 + 2))
		tar -C "$T/i1" -cf "$T/1.tar" .
		tar -C "$T/i2" -czf "$T/2.tgz" .
		tar -C "$T/i3" --format=pax -cf "$T/3.tar" .
		merge_matches_xk "$T/1.tar" "$T/2.tgz" "$T/3.tar" -- \
			"$T/1.tar" "$T/2.tgz" "$T/3.tar" || { echo "seed $seed"; return 1; }
	done
}

@test "winning entries are copied byte for byte; the output is reproducible" {
	mkdir -p "$T/a/d" "$T/b/d"
	head -c 100000 /dev/urandom >"$T/a/d/big"
	ln -s "$(printf 'long%.0s' {1..40})" "$T/a/d/link"
	printf 'x' >"$T/a/$(printf 'n%.0s' {1..120})"
	echo other >"$T/b/d/big"
	echo new >"$T/b/d/new"
	tar --format=pax -C "$T/a" -cf "$T/a.tar" .
	tar --format=gnu -C "$T/b" -cf "$T/b.tar" .
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	# All of a comes first, whole; then b's one new file.
	local n
	n=$(tar -tvR -f "$T/a.tar" | awk '/End of File/ {print $2}' | tr -d :)
	cmp -n $((n * 512)) "$T/a.tar" "$T/out.tar"
	[ "$(tar_list "$T/out.tar" | tail -1)" = d/new ]
	[ "$(tar -xOf "$T/out.tar" ./d/big | sha256sum)" = "$(sha256sum <"$T/a/d/big")" ]
	has_eoa "$T/out.tar"
	di-merge "$T/a.tar" "$T/b.tar" | cmp - "$T/out.tar"
}

@test "--last-wins: the last input to have a path wins" {
	mkdir -p "$T/a" "$T/b" "$T/c"
	echo a >"$T/a/f"
	echo b >"$T/b/f"
	echo only-a >"$T/a/g"
	mkdir "$T/c/f" && echo c >"$T/c/f/in"
	tar -C "$T/a" -cf "$T/a.tar" . && tar -C "$T/b" -cf "$T/b.tar" .
	di-merge --last-wins "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	[ "$(tar -xOf "$T/out.tar" ./f)" = b ]
	[ "$(tar -xOf "$T/out.tar" ./g)" = only-a ]
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	[ "$(tar -xOf "$T/out.tar" ./f)" = a ]
	# A later directory over a file: with --last-wins the directory.
	tar -C "$T/c" -cf "$T/c.tar" .
	di-merge --last-wins "$T/a.tar" "$T/c.tar" >"$T/out.tar"
	[ "$(tar_list "$T/out.tar" | sort | tr '\n' ' ')" = "f f/in g " ]
	# A file between two directories: with --last-wins it had replaced
	# the first directory's contents; first-wins merges both.
	mkdir -p "$T/d1/x" "$T/d2" "$T/d3/x"
	echo old >"$T/d1/x/old" && echo file >"$T/d2/x" && echo new >"$T/d3/x/new"
	for i in 1 2 3; do tar -C "$T/d$i" -cf "$T/d$i.tar" .; done
	di-merge --last-wins "$T/d1.tar" "$T/d2.tar" "$T/d3.tar" >"$T/out.tar"
	[ "$(tar_list "$T/out.tar" | sort | tr '\n' ' ')" = "x x/new " ]
	di-merge "$T/d1.tar" "$T/d2.tar" "$T/d3.tar" >"$T/out.tar"
	[ "$(tar_list "$T/out.tar" | sort | tr '\n' ' ')" = "x x/new x/old " ]
}

@test "directories from all inputs are merged, each written once" {
	mkdir -p "$T/a/etc/ssl" "$T/b/etc/ssl" "$T/b/usr"
	chmod 700 "$T/a/etc"
	echo 1 >"$T/a/etc/ssl/one"
	echo 2 >"$T/b/etc/ssl/two"
	echo 3 >"$T/b/usr/three"
	tar -C "$T/a" -cf "$T/a.tar" . && tar -C "$T/b" -cf "$T/b.tar" .
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	[ "$(tar_list "$T/out.tar" | sort | tr '\n' ' ')" = "etc etc/ssl etc/ssl/one etc/ssl/two usr usr/three " ]
	tar -tvf "$T/out.tar" | grep -q '^drwx------ .* \./etc/$'
}

@test "a directory an input only implies takes a later input's description" {
	mkdir -p "$T/a/x/y" "$T/b/x"
	echo 1 >"$T/a/x/y/f"
	chmod 750 "$T/b/x"
	tar -C "$T/a" -cf "$T/a.tar" x/y/f
	tar -C "$T/b" -cf "$T/b.tar" x
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	[ "$(tar -tf "$T/out.tar" | tr '\n' ' ')" = "x/y/f x/ " ]
	tar -tvf "$T/out.tar" | grep -q '^drwxr-x--- .* x/$'
}

@test "nothing is placed under a path an earlier input made a non-directory" {
	mkdir -p "$T/a" "$T/b/lib/sub"
	ln -s usr/lib "$T/a/lib"
	echo x >"$T/b/lib/sub/f"
	echo y >"$T/b/other"
	tar -C "$T/a" -cf "$T/a.tar" . && tar -C "$T/b" -cf "$T/b.tar" .
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	[ "$(tar_list "$T/out.tar" | sort | tr '\n' ' ')" = "lib other " ]
	tar -tvf "$T/out.tar" | grep -q '^l.* \./lib -> usr/lib$'
}

@test "directory inputs, mixed with tars, agree with tar -xkpf" {
	random_tree "$T/d1" 301
	random_tree "$T/d2" 302
	random_tree "$T/d3" 303
	tar -C "$T/d2" -cf "$T/2.tar" .
	# Directories are read as owner 0:0 tars would be.
	tar -C "$T/d1" --owner=0 --group=0 -cf "$T/1.tar" .
	tar -C "$T/d3" --owner=0 --group=0 -cf "$T/3.tar" .
	SOURCE_DATE_EPOCH=100 merge_matches_xk "$T/d1" "$T/2.tar" "$T/d3" -- \
		"$T/1.tar" "$T/2.tar" "$T/3.tar"
	[ -s "$T/got.list" ]
	SOURCE_DATE_EPOCH=100 di-merge "$T/d1" "$T/2.tar" "$T/d3" >"$T/out.tar"
	# Entries from a directory have the time of everything di makes.
	tar -tvf "$T/out.tar" --full-time | grep -v '\./' | grep -q ' 1970-01-01 00:01:40 '
	SOURCE_DATE_EPOCH=100 di-merge "$T/d1" "$T/2.tar" "$T/d3" | cmp - "$T/out.tar"
}

@test "a hardlink whose target lost still points at that path" {
	mkdir -p "$T/a" "$T/b"
	echo a-version >"$T/a/t"
	echo b-version >"$T/b/t"
	ln "$T/b/t" "$T/b/l"
	tar -C "$T/a" -cf "$T/a.tar" . && tar -C "$T/b" -cf "$T/b.tar" .
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	tar -tvf "$T/out.tar" | grep -q '^h.* \./l link to \./t$'
	got_list "$T/out.tar"
	[ "$(cat "$T/got/l")" = a-version ]
	tar_xk "$T/a.tar" "$T/b.tar"
	diff -u "$T/want.list" "$T/got.list"
}

@test "a hardlink to a target from a later input is written after it" {
	mkdir -p "$T/h" "$T/b"
	cd "$T/h" && echo x >t && ln t l && tar -cf "$T/a.tar" t l &&
		tar --delete -f "$T/a.tar" t
	echo later >"$T/b/t"
	tar -C "$T/b" -cf "$T/b.tar" t
	di-merge "$T/a.tar" "$T/b.tar" >"$T/out.tar"
	[ "$(tar -tf "$T/out.tar" | tr '\n' ' ')" = "t l " ]
	got_list "$T/out.tar"
	[ "$(cat "$T/got/l")" = later ]
}

@test "a hardlink to a path absent from the output is an error, and no end-of-archive" {
	mkdir -p "$T/h"
	cd "$T/h" && echo x >t && ln t l && head -c 4096 /dev/urandom >big &&
		tar -cf "$T/a.tar" big t l && tar --delete -f "$T/a.tar" t
	run di-merge -o "$T/out.tar" "$T/a.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"di-merge: $T/a.tar: 'l': hardlink to 't', which the output does not hold"* ]]
	[ ! -e "$T/out.tar" ]
	di-merge "$T/a.tar" >"$T/partial.tar" 2>/dev/null || true
	refute has_eoa "$T/partial.tar"
}

@test "hostile names: .. is refused, absolute names made relative, newlines kept" {
	mkdir -p "$T/d"
	echo x >"$T/d/f"
	tar -C "$T/d" -cf "$T/dotdot.tar" --transform 's,^\./f,a/../../f,' ./f
	run di-merge "$T/dotdot.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"di-merge: $T/dotdot.tar: 'a/../../f': name climbs out of the tree with '..'"* ]]
	tar -C "$T/d" -cPf "$T/abs.tar" --transform 's,^\./f,/etc/f,' ./f
	di-merge "$T/abs.tar" >"$T/out.tar"
	[ "$(tar -tf "$T/out.tar")" = etc/f ]
	printf 'nl\n' >"$T/d/$(printf 'a\nb')"
	tar -C "$T/d" -cf "$T/nl.tar" .
	di-merge "$T/nl.tar" "$T/nl.tar" >"$T/out.tar"
	got_list "$T/out.tar"
	[ "$(cat "$T/got/$(printf 'a\nb')")" = nl ]
	[ "$(tar -tf "$T/out.tar" | wc -l)" -eq 3 ]
}

@test "hostile layouts: duplicates in one input; a file that becomes a directory is malformed" {
	mkdir -p "$T/x" "$T/y/a"
	echo first >"$T/x/a"
	echo second >"$T/y/a/in"
	echo dup >"$T/y/f"
	# The first entry for a path wins, as with tar -xk: a directory
	# after the file a loses to it.
	tar -C "$T/x" -cf "$T/in.tar" ./a
	tar -C "$T/y" --no-recursion -rf "$T/in.tar" ./a ./f
	tar -C "$T/x" -rf "$T/in.tar" ./a
	tar -C "$T/y" -rf "$T/in.tar" ./f
	[ "$(tar -tf "$T/in.tar" | wc -l)" -eq 5 ]
	di-merge "$T/in.tar" >"$T/out.tar"
	[ "$(tar -tf "$T/out.tar" | tr '\n' ' ')" = "./a ./f " ]
	[ "$(tar -xOf "$T/out.tar" ./a)" = first ]
	tar_xk "$T/in.tar"
	got_list "$T/out.tar"
	diff -u "$T/want.list" "$T/got.list"
	# An entry under the file a of the same input: no extraction places
	# it, so the input is malformed (the rule of every tool).
	tar -C "$T/y" --no-recursion -rf "$T/in.tar" ./a/in
	run di-merge "$T/in.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"di-merge: $T/in.tar: offset "*": './a/in': lies under 'a', which this input made a non-directory"* ]]
	di-merge "$T/in.tar" >"$T/out.tar" 2>/dev/null || true
	! has_eoa "$T/out.tar"
}

@test "compressed inputs and standard input" {
	require zstd xz bzip2
	mkdir -p "$T/a" "$T/b" "$T/c" "$T/d"
	echo a >"$T/a/a" && echo b >"$T/b/b" && echo c >"$T/c/c" && echo d >"$T/d/d"
	tar -C "$T/a" -cf - . | gzip -n >"$T/a.tgz"
	tar -C "$T/b" -cf - . | zstd -q >"$T/b.tzst"
	tar -C "$T/c" -cf - . | xz >"$T/c.txz"
	tar -C "$T/d" -cf - . | bzip2 >"$T/d.tbz"
	di-merge "$T/a.tgz" - "$T/c.txz" "$T/d.tbz" <"$T/b.tzst" >"$T/out.tar"
	[ "$(tar_list "$T/out.tar" | tr '\n' ' ')" = "a b c d " ]
	tar -C "$T/a" -cf - . | di-merge >"$T/one.tar"
	[ "$(tar_list "$T/one.tar")" = a ]
}

@test "usage: standard input twice, unknown option, a tar to a terminal" {
	run di-merge - -
	[ "$status" -eq 2 ]
	[[ "$output" == *"standard input given more than once"* ]]
	run di-merge --bogus
	[ "$status" -eq 2 ]
	run di-merge --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: di-merge [--last-wins]"* ]]
	run di-merge --version
	[[ "$output" == "di-merge (di) "* ]]
	require script
	run script -qec "$(di_tool di-merge) /dev/null" /dev/null
	[[ "$output" == *"refusing to write a tar to a terminal"* ]]
}

@test "a corrupt input fails naming it, without an end-of-archive" {
	mkdir -p "$T/a" && head -c 20000 /dev/urandom >"$T/a/f"
	tar -C "$T/a" -cf "$T/a.tar" .
	head -c 10000 "$T/a.tar" >"$T/cut.tar"
	run di-merge "$T/a.tar" "$T/cut.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cut.tar"*"truncated"* ]]
	run di-merge "$T/nonexistent"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/nonexistent"* ]]
}
