#!/usr/bin/env bats
# The project's own promises: every tool has a lint-clean man page and
# answers --help and --version, and the C sources are formatted.

load lib/testlib

tools() {
	local f
	for f in "$TOP"/cmd/di-*.c; do
		basename "$f" .c
	done
}

@test "every man page is clean under mandoc -Tlint" {
	require mandoc
	run mandoc -Tlint -Wwarning "$TOP"/man/*.1 "$TOP"/man/*.7
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "every tool has a man page, --help and --version" {
	local t n=0
	for t in $(tools); do
		[ -f "$TOP/man/$t.1" ] || { echo "no man/$t.1" >&2; return 1; }
		run "$t" --help
		[ "$status" -eq 0 ] || { echo "$t --help: $status" >&2; return 1; }
		[[ $output == *"$t"* ]]
		run "$t" --version
		[ "$status" -eq 0 ]
		[[ $output =~ ^$t\ \(di\)\ [0-9] ]] || { echo "$t --version: $output" >&2; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

@test "an unknown option is a usage error (exit 2) for every tool" {
	local t
	for t in $(tools); do
		run "$t" --no-such-option
		[ "$status" -eq 2 ] || { echo "$t: status $status" >&2; return 1; }
	done
}

@test "the C sources are formatted with the repo's .clang-format" {
	require clang-format
	cd "$TOP"
	run clang-format --dry-run -Werror cmd/*.c common/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch]
	echo "$output" | head -40
	[ "$status" -eq 0 ]
}
