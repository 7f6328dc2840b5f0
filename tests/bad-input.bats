#!/usr/bin/env bats
# Hostile input and faults, across every tool.  Each @test is a row of the
# table: one hostile input (made by tests/lib/hostile.py) fed to every tool
# that can take it, with the outcome each tool must have.  Every run is
# checked for its exit status; a failure also for a message that names the
# problem (the entry, the member or the byte offset), for standard output
# without a tar end-of-archive, and for nothing left behind: the tools run
# in an empty directory with an empty $TMPDIR, both empty again after, and
# the places a hostile name aims at (../di-hostile-escaped,
# /tmp/di-hostile-through) never appear.
#
# The tools that take a TREE, and how they are fed one (IN.tar):
#   tarsum    di-tarsum IN.tar                 (hashes names as they are)
#   layer     di-layer --tar IN.tar
#   bundle    di-layer IN.tar
#   cook      di-cook -n hostile IN.tar        (copies layers as they are)
#   export    di-overlay --from IN.image       (IN.tar as an image's layer)
#   contents  di-overlay --contents IN.tar --contents BUSYBOX-ROOT -c true
#             (root with overlayfs only)
#   merge     di-merge IN.tar                  (when di-merge is built; the
#             first entry for a path wins, as with tar -xk)
#   diff      di-diff IN.tar                   (when di-diff is built; a
#             filter: entries are copied as they are, names included)

load lib/testlib

HOSTILE=$BATS_TEST_DIRNAME/lib/hostile.py

teardown() {
	local m
	for m in "$T/full" "$T/mnt"; do
		! mountpoint -q "$m" 2>/dev/null || umount "$m"
	done
	[ ! -d "$T/ro" ] || chmod -R u+w "$T/ro"
	di_teardown
}

