# testlib.bash: what every test file loads (`load lib/testlib`).
#
#   $DI_BIN        directory of the tools under test (set by tests/run)
#   $T             a fresh temporary directory per test, removed after it
#   di_tool NAME   path of a tool: "$(di_tool di-tarsum)"
#   has_eoa FILE   does FILE end with a tar end-of-archive (two zero blocks)?
#   require CMD... skip (or fail under CI=true) when a command is missing

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${DI_BIN:=$TOP/build/bin}"
export PATH="$DI_BIN:$PATH"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH-}
[ -n "$SOURCE_DATE_EPOCH" ] || unset SOURCE_DATE_EPOCH

# A file that defines its own setup or teardown calls these from it.
di_setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/di-t.XXXXXX")
}

di_teardown() {
	[ -z "${T:-}" ] || rm -rf "$T"
}

setup() { di_setup; }
teardown() { di_teardown; }

di_tool() {
	echo "$DI_BIN/$1"
}

# True if the last 1024 bytes of FILE are zero (an end-of-archive marker).
has_eoa() {
	local size
	size=$(stat -c %s "$1")
	[ "$size" -ge 1024 ] || return 1
	[ "$(tail -c 1024 "$1" | tr -d '\0' | wc -c)" -eq 0 ]
}

require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		if [ "${CI:-}" = true ]; then
			echo "missing prerequisite: $c" >&2
			return 1
		fi
		skip "missing prerequisite: $c"
	done
}
