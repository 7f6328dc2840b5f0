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

# --- with lib/tree: random trees, hardlinks, common/flatten as the applier

# BASE (a directory) and NEW (a directory): di-diff --changed --whiteouts of
# their tars, applied on the base with flatten, must give NEW exactly:
# paths, types, modes, owners, link targets, contents and link counts.
check_layer() {
	local base=$1 new=$2
	tar -C "$base" -cf "$T/b.tar" . || return 1
	tar -C "$new" -cf "$T/n.tar" . || return 1
	di-diff --base "$T/b.tar" --changed --whiteouts "$T/n.tar" >"$T/delta.tar" || return 1
	"$DI_UNIT/flatten" "$T/b.tar" "$T/delta.tar" >"$T/flat.tar" || return 1
	rm -rf "$T/got" && mkdir "$T/got"
	tar -C "$T/got" -xpf "$T/flat.tar" || return 1
	tree_list "$new" >"$T/want.list"
	tree_list "$T/got" >"$T/got.list"
	diff -u "$T/want.list" "$T/got.list" || return 1
	# Nothing unchanged is carried, beyond the targets of kept hardlinks.
	di-diff --base "$T/b.tar" --changed --whiteouts --list "$T/n.tar" >"$T/list"
	[ "$(grep -c '^[AM] ' "$T/list")" -le "$(tar -tf "$T/delta.tar" | grep -vc '\.wh\.')" ]
}

@test "property: base + di-diff --changed --whiteouts is NEW (random trees with hardlinks)" {
	load lib/tree
	local seed
	for seed in $(seq 1 25); do
		rm -rf "$T/base" "$T/new" "$T/edit"
		random_tree "$T/base" $((seed * 7))
		# NEW: the base with a random layer applied (deletions, type
		# changes, new links), or an unrelated tree.
		cp -a "$T/base" "$T/new"
		random_layer "$T/edit" $((seed * 7 + 1))
		tar -C "$T/edit" -cf "$T/edit.tar" .
		apply_layer "$T/new" "$T/edit.tar"
		check_layer "$T/base" "$T/new" || { echo "seed $seed (edit)"; return 1; }
		rm -rf "$T/new"
		random_tree "$T/new" $((seed * 7 + 2))
		check_layer "$T/base" "$T/new" || { echo "seed $seed (other)"; return 1; }
	done
}

@test "default mode is comm -1 -3 of the listings, over random trees" {
	load lib/tree
	local seed
	for seed in $(seq 1 15); do
		rm -rf "$T/a" "$T/b"
		random_tree "$T/a" $((seed * 3))
		random_tree "$T/b" $((seed * 3 + 1))
		tar -C "$T/a" -cf "$T/a.tar" . && tar -C "$T/b" -cf "$T/b.tar" .
		di-diff --base "$T/a.tar" "$T/b.tar" >"$T/out.tar"
		# what comm says, and the targets of new hardlinks
		comm -13 <(tar_list "$T/a.tar" | LC_ALL=C sort) \
			<(tar_list "$T/b.tar" | LC_ALL=C sort) >"$T/comm"
		tar -tvf "$T/out.tar" | awk '/^h/ {print $NF}' | sed 's,^\./,,' >"$T/targets"
		diff <(LC_ALL=C sort -u "$T/comm" "$T/targets") \
			<(tar_list "$T/out.tar" | LC_ALL=C sort) || { echo "seed $seed"; return 1; }
	done
}

@test "a new hardlink to an unchanged file carries the file with it" {
	mkdir -p "$T/base/bin" "$T/new/bin"
	echo prog >"$T/base/bin/perl"
	echo prog >"$T/new/bin/perl"
	touch -d @5 "$T/base/bin/perl" "$T/new/bin/perl"
	ln "$T/new/bin/perl" "$T/new/bin/perl5"
	tar -C "$T/base" -cf "$T/b.tar" . && tar -C "$T/new" -cf "$T/n.tar" .
	run di-diff --base "$T/b.tar" --changed --list "$T/n.tar"
	[ "$output" = "A bin/perl5" ]
	di-diff --base "$T/b.tar" --changed "$T/n.tar" >"$T/d.tar"
	[ "$(tar -tf "$T/d.tar" | tr '\n' ' ')" = "./bin/perl ./bin/perl5 " ]
	# without --changed too: a layer never links into the layers below
	di-diff --base "$T/b.tar" "$T/n.tar" >"$T/d.tar"
	[ "$(tar -tf "$T/d.tar" | tr '\n' ' ')" = "./bin/perl ./bin/perl5 " ]
}

