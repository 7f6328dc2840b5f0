#!/usr/bin/env bats
# di-diff: the seed's comm -1 -3 of base and new files, and with --changed
# and --whiteouts a true layer from base to NEW.

load lib/testlib

# A base and a new tree with every kind of change.
make_pair() {
	mkdir -p "$T/base/d/sub" "$T/base/gone/deep" "$T/base/f2d" \
		"$T/new/d/sub" "$T/new/newdir" "$T/new/d2f"
	echo same >"$T/base/d/same"
	echo same >"$T/new/d/same"
	echo old >"$T/base/d/changed"
	echo new >"$T/new/d/changed"
	echo x >"$T/base/d/sub/x"
	echo x >"$T/new/d/sub/x"
	echo deep >"$T/base/gone/deep/f"
	echo y >"$T/base/d/deleted"
	echo f >"$T/base/f2d/inner"
	echo file >"$T/new/f2d"
	echo z >"$T/new/d2f/z"
	echo d2f >"$T/base/d2f"
	echo added >"$T/new/newdir/a"
	echo mode >"$T/base/d/mode"
	echo mode >"$T/new/d/mode"
	chmod 600 "$T/new/d/mode"
	ln -s same "$T/base/d/link"
	ln -s changed "$T/new/d/link"
	touch -d @100 "$T/base/d/same"
	touch -d @200 "$T/new/d/same" # mtime alone does not count
	tar -C "$T/base" -cf "$T/base.tar" .
	tar -C "$T/new" -cf "$T/new.tar" .
}

@test "default: the entries of NEW whose path no base has, NEW's bytes kept" {
	make_pair
	run di-diff --base "$T/base.tar" --list "$T/new.tar"
	[ "$output" = "$(printf '%s\n' 'D d/deleted' 'A d2f/z' 'D gone' 'A newdir' 'A newdir/a')" ]
	di-diff --base "$T/base.tar" "$T/new.tar" >"$T/out.tar"
	[ "$(tar -tf "$T/out.tar" | sort | tr '\n' ' ')" = "./d2f/z ./newdir/ ./newdir/a " ]
	has_eoa "$T/out.tar"
	# the seed's way: comm -1 -3 of the sorted listings
	comm -13 <(tar -tf "$T/base.tar" | sed 's,/$,,' | sort) \
		<(tar -tf "$T/new.tar" | sed 's,/$,,' | sort) >"$T/comm"
	[ "$(sed 's,^\./,,' "$T/comm" | tr '\n' ' ')" = "d2f/z newdir newdir/a " ]
	# entries are NEW's bytes: the added file extracts the same
	mkdir "$T/x" && tar -C "$T/x" -xf "$T/out.tar"
	cmp "$T/x/newdir/a" "$T/new/newdir/a"
}

@test "--changed: type, content, mode and link target count; mtime does not" {
	make_pair
	run di-diff --base "$T/base.tar" --changed --list "$T/new.tar"
	[ "$output" = "$(printf '%s\n' 'M d/changed' 'D d/deleted' 'M d/link' 'M d/mode' \
		'M d2f' 'A d2f/z' 'M f2d' 'D gone' 'A newdir' 'A newdir/a')" ]
}

@test "--whiteouts: one whiteout per deleted subtree, before the entries" {
	make_pair
	di-diff --base "$T/base.tar" --changed --whiteouts "$T/new.tar" >"$T/l.tar"
	run tar -tf "$T/l.tar"
	[ "${lines[0]}" = "d/.wh.deleted" ]
	[ "${lines[1]}" = ".wh.gone" ]
	[[ $output != *"gone/deep"* ]]
	[[ $output != *"f2d/"* ]] # a file replaced the directory: no whiteout
}

# "TYPE MODE UID GID WHAT PATH" for each entry of a tar, sorted.
listing() {
	python3 - "$1" <<'EOF'
import hashlib, sys, tarfile
rows = []
with tarfile.open(sys.argv[1]) as tf:
    for m in tf:
        name = m.name
        while name.startswith("./"):
            name = name[2:]
        name = name.strip("/")
        if not name:
            continue
        what = (hashlib.sha256(tf.extractfile(m).read()).hexdigest()
                if m.isreg() else m.linkname if m.issym() else "-")
        rows.append("%s %o %s" % (m.type.decode() if not m.islnk() else "0",
                                  m.mode & 0o7777, name + " " + what))
print("\n".join(sorted(rows)))
EOF
}