setup_file() {
	local d=$BATS_FILE_TMPDIR
	export CASES=$d/cases IMAGES=$d/images BUNDLES=$d/bundles
	python3 "$HOSTILE" tars "$CASES"
	python3 "$HOSTILE" wrap "$CASES"/*.tar
	python3 "$HOSTILE" all-images "$IMAGES"
	python3 "$HOSTILE" bundles "$BUNDLES"
	export BBROOT=$d/bbroot CAN_RUN=
	if [ "$(id -u)" = 0 ] && command -v busybox >/dev/null; then
		mkdir -p "$BBROOT/bin"
		cp "$(command -v busybox)" "$BBROOT/bin/busybox"
		ln -s busybox "$BBROOT/bin/sh"
		if "$DI_BIN/di-overlay" --contents "$BBROOT" -c true \
			>/dev/null 2>"$d/run.err"; then
			CAN_RUN=1
		fi
	fi
}

# --- running a tool ---------------------------------------------------------

# The tools that take a TREE here.
tree_tools() {
	echo tarsum layer bundle cook export
	[ -z "$CAN_RUN" ] || echo contents
	[ ! -x "$DI_BIN/di-merge" ] || echo merge
	[ ! -x "$DI_BIN/di-diff" ] || echo diff
}

# run_in_place CMD...: run CMD in an empty directory with an empty $TMPDIR;
# stdout to $T/out, stderr to $T/err, exit status to $status.
run_in_place() {
	rm -rf "$T/work" "$T/tmp" "$T/out" "$T/err"
	mkdir "$T/work" "$T/tmp"
	status=0
	(cd "$T/work" && TMPDIR=$T/tmp "$@") >"$T/out" 2>"$T/err" || status=$?
}

# feed TOOL IN.tar: IN.tar to TOOL as the table above says.
feed() {
	local in=$2
	case $1 in
	tarsum) run_in_place di-tarsum "$in" ;;
	layer) run_in_place di-layer --tar "$in" ;;
	bundle) run_in_place di-layer "$in" ;;
	cook) run_in_place di-cook -n hostile "$in" ;;
	export) run_in_place di-overlay --from "${in%.tar}.image" ;;
	contents) run_in_place di-overlay --contents "$in" --contents "$BBROOT" -c true ;;
	merge) run_in_place di-merge "$in" ;;
	diff) run_in_place di-diff "$in" ;;
	*) echo "feed: no tool $1" >&2 && return 1 ;;
	esac
	cp "$T/out" "$T/out.$1"
	cp "$T/err" "$T/err.$1"
}

# Nothing made where the tool was not asked to write.
nothing_outside() {
	local what=$1
	if [ -n "$(find "$T/work" "$T/tmp" -mindepth 1 | head -1)" ]; then
		echo "$what: left files behind:" >&2
		ls -lAR "$T/work" "$T/tmp" >&2
		return 1
	fi
	if [ -e "$T/di-hostile-escaped" ] || [ -e /di-hostile-escaped ] ||
		[ -e /tmp/di-hostile-through ] || [ -e /tmp/di-hostile-escaped ]; then
		echo "$what: wrote outside its place" >&2
		return 1
	fi
}

# expect WHAT STATUS PATTERN: the last run exited STATUS; on a failure its
# message matches PATTERN (an extended regex) and stdout has no
# end-of-archive.
expect() {
	local what=$1 want=$2 pat=$3
	if [ "$status" -ne "$want" ]; then
		echo "$what: exit $status, expected $want; stderr:" >&2
		head -c 2000 "$T/err" >&2
		return 1
	fi
	if [ "$want" -ne 0 ]; then
		if ! grep -Eq "^di-[a-z]+: .*($pat)" "$T/err"; then
			echo "$what: the message does not say /$pat/:" >&2
			head -c 2000 "$T/err" >&2
			return 1
		fi
		if has_eoa "$T/out"; then
			echo "$what: an end-of-archive after a failure" >&2
			return 1
		fi
	elif [ "$what" != tarsum ] && [ ! -s "$T/out" ]; then
		echo "$what: no output" >&2
		return 1
	fi
	nothing_outside "$what"
}

# tree_case CASE STATUS PATTERN [TOOL=STATUS[:PATTERN]]...: CASE.tar to
# every TREE tool; each must exit STATUS with a message matching PATTERN,
# unless TOOL=... says otherwise for it.
tree_case() {
	local name=$1 want=$2 pat=$3 tool spec s p
	shift 3
	for tool in $(tree_tools); do
		s=$want p=$pat
		for spec; do
			[[ $spec == "$tool="* ]] || continue
			spec=${spec#*=}
			s=${spec%%:*}
			[[ $spec != *:* ]] || p=${spec#*:}
		done
		feed "$tool" "$CASES/$name.tar"
		expect "$tool" "$s" "$p"
	done
}

# The sorted names of the tree that TOOL wrote (directories without '/');
# the busybox root of `contents` left out.
tree_names() {
	case $1 in
	tarsum) return 0 ;;
	bundle) tar -xOf "$T/out.bundle" layer.tar | tar -t ;;
	cook) di-overlay --from "$T/out.cook" | tar -t ;;
	contents) tar -tf "$T/out.contents" | grep -v '^bin/' ;;
	*) tar -tf "$T/out.$1" ;;
	esac | sed 's|/$||' | LC_ALL=C sort
}

# same_tree TOOL... -- NAME...: each TOOL that ran wrote exactly NAME...
same_tree() {
	local tools=() want got tool
	while [ "$1" != -- ]; do
		tools+=("$1")
		shift
	done
	shift
	want=$(printf '%s\n' "$@" | LC_ALL=C sort)
	for tool in "${tools[@]}"; do
		[ -e "$T/out.$tool" ] || continue
		got=$(tree_names "$tool")
		if [ "$got" != "$want" ]; then
			printf '%s wrote:\n%s\nnot:\n%s\n' "$tool" "$got" "$want" >&2
			return 1
		fi
	done
}

# --- tar: malformed archives --------------------------------------------------

@test "tar: a truncated header" {
	tree_case truncated-header 1 'offset 1024: truncated header' \
		cook=1:'offset 1024: truncated header|not a multiple of 512'
}

@test "tar: a truncated body" {
	tree_case truncated-body 1 "truncated data of 'cut'" \
		cook=1:"truncated data of 'cut'|not a multiple of 512"
}

@test "tar: a bad header checksum" {
	tree_case bad-checksum 1 'offset 1024: bad header checksum'
}

@test "tar: a size far past the end (8 GiB announced, 1 KiB there)" {
	tree_case size-past-end 1 "truncated data of 'huge'|huge: data ends early" \
		cook=1:"truncated data of 'huge'|no end-of-archive"
}

@test "tar: a negative size (base-256)" {
	tree_case negative-size 1 "offset 1024: negative size in header of 'neg'"
}

@test "tar: a base-256 number too large for 64 bits" {
	tree_case base256-overflow 1 "offset 1024: malformed number in header of 'over'"
}

@test "tar: an octal field with a letter in it" {
	tree_case octal-garbage 1 "offset 1024: malformed number in header of 'garbage'"
}

@test "tar: base-256 numbers that are right (a 2^40 uid, a negative mtime) are read" {
	tree_case base256-numbers 0 ''
	same_tree layer bundle cook export contents merge diff -- \
		ok bigid negmtime b256size
	[ "$(tar -xOf "$T/out.layer" b256size)" = ssssssssss ]
	grep -Eq '^tarsum\.v1\+sha256:[0-9a-f]{64}$' "$T/out.tarsum"
}

@test "tar: a pax record whose length is 23 digits long" {
	tree_case pax-huge-length 1 'offset 1024: malformed pax header'
}

@test "tar: a pax record whose length is wrong" {
	tree_case pax-wrong-length 1 'offset 1024: malformed pax header'
}

@test "tar: a pax record without '='" {
	tree_case pax-no-equals 1 'offset 1024: malformed pax header'
}

@test "tar: a pax header that claims 1 TiB is refused before it is read" {
	tree_case pax-huge-header 1 'offset 1024: extended header of 1099511627776 bytes' \
		cook=1:'extended header of 1099511627776 bytes|not a multiple of 512'
}

@test "tar: a header after a lone zero block" {
	tree_case zero-block-then-header 1 'offset 1536: header after a zero block'
}

@test "tar: not a tar at all" {
	tree_case not-a-tar 1 'offset 0: not a tar archive'
}

@test "tar: gzip cut in the middle" {
	tree_case gzip-truncated 1 'gzip: truncated gzip input at compressed byte 110'
}

@test "tar: a GNU long name, then a cut header" {
	tree_case longname-then-truncated 1 'offset 2048: truncated header' \
		cook=1:'offset 2048: truncated header|not a multiple of 512'
}

@test "tar: a GNU long name with no entry after it is dropped, as Go's reader does" {
	tree_case orphan-longname 0 ''
	same_tree layer bundle cook export contents merge diff -- ok
	tree_case orphan-pax 0 ''
	same_tree layer bundle cook export contents merge diff -- ok
	# The tarsum is that of the archive without it, as Docker computes.
	python3 "$HOSTILE" tar orphan-longname | head -c 1024 >"$T/plain.tar"
	head -c 1024 /dev/zero >>"$T/plain.tar"
	[ "$(cat "$T/out.tarsum")" = "$(di-tarsum "$T/plain.tar")" ]
}

@test "tar: a sparse entry of 10 GiB is a 10 GiB file, hashed in flat memory" {
	# As for Docker, whose reader expands it; the old-GNU case of
	# hostile.py writes a 12-digit offset over the next field (its block
	# is 513 bytes), so only the pax one is whole.  Every tool's expansion
	# is tested on 100 MiB below.
	/usr/bin/time -f %M -o "$T/rss" di-tarsum "$CASES/sparse-pax.tar" >"$T/out"
	[ "$(tail -1 "$T/rss")" -lt 65536 ]
	[[ $(cat "$T/out") =~ ^tarsum.v1\+sha256:[0-9a-f]{64}$ ]]
}

@test "tar: GNU tar --sparse of a 100 MiB hole: expanded by every tool, in flat memory" {
	require tar
	truncate -s 100M "$T/hole"
	printf 'x' | dd of="$T/hole" bs=1 seek=50000000 conv=notrunc 2>/dev/null
	tar -C "$T" --sparse -cf "$CASES/gnu-sparse.tar" hole
	tar -C "$T" --sparse --format=pax -cf "$CASES/gnu-sparse-pax.tar" hole
	[ "$(stat -c %s "$CASES/gnu-sparse.tar")" -lt 100000 ]
	python3 "$HOSTILE" wrap "$CASES/gnu-sparse.tar" "$CASES/gnu-sparse-pax.tar"
	for c in gnu-sparse gnu-sparse-pax; do
		for tool in $(tree_tools); do
			feed "$tool" "$CASES/$c.tar"
			expect "$tool" 0 ''
		done
		tar -xOf "$T/out.layer" hole | cmp - "$T/hole"
		tar -xOf "$T/out.merge" hole | cmp - "$T/hole"
	done
	rm "$T/hole"
	# The hole is streamed, never held.
	/usr/bin/time -f %M -o "$T/rss" di-layer --tar "$CASES/gnu-sparse.tar" >/dev/null
	[ "$(tail -1 "$T/rss")" -lt 200000 ]
}

@test "tar: data after the end-of-archive is never read as entries" {
	tree_case data-after-end 0 '' \
		cook=1:'3598 bytes is not a multiple of 512'
	same_tree layer bundle export contents merge diff -- ok
	# --tee still copies every byte, and --json hashes them all.
	di-tarsum --tee "$CASES/data-after-end.tar" >"$T/copy" 2>/dev/null
	cmp "$T/copy" "$CASES/data-after-end.tar"
	di-tarsum --json "$CASES/data-after-end.tar" | grep -q '"size":3598}'
}

@test "tar: no end-of-archive at all (ends on a block boundary) is read to the end" {
	tree_case no-end 0 '' cook=1:'has no end-of-archive'
	same_tree layer bundle export contents merge diff -- ok last
}

# --- tar: names and links -----------------------------------------------------

@test "tar: a name that climbs out with '..' is refused; di-tarsum hashes it" {
	tree_case dotdot 1 "'\.\./di-hostile-escaped': (a )?name (leads out of the tree|climbs out|that leaves the root)|\.\./di-hostile-escaped: name leaves the root" \
		tarsum=0
}

@test "tar: '..' deep in a name, in a pax path and in a GNU long name" {
	local c
	for c in dotdot-deep dotdot-pax dotdot-longname; do
		tree_case "$c" 1 "(\.\./)+di-hostile-escaped'?: (a )?name (leads out of the tree|climbs out|leaves the root|that leaves the root)" \
			tarsum=0
	done
}

@test "tar: an absolute name is the same path made relative" {
	tree_case absolute 0 ''
	same_tree layer bundle cook export contents merge -- abs abs/file
	same_tree diff -- /abs /abs/file
	[ "$(tar -xOf "$T/out.layer" abs/file)" = absolute ]
	[ ! -e /abs ]
}

@test "tar: a symlink out of the tree, then an entry through it: refused by every tool" {
	tree_case symlink-through 1 "'link/di-hostile-through': lies under 'link', which this input made a symbolic link" \
		tarsum=0
	tree_case symlink-through-dotdot 1 "'up/di-hostile-through': lies under 'up', which this input made a symbolic link" \
		tarsum=0
}

@test "tar: a hard link to a path outside the tree" {
	tree_case hardlink-outside 1 "'hard': (a )?hard ?link to '\.\./\.\./etc/passwd'|hard: hard link to '\.\./\.\./etc/passwd' leaves the root" \
		tarsum=0 cook=1:"'hard': hard link to '\.\./\.\./etc/passwd' climbs out"
}

@test "tar: a hard link to an absolute path that the tree lacks" {
	tree_case hardlink-absolute 1 "'hard': hard ?link to '(/?etc/passwd)'|hard: hard link to /etc/passwd" \
		tarsum=0 cook=0
}

@test "tar: a hard link to a missing path" {
	tree_case hardlink-missing 1 "'hard': hard ?link to 'not-there'|hard: hard link to /not-there" \
		tarsum=0 cook=0
}

@test "tar: a hard link to a directory" {
	tree_case hardlink-to-dir 1 "'hard': hard ?link to (the directory )?'d/?'|hard: hard link to /d" \
		tarsum=0 cook=0
}

@test "tar: a directory, then a file of the same name, in one stream" {
	# The tree rule (common/placement): the first entry for a path wins,
	# in di-layer, an image's layer (di-overlay --export), a merge (tar
	# -xk), di-diff and contents copied in by di-overlay --run alike.
	tree_case dir-then-file 0 ''
	same_tree layer bundle export cook contents merge diff -- ok d d/inner
	[ "$(tar -xOf "$T/out.layer" d/inner)" = "inner" ]
}

@test "tar: a file, then a directory of the same name and an entry in it, in one stream" {
	# The directory entry loses to the file; the entry under the file
	# is malformed, in every tool that reads a TREE or a LAYER.
	tree_case file-then-dir 1 "'d/inner': lies under 'd', which this input made a non-directory" \
		tarsum=0
}

@test "tar: a file, then an entry under it: one answer from every tool (exit 1 naming a/b)" {
	local tool msg first=
	tree_case file-then-child 1 "'a/b': lies under 'a', which this input made a non-directory" \
		tarsum=0
	# The same message in every tool, past the label of the input (a
	# layer of an image is named by its place in the stack); contents,
	# extracted to disk by di-overlay --run, before they are written.
	for tool in layer bundle cook merge diff export $([ -z "$CAN_RUN" ] || echo contents); do
		msg=$(sed -n "s/^di-[a-z]*: .*: offset \([0-9]*\): /offset \1: /p" "$T/err.$tool")
		[ -n "$msg" ]
		[ -n "$first" ] || first=$msg
		[ "$msg" = "$first" ]
		[ ! -s "$T/out.$tool" ] || ! has_eoa "$T/out.$tool"
	done
}

@test "tar: names with a newline and with bytes that are not UTF-8 are kept as they are" {
	tree_case newline-name 0 ''
	same_tree layer bundle cook export contents merge diff -- ok 'new\nline'
	tree_case non-utf8-name 0 ''
	same_tree layer bundle cook export contents merge diff -- ok 'bad-\377\376-utf8'
	tar -xOf "$T/out.layer" "$(printf 'bad-\377\376-utf8')" | grep -qx bytes
}

@test "tar: an unknown entry type" {
	tree_case unknown-type 1 "'?odd'?: unsupported entry type 'Z'" \
		tarsum=0 cook=0 export=0 diff=0 merge=0
}

@test "tar: a set-uid device node is kept as it is" {
	tree_case setuid-device 0 ''
	same_tree layer bundle cook export contents -- ok dev dev/mem
	same_tree diff merge -- ok dev/mem
	tar -tvf "$T/out.layer" dev/mem | grep -q '^crwSrw-rw- .* 1,1 '
}

# --- tar: size ----------------------------------------------------------------

@test "tar: 10 000 nested directories" {
	python3 "$HOSTILE" deep 10000 >"$CASES/deep.tar"
	python3 "$HOSTILE" wrap "$CASES/deep.tar"
	for tool in $(tree_tools); do
		[ "$tool" != contents ] || continue # longer than PATH_MAX: below
		feed "$tool" "$CASES/deep.tar"
		expect "$tool" 0 ''
	done
	# The bottom, and every directory above it, made explicit.
	tar -tf "$T/out.layer" >"$T/names"
	[ "$(wc -l <"$T/names")" -eq 10001 ]
	[ "$(tail -1 "$T/names" | tr -cd / | wc -c)" -eq 10000 ]
	[ "$(tar -xOf "$T/out.export" --wildcards '*/bottom')" = "the bottom" ]
	if [ -n "$CAN_RUN" ]; then
		# On disk the path is 20 000 bytes: written, or refused by name.
		feed contents "$CASES/deep.tar"
		[ "$status" -eq 0 ] || expect contents 1 'a/a/a/.*(too long|File name)'
		nothing_outside contents
	fi
}

