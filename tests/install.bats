#!/usr/bin/env bats
# make install: every tool and man page lands under DESTDIR/PREFIX, the
# tools run from there and the pages render.

load lib/testlib

@test "make install DESTDIR PREFIX: tools run --version, man -l renders every page" {
	require make man
	make -s -C "$TOP" install DESTDIR="$T/dest" PREFIX=/opt/di >/dev/null
	local t n=0 page
	for t in "$TOP"/cmd/di-*.c; do
		t=$(basename "$t" .c)
		[ -x "$T/dest/opt/di/bin/$t" ]
		run "$T/dest/opt/di/bin/$t" --version
		[ "$status" -eq 0 ]
		[[ $output == "$t (di) "* ]]
		page=$T/dest/opt/di/share/man/man1/$t.1
		[ -f "$page" ]
		run env MANWIDTH=80 man -l "$page"
		[ "$status" -eq 0 ]
		[[ $output == *"$t"* ]]
		n=$((n + 1))
	done
	[ "$n" -eq "$(ls "$TOP"/cmd/di-*.c | wc -l)" ]
	run env MANWIDTH=80 man -l "$T/dest/opt/di/share/man/man7/di.7"
	[ "$status" -eq 0 ]
	[[ $output == *"STREAMS"* ]]
}
