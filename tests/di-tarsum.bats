#!/usr/bin/env bats
# di-tarsum: byte-exact with Docker's Go pkg/tarsum.  The public vectors of
# moby's tarsum_test.go, then a differential test against the Go code itself
# (built from Debian's packages) on generated and real archives.

load lib/testlib
load lib/peers

VECTORS=/usr/share/gocode/src/github.com/docker/docker/pkg/tarsum/testdata
L46=$VECTORS/46af0962ab5afeb5ce6740d4d91652e69206fc991fd5328c1a94d364ad00e457
L51=$VECTORS/511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158

setup_file() {
	if command -v go >/dev/null && [ -d "$VECTORS" ]; then
		gotarsum_build >/dev/null
	fi
	export GOTARSUM
	CASES=$(mktemp -d /tmp/di-cases.XXXXXX)
	python3 "$BATS_TEST_DIRNAME/lib/mktars.py" "$CASES"
	export CASES
}

teardown_file() {
	rm -rf "$CASES"
}

need_go() {
	require go python3
	[ -x "${GOTARSUM:-}" ] || {
		[ "${CI:-}" != true ] || return 1
		skip "Go reference tarsum not built"
	}
}

# Compare di-tarsum with the Go reference on FILE for every version.
same_as_go() {
	local f=$1 v ours ref
	shift
	for v in v0 v1 dev; do
		ours=$(di-tarsum -v "$v" "$@" "$f") || return 1
		ref=$("$GOTARSUM" -v "$v" "$@" <"$f") || return 1
		if [ "$ours" != "$ref" ]; then
			echo "$f $v: di-tarsum $ours, Go $ref" >&2
			return 1
		fi
	done
}

@test "public vectors: the 46af0962 layer with its json, v0 and dev" {
	[ -d "$VECTORS" ] || require golang-docker-vectors
	run di-tarsum -v v0 -e "$L46/json" "$L46/layer.tar"
	[ "$output" = tarsum+sha256:4095cc12fa5fdb1ab2760377e1cd0c4ecdd3e61b4f9b82319d96fcea6c9a41c6 ]
	run di-tarsum -v dev -e "$L46/json" "$L46/layer.tar"
	[ "$output" = tarsum.dev+sha256:db56e35eec6ce65ba1588c20ba6b1ea23743b59e81fb6b7f358ccbde5580345c ]
	# the same layer gzip-compressed gives the same sum
	gzip -c "$L46/layer.tar" >"$T/l.tar.gz"
	run di-tarsum -v v0 -e "$L46/json" "$T/l.tar.gz"
	[ "$output" = tarsum+sha256:4095cc12fa5fdb1ab2760377e1cd0c4ecdd3e61b4f9b82319d96fcea6c9a41c6 ]
}

@test "public vectors: xattr layer, 511136ea layer, empty tar" {
	[ -d "$VECTORS" ] || require golang-docker-vectors
	run di-tarsum -v v0 -e "$VECTORS/xattr/json" "$VECTORS/xattr/layer.tar"
	[ "$output" = tarsum+sha256:07e304a8dbcb215b37649fde1a699f8aeea47e60815707f1cdf4d55d25ff6ab4 ]
	run di-tarsum -v dev -e "$VECTORS/xattr/json" "$VECTORS/xattr/layer.tar"
	[ "$output" = tarsum.dev+sha256:6c58917892d77b3b357b0f9ad1e28e1f4ae4de3a8006bd3beb8beda214d8fd16 ]
	run di-tarsum -v v0 -e "$L51/json" "$L51/layer.tar"
	[ "$output" = tarsum+sha256:c66bd5ec9f87b8f4c6135ca37684618f486a3dd1d113b138d0a177bfa39c2571 ]
	head -c 1024 /dev/zero >"$T/empty.tar"
	run di-tarsum -v v0 "$T/empty.tar"
	[ "$output" = tarsum+sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]
}