@test "tar: a million small entries, memory bounded (peak RSS measured)" {
	local n=1000000 limit=600000
	# The sanitizer build keeps the same shape with fewer entries: it
	# trades memory and time for its checks.
	[ "${DI_BUILD:-plain}" = plain ] || n=100000 limit=1500000
	python3 "$HOSTILE" many $n |
		/usr/bin/time -f %M -o "$T/rss.layer" di-layer --tar - |
		/usr/bin/time -f %M -o "$T/rss.tarsum" di-tarsum --tee 2>"$T/sum" |
		wc -c >"$T/size"
	# Every entry and its 1000-per-directory parents, then the end.
	[ "$(cat "$T/size")" -eq $(((n + n / 1000) * 512 + 1024)) ]
	grep -Eq '^tarsum\.v1\+sha256:[0-9a-f]{64}$' "$T/sum"
	echo "peak RSS for $n entries: di-layer $(cat "$T/rss.layer") KiB, di-tarsum $(cat "$T/rss.tarsum") KiB" >&3
	[ "$(cat "$T/rss.layer")" -lt "$limit" ]
	[ "$(cat "$T/rss.tarsum")" -lt 200000 ]
}

@test "tar: a million entries through di-merge and di-diff, memory bounded" {
	local n=1000000 limit=400000
	[ "${DI_BUILD:-plain}" = plain ] || n=100000 limit=1500000
	python3 "$HOSTILE" many $n >"$T/many.tar"
	# The same million twice: every path of the second loses.
	/usr/bin/time -f %M -o "$T/rss.merge" \
		di-merge "$T/many.tar" - <"$T/many.tar" >"$T/merged.tar"
	cmp "$T/merged.tar" "$T/many.tar"
	# The million as its own base: nothing is new, nothing deleted.
	/usr/bin/time -f %M -o "$T/rss.diff" \
		di-diff --base "$T/many.tar" --changed --whiteouts "$T/many.tar" >"$T/diff.tar"
	[ "$(stat -c %s "$T/diff.tar")" -eq 1024 ]
	echo "peak RSS for $n entries: di-merge $(cat "$T/rss.merge") KiB, di-diff $(cat "$T/rss.diff") KiB" >&3
	[ "$(cat "$T/rss.merge")" -lt "$limit" ]
	[ "$(cat "$T/rss.diff")" -lt "$limit" ]
}

