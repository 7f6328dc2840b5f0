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
	bats_require_minimum_version 1.5.0
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

# --- every tar Go reads (issue 13) -----------------------------------------

GOTESTDATA=/usr/lib/go-1.19/src/archive/tar/testdata

# Like same_as_go, but a tar Go refuses must be refused too (exit 1, a
# message naming an offset), for every version.
agrees_with_go() {
	local f=$1 v ours ref ostat rstat
	for v in v0 v1 dev; do
		ours=$(di-tarsum -v "$v" "$f" 2>"$T/err") && ostat=0 || ostat=$?
		ref=$("$GOTARSUM" -v "$v" <"$f" 2>/dev/null) && rstat=0 || rstat=$?
		if [ "$rstat" -ne 0 ]; then
			[ "$ostat" -eq 1 ] && [ -z "$ours" ] &&
				grep -q 'offset [0-9]*: ' "$T/err" || {
				echo "$f $v: Go fails, di-tarsum: $ostat $ours $(cat "$T/err")" >&2
				return 1
			}
		elif [ "$ostat" -ne 0 ] || [ "$ours" != "$ref" ]; then
			echo "$f $v: di-tarsum $ours ($(cat "$T/err")), Go $ref" >&2
			return 1
		fi
	done
}

# Both refuse FILE, and di-tarsum's message matches PATTERN.
both_refuse() {
	local f=$1 pattern=$2
	agrees_with_go "$f" || return 1
	if "$GOTARSUM" <"$f" >/dev/null 2>&1; then
		echo "$f: Go accepts it" >&2
		return 1
	fi
	run -1 di-tarsum "$f"
	[[ $output =~ $pattern ]] || { echo "message: $output" >&2; return 1; }
}

# Write the tars of the Python snippet on stdin (it gets mktars as m and
# the output directory as t).
make_tars() {
	python3 - "$T" "$BATS_TEST_DIRNAME/lib" <<<"import sys
sys.path.insert(0, sys.argv[2])
import mktars as m
t = sys.argv[1]
def put(name, data): open(t + '/' + name, 'wb').write(data)
$(cat)"
}