@test "an unchanged hardlink to a changed file is written again" {
	mkdir -p "$T/base" "$T/new"
	echo old >"$T/base/f" && ln "$T/base/f" "$T/base/g"
	echo new >"$T/new/f" && ln "$T/new/f" "$T/new/g"
	tar -C "$T/base" -cf "$T/b.tar" . && tar -C "$T/new" -cf "$T/n.tar" .
	run di-diff --base "$T/b.tar" --changed --list "$T/n.tar"
	[ "$output" = "$(printf 'M f\nM g')" ]
	load lib/tree
	check_layer "$T/base" "$T/new"
}

@test "bases stack, the first at the bottom: a later base's whiteout deletes" {
	mkdir -p "$T/b1/etc" "$T/b2/etc" "$T/new/etc"
	echo 1 >"$T/b1/etc/a" && echo 1 >"$T/b1/etc/b"
	touch "$T/b2/etc/.wh.a"
	echo 2 >"$T/b2/etc/b"
	echo 1 >"$T/new/etc/a" && echo 2 >"$T/new/etc/b"
	for d in b1 b2 new; do tar -C "$T/$d" -cf "$T/$d.tar" .; done
	run di-diff --base "$T/b1.tar" --base "$T/b2.tar" --changed --list "$T/new.tar"
	[ "$output" = "A etc/a" ]
	run di-diff --base "$T/b2.tar" --base "$T/b1.tar" --changed --list "$T/new.tar"
	[ "$output" = "M etc/b" ]
}

@test "--whiteouts alone: a directory that became a file is changed" {
	mkdir -p "$T/base/x" "$T/new"
	echo in >"$T/base/x/in"
	echo file >"$T/new/x"
	tar -C "$T/base" -cf "$T/b.tar" . && tar -C "$T/new" -cf "$T/n.tar" .
	run di-diff --base "$T/b.tar" "$T/n.tar"
	[ "$(di-diff --base "$T/b.tar" "$T/n.tar" | tar -tf - | wc -l)" -eq 0 ]
	di-diff --base "$T/b.tar" --whiteouts "$T/n.tar" >"$T/d.tar"
	[ "$(tar -tf "$T/d.tar")" = ./x ]
}

@test "--list escapes newlines and backslashes; -0 ends lines with NUL" {
	mkdir -p "$T/base" "$T/new"
	echo 1 >"$T/new/$(printf 'a\nb')"
	echo 2 >"$T/new/c\\d"
	tar -C "$T/base" -cf "$T/b.tar" . && tar -C "$T/new" -cf "$T/n.tar" .
	run di-diff --base "$T/b.tar" --list "$T/n.tar"
	[ "$output" = "$(printf '%s\n' 'A a\nb' 'A c\\d')" ]
	di-diff --base "$T/b.tar" --list -0 "$T/n.tar" >"$T/list0"
	[ "$(tr '\0' '|' <"$T/list0")" = "$(printf 'A a\nb|A c\\d|')" ]
	run di-diff -0 "$T/n.tar"
	[ "$status" -eq 2 ]
}

@test "an IMAGE base whose upper layer deletes and replaces" {
	require di-cook
	mkdir -p "$T/l1/etc" "$T/l2/etc" "$T/new/etc"
	echo 1 >"$T/l1/etc/gone" && echo 1 >"$T/l1/etc/kept" && echo 1 >"$T/l1/etc/repl"
	touch "$T/l2/etc/.wh.gone"
	echo 2 >"$T/l2/etc/repl"
	echo 1 >"$T/new/etc/gone" && echo 1 >"$T/new/etc/kept" && echo 2 >"$T/new/etc/repl"
	for d in l1 l2 new; do tar -C "$T/$d" -cf "$T/$d.tar" .; done
	di-cook -n img "$T/l1.tar" "$T/l2.tar" | gzip -n >"$T/img.tar.gz"
	run di-diff --base "$T/img.tar.gz" --changed --whiteouts --list "$T/new.tar"
	[ "$output" = "A etc/gone" ]
}