@test "image: hard links into a lower layer wait in a few hundred bytes each (peak RSS measured)" {
	local n=200000 limit=96000
	# 200 000 links to one file of the layer below: 87 MB with the
	# packed waiting links of common/flatten, 107 MB before them.
	[ "${DI_BUILD:-plain}" = plain ] || n=20000 limit=1500000
	python3 - "$T/lower.tar" "$T/upper.tar" "$n" <<-'EOF'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
	    i = tarfile.TarInfo("d/f"); i.size = 1
	    t.addfile(i, io.BytesIO(b"x"))
	with tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as t:
	    for k in range(int(sys.argv[3])):
	        h = tarfile.TarInfo("l%d/h%d" % (k // 1000, k)); h.type = tarfile.LNKTYPE
	        h.linkname = "d/f"; t.addfile(h)
	EOF
	di-cook -n links "$T/lower.tar" "$T/upper.tar" >"$T/links.image"
	rm "$T/lower.tar" "$T/upper.tar"
	/usr/bin/time -f %M -o "$T/rss" di-overlay --from "$T/links.image" >"$T/out.tar"
	rm "$T/links.image"
	echo "peak RSS for $n links into a lower layer: di-overlay --export $(tail -1 "$T/rss") KiB" >&3
	# The file first, then every link to it.
	[ "$(tar -tf "$T/out.tar" | grep -v /$ | head -1)" = d/f ]
	[ "$(tar -tvf "$T/out.tar" | grep -c ' link to d/f$')" -eq "$n" ]
	[ "$(tail -1 "$T/rss")" -lt "$limit" ]
}

# chain_tar OUT N [reversed]: d/f0, then N hard links each naming the one
# before (reversed: each naming the next, the file last).
chain_tar() {
	python3 - "$@" <<'PY'
import io, sys, tarfile
out, n, rev = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3
def link(i):
    ti = tarfile.TarInfo("d/l%d" % i)
    ti.type = tarfile.LNKTYPE
    nxt = i + 1 if rev else i - 1
    ti.linkname = "d/f0" if nxt in (0, n + 1) else "d/l%d" % nxt
    return ti
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    f = tarfile.TarInfo("d/f0")
    f.size = 8
    if not rev:
        t.addfile(f, io.BytesIO(b"chained\n"))
    for i in range(1, n + 1):
        t.addfile(link(i))
    if rev:
        t.addfile(f, io.BytesIO(b"chained\n"))
PY
}

# chain_check TAR N: TAR holds d/f0 and d/l1..d/lN, every link leading (in
# the archive's order, through other links) to the one file "chained\n".
chain_check() {
	python3 - "$@" <<'PY'
import sys, tarfile
names, data = {}, {}
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        names[m.name.rstrip("/")] = m
        if m.isfile():
            data[m.name] = t.extractfile(m).read()
n = int(sys.argv[2])
# (d/ itself only where the tool writes implied directories)
want = {"d/f0"} | {"d/l%d" % i for i in range(1, n + 1)}
assert set(names) - {"d"} == want, sorted(set(names) ^ want)[:5]
files = [k for k, m in names.items() if m.isfile()]
assert len(files) == 1 and data[files[0]] == b"chained\n", files
done = {files[0]}
for k in (k for k, m in names.items() if m.islnk()):
    path = []
    while k not in done and names[k].islnk():
        path.append(k)
        k = names[k].linkname
        assert k in names, k
    assert k in done, k
    done.update(path)
assert len(done) == n + 1
PY
}

@test "tar: 100 000 hard links, each naming the one before (or after): linear time, right output" {
	local n=100000 tool
	[ "${DI_BUILD:-plain}" = plain ] || n=20000
	chain_tar "$T/chain.tar" $n
	chain_tar "$T/rchain.tar" $n reversed
	python3 "$HOSTILE" wrap "$T/chain.tar"
	# Each run would take hours where a link was followed to its end
	# one by one (di-layer), or links written a round at a time
	# (di-merge on the reversed chain); the timeout only ends a hang.
	for tool in layer merge diff; do
		for c in chain rchain; do
			case $tool in
			layer) timeout 300 di-layer --tar "$T/$c.tar" >"$T/out.tar" ;;
			merge) timeout 300 di-merge "$T/$c.tar" >"$T/out.tar" ;;
			diff) timeout 300 di-diff "$T/$c.tar" >"$T/out.tar" ;;
			esac
			chain_check "$T/out.tar" $n
		done
	done
	timeout 300 di-overlay --from "$T/chain.image" >"$T/out.tar"
	chain_check "$T/out.tar" $n
	timeout 300 di-cook -n chain "$T/chain.tar" | timeout 300 di-overlay --from - >"$T/out.tar"
	chain_check "$T/out.tar" $n
	# A link to a later name cannot be extracted from a layer alone.
	run timeout 300 di-overlay --from <(python3 "$HOSTILE" wrap "$T/rchain.tar" && cat "$T/rchain.image")
	[ "$status" -eq 1 ]
	[[ "$output" == *"'d/l1': hardlink to 'd/l2': no layer below holds it"* ]]
}