@test "public vectors: the four collision tars" {
	[ -d "$VECTORS" ] || require golang-docker-vectors
	run di-tarsum -v v0 "$VECTORS/collision/collision-0.tar"
	[ "$output" = tarsum+sha256:7cabb5e9128bb4a93ff867b9464d7c66a644ae51ea2e90e6ef313f3bef93f077 ]
	run di-tarsum -v v0 "$VECTORS/collision/collision-1.tar"
	[ "$output" = tarsum+sha256:805fd393cfd58900b10c5636cf9bab48b2406d9b66523122f2352620c85dc7f9 ]
	run di-tarsum -v v0 "$VECTORS/collision/collision-2.tar"
	[ "$output" = tarsum+sha256:85d2b8389f077659d78aca898f9e632ed9161f553f144aef100648eac540147b ]
	run di-tarsum -v v0 "$VECTORS/collision/collision-3.tar"
	[ "$output" = tarsum+sha256:cbe4dee79fe979d69c16c2bccd032e3205716a562f4a3c1ca1cbeed7b256eb19 ]
}

@test "differential: every generated corner case, v0, v1 and dev" {
	need_go
	local n=0 f
	for f in "$CASES"/*.tar; do
		same_as_go "$f"
		n=$((n + 1))
	done
	[ "$n" -ge 15 ]
}

@test "differential: extra data (-e) is hashed first" {
	need_go
	printf '{"id":"x","parent":"y"}' >"$T/json"
	same_as_go "$CASES/gnu-basic.tar" -e "$T/json"
	same_as_go "$CASES/xattrs.tar" -e "$T/json"
	# and it changes the sum
	[ "$(di-tarsum -e "$T/json" "$CASES/gnu-basic.tar")" != \
		"$(di-tarsum "$CASES/gnu-basic.tar")" ]
}

@test "differential: duplicate names in several orders follow Go's sort" {
	need_go
	same_as_go "$CASES/dups.tar"
	same_as_go "$CASES/dups-many.tar"
	# one thread or four: the same sum
	[ "$(di-tarsum --threads 1 "$CASES/dups-many.tar")" = \
		"$(di-tarsum --threads 4 "$CASES/dups-many.tar")" ]
}

make_tree() {
	local d=$1
	mkdir -p "$d/dir/sub" "$d/empty"
	printf 'hello\n' >"$d/dir/file"
	head -c 100000 /dev/urandom >"$d/dir/sub/blob"
	ln "$d/dir/file" "$d/dir/hardlink"
	ln -s ../dir/file "$d/dir/sub/symlink"
	ln -s /etc/passwd "$d/abs-symlink"
	mkfifo "$d/fifo"
	mknod "$d/null" c 1 3 2>/dev/null || true
	mkdir -p "$d/$(printf 'l%.0s' {1..120})/$(printf 'm%.0s' {1..120})"
	printf 'deep\n' >"$d/$(printf 'l%.0s' {1..120})/$(printf 'm%.0s' {1..120})/f"
	chmod 4755 "$d/dir/sub/blob"
	if command -v setfattr >/dev/null; then
		setfattr -n user.color -v blue "$d/dir/file" 2>/dev/null || true
		setfattr -n user.bin -v 0x00ff10 "$d/dir/sub/blob" 2>/dev/null || true
	fi
}

@test "differential: archives from GNU tar (gnu, posix, ustar, v7) and bsdtar" {
	need_go
	require tar bsdtar
	make_tree "$T/tree"
	local fmt
	for fmt in gnu posix oldgnu; do
		tar --format=$fmt --xattrs -C "$T/tree" -cf "$T/$fmt.tar" .
		same_as_go "$T/$fmt.tar"
	done
	tar --format=ustar -C "$T/tree" -cf "$T/ustar.tar" dir abs-symlink fifo
	same_as_go "$T/ustar.tar"
	tar --format=v7 -C "$T/tree" -cf "$T/v7.tar" dir/file dir/sub
	same_as_go "$T/v7.tar"
	bsdtar --xattrs -C "$T/tree" -cf "$T/bsd.tar" .
	same_as_go "$T/bsd.tar"
	bsdtar --format=pax -C "$T/tree" -cf "$T/bsdpax.tar" .
	same_as_go "$T/bsdpax.tar"
}

@test "differential: archives from Python's tarfile, GNU and PAX" {
	need_go
	make_tree "$T/tree"
	python3 - "$T" <<'EOF'
import sys, tarfile
t = sys.argv[1]
for fmt, name in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax")):
    with tarfile.open(f"{t}/py-{name}.tar", "w", format=fmt,
                      pax_headers={"comment": "global"} if name == "pax" else None) as tf:
        tf.add(f"{t}/tree", arcname="root")
EOF
	same_as_go "$T/py-gnu.tar"
	same_as_go "$T/py-pax.tar"
}

@test "differential: gzip, zstd, xz and bzip2 input hash like the plain tar" {
	need_go
	require zstd xz bzip2
	local f=$CASES/many.tar
	gzip -c "$f" >"$T/a.gz"
	zstd -q -c "$f" >"$T/a.zst"
	xz -c "$f" >"$T/a.xz"
	bzip2 -c "$f" >"$T/a.bz2"
	local want
	want=$("$GOTARSUM" <"$f")
	[ "$(di-tarsum "$T/a.gz")" = "$want" ]
	[ "$(di-tarsum <"$T/a.zst")" = "$want" ]
	[ "$(di-tarsum "$T/a.xz")" = "$want" ]
	[ "$(cat "$T/a.bz2" | di-tarsum)" = "$want" ]
}

@test "--json gives the tarsum, the diff_id and the size of the uncompressed tar" {
	local f=$CASES/trailing-data.tar
	gzip -c "$f" >"$T/f.gz"
	run di-tarsum --json "$T/f.gz"
	[ "$status" -eq 0 ]
	[ "$(jq -r .tarsum <<<"$output")" = "$(di-tarsum "$f")" ]
	[ "$(jq -r .diff_id <<<"$output")" = "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" ]
	[ "$(jq -r .size <<<"$output")" = "$(stat -c %s "$f")" ]
}

@test "--tee passes the input through unchanged and puts the sum aside" {
	local f=$CASES/many.tar
	gzip -c "$f" >"$T/f.gz"
	di-tarsum --tee <"$T/f.gz" >"$T/out" 2>"$T/err"
	cmp "$T/f.gz" "$T/out"
	[ "$(cat "$T/err")" = "$(di-tarsum "$f")" ]
	di-tarsum --tee -o "$T/sum" "$CASES/trailing-data.tar" >"$T/out2"
	cmp "$CASES/trailing-data.tar" "$T/out2"
	[ "$(cat "$T/sum")" = "$(di-tarsum "$CASES/trailing-data.tar")" ]
}

@test "-a sha512 names its algorithm and differs from sha256" {
	run di-tarsum -a sha512 "$CASES/gnu-basic.tar"
	[ "$status" -eq 0 ]
	[[ $output =~ ^tarsum\.v1\+sha512:[0-9a-f]{128}$ ]]
	# threads do not change it
	[ "$(di-tarsum -a sha512 --threads 1 "$CASES/many.tar")" = \
		"$(di-tarsum -a sha512 --threads 3 "$CASES/many.tar")" ]
}

@test "one thread and several give the same sums on a large archive" {
	local f=$CASES/many.tar
	[ "$(di-tarsum --threads 1 "$f")" = "$(di-tarsum --threads 2 "$f")" ]
	[ "$(di-tarsum --threads 1 -v v0 "$f")" = "$(di-tarsum --threads 4 -v v0 "$f")" ]
}

# Hostile input: exit 1, a message naming the offset, nothing on stdout.
hostile() {
	local file=$1 pattern=$2
	run --separate-stderr di-tarsum "$file"
	[ "$status" -eq 1 ] || { echo "status $status" >&2; return 1; }
	[ -z "$output" ] || { echo "stdout: $output" >&2; return 1; }
	[[ $stderr =~ $pattern ]] || { echo "stderr: $stderr" >&2; return 1; }
}

@test "hostile: truncated header, truncated body, bad checksum, not a tar" {
	bats_require_minimum_version 1.5.0
	local f=$CASES/gnu-basic.tar
	head -c 700 "$f" >"$T/trunc-header"
	hostile "$T/trunc-header" "offset 512: truncated header"
	python3 -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1],"rb").read()[:1024+3])' \
		"$f" >"$T/trunc-body"
	hostile "$T/trunc-body" "offset 1027: truncated data of 'dir/file'"
	python3 - "$f" "$T/badsum" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read()); d[512 + 10] ^= 0x20
open(sys.argv[2], "wb").write(d)
EOF
	hostile "$T/badsum" "offset 512: bad header checksum"
	head -c 4096 /dev/urandom >"$T/random"
	hostile "$T/random" "offset 0: not a tar archive"
}

@test "hostile: a size beyond the data, corrupt compression, zero block then header" {
	bats_require_minimum_version 1.5.0
	python3 - "$T" "$BATS_TEST_DIRNAME/lib" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import mktars
t = sys.argv[1]
h = mktars.header("big", size=1 << 30)
open(t + "/bigsize", "wb").write(h + b"x" * 1000)
open(t + "/zerothen", "wb").write(b"\0" * 512 + mktars.entry("f", b"x") + mktars.END)
EOF
	hostile "$T/bigsize" "truncated data of 'big'"
	hostile "$T/zerothen" "offset 512: header after a zero block"
	gzip -c "$CASES/many.tar" | head -c 50000 >"$T/cut.gz"
	hostile "$T/cut.gz" "offset [0-9]+: "
}

@test "hostile: malformed numbers and pax records name the entry" {
	bats_require_minimum_version 1.5.0
	python3 - "$T" "$BATS_TEST_DIRNAME/lib" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import mktars
t = sys.argv[1]
h = bytearray(mktars.header("badnum", size=0))
h[108:116] = b"12x4567\0"          # uid not octal
h[148:156] = b" " * 8
h[148:156] = ("%06o\0 " % sum(h)).encode()
open(t + "/badnum", "wb").write(bytes(h) + mktars.END)
rec = b"99 path=short\n"              # the length is wrong
open(t + "/badpax", "wb").write(mktars.entry("P", rec, typeflag=b"x") +
                                mktars.entry("f", b"") + mktars.END)
EOF
	hostile "$T/badnum" "offset 0: malformed number in header of 'badnum'"
	hostile "$T/badpax" "offset 0: malformed pax header"
}

@test "usage errors exit 2; --help and --version exit 0" {
	run di-tarsum -v v9 /dev/null
	[ "$status" -eq 2 ]
	[[ $output =~ "unknown tarsum version 'v9'" ]]
	run di-tarsum a b
	[ "$status" -eq 2 ]
	run di-tarsum --help
	[ "$status" -eq 0 ]
	[[ $output =~ usage:\ di-tarsum ]]
	run di-tarsum --version
	[ "$status" -eq 0 ]
	[[ $output =~ ^di-tarsum\ \(di\)\ [0-9] ]]
	run di-tarsum /nonexistent
	[ "$status" -eq 1 ]
	[[ $output =~ "/nonexistent: No such file" ]]
}

@test "-o writes nothing when the input is bad" {
	run di-tarsum -o "$T/sum" "$CASES/gnu-basic.tar"
	[ "$status" -eq 0 ]
	[ -s "$T/sum" ]
	head -c 700 "$CASES/gnu-basic.tar" >"$T/bad"
	run di-tarsum -o "$T/sum2" "$T/bad"
	[ "$status" -eq 1 ]
	[ ! -e "$T/sum2" ]
	[ -z "$(ls "$T" | grep tmp)" ]
}