@test "a path NEW holds twice counts once, as di-merge (tar -xk) counts it" {
	python3 - "$T/twice.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in [("f", b"file"), ("f/under", b"u"), ("d/inner", b"x"),
                       ("d", b"file"), ("e/f", b"y"), ("e", None),
                       ("g", b"first"), ("g", b"second")]:
        ti = tarfile.TarInfo(name)
        if data is None:
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
        else:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
PY
	di-diff "$T/twice.tar" >"$T/diff.tar"
	di-merge "$T/twice.tar" >"$T/merge.tar"
	[ "$(tar -tf "$T/diff.tar" | tr '\n' ' ')" = "f d/inner e/f e/ g " ]
	cmp "$T/diff.tar" "$T/merge.tar"
	[ "$(tar -xOf "$T/diff.tar" g)" = first ]
}

# skopeo_style_image OUT LAYER: a docker-archive whose layer is stored as
# layers/l.tar and whose config is config.json, as skopeo and hand-made
# archives name them (neither name is a digest).
skopeo_style_image() {
	local d diff
	d=$(mktemp -d "$T/img.XXXXXX")
	mkdir "$d/layers"
	cp "$2" "$d/layers/l.tar"
	diff=sha256:$(sha256sum <"$2" | cut -d' ' -f1)
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
		"$diff" >"$d/config.json"
	printf '[{"Config":"config.json","RepoTags":["x:1"],"Layers":["layers/l.tar"]}]' \
		>"$d/manifest.json"
	tar -C "$d" -cf "$1" manifest.json config.json layers
	rm -rf "$d"
}

@test "an IMAGE base is an image whatever its members are named: layers/l.tar, compressed, from a pipe" {
	make_pair
	skopeo_style_image "$T/img.tar" "$T/base.tar"
	want=$(di-diff --base "$T/base.tar" --list "$T/new.tar")
	[ "$want" = "$(printf '%s\n' 'D d/deleted' 'A d2f/z' 'D gone' 'A newdir' 'A newdir/a')" ]
	# Taken for a tree, it printed "D manifest.json" and every path as new.
	run di-diff --base "$T/img.tar" --list "$T/new.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	gzip -nc "$T/img.tar" >"$T/img.tar.gz"
	run di-diff --base "$T/img.tar.gz" --list "$T/new.tar"
	[ "$output" = "$want" ]
	run di-diff --base - --list "$T/new.tar" <"$T/img.tar.gz"
	[ "$output" = "$want" ]
	cat "$T/img.tar" | {
		run di-diff --base - --list "$T/new.tar"
		[ "$output" = "$want" ]
	}
	# An image whose manifest names a layer it lacks is an error, not a tree.
	mkdir "$T/b" && tar -C "$T/b" -xf "$T/img.tar" && rm "$T/b/layers/l.tar"
	tar -C "$T/b" -cf "$T/broken.tar" manifest.json config.json
	run di-diff --base "$T/broken.tar" --list "$T/new.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"layer 'layers/l.tar' is missing"* ]]
}

@test "a TREE that holds a manifest.json of its own (a web app's) stays a tree" {
	mkdir -p "$T/web/app" "$T/new/app"
	echo '{"name":"app","icons":[]}' >"$T/web/manifest.json"
	echo '[1,2]' >"$T/web/index.json"
	echo x >"$T/web/app/x"
	cp "$T/web/app/x" "$T/new/app/x"
	tar -C "$T/web" -cf "$T/web.tar" manifest.json index.json app
	tar -C "$T/new" -cf "$T/new.tar" app
	run di-diff --base "$T/web.tar" --whiteouts --list "$T/new.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' 'D index.json' 'D manifest.json')" ]
}

@test "a STACK base is refused with a message, not taken for a tree of its layer tars" {
	make_pair
	python3 - "$T/base.tar" "$T/stack.tar" <<'PY'
import io, json, sys, tarfile
layer = open(sys.argv[1], "rb").read()
lst = json.dumps({"layers": [{"name": "001.tar", "size": len(layer), "paths": []}]}).encode()
with tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in (("stack.json", lst), ("001.tar", layer)):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
	run di-diff --base "$T/stack.tar" --list "$T/new.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"stack.tar: a STACK is not read as a base yet"* ]]
	[[ $output != *"A d2f/z"* ]]
}