@test "tar: a gzip bomb (a small tar, then 256 MiB of zeros): output bounded by what the tar says" {
	python3 "$HOSTILE" bomb 256 >"$CASES/bomb.tar"
	[ "$(stat -c %s "$CASES/bomb.tar")" -lt 1000000 ]
	for tool in tarsum layer bundle merge diff; do
		[ "$tool" = tarsum ] || [ "$tool" = layer ] || [ "$tool" = bundle ] ||
			[ -x "$DI_BIN/di-$tool" ] || continue
		feed "$tool" "$CASES/bomb.tar"
		expect "$tool" 0 ''
		[ "$(stat -c %s "$T/out.$tool")" -lt 20000 ]
	done
	same_tree layer bundle merge diff -- ok
	feed cook "$CASES/bomb.tar"
	expect cook 1 'more than 1048576 bytes follow the end of the archive at offset 1024'
}

@test "image: 68 KB of zstd (an image, then 2 GiB of zeros) spools no more than the image, from a file and a pipe" {
	mkdir -p "$T/pad/r"
	echo base >"$T/pad/r/f"
	di-layer --tar "$T/pad/r" >"$T/pad/base.tar"
	di-cook -n padded "$T/pad/base.tar" >"$T/pad/img.tar"
	{ cat "$T/pad/img.tar" && head -c 2G /dev/zero; } | zstd -q -3 -T1 >"$T/pad/img.zst"
	[ "$(stat -c %s "$T/pad/img.zst")" -lt 100000 ]
	echo new >"$T/pad/r/g"
	di-layer --tar "$T/pad/r" >"$T/pad/new.tar"
	di-overlay --from "$T/pad/img.tar" >"$T/pad/want.tar"
	# No file the tools write may pass 64 MiB: the spool of the image
	# (14 KB) fits, one of the zeros (2 GiB) does not.
	limited() { run_in_place sh -c 'ulimit -f 65536 && exec "$@"' sh "$@"; }
	limited di-overlay --from "$T/pad/img.zst"
	expect export 0 ''
	cmp "$T/pad/want.tar" "$T/out"
	limited di-overlay <"$T/pad/img.zst"
	expect export 0 ''
	cmp "$T/pad/want.tar" "$T/out"
	limited di-diff --list --base "$T/pad/img.zst" "$T/pad/new.tar"
	expect diff 0 ''
	[ "$(cat "$T/out")" = "A g" ]
	limited di-diff --list --base - "$T/pad/new.tar" <"$T/pad/img.zst"
	expect diff 0 ''
	[ "$(cat "$T/out")" = "A g" ]
	limited di-cook -n again --from "$T/pad/img.zst" "$T/pad/new.tar"
	expect cook 0 ''
	di-overlay --from "$T/out" | tar -xOf - g >"$T/pad/g"
	[ "$(cat "$T/pad/g")" = new ]
}

# --- JSON and images ------------------------------------------------------------

# image_case CASE PATTERN [DIFF-STATUS [DIFF-PATTERN]]: the image CASE, as
# the base of di-cook and di-diff and as the image of di-overlay --export,
# is refused with PATTERN.  di-diff takes a base that is not an image as a
# tree, which may be right.
image_case() {
	local name=$1 pat=$2 img=$IMAGES/$1.tar dstatus=${3:-1} dpat=${4:-$2}
	if [ ! -e "$img" ]; then
		img=$2 pat=$3 dstatus=1 dpat=$3
	fi
	run_in_place di-overlay --from "$img"
	expect export 1 "$pat"
	python3 "$HOSTILE" tar absolute >"$T/layer.tar"
	run_in_place di-cook -n hostile --from "$img" "$T/layer.tar"
	expect cook 1 "$pat"
	if [ -x "$DI_BIN/di-diff" ]; then
		run_in_place di-diff --base "$img" "$T/layer.tar"
		expect diff "$dstatus" "$dpat"
	fi
}

@test "image: manifest.json is not JSON" {
	image_case invalid-json 'manifest.json: Unfinished JSON term'
}

@test "image: manifest.json is JSON of the wrong shape" {
	image_case wrong-shape 'manifest.json is not an array'
	image_case layers-not-strings 'manifest.json: a layer is not a path'
	image_case config-not-object '[0-9a-f]{64}\.json: the config is not an object'
}

@test "image: the manifest names a layer or a config the archive lacks" {
	image_case missing-layer "layer 'f{64}/layer.tar' is missing"
	image_case missing-config "'a{64}\.json' is missing"
}

@test "image: a layer count that differs from the diff_ids" {
	image_case count-mismatch 'has 3 diff_ids for 2 layers'
}

@test "image: a diff_id that does not match its layer, or is not a digest" {
	image_case diff-id-mismatch 'layer 2 .*diff_id is sha256:[0-9a-f]{64}, (the config says|expected) sha256:0{64}|diff_id is sha256:[0-9a-f]{64}, expected sha256:0{64}'
	image_case diff-id-not-digest 'config: diff_id 2 is not sha256:<64 hex>'
}

@test "image: a parent cycle in the legacy format" {
	image_case parent-cycle 'b{64}/json: its parent chain loops back to a{64}'
	image_case parent-missing "'b{64}/json' is missing"
	image_case bad-legacy-id "bad layer id '\.\./\.\./x'" 1 \
		"bad layer id '\.\./\.\./x'|'\.\./\.\./x/VERSION': (a )?name (that leaves the root|climbs out)"
	# Without a layer beside it, repositories is a tree's file to di-diff.
	image_case repositories-invalid 'repositories: Unfinished JSON term' 0
}

@test "image: a config of 100 MB is refused by its size, not read" {
	python3 "$HOSTILE" image huge-config "$T/big"
	/usr/bin/time -f %M -o "$T/rss" di-overlay --from "$T/big/image.tar" \
		>"$T/out" 2>"$T/err" || true
	grep -Eq "'[0-9a-f]{64}\.json' is too large \(100000000 bytes\)" "$T/err"
	[ "$(tail -1 "$T/rss")" -lt 100000 ]
	image_case huge-config "$T/big/image.tar" "'[0-9a-f]{64}\.json' is too large \(100000000 bytes\)"
}

@test "image: OCI: a bad index.json, an empty index, a changed blob, a digest that climbs out" {
	image_case oci-index-invalid "index.json: not JSON: Unmatched '\}'"
	image_case oci-no-manifests 'index.json lists no image'
	image_case oci-manifest-changed 'blobs/sha256/[0-9a-f]{64}: its digest is sha256:[0-9a-f]{64}'
	image_case oci-digest-escape 'index entry 1: digest "sha256:\.\./.*" is not sha256:<64 hex>'
}

