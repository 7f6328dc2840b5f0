#!/usr/bin/env bats
# The unit tests of common/, built into $DI_UNIT by make.

load lib/testlib

: "${DI_UNIT:=$TOP/build/unit}"

@test "path: normalization and Go's cleaning" {
	run "$DI_UNIT/test_path"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ 1\.\.[0-9]+ ]]
}

@test "tar: the writer's entries read back through the reader" {
	run "$DI_UNIT/test_tar"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "gosort: sorts, and repeats itself on an inconsistent order" {
	run "$DI_UNIT/test_gosort"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "compress: gzip and zstd that gzip -d and zstd -d undo, the same bytes for 1, 2 and 8 threads" {
	run "$DI_UNIT/test_compress"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ 1\.\.[0-9]+ ]]
	[[ $output != *"not ok"* ]]
}

@test "gzip_reader: ISA-L's inflate refuses what zlib refuses (every byte flipped, every cut), takes several members" {
	run "$DI_UNIT/test_gzip_reader"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ 1\.\.[0-9]+ ]]
	[[ $output != *"not ok"* ]]
}

@test "layer_plan: a partition of the closure, within the limit, whatever the order" {
	run "$DI_UNIT/test_layer_plan"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ 1\.\.[0-9]+ ]]
}

@test "image names: the reference grammar's corner cases, archive names matched through it, platforms" {
	run "$DI_UNIT/test_image_ref"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ 1\.\.[0-9]+ ]]
}

@test "json: canonical text, and numbers a double would change kept as written" {
	run "$DI_UNIT/test_json"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"1..21"* ]]
}

@test "fdio: every byte written through short writes and EINTR; EPIPE when the reader has gone" {
	run "$DI_UNIT/test_fdio"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ 1\.\.4 ]]
	[[ $output != *"not ok"* ]]
}