@test "Go's archive/tar testdata: every file agrees, refusals included" {
	need_go
	local f n=0
	for f in "$GOTESTDATA"/*.tar "$GOTESTDATA"/*.tar.bz2; do
		case $f in *sparse-big.tar) continue ;; esac
		if [[ $f == *.bz2 ]]; then
			bzip2 -dc "$f" >"$T/in.tar"
			f=$T/in.tar
		fi
		agrees_with_go "$f"
		n=$((n + 1))
	done
	[ "$n" -ge 40 ]
}

@test "Go's two 60 GB sparse files agree, read in flat memory" {
	need_go
	[ -n "${DI_SLOW:-}" ] || [ "${CI:-}" = true ] || skip "slow: set DI_SLOW=1"
	local f ours ref
	# Go takes minutes for each: its answer is kept under build/ for the
	# suite's second (sanitizer) pass, keyed by the file's own bytes.
	local cache=${BUILD_DIR:-$BATS_TEST_DIRNAME/../build}/go-sparse-sums key
	mkdir -p "$cache"
	for f in gnu-sparse-big.tar pax-sparse-big.tar; do
		# a guard against a hang, not a timed assertion
		ours=$(timeout 3600 /usr/bin/time -f %M -o "$T/rss" di-tarsum "$GOTESTDATA/$f")
		key=$cache/$(sha256sum <"$GOTESTDATA/$f" | cut -c1-64)
		if [ ! -s "$key" ]; then
			timeout 3600 "$GOTARSUM" <"$GOTESTDATA/$f" >"$key.tmp"
			mv "$key.tmp" "$key"
		fi
		ref=$(cat "$key")
		[ "$ours" = "$ref" ]
		[ "$(tail -1 "$T/rss")" -lt 65536 ]
	done
}

@test "sparse files from GNU tar (gnu, pax 0.0, 0.1, 1.0) agree and sum as the plain file" {
	need_go
	require tar
	mkdir -p "$T/d"
	truncate -s 10M "$T/d/sparse"
	printf data | dd of="$T/d/sparse" bs=1 seek=3000000 conv=notrunc 2>/dev/null
	printf end | dd of="$T/d/sparse" bs=1 seek=$((10 * 1048576 - 3)) conv=notrunc 2>/dev/null
	python3 -c 'import sys
f = open(sys.argv[1], "wb")
for i in range(40):
    f.seek(i * 65536); f.write(b"x" * 10)
f.truncate(40 * 65536 + 5)' "$T/d/many"
	tar -C "$T" --sparse --format=gnu -cf "$T/gnu.tar" d
	tar -C "$T" --format=posix -cf "$T/plain.tar" d
	local v
	for v in 0.0 0.1 1.0; do
		tar -C "$T" --sparse --format=posix --sparse-version=$v -cf "$T/pax$v.tar" d
		agrees_with_go "$T/pax$v.tar"
		# the expanded file hashes as the same file stored whole
		[ "$(di-tarsum "$T/pax$v.tar")" = "$(di-tarsum "$T/plain.tar")" ]
		[ "$(di-tarsum -v v0 "$T/pax$v.tar")" = "$(di-tarsum -v v0 "$T/plain.tar")" ]
	done
	agrees_with_go "$T/gnu.tar"
	# GNU's 'S' is hashed as Go reports it: typeflag S, the logical size
	[ "$(tar -tvf "$T/gnu.tar" | grep -c 'd/many')" -eq 1 ]
	[ "$(di-tarsum "$T/gnu.tar")" != "$(di-tarsum "$T/plain.tar")" ]
}

@test "sparse maps: extension blocks, holes at both ends, empty maps, and bad maps refused" {
	need_go
	make_tars <<'EOF'
def gnu_sparse(name, frags, size, ext_entries=()):
    data = b"".join(b"%c" % (65 + i % 26) * l for i, (o, l) in enumerate(frags + list(ext_entries)))
    h = bytearray(m.header(name, size=len(data), typeflag=b"S", magic=m.GNU_MAGIC))
    for i, (o, l) in enumerate(frags[:4]):
        h[386 + 24 * i:398 + 24 * i] = m.octal(o, 12)
        h[398 + 24 * i:410 + 24 * i] = m.octal(l, 12)
    h[482] = 1 if ext_entries else 0
    h[483:495] = m.octal(size, 12)
    h[148:156] = b" " * 8
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    ext = b""
    if ext_entries:
        e = bytearray(512)
        for i, (o, l) in enumerate(ext_entries):
            e[24 * i:24 * i + 12] = m.octal(o, 12)
            e[24 * i + 12:24 * i + 24] = m.octal(l, 12)
        ext = bytes(e)
    return bytes(h) + ext + m.pad(data)
frags = [(0, 10), (1000, 5), (2000, 7), (3000, 1)]
put("ext.tar", gnu_sparse("ext", frags, 9000, [(5000 + 10 * i, 3) for i in range(21)]) + m.END)
put("holes.tar", gnu_sparse("holes", [(100, 5)], 4096) + gnu_sparse("allhole", [], 777) + m.END)
put("overlap.tar", gnu_sparse("overlap", [(0, 10), (5, 10)], 100) + m.END)
put("beyond.tar", gnu_sparse("beyond", [(90, 20)], 100) + m.END)
def pax_sparse(recs, name, data, typeflag=b"0"):
    return m.pax(recs) + m.entry(name, data, typeflag=typeflag)
put("v01.tar", pax_sparse([("GNU.sparse.major", "0"), ("GNU.sparse.minor", "1"),
    ("GNU.sparse.name", "real"), ("GNU.sparse.size", "50"),
    ("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "5,3,40,2")], "GNUSparseFile.0/real", b"abcde") + m.END)
put("v00.tar", pax_sparse([("GNU.sparse.size", "20"), ("GNU.sparse.numblocks", "1"),
    ("GNU.sparse.offset", "4"), ("GNU.sparse.numbytes", "3")], "x", b"xyz") + m.END)
put("order.tar", pax_sparse([("GNU.sparse.size", "20"), ("GNU.sparse.numblocks", "1"),
    ("GNU.sparse.numbytes", "3"), ("GNU.sparse.offset", "4")], "x", b"xyz") + m.END)
put("v10.tar", pax_sparse([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"),
    ("GNU.sparse.realsize", "30"), ("GNU.sparse.name", "ten")], "x",
    m.pad(b"2\n0\n3\n20\n4\n") + b"abcdefg") + m.END)
put("dir.tar", pax_sparse([("GNU.sparse.size", "20"), ("GNU.sparse.numblocks", "1"),
    ("GNU.sparse.map", "0,2")], "d/", b"", typeflag=b"5") + m.END)
put("unref.tar", pax_sparse([("GNU.sparse.size", "20"), ("GNU.sparse.numblocks", "1"),
    ("GNU.sparse.map", "0,2")], "u", b"abc") + m.END)
put("nulname.tar", pax_sparse([("GNU.sparse.size", "2"), ("GNU.sparse.numblocks", "1"),
    ("GNU.sparse.map", "0,2"), ("GNU.sparse.name", "a\0b")], "u", b"ab") + m.END)
# only versions 0.0, 0.1, 1.0 or a map make a sparse file: the rest is hashed
put("other.tar", pax_sparse([("GNU.sparse.major", "2"), ("GNU.sparse.minor", "0"),
    ("GNU.sparse.numblocks", "junk"), ("GNU.sparse.name", "ignored")], "plain", b"data") + m.END)
EOF
	local f
	for f in ext holes v01 v00 v10 other; do
		agrees_with_go "$T/$f.tar"
	done
	# the 1.0 map's file, expanded, is what it says
	di-merge "$T/v10.tar" | tar -xOf - ten >"$T/ten"
	python3 -c 'import sys
assert open(sys.argv[1], "rb").read() == b"abc" + b"\0" * 17 + b"defg" + b"\0" * 6' "$T/ten"
	[ "$(di-tarsum "$T/other.tar")" = "$("$GOTARSUM" <"$T/other.tar")" ]
	both_refuse "$T/overlap.tar" "offset 0: bad sparse map of 'overlap'"
	both_refuse "$T/beyond.tar" "bad sparse map of 'beyond'"
	both_refuse "$T/order.tar" "offset 0: malformed pax header"
	both_refuse "$T/dir.tar" "bad sparse map of 'd/'"
	both_refuse "$T/unref.tar" "sparse file 'u' holds data its map does not name"
	both_refuse "$T/nulname.tar" "NUL in GNU.sparse.name"
}

@test "a sparse entry becomes a plain file in di-merge and di-layer output" {
	require tar
	mkdir -p "$T/d"
	truncate -s 3M "$T/d/s"
	printf middle | dd of="$T/d/s" bs=1 seek=1000000 conv=notrunc 2>/dev/null
	local fmt
	for fmt in "--format=gnu" "--format=posix --sparse-version=1.0" "--format=posix --sparse-version=0.1"; do
		# shellcheck disable=SC2086
		tar -C "$T" --sparse $fmt -cf "$T/in.tar" d
		rm -rf "$T/m" "$T/l" && mkdir "$T/m" "$T/l"
		di-merge "$T/in.tar" >"$T/merged.tar"
		di-layer --tar "$T/in.tar" >"$T/layer.tar"
		tar -C "$T/m" -xf "$T/merged.tar"
		tar -C "$T/l" -xf "$T/layer.tar"
		cmp "$T/d/s" "$T/m/d/s"
		cmp "$T/d/s" "$T/l/d/s"
		[ "$(tar -tvf "$T/merged.tar" | grep -c '^-.* 3145728 .* d/s$')" -eq 1 ]
		! tar -tvf "$T/merged.tar" | grep -q GNUSparseFile
		# and from a pipe, where nothing is read in place
		di-layer --tar - <"$T/in.tar" | tar -xOf - d/s | cmp - "$T/d/s"
	done
}

@test "Go's pre-1.8 GNU headers: text in the atime area is a ustar prefix" {
	need_go
	make_tars <<'EOF'
h = m.header("file", size=0, magic=m.GNU_MAGIC, prefix=b"pre/fix")
put("go17.tar", h + m.END)
put("ustar.tar", m.header("file", size=0, prefix=b"pre/fix") + m.END)
# numbers there are GNU times, and the name stays alone
put("times.tar", m.header("file", size=0, magic=m.GNU_MAGIC, prefix=b"12345670123") + m.END)
EOF
	agrees_with_go "$T/go17.tar"
	agrees_with_go "$T/times.tar"
	[ "$(di-tarsum "$T/go17.tar")" = "$(di-tarsum "$T/ustar.tar")" ]
	[ "$(di-tarsum "$T/times.tar")" != "$(di-tarsum "$T/ustar.tar")" ]
}

@test "size limits: Go's 1 MiB per extended header, and v0's re-encoding within it" {
	need_go
	make_tars <<'EOF'
put("path600k.tar", m.pax([("path", "p" * 600000)]) + m.entry("x", b"d") + m.END)
put("xattrs.tar", m.pax([("SCHILY.xattr.user.%d" % i, "v" * 5000) for i in range(100)]) + m.entry("x", b"d") + m.END)
put("long1m.tar", m.gnu_long(b"L", "n" * ((1 << 20) - 1)) + m.entry("x", b"d") + m.END)
put("over.tar", m.pax([("path", "p" * (1 << 20))]) + m.entry("x", b"d") + m.END)
EOF
	agrees_with_go "$T/path600k.tar"
	agrees_with_go "$T/xattrs.tar"
	di-tarsum "$T/path600k.tar" >/dev/null
	# a GNU long name of a ustar entry: Go re-encodes it as pax, over 1 MiB
	both_refuse "$T/long1m.tar" "its pax header would exceed 1 MiB"
	both_refuse "$T/over.tar" "extended header of [0-9]+ bytes \\(limit 1048576\\)"
}

@test "headers Go's tar writer refuses make the tarsum fail" {
	need_go
	make_tars <<'EOF'
put("slash.tar", m.entry("file/", b"x", typeflag=b"0") + m.END)
put("chardev.tar", m.header("dev/", typeflag=b"3", devmajor=1, devminor=3) + m.END)
put("mode.tar", m.header("m", mode=1 << 60, big=("mode",)) + m.END)
put("gnuid.tar", m.header("g", uid=1 << 60, big=("uid",), magic=m.GNU_MAGIC) + m.END)
put("prefix.tar", m.header("", prefix=b"noslash") + m.END)
put("dir.tar", m.header("dir/", typeflag=b"5") + m.END)
EOF
	both_refuse "$T/slash.tar" "'file/': Go's tar writer refuses a file name with a trailing slash"
	both_refuse "$T/chardev.tar" "trailing slash"
	both_refuse "$T/mode.tar" "'m': Go's tar writer refuses no tar format holds its fields"
	both_refuse "$T/gnuid.tar" "no tar format holds its fields"
	both_refuse "$T/prefix.tar" "'noslash/': Go's tar writer refuses a file name with a trailing slash"
	agrees_with_go "$T/dir.tar"
}

@test "pax numbers holding NUL are refused; the most negative mtime does not overflow" {
	need_go
	make_tars <<'EOF'
put("uidnul.tar", m.pax([("uid", "\0")]) + m.entry("f", b"") + m.END)
put("mtimenul.tar", m.pax([("mtime", "5\0junk")]) + m.entry("f", b"") + m.END)
put("sizenul.tar", m.pax([("size", "0\0")]) + m.entry("f", b"") + m.END)
put("minmtime.tar", m.pax([("mtime", "-9223372036854775808.5")]) + m.entry("f", b"") + m.END)
put("minmtime2.tar", m.pax([("mtime", "-9223372036854775808")]) + m.entry("f", b"") + m.END)
put("fracs.tar", b"".join(m.pax([("mtime", t)]) + m.entry("f%d" % i, b"")
    for i, t in enumerate(["-1.5", "-0.000000001", "1.9999999999", "5.", "-62135596800.5"])) + m.END)
EOF
	both_refuse "$T/uidnul.tar" "offset 1024: bad pax record for 'f'"
	both_refuse "$T/mtimenul.tar" "bad pax record for 'f'"
	both_refuse "$T/sizenul.tar" "bad pax record for 'f'"
	agrees_with_go "$T/minmtime.tar"
	agrees_with_go "$T/minmtime2.tar"
	agrees_with_go "$T/fracs.tar"
}

@test "an archive that ends inside, or at the start of, the last padding is whole" {
	need_go
	make_tars <<'EOF'
body = m.entry("a", b"x" * 700) + m.pax([("path", "b")]) + m.entry("", b"yy")
put("full.tar", body + m.END)
put("inpad.tar", body[:-300])
put("atpad.tar", body[:-510])
put("paxpad.tar", (m.entry("a", b"x" * 700) + m.pax([("path", "b")]))[:-100])
put("cutdata.tar", body[:-511])
EOF
	local f
	for f in inpad atpad paxpad; do
		agrees_with_go "$T/$f.tar"
	done
	[ "$(di-tarsum "$T/inpad.tar")" = "$(di-tarsum "$T/full.tar")" ]
	[ "$(di-tarsum "$T/atpad.tar")" = "$(di-tarsum "$T/full.tar")" ]
	both_refuse "$T/cutdata.tar" "truncated data of 'b'"
}

@test "an xattr with an empty name is hashed as Docker's v1 selection does" {
	need_go
	make_tars <<'EOF'
put("empty1.tar", m.pax([("SCHILY.xattr.", "val")]) + m.entry("f", b"") + m.END)
put("empty3.tar", m.pax([("SCHILY.xattr.", "val"), ("SCHILY.xattr.user.a", "1"),
    ("SCHILY.xattr.user.b", "")]) + m.entry("f", b"") + m.END)
EOF
	agrees_with_go "$T/empty1.tar"
	agrees_with_go "$T/empty3.tar"
}

@test "a plain tar whose first name starts with compression magic is a tar" {
	need_go
	local magic
	for magic in '\x1f\x8b' 'BZh' '\xfd7zXZ\x00' '\x28\xb5\x2f\xfd'; do
		make_tars <<EOF
put("magic.tar", m.entry(b"$magic" + b"name", b"data") + m.END)
EOF
		agrees_with_go "$T/magic.tar"
		[ "$(di-merge "$T/magic.tar" | tar -tf - | wc -l)" -eq 1 ]
	done
}

@test "an xz stream that needs more than 128 MiB to decompress is refused in little memory" {
	require xz
	head -c 100000 /dev/urandom >"$T/r"
	tar -C "$T" -cf "$T/r.tar" r
	xz -c --lzma2=dict=1GiB "$T/r.tar" >"$T/big.tar.xz"
	xz -c -9 "$T/r.tar" >"$T/ok.tar.xz"
	[ "$(di-tarsum "$T/ok.tar.xz")" = "$(di-tarsum "$T/r.tar")" ]
	run -1 /usr/bin/time -f %M -o "$T/rss" di-tarsum "$T/big.tar.xz"
	[[ $output =~ "big.tar.xz: offset 0: xz: the stream needs 1025 MiB of memory to decompress (limit 128 MiB)" ]]
	[ "$(tail -1 "$T/rss")" -lt 65536 ]
	run -1 di-merge "$T/big.tar.xz"
	[[ $output =~ "limit 128 MiB" ]]
}

@test "a global header with a bad number: di's answer is one of Go's random ones" {
	need_go
	make_tars <<'EOF'
put("g.tar", m.pax([("path", "gname"), ("uid", "5\0junk"), ("SCHILY.xattr.user.a", "v")],
    typeflag=b"g", name="") + m.entry("f", b"x") + m.END)
EOF
	local v ours i hit
	for v in v0 v1; do
		ours=$(di-tarsum -v $v "$T/g.tar")
		hit=
		for i in $(seq 400); do
			[ "$("$GOTARSUM" -v $v <"$T/g.tar")" != "$ours" ] || { hit=1; break; }
		done
		[ -n "$hit" ]
	done
}

@test "the differential fuzzer's kept disagreements all agree now" {
	need_go
	local n
	n=$(ls "$BATS_TEST_DIRNAME"/fuzz/regressions/tarsum-diff/*.tar | wc -l)
	[ "$n" -ge 30 ]
	run "$BATS_TEST_DIRNAME/fuzz/tarsum-diff" -replay \
		"$BATS_TEST_DIRNAME"/fuzz/regressions/tarsum-diff/*.tar
	[ "$status" -eq 0 ]
	[[ $output =~ "$n inputs replayed, 0 disagreements" ]]
}