@test "image: not an image, and an image cut short" {
	image_case not-an-image 'not an image: no manifest.json, index.json or repositories' 0
	image_case truncated "member '[0-9a-f]{64}/layer.tar' at offset 0 is truncated" 1 \
		"member '[0-9a-f]{64}/layer.tar' at offset 0 is truncated|truncated data of '[0-9a-f]{64}/layer.tar'"
}

@test "image: a compressed image cut short, from a pipe" {
	local big size
	big=$(big_tree)
	python3 "$HOSTILE" wrap "$big"
	python3 "$HOSTILE" tar absolute >"$T/layer.tar"
	gzip -nc "${big%.tar}.image" >"$T/full.gz"
	size=$(stat -c %s "$T/full.gz")
	head -c $((size / 2)) "$T/full.gz" >"$T/cut.gz"
	run_in_place sh -c 'cat "$1" | di-overlay --from -' sh "$T/cut.gz"
	expect export 1 'stdin: .*gzip: truncated gzip input'
	run_in_place sh -c 'cat "$2" | di-cook -n x --from - "$1"' sh "$T/layer.tar" "$T/cut.gz"
	expect cook 1 'stdin: .*gzip: truncated gzip input'
}

# --- bundles and JSON files given on the command line -----------------------------

@test "bundle: a wrong VERSION, bad json, members missing or out of order, a bad layer" {
	local c pat
	while IFS='|' read -r c pat; do
		run_in_place di-cook -n hostile "$BUNDLES/$c.tar"
		expect "cook $c" 1 "$pat"
	done <<-'EOF'
	version-wrong|version-wrong.tar: bundle VERSION is '2\.0', not 1\.0
	json-invalid|json-invalid.tar: json: Unfinished JSON term
	json-not-object|json-not-object.tar: json: not an object
	no-layer|no-layer.tar: not a bundle: 'layer.tar' is missing
	wrong-order|wrong-order.tar: not a bundle: expected 'json' next
	layer-corrupt|layer-corrupt.tar: layer.tar: offset 0: not a tar archive
	layer-cut|layer-cut.tar: offset [0-9]+: truncated data of 'layer.tar'
	EOF
}

@test "JSON options: di-layer -c and di-cook -c with bad JSON or the wrong shape" {
	printf '{"config": ' >"$T/bad.json"
	printf '["an", "array"]' >"$T/array.json"
	printf '{"Env": "PATH=/bin"}' >"$T/env.json"
	python3 "$HOSTILE" tar absolute >"$T/layer.tar"
	run_in_place di-layer -c "$T/bad.json" "$T/layer.tar"
	expect layer 1 'bad.json: .*Unfinished JSON term'
	run_in_place di-layer -c "$T/array.json" "$T/layer.tar"
	expect layer 1 'array.json: not a JSON object'
	run_in_place di-cook -n x -c "$T/bad.json" "$T/layer.tar"
	expect cook 1 'bad.json: .*Unfinished JSON term'
	run_in_place di-cook -n x -c "$T/array.json" "$T/layer.tar"
	expect cook 1 'array.json'
	run_in_place di-cook -n x -c "$T/env.json" "$T/layer.tar"
	expect cook 1 'Env'
}

@test "di-closure: a graph that is cut, a count that lies, a path outside the store or with '..'" {
	local s=$T/store h=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a
	mkdir -p "$s/$h-a"
	echo a >"$s/$h-a/file"
	printf '%s\n\n3\n%s\n' "$s/$h-a" "$s/$h-a" >"$T/short.graph"
	printf '%s\n\nmany\n' "$s/$h-a" >"$T/nan.graph"
	run_in_place di-closure --store "$s" --graph "$T/short.graph" "$s/$h-a"
	expect closure 1 'short.graph'
	run_in_place di-closure --store "$s" --graph "$T/nan.graph" "$s/$h-a"
	expect closure 1 'nan.graph'
	run_in_place di-closure --store "$s" /etc/passwd
	expect closure 1 '/etc/passwd'
	run_in_place di-closure --store "$s" "$s/$h-a/../../x"
	expect closure 1 "$h-a/\.\./\.\./x"
	# A store path that is a link out of the store stays a link.
	ln -s /etc "$s/$h-b"
	run_in_place di-closure --store "$s" "$s/$h-b"
	expect closure 0 ''
	tar -tvf "$T/out" | grep -q -- "$h-b -> /etc\$"
}

# --- the environment ----------------------------------------------------------

# Big enough that a reader that stops early leaves the writer blocked.
big_tree() {
	[ -e "$BATS_FILE_TMPDIR/big.tar" ] ||
		python3 "$HOSTILE" many 20000 >"$BATS_FILE_TMPDIR/big.tar"
	echo "$BATS_FILE_TMPDIR/big.tar"
}

# The tools that write a tree or an image, each reading BIG (a command line
# per line; no spaces in paths).
writers() {
	local big=$1 t
	python3 "$HOSTILE" wrap "$big"
	echo "di-layer --tar $big"
	echo "di-layer $big"
	echo "di-cook -n x $big"
	echo "di-overlay --from ${big%.tar}.image"
	for t in di-merge di-diff; do
		[ ! -x "$DI_BIN/$t" ] || echo "$t $big"
	done
}

@test "SOURCE_DATE_EPOCH out of range or not a number: one message, exit 2, nothing written, in every tool that writes a time" {
	local v tool line
	mkdir -p "$T/t" "$T/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x"
	echo x >"$T/t/f"
	tar -C "$T/t" -cf "$T/t.tar" .
	di-layer "$T/t" >"$T/t.bundle"
	di-cook -n a "$T/t.bundle" >"$T/img.tar"
	for v in 99999999999999 253402300800 -1 +5 ' 5' 5s abc 0x10 1e3 \
		99999999999999999999999; do
		for tool in closure cook layer export run merge diff pull; do
			status=0
			case $tool in
			closure) SOURCE_DATE_EPOCH=$v di-closure --store "$T/store" "$T/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" ;;
			cook) SOURCE_DATE_EPOCH=$v di-cook -n a "$T/t.bundle" ;;
			layer) SOURCE_DATE_EPOCH=$v di-layer "$T/t" ;;
			export) SOURCE_DATE_EPOCH=$v di-overlay --from "$T/img.tar" ;;
			run) SOURCE_DATE_EPOCH=$v di-overlay --from "$T/img.tar" -c true ;;
			merge) SOURCE_DATE_EPOCH=$v di-merge "$T/t" ;;
			diff) SOURCE_DATE_EPOCH=$v di-diff --whiteouts --base "$T/t.tar" "$T/t.tar" ;;
			pull) SOURCE_DATE_EPOCH=$v di-pull --plain-http 127.0.0.1:9/x:y ;;
			esac >"$T/out" 2>"$T/err" || status=$?
			line=$(head -1 "$T/err")
			if [ "$status" -ne 2 ] || [ -s "$T/out" ] ||
				[ "$line" != "di-$([ $tool = export ] || [ $tool = run ] && echo overlay || echo $tool): SOURCE_DATE_EPOCH is not a number of seconds from 0 to 253402300799: '$v'" ]; then
				echo "$tool with '$v': exit $status, $(wc -c <"$T/out") bytes out, said: $line" >&2
				return 1
			fi
		done
	done
	# The last second every format holds is taken, and written as it is.
	SOURCE_DATE_EPOCH=253402300799 di-cook -n a "$T/t.bundle" >"$T/big.tar"
	tar -xOf "$T/big.tar" manifest.json >"$T/m.json"
	cfg=$(jq -r '.[0].Config' "$T/m.json")
	[ "$(tar -xOf "$T/big.tar" "$cfg" | jq -r .created)" = 9999-12-31T23:59:59Z ]
	SOURCE_DATE_EPOCH=253402300799 di-layer --tar "$T/t" | tar -tvf - --full-time --utc | grep -q ' 9999-12-31 23:59:59 f$'
}