# Random trees: a base, and a NEW made from it by random edits.
make_random_pair() {
	python3 - "$T" "$1" <<'EOF'
import os, random, shutil, sys
t, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
def build(root):
    for i in range(40):
        d = os.path.join(root, *["d%d" % rnd.randrange(4) for _ in range(rnd.randrange(3))])
        try:
            os.makedirs(d, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue  # a file stands where the directory would go
        p = os.path.join(d, "f%d" % rnd.randrange(8))
        if os.path.isdir(p):
            continue
        kind = rnd.random()
        if kind < 0.7:
            open(p, "w").write("x" * rnd.randrange(3) + str(rnd.random()))
        elif not os.path.lexists(p):
            os.symlink("target%d" % rnd.randrange(3), p)
base, new = t + "/rb", t + "/rn"
for d in (base, new):
    shutil.rmtree(d, ignore_errors=True)
build(base)
shutil.copytree(base, new, symlinks=True)
for dirpath, dirs, files in list(os.walk(new)):
    if not os.path.isdir(dirpath):
        continue
    for f in files:
        p = os.path.join(dirpath, f)
        if not os.path.lexists(p):
            continue
        r = rnd.random()
        if r < 0.15:
            os.unlink(p)
        elif r < 0.25 and not os.path.islink(p):
            open(p, "a").write("changed")
        elif r < 0.3 and not os.path.islink(p):
            os.chmod(p, 0o600)
        elif r < 0.35:
            os.unlink(p); os.makedirs(p); open(p + "/in", "w").write("now a dir")
    for d in dirs:
        if rnd.random() < 0.1 and os.path.isdir(os.path.join(dirpath, d)):
            shutil.rmtree(os.path.join(dirpath, d))
            if rnd.random() < 0.5:
                open(os.path.join(dirpath, d), "w").write("now a file")
build(new)
EOF
	tar -C "$T/rb" -cf "$T/rb.tar" .
	tar -C "$T/rn" -cf "$T/rn.tar" .
}

@test "property: base + (di-diff --changed --whiteouts) flattens to NEW" {
	require di-cook di-overlay python3
	local seed
	for seed in 1 2 3 4 5 6; do
		make_random_pair "$seed"
		di-diff --base "$T/rb.tar" --changed --whiteouts "$T/rn.tar" >"$T/delta.tar"
		di-cook -n prop "$T/rb.tar" "$T/delta.tar" >"$T/img.tar"
		di-overlay --from "$T/img.tar" --export >"$T/flat.tar"
		diff <(listing "$T/rn.tar") <(listing "$T/flat.tar")
		# an image base counts with its flattened view: nothing left to add
		run di-diff --base "$T/img.tar" --changed --whiteouts --list "$T/rn.tar"
		[ -z "$output" ]
	done
}

@test "several bases and an IMAGE base: a path in any base is not new" {
	require di-cook
	make_pair
	mkdir -p "$T/other/newdir"
	echo added >"$T/other/newdir/a"
	tar -C "$T/other" -cf "$T/other.tar" .
	run di-diff --base "$T/base.tar" --base "$T/other.tar" --list "$T/new.tar"
	[[ $output != *"A newdir/a"* ]]
	[[ $output == *"A d2f/z"* ]]
	di-cook -n b "$T/base.tar" >"$T/base-img.tar"
	run di-diff --base "$T/base-img.tar" --list "$T/new.tar"
	[[ $output == *"A d2f/z"* ]]
	[[ $output != *"d/same"* ]]
	# from a pipe too
	run di-diff --base - --list "$T/new.tar" <"$T/base-img.tar"
	[[ $output == *"A d2f/z"* ]]
}

@test "hostile: a name with .. fails with the entry named and no end-of-archive" {
	bats_require_minimum_version 1.5.0
	python3 - "$T/evil.tar" "$BATS_TEST_DIRNAME/lib" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import mktars
open(sys.argv[1], "wb").write(mktars.entry("ok", b"1") + mktars.entry("a/../../evil", b"2") + mktars.END)
EOF
	run --separate-stderr di-diff "$T/evil.tar"
	[ "$status" -eq 1 ]
	[[ $stderr == *"'a/../../evil'"* ]]
	! has_eoa <(printf '%s' "$output")
	head -c 700 "$T/evil.tar" >"$T/cut.tar"
	run di-diff -o "$T/out" "$T/cut.tar"
	[ "$status" -eq 1 ]
	[ ! -e "$T/out" ]
}
