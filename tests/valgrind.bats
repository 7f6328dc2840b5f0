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