@test "stdout closed early (| head -c 100): quiet, with SIGPIPE and with EPIPE, no partial -o file" {
	local big cmd sigpipe
	big=$(big_tree)
	for sigpipe in default ignored; do
		while read -r cmd; do
			rm -f "$T"/sum*
			(
				[ $sigpipe = default ] || trap '' PIPE
				# shellcheck disable=SC2086
				$cmd 2>"$T/err" | head -c 100 >/dev/null
				echo "${PIPESTATUS[0]}" >"$T/status"
			)
			local want=141
			[ $sigpipe = default ] || want=1
			if [ "$(cat "$T/status")" -ne $want ] || [ -s "$T/err" ]; then
				echo "$cmd ($sigpipe SIGPIPE): exit $(cat "$T/status"), not $want" >&2
				cat "$T/err" >&2
				return 1
			fi
			[ -z "$(ls "$T"/sum* 2>/dev/null)" ]
		done < <(writers "$big"; echo "di-tarsum --tee -o $T/sum $big")
	done
}

@test "-o on a full file system: exit 1 naming the file, nothing left there" {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	local big cmd rc=0
	big=$(big_tree)
	mkdir "$T/full"
	mount -t tmpfs -o size=256k tmpfs "$T/full"
	while read -r cmd; do
		# shellcheck disable=SC2086
		run_in_place $cmd -o "$T/full/out.tar"
		expect "$cmd" 1 "$T/full/out.tar: No space left on device" || rc=1
		[ -z "$(ls -A "$T/full")" ] || { ls -la "$T/full" >&2; rc=1; }
	done < <(writers "$big")
	# A sum fits.
	run_in_place di-tarsum --json -o "$T/full/sum" "$big"
	expect tarsum 0 ''
	grep -q '"size":10241024' "$T/full/sum"
	return $rc
}

@test "an unwritable \$TMPDIR: the tools that must spool say so; the others do not need it" {
	local big
	big=$(big_tree)
	python3 "$HOSTILE" wrap "$big"
	gzip -nc "$big" >"$T/big.tar.gz"
	for tmp in "$T/nonexistent" "$T/afile"; do
		: >"$T/afile"
		status=0
		TMPDIR=$tmp di-layer --tar - <"$T/big.tar.gz" >"$T/out" 2>"$T/err" || status=$?
		expect layer 1 "temporary file in $tmp"
		status=0
		cat "${big%.tar}.image" | TMPDIR=$tmp di-overlay --from - >"$T/out" 2>"$T/err" || status=$?
		expect export 1 "temporary file in $tmp"
		status=0
		# from a pipe (a compressed file is stored as it is, in place)
		cat "$T/big.tar.gz" | TMPDIR=$tmp di-cook -n x - >"$T/out" 2>"$T/err" || status=$?
		expect cook 1 "temporary file in $tmp"
		TMPDIR=$tmp di-cook -n x - <"$T/big.tar.gz" | cmp - <(di-cook -n x "$T/big.tar.gz")
		# A plain file is read in place: no spool needed.
		TMPDIR=$tmp di-layer --tar "$big" | cmp - <(di-layer --tar "$big")
		TMPDIR=$tmp di-tarsum "$T/big.tar.gz" >/dev/null
		if [ -n "$CAN_RUN" ]; then
			status=0
			TMPDIR=$tmp di-overlay --contents "$BBROOT" -c true >"$T/out" 2>"$T/err" || status=$?
			expect contents 1 "$tmp"
		fi
	done
	rm -f "$T/afile"
}

@test "a read-only input directory is read, and nothing is written into it" {
	mkdir -p "$T/ro/etc" "$T/ro/bin"
	echo ro >"$T/ro/etc/file"
	ln -s ../etc/file "$T/ro/bin/link"
	chmod -R a-w "$T/ro"
	di-layer --tar "$T/ro" >"$T/want.tar"
	if [ "$(id -u)" = 0 ]; then
		mkdir "$T/mnt"
		mount --bind "$T/ro" "$T/mnt"
		mount -o remount,bind,ro "$T/mnt"
	else
		ln -s ro "$T/mnt"
	fi
	local before
	before=$(find "$T/ro" -printf '%p %m %s %T@\n' | sort)
	run_in_place di-layer --tar "$T/mnt"
	expect layer 0 ''
	cmp "$T/out" "$T/want.tar"
	run_in_place di-layer "$T/mnt"
	expect bundle 0 ''
	if [ -n "$CAN_RUN" ]; then
		run_in_place di-overlay --contents "$T/mnt" --contents "$BBROOT" \
			-c 'echo new >/etc/file2'
		expect contents 0 ''
		tar -xOf "$T/out" etc/file2 | grep -qx new
	fi
	[ "$(find "$T/ro" -printf '%p %m %s %T@\n' | sort)" = "$before" ]
	if [ "$(id -u)" = 0 ]; then umount "$T/mnt"; fi
	chmod -R u+w "$T/ro"
}

@test "SIGINT and SIGTERM in the middle of di-overlay --run: no mount, no temporary directory, no -o file" {
	[ -n "$CAN_RUN" ] || skip "di-overlay --run needs root and overlayfs here"
	local sig pid i
	for sig in INT TERM; do
		rm -rf "$T/tmp" && mkdir "$T/tmp"
		# A background job starts with SIGINT ignored: undo that.
		TMPDIR=$T/tmp perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' \
			di-overlay --contents "$BBROOT" -o "$T/out.tar" \
			-c 'echo started >&2; sleep 4321' 2>"$T/err" &
		pid=$!
		for i in $(seq 200); do
			grep -q started "$T/err" && break
			sleep 0.05
		done
		grep -q started "$T/err"
		grep -q "$T/tmp" /proc/mounts || [ -n "$(ls -A "$T/tmp")" ]
		kill -"$sig" "$pid"
		status=0
		wait "$pid" || status=$?
		[ "$status" -eq $((128 + $(kill -l "$sig"))) ]
		! grep -q "$T" /proc/mounts
		[ -z "$(ls -A "$T/tmp")" ]
		[ -z "$(ls -A "$T" | grep '^out\.tar')" ]
		! pgrep -f 'sleep 4321'
	done
}

# --- --contents: overlayfs's own marks, smuggled in -----------------------------

# need_run: di-overlay --run works here (fails under CI=true otherwise).
need_run() {
	[ -n "$CAN_RUN" ] && return 0
	[ "${CI:-}" != true ] || {
		echo "di-overlay --run cannot run here" >&2
		return 1
	}
	skip "di-overlay --run needs root and overlayfs here"
}

# marktar OUT KIND: a tree holding one of overlayfs's marks, and an etc/passwd
# that the mark would hide: KIND is chardev (etc/shadow a 0/0 character
# device), or an attribute on etc/ or on a file.
marktar() {
	python3 -c '
import io, sys, tarfile
out, kind = sys.argv[1:]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo("etc"); d.type = tarfile.DIRTYPE; d.mode = 0o755
    if kind.startswith("dir:"):
        d.pax_headers = {"SCHILY.xattr." + kind[4:]: "y"}
    t.addfile(d)
    f = tarfile.TarInfo("etc/passwd"); f.size = 5
    t.addfile(f, io.BytesIO(b"root\n"))
    if kind == "chardev":
        c = tarfile.TarInfo("etc/shadow"); c.type = tarfile.CHRTYPE
        c.devmajor = c.devminor = 0
        t.addfile(c)
    if kind.startswith("file:"):
        w = tarfile.TarInfo("etc/group"); w.size = 0
        w.pax_headers = {"SCHILY.xattr." + kind[5:]: "y"}
        t.addfile(w, io.BytesIO(b""))
' "$@"
}

@test "contents: a 0/0 character device is refused by name, never made a whiteout" {
	need_run
	marktar "$T/c.tar" chardev
	run_in_place di-overlay --contents "$T/c.tar" --contents "$BBROOT" -c true
	expect contents 1 'c.tar: etc/shadow: a character device 0/0 is a whiteout to overlayfs'
	[ ! -s "$T/out" ]
}

@test "contents: overlayfs's opaque and whiteout attributes (trusted.overlay.*, user.overlay.*) are refused by name" {
	need_run
	local kind
	for kind in dir:trusted.overlay.opaque dir:user.overlay.opaque \
		file:trusted.overlay.whiteout file:user.overlay.whiteout; do
		marktar "$T/x.tar" "$kind"
		run_in_place di-overlay --contents "$T/x.tar" --contents "$BBROOT" \
			-c 'cat /etc/passwd'
		expect contents 1 "x.tar: etc/(group)?: attribute ${kind#*:} is overlayfs's own"
		[ ! -s "$T/out" ]
	done
	# A directory input's overlayfs attributes are never read: the layer
	# holds the files as they are, and no mark.
	mkdir -p "$T/d/etc"
	echo root >"$T/d/etc/passwd"
	if setfattr -n user.overlay.opaque -v y "$T/d/etc" 2>/dev/null; then
		run_in_place di-overlay --contents "$T/d" --contents "$BBROOT" -c true
		expect contents 0 ''
		tar -tf "$T/out" | grep -qx etc/passwd
		! tar -tf "$T/out" | grep -q '\.wh\.'
	fi
}

# --- the registry ----------------------------------------------------------------

# pull FAULT [ARG...]: di-pull from hostile.py's registry misbehaving as FAULT.
pull() {
	local fault=$1
	shift
	python3 "$HOSTILE" serve "$fault" "$T/port" &
	local srv=$! i
	for i in $(seq 100); do
		[ -s "$T/port" ] && break
		sleep 0.05
	done
	run_in_place timeout 60 di-pull --plain-http -q --retries 1 \
		--retry-delay 0.01 "$@" "127.0.0.1:$(cat "$T/port")/hostile:1"
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	rm -f "$T/port"
}

@test "registry: a well-behaved server, for comparison" {
	pull none
	expect pull 0 ''
	di-overlay --from "$T/out" | tar -t | grep -qx etc/hostname
}

@test "registry: a 401 loop ends with a clear error" {
	pull auth-loop
	expect pull 1 '401'
}

@test "registry: a token endpoint answering garbage, or no token" {
	pull token-garbage
	expect pull 1 'token'
	pull token-empty
	expect pull 1 'token'
	pull challenge-garbage
	expect pull 1 'WWW-Authenticate'
}

@test "registry: a manifest larger than 4 MiB is refused" {
	pull big-manifest
	expect pull 1 'manifest.*(large|4194304|4 MiB)'
}

@test "registry: a manifest that is not JSON" {
	pull manifest-garbage
	expect pull 1 'manifest'
}

@test "registry: a blob longer, or shorter, than its descriptor says" {
	pull long-blob
	expect pull 1 'sha256:[0-9a-f]{64}'
	pull short-blob
	expect pull 1 'sha256:[0-9a-f]{64}'
}

@test "registry: a redirect loop" {
	pull redirect-loop
	expect pull 1 'redirect'
}

# --- fuzz regressions --------------------------------------------------------------

@test "fuzz regressions: every kept input goes through its tool without a crash" {
	local d f n=0
	for d in "$TOP"/tests/fuzz/regressions/*/; do
		[ -d "$d" ] || continue
		for f in "$d"*; do
			[ -f "$f" ] || continue
			n=$((n + 1))
			regression "$(basename "$d")" "$f"
		done
	done
	echo "$n fuzz regression inputs" >&3
}

# regression TARGET FILE: FILE through the tool that parses what TARGET
# fuzzes; it must end with 0 or 1, never a crash or a sanitizer report.
regression() {
	local target=$1 f=$2
	case $target in
	tar | tarsum) run_in_place di-tarsum "$f" ;;
	bundle) run_in_place di-cook -n x "$f" ;;
	image) run_in_place sh -c 'tail -c +2 "$1" | di-overlay --from -' sh "$f" ;;
	refgraph) run_in_place di-closure --graph "$f" --list /nix/store/0123456789abcdfghijklmnpqrsvwxyz-a ;;
	*) return 0 ;;
	esac
	if [ "$status" -gt 1 ] || grep -q 'Sanitizer\|runtime error' "$T/err"; then
		echo "$target regression $f: exit $status" >&2
		cat "$T/err" >&2
		return 1
	fi
	nothing_outside "$target regression"
}
