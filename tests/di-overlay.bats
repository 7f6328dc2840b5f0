#!/usr/bin/env bats
# di-overlay: --export flattens an image (checked against docker export and
# umoci unpack of the same image); --run runs a script as root over an image
# and writes what it changed as a layer (checked by loading base + layer in
# Docker).

load lib/testlib
load lib/peers

: "${DI_UNIT:=$TOP/build/unit}"

setup_file() {
	# Docker and umoci are compared against in some tests only; the
	# others run without them.
	if command -v dockerd >/dev/null && [ "$(id -u)" = 0 ]; then
		dockerd_start || true
	fi
}

teardown_file() {
	dockerd_stop
}

need_docker() {
	require docker umoci skopeo
	if [ -z "${DOCKER_HOST:-}" ]; then
		[ "${CI:-}" != true ] || {
			echo "dockerd did not start" >&2
			return 1
		}
		skip "no dockerd"
	fi
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# --- fixtures -------------------------------------------------------------

# mklayer OUT DIR: a layer of DIR's contents, sorted, at time 1, numeric
# owners as they are on disk.
mklayer() {
	local out=$1 dir=$2
	# shellcheck disable=SC2046 # names made by the tests, no spaces
	tar -C "$dir" --sort=name --mtime=@1 --numeric-owner -cf "$out" \
		$(cd "$dir" && LC_ALL=C ls -A)
}

# mkimage OUT NAME:TAG LAYER...: an image in docker save's form, made by hand
# (manifest.json, a config with the layers' diff_ids, one directory per layer).
mkimage() {
	local out=$1 ref=$2 d i=0 diff diffs= layers= hist= cfg
	shift 2
	d=$(mktemp -d "$T/img.XXXXXX")
	for l in "$@"; do
		i=$((i + 1))
		mkdir "$d/l$i"
		cp "$l" "$d/l$i/layer.tar"
		diff=sha256:$(sha256sum <"$l" | cut -d' ' -f1)
		diffs+="${diffs:+,}\"$diff\""
		layers+="${layers:+,}\"l$i/layer.tar\""
		hist+="${hist:+,}{\"created\":\"1970-01-01T00:00:01Z\",\"created_by\":\"layer $i\"}"
	done
	printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:01Z","config":{"Env":["PATH=/bin","FROM_IMAGE=yes"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
		"$diffs" "$hist" >"$d/config.json"
	cfg=$(sha256sum <"$d/config.json" | cut -d' ' -f1)
	mv "$d/config.json" "$d/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' \
		"$cfg" "$ref" "$layers" >"$d/manifest.json"
	tar -C "$d" --sort=name --mtime=@1 --owner=0 --group=0 \
		--numeric-owner -cf "$out" .
	rm -rf "$d"
}

# bbroot DIR: a small root: busybox, its applets, /etc/passwd, some files.
bbroot() {
	local d=$1 a
	mkdir -p "$d/bin" "$d/etc" "$d/usr/share/doc/foo/sub" "$d/var/lib" \
		"$d/home/alice" "$d/tmp"
	cp "$(command -v busybox)" "$d/bin/busybox"
	for a in sh ls cat echo rm mkdir touch sleep id mount hostname \
		adduser chown ln mv grep sed; do
		ln -s busybox "$d/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
	printf 'root:x:0:\n' >"$d/etc/group"
	echo doc >"$d/usr/share/doc/foo/README"
	echo deep >"$d/usr/share/doc/foo/sub/deep"
	echo state >"$d/var/lib/state"
	echo alice >"$d/home/alice/.profile"
	chmod 1777 "$d/tmp"
	chown -R 1000:1000 "$d/home/alice"
}

# An image of bbroot, tagged base:1, at $T/base.tar.
base_image() {
	bbroot "$T/base"
	mklayer "$T/base.layer" "$T/base"
	mkimage "$T/base.tar" base:1 "$T/base.layer"
}

# treelist [--docker]: a listing of the tar on stdin, one line per path
# (normalized): type, mode, owner, link target, xattrs, sha256 of the data.
# A hard link is listed as the file it names; the sets of names that share a
# file follow.  --docker leaves out what Docker adds to every container.
treelist() {
	python3 -c '
import hashlib, sys, tarfile
docker = "--docker" in sys.argv[1:]
def norm(n):
    return "/".join(p for p in n.split("/") if p not in ("", "."))
def ignored(p):
    return docker and (p in (".dockerenv", "etc/hosts", "etc/hostname",
        "etc/resolv.conf", "etc/mtab") or p.split("/")[0] in ("dev", "proc", "sys"))
kinds = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file",
         tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
         tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block",
         tarfile.FIFOTYPE: "fifo"}
recs, links = {}, {}
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|*") as t:
    for m in t:
        p = norm(m.name)
        if p == "" or ignored(p):
            continue
        if m.islnk():
            links[p] = norm(m.linkname)
            continue
        data = ""
        if m.isfile():
            data = hashlib.sha256(t.extractfile(m).read()).hexdigest()[:16]
        dev = "%d,%d" % (m.devmajor, m.devminor) if m.ischr() or m.isblk() else ""
        x = ",".join("%s=%s" % (k[13:], v) for k, v in
                     sorted(m.pax_headers.items()) if k.startswith("SCHILY.xattr."))
        recs[p] = [kinds.get(m.type, repr(m.type)), "%04o" % (m.mode & 0o7777),
                   "%d:%d" % (m.uid, m.gid), m.linkname if m.issym() else "",
                   dev, x, data]
groups = {}
for p, target in links.items():
    while target in links:
        target = links[target]
    recs[p] = recs.get(target, ["dangling hard link to " + target])
    groups.setdefault(target, {target}).add(p)
for p in sorted(recs):
    print(p, *recs[p], sep="|")
for g in sorted(" ".join(sorted(s)) for s in groups.values()):
    print("hardlinks:", g)
' "$@"
}

# What is under DIR, for checking that nothing was written there.
snapshot() {
	(cd "$1" && find . -printf '%p %y %m %s %n\n' | LC_ALL=C sort)
}

# spectar OUT < SPEC: a tar written member by member, in the order given.
# Lines: TYPE PATH MODE UID:GID [CONTENT or TARGET]; TYPE is f (file), d
# (directory), l (symlink), h (hard link) or p (fifo).
spectar() {
	python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    for line in sys.stdin:
        f = line.rstrip("\n").split(None, 4)
        if not f or f[0].startswith("#"):
            continue
        i = tarfile.TarInfo(f[1])
        i.mode, i.mtime = int(f[2], 8), 1
        i.uid, i.gid = (int(x) for x in f[3].split(":"))
        rest, data = f[4] if len(f) > 4 else "", None
        if f[0] == "f":
            data = rest.encode()
            i.size = len(data)
        else:
            i.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE,
                      "h": tarfile.LNKTYPE, "p": tarfile.FIFOTYPE}[f[0]]
            i.linkname = rest
        t.addfile(i, io.BytesIO(data) if data is not None else None)
' "$1"
}

# docker_export IMAGE REF OUT: load IMAGE, export a container of REF.
docker_export() {
	local c
	docker load -q -i "$1" >/dev/null
	c=$(docker create "$2" /bin/sh)
	docker export "$c" >"$3"
	docker rm "$c" >/dev/null
}

# umoci_export IMAGE OUT: umoci unpack of IMAGE (through skopeo's OCI
# layout), its rootfs as a tar.
umoci_export() {
	local d
	d=$(mktemp -d "$T/umoci.XXXXXX")
	skopeo copy -q "docker-archive:$1" "oci:$d/oci:x" >/dev/null
	umoci unpack --image "$d/oci:x" "$d/bundle" >/dev/null
	tar -C "$d/bundle/rootfs" -cf "$2" .
	rm -rf "$d"
}

# The three layers of the export tests: whiteouts, an opaque directory whose
# marker comes after its new contents, type changes both ways, a hard link to
# a file of a lower layer that a higher layer replaces, a directory deleted
# then made again, owners, set-id bits, symlinks absolute and relative.
export_image() {
	local l1=$T/l1
	mkdir -p "$l1/etc" "$l1/a/sub" "$l1/d/sub" "$l1/t" "$l1/keep" \
		"$l1/del" "$l1/own"
	echo 'root:x:0:0::/root:/bin/sh' >"$l1/etc/passwd"
	echo f1 >"$l1/a/f1"
	echo f2 >"$l1/a/f2"
	echo x >"$l1/a/sub/x"
	echo old1 >"$l1/d/old1"
	echo old2 >"$l1/d/sub/old2"
	echo inside >"$l1/t/inside"
	echo file >"$l1/f2d"
	echo k-v1 >"$l1/keep/k"
	echo y >"$l1/del/y"
	echo same >"$l1/hl1"
	ln "$l1/hl1" "$l1/hl2"
	ln -s /etc/passwd "$l1/lnk"
	ln -s a/f1 "$l1/rl"
	mkfifo "$l1/fifo"
	echo secret >"$l1/own/file"
	chown 1000:1000 "$l1/own"
	chown 1000:100 "$l1/own/file"
	chmod 0700 "$l1/own"
	chmod 0600 "$l1/own/file"
	echo s >"$l1/suid"
	chmod 4755 "$l1/suid"
	mklayer "$T/l1.tar" "$l1"
	spectar "$T/l2.tar" <<-'EOF'
	d a 0755 0:0
	f a/.wh.f1 0644 0:0
	d d 0755 0:0
	f d/new 0644 0:0 new
	f d/.wh..wh..opq 0644 0:0
	f t 0640 0:0 now a file
	d f2d 0750 0:0
	f f2d/child 0644 0:0 child
	d h 0755 0:0
	h h/link 0644 0:0 keep/k
	f .wh.del 0644 0:0
	l lnk2 0777 0:0 ../etc/passwd
	f x2 0644 0:0 x2-v2
	h y2 0644 0:0 x2
	h z2 0644 0:0 x2
	EOF
	spectar "$T/l3.tar" <<-'EOF'
	d del 0711 0:0
	f del/z 0644 0:0 z
	d a 0755 0:0
	f a/f2 0644 0:0 f2-v3
	d a/sub 0755 0:0
	f a/sub/.wh.x 0644 0:0
	f a/sub/y 0644 0:0 y
	d keep 0755 0:0
	f keep/k 0644 0:0 k-v3
	f x2 0644 0:0 x2-v3
	EOF
	mkimage "$T/img.tar" di-overlay-test/export:1 "$T/l1.tar" "$T/l2.tar" "$T/l3.tar"
}

# --- --export ------------------------------------------------------------

@test "--export: layers applied with their whiteouts, opaque directories, type changes and hard links" {
	export_image
	di-overlay --from "$T/img.tar" >"$T/ours.tar"
	has_eoa "$T/ours.tar"
	! tar -tf "$T/ours.tar" | grep -q '\.wh\.'
	treelist <"$T/ours.tar" >"$T/got"
	# What the layers make, worked out by hand: a/f1 and a/sub/x deleted,
	# d's old contents hidden, t a file, f2d a directory, del made again,
	# h/link a copy of keep/k as it was in layer 1 (layer 3 replaced it),
	# y2 and z2 one file, a copy of x2 as layer 2 had it.
	cat >"$T/want" <<-EOF
	a|dir|0755|0:0||||
	a/f2|file|0644|0:0||||$(printf f2-v3 | sha256sum | cut -c1-16)
	a/sub|dir|0755|0:0||||
	a/sub/y|file|0644|0:0||||$(printf y | sha256sum | cut -c1-16)
	d|dir|0755|0:0||||
	d/new|file|0644|0:0||||$(printf new | sha256sum | cut -c1-16)
	del|dir|0711|0:0||||
	del/z|file|0644|0:0||||$(printf z | sha256sum | cut -c1-16)
	etc|dir|0755|0:0||||
	etc/passwd|file|0644|0:0||||$(echo 'root:x:0:0::/root:/bin/sh' | sha256sum | cut -c1-16)
	f2d|dir|0750|0:0||||
	f2d/child|file|0644|0:0||||$(printf child | sha256sum | cut -c1-16)
	fifo|fifo|0644|0:0||||
	h|dir|0755|0:0||||
	h/link|file|0644|0:0||||$(echo k-v1 | sha256sum | cut -c1-16)
	hl1|file|0644|0:0||||$(echo same | sha256sum | cut -c1-16)
	hl2|file|0644|0:0||||$(echo same | sha256sum | cut -c1-16)
	keep|dir|0755|0:0||||
	keep/k|file|0644|0:0||||$(printf k-v3 | sha256sum | cut -c1-16)
	lnk|symlink|0777|0:0|/etc/passwd|||
	lnk2|symlink|0777|0:0|../etc/passwd|||
	own|dir|0700|1000:1000||||
	own/file|file|0600|1000:100||||$(echo secret | sha256sum | cut -c1-16)
	rl|symlink|0777|0:0|a/f1|||
	suid|file|4755|0:0||||$(echo s | sha256sum | cut -c1-16)
	t|file|0640|0:0||||$(printf 'now a file' | sha256sum | cut -c1-16)
	x2|file|0644|0:0||||$(printf x2-v3 | sha256sum | cut -c1-16)
	y2|file|0644|0:0||||$(printf x2-v2 | sha256sum | cut -c1-16)
	z2|file|0644|0:0||||$(printf x2-v2 | sha256sum | cut -c1-16)
	hardlinks: hl1 hl2
	hardlinks: y2 z2
	EOF
	diff "$T/want" "$T/got"
}

@test "--export equals docker export of a container of the image, and umoci unpack of it" {
	need_docker
	export_image
	di-overlay --from "$T/img.tar" -o "$T/ours.tar"
	docker_export "$T/img.tar" di-overlay-test/export:1 "$T/docker.tar"
	umoci_export "$T/img.tar" "$T/umoci.tar"
	treelist <"$T/ours.tar" >"$T/ours"
	treelist --docker <"$T/docker.tar" >"$T/docker"
	treelist <"$T/umoci.tar" >"$T/umoci"
	diff "$T/docker" "$T/ours"
	diff "$T/umoci" "$T/ours"
	[ "$(wc -l <"$T/ours")" -gt 20 ]
}

@test "--export reads docker save's own archive, an OCI archive, a pipe, and picks --image" {
	need_docker
	export_image
	di-overlay --from "$T/img.tar" >"$T/want.tar"
	bbroot "$T/bb"
	mklayer "$T/bb.layer" "$T/bb"
	mkimage "$T/bb.tar" di-overlay-test/bb:2 "$T/bb.layer"
	docker load -q -i "$T/img.tar" >/dev/null
	docker load -q -i "$T/bb.tar" >/dev/null
	docker save di-overlay-test/bb:2 di-overlay-test/export:1 >"$T/saved.tar"
	di-overlay --from "$T/saved.tar" --image di-overlay-test/export:1 >"$T/1.tar"
	cmp "$T/want.tar" "$T/1.tar"
	cat "$T/saved.tar" | di-overlay --image di-overlay-test/export >"$T/2.tar"
	cmp "$T/want.tar" "$T/2.tar"
	di-overlay --image di-overlay-test/bb:2 <"$T/saved.tar" >"$T/3.tar"
	treelist <"$T/3.tar" | grep -q '^bin/busybox|file|0755|'
	skopeo copy -q docker-archive:"$T/img.tar" oci-archive:"$T/oci.tar":x
	di-overlay --from "$T/oci.tar" >"$T/4.tar"
	diff <(treelist <"$T/want.tar") <(treelist <"$T/4.tar")
}

# ociindex OUT ARCH VARIANT-1 LAYER-1 VARIANT-2 LAYER-2: an OCI archive whose
# index holds two images for ARCH, told apart by their variants only.
ociindex() {
	python3 - "$@" <<-'EOF'
	import hashlib, io, json, sys, tarfile
	out, arch = sys.argv[1], sys.argv[2]
	blobs = {}
	def put(b, mt):
	    d = hashlib.sha256(b).hexdigest()
	    blobs[d] = b
	    return {"mediaType": mt, "digest": "sha256:" + d, "size": len(b)}
	entries = []
	for variant, path in zip(sys.argv[3::2], sys.argv[4::2]):
	    layer = open(path, "rb").read()
	    diff = "sha256:" + hashlib.sha256(layer).hexdigest()
	    cfg = put(json.dumps({"architecture": arch, "os": "linux",
	        "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode(),
	        "application/vnd.oci.image.config.v1+json")
	    man = put(json.dumps({"schemaVersion": 2,
	        "mediaType": "application/vnd.oci.image.manifest.v1+json",
	        "config": cfg, "layers": [put(layer,
	        "application/vnd.oci.image.layer.v1.tar")]}).encode(),
	        "application/vnd.oci.image.manifest.v1+json")
	    man["platform"] = {"os": "linux", "architecture": arch}
	    if variant != "-":
	        man["platform"]["variant"] = variant
	    entries.append(man)
	members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
	           ("index.json", json.dumps({"schemaVersion": 2,
	               "manifests": entries}).encode())]
	members += [("blobs/sha256/" + d, b) for d, b in sorted(blobs.items())]
	with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
	    for name, data in members:
	        ti = tarfile.TarInfo(name)
	        ti.size = len(data)
	        t.addfile(ti, io.BytesIO(data))
	EOF
}

@test "--export: an index entry is chosen by os, architecture and variant" {
	local arch decoy
	case $(uname -m) in
	x86_64) arch=amd64 decoy=v3 ;;
	aarch64) arch=arm64 decoy=v9 ;;
	*) skip "no decoy variant known for $(uname -m)" ;;
	esac
	mkdir -p "$T/a" "$T/b"
	echo decoy >"$T/a/which" && echo host >"$T/b/which"
	mklayer "$T/a.layer" "$T/a" && mklayer "$T/b.layer" "$T/b"
	# The decoy comes first; before variants were compared it was taken.
	ociindex "$T/multi.tar" "$arch" "$decoy" "$T/a.layer" - "$T/b.layer"
	di-overlay --from "$T/multi.tar" | tar -xOf - which >"$T/got"
	[ "$(cat "$T/got")" = host ]
	# With no entry for this machine, the first image is taken.
	ociindex "$T/other.tar" "$arch" "$decoy" "$T/a.layer" v4 "$T/b.layer"
	di-overlay --from "$T/other.tar" | tar -xOf - which >"$T/got"
	[ "$(cat "$T/got")" = decoy ]
}

@test "--export: a broken image gives exit 1, a message, and no end-of-archive" {
	export_image
	# A layer whose bytes are not the ones its diff_id names.
	mkdir "$T/bad" && tar -C "$T/bad" -xf "$T/img.tar"
	spectar "$T/bad/l2/layer.tar" <<-'EOF'
	f other 0644 0:0 other
	EOF
	tar -C "$T/bad" -cf "$T/bad.tar" .
	run di-overlay --from "$T/bad.tar" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ $output == di-overlay:*diff_id* ]]
	[ ! -e "$T/out.tar" ]
	di-overlay --from "$T/bad.tar" >"$T/out2.tar" || status=$?
	[ "$status" -eq 1 ]
	! has_eoa "$T/out2.tar"
	head -c 20000 "$T/img.tar" >"$T/cut.tar"
	run di-overlay --from "$T/cut.tar"
	[ "$status" -eq 1 ]
	[[ $output == di-overlay:* ]]
	run di-overlay --from "$T/img.tar" --image no/such:1
	[ "$status" -eq 1 ]
	[[ $output == di-overlay:*no/such* ]]
}

# --- --run over contents alone --------------------------------------------

@test "--run -c: the command runs as root, pid 2 under a new pid 1, with its own hostname, /proc, /dev and only loopback" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	run di-overlay --contents "$T/root.tar" -o "$T/out.tar" -c '
		id -u; echo $$; hostname; cat /proc/1/status | grep -c "^Pid:"
		ls /proc/net/dev >/dev/null && cat /proc/net/dev | grep -c ":"
		echo x >/dev/null && ls /dev/null /dev/zero /dev/urandom
		ls /sys/kernel >/dev/null && echo sys'
	[ "$status" -eq 0 ]
	[ "$output" = "0
2
di
1
1
/dev/null
/dev/urandom
/dev/zero
sys" ]
}

@test "--run: the command's standard output goes to standard error, never into the layer" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	di-overlay --contents "$T/root.tar" -c 'echo to-stdout; echo to-stderr >&2' \
		>"$T/out.tar" 2>"$T/err"
	grep -qx to-stdout "$T/err"
	grep -qx to-stderr "$T/err"
	! grep -q to-std "$T/out.tar"
	has_eoa "$T/out.tar"
	tar -tf "$T/out.tar" >/dev/null
}

@test "--run: a failing command's status is passed on and no layer is written" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	run di-overlay --contents "$T/root.tar" -c 'echo new >/new; exit 7' -o "$T/out.tar"
	[ "$status" -eq 7 ]
	[[ $output == *"exit status 7; no layer written"* ]]
	[ ! -e "$T/out.tar" ]
	di-overlay --contents "$T/root.tar" -c 'kill -9 $$' >"$T/out2.tar" || status=$?
	[ "$status" -eq 137 ]
	[ ! -s "$T/out2.tar" ]
	[ -z "$(ls "$T" | grep '\.tmp\.')" ]
}

@test "--run: without /bin/sh in the root, -c fails with a message, exit 1" {
	need_root
	mkdir -p "$T/empty/etc"
	mklayer "$T/e.tar" "$T/empty"
	run di-overlay --contents "$T/e.tar" -c true
	[ "$status" -eq 1 ]
	[[ $output == "di-overlay: sandbox: /bin/sh: not in the image" ]]
}

@test "--run SCRIPT: a host file is executed inside, with its #! interpreter from the root" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	printf '#!/bin/sh\necho "$0" ran >&2\necho made >/made\n' >"$T/script"
	chmod +x "$T/script"
	run di-overlay --contents "$T/root.tar" --run "$T/script" -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[[ $output == *" ran" ]]
	tar -xOf "$T/out.tar" made | grep -qx made
	# --run -c TEXT is -c TEXT.
	di-overlay --contents "$T/root.tar" --run -c 'echo two >/made' >"$T/out2.tar"
	[ "$(tar -xOf "$T/out2.tar" made)" = two ]
}

@test "--run: contents go in first and are part of the layer; the work directory is gone after" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	mkdir -p "$T/extra/opt/app" && echo app >"$T/extra/opt/app/run"
	mkdir -p "$T/tmp"
	TMPDIR=$T/tmp di-overlay --contents "$T/root.tar" --contents "$T/extra" \
		-c 'cat /opt/app/run >&2; echo seen >/opt/app/log' >"$T/out.tar"
	tar -tf "$T/out.tar" >"$T/names"
	grep -qx opt/app/run "$T/names"
	grep -qx opt/app/log "$T/names"
	grep -qx bin/busybox "$T/names"
	[ -z "$(ls -A "$T/tmp")" ]
	# A compressed tar on standard input is contents too.
	gzip -c "$T/root.tar" | di-overlay --contents - -c 'echo z >/z' >"$T/out2.tar"
	[ "$(tar -xOf "$T/out2.tar" z)" = z ]
	[ "$(tar -xOf "$T/out2.tar" etc/passwd)" = 'root:x:0:0:root:/root:/bin/sh' ]
}

@test "--run: the layer is sorted and normalized, and the same bytes every time" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	script='mkdir -p /z/b /a; echo 1 >/z/b/f; echo 2 >/a/x; ln /a/x /a/y; ln -s ../a /z/l; chown 1000:100 /a/x'
	di-overlay --contents "$T/root.tar" -c "$script" >"$T/1.tar"
	SOURCE_DATE_EPOCH=1700000000 di-overlay --contents "$T/root.tar" -c "$script" >"$T/2.tar"
	sleep 1
	di-overlay --contents "$T/root.tar" -c "$script" >"$T/3.tar"
	cmp "$T/1.tar" "$T/3.tar"
	! cmp -s "$T/1.tar" "$T/2.tar"
	tar -tvf "$T/1.tar" --numeric-owner --full-time | grep -v ' bin/\| etc/\|usr/\|var/\|home/\|tmp/' >"$T/list"
	cat >"$T/want" <<-'EOF'
	drwxr-xr-x 0/0               0 1970-01-01 00:00:01 a/
	-rw-r--r-- 1000/100          2 1970-01-01 00:00:01 a/x
	hrw-r--r-- 1000/100          0 1970-01-01 00:00:01 a/y link to a/x
	drwxr-xr-x 0/0               0 1970-01-01 00:00:01 z/
	drwxr-xr-x 0/0               0 1970-01-01 00:00:01 z/b/
	-rw-r--r-- 0/0               2 1970-01-01 00:00:01 z/b/f
	lrwxrwxrwx 0/0               0 1970-01-01 00:00:01 z/l -> ../a
	EOF
	diff "$T/want" "$T/list"
	tar -tvf "$T/2.tar" --full-time | grep -q ' 2023-11-14 22:13:20 z/b/f$'
}

@test "--run: SIGTERM and SIGINT end the command and remove every mount and the work directory" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	mkdir "$T/tmp"
	for sig in TERM INT; do
		# A background job starts with SIGINT ignored: undo that.
		TMPDIR=$T/tmp perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' \
			di-overlay --contents "$T/root.tar" \
			-c 'echo started >&2; sleep 4321; echo after >&2' \
			>"$T/out.tar" 2>"$T/err" &
		pid=$!
		# Until the command has started (a bound, not a timing: a
		# loaded machine may take long to set the sandbox up).
		for i in $(seq 1800); do
			grep -q started "$T/err" && break
			kill -0 $pid 2>/dev/null || break
			sleep 0.1
		done
		grep -q started "$T/err" || { cat "$T/err"; false; }
		[ -n "$(ls -A "$T/tmp")" ]
		kill -$sig $pid
		status=0
		wait $pid || status=$?
		[ "$status" -eq $((128 + $(kill -l $sig))) ]
		[ -z "$(ls -A "$T/tmp")" ]
		! pgrep -f 'sleep 4321'
		! grep -q "$T" /proc/mounts
		! grep -q after "$T/err"
		[ ! -s "$T/out.tar" ]
	done
}

@test "--run without root: an unprivileged user namespace, owned by 0 inside; also as root of one (unshare -r)" {
	need_root
	require setpriv unshare
	base_image
	# The user needs to reach the program and the inputs.
	mkdir -m 0777 "$T/u" "$T/u/tmp"
	cp "$(di_tool di-overlay)" "$T/u/di-overlay"
	cp "$T/base.tar" "$T/u/base.tar"
	chmod 0755 "$T" "$T/u/di-overlay"
	chmod 0644 "$T/u/base.tar"
	script='id -u >&2; rm /etc/group; rm -rf /usr/share/doc/foo; mkdir /usr/share/doc/foo; echo n >/new'
	for how in plain unshare; do
		wrap=()
		[ $how = plain ] || wrap=(unshare --user --map-root-user)
		run setpriv --reuid 65534 --regid 65534 --clear-groups "${wrap[@]}" \
			env TMPDIR="$T/u/tmp" "$T/u/di-overlay" --from "$T/u/base.tar" \
			-c "$script" -o "$T/u/out.tar"
		if [ "$status" -ne 0 ] && [[ $output == *"user namespace"* ]]; then
			skip "this kernel allows no overlayfs in a user namespace: $output"
		fi
		[ "$status" -eq 0 ]
		grep -qx 0 <<<"$output"
		# home/alice of the image is 1000:1000, which has no uid here.
		[[ $output == *"owners other than root were not kept"* ]]
		tar -tvf "$T/u/out.tar" --numeric-owner | awk '{print $2, $6}' |
			grep -v '/$' >"$T/list"
		printf '%s\n' "0/0 etc/.wh.group" "0/0 new" \
			"0/0 usr/share/doc/foo/.wh..wh..opq" | diff - "$T/list"
		[ -z "$(ls -A "$T/u/tmp")" ]
		rm "$T/u/out.tar"
	done
}

@test "--run: --bind mounts a host directory read-only, and leaves no trace in the layer" {
	need_root
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	mkdir -p "$T/store/pkg" && echo pkg >"$T/store/pkg/file"
	run di-overlay --contents "$T/root.tar" --bind "$T/store:/nix/store" \
		-c 'cat /nix/store/pkg/file; if echo x >/nix/store/pkg/file; then echo writable; fi; echo y >/made' \
		-o "$T/out.tar"
	[ "$status" -eq 0 ]
	[[ $output == *pkg* ]]
	[[ $output != *writable* ]]
	[ "$(cat "$T/store/pkg/file")" = pkg ]
	! tar -tf "$T/out.tar" | grep -q '^nix'
	tar -tf "$T/out.tar" | grep -qx made
	run di-overlay --contents "$T/root.tar" --bind "$T/store/pkg/file:/f" -c true
	[ "$status" -eq 1 ]
	[[ $output == *"pkg/file: not a directory" ]]
}

@test "--run: contents that leave the root or hold whiteouts are refused; their links lead back inside" {
	need_root
	bbroot "$T/root"
	python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../escape"); i.size = 1
    t.addfile(i, io.BytesIO(b"x"))
' "$T/dotdot.tar"
	mkdir -p "$T/tmp"
	run env TMPDIR=$T/tmp di-overlay --contents "$T/dotdot.tar" -c true
	[ "$status" -eq 1 ]
	[[ $output == *"../escape: name leaves the root"* ]]
	[ ! -e "$T/tmp/escape" ] && [ ! -e "$T/escape" ]
	[ -z "$(ls -A "$T/tmp")" ]
	# Symlinks that point out, then entries through them: within one
	# input that is malformed (the tree rule); from a later input they
	# lead back into the root.
	mkdir -p "$T/outside"
	snapshot "$T/outside" >"$T/before"
	o=${T#/}/outside
	spectar "$T/links.tar" <<-EOF
	d $o 0755 0:0
	l esc 0777 0:0 /$o
	l up 0777 0:0 ../../../../../../../../$o
	EOF
	spectar "$T/planted.tar" <<-EOF
	f esc/planted 0644 0:0 p1
	f up/planted2 0644 0:0 p2
	EOF
	spectar "$T/one.tar" <<-EOF
	l esc 0777 0:0 /$o
	f esc/planted 0644 0:0 p1
	EOF
	run di-overlay --contents "$T/one.tar" --contents "$T/root" -c true
	[ "$status" -eq 1 ]
	[[ $output == *"'esc/planted': lies under 'esc', which this input made a symbolic link"* ]]
	di-overlay --contents "$T/links.tar" --contents "$T/planted.tar" \
		--contents "$T/root" -c true >"$T/l.tar"
	snapshot "$T/outside" | diff "$T/before" -
	[ "$(tar -xOf "$T/l.tar" "$o/planted")" = p1 ]
	[ "$(tar -xOf "$T/l.tar" "$o/planted2")" = p2 ]
	mkdir -p "$T/wh/d" && touch "$T/wh/d/.wh.x"
	run di-overlay --contents "$T/wh" -c true
	[ "$status" -eq 1 ]
	[[ $output == *"d/.wh.x: a whiteout in contents"* ]]
}

# --- --run over an image ----------------------------------------------------

@test "--run over an image: the seed's mkRootLayer; a user added, a file deleted, a directory replaced, a file written" {
	need_root
	base_image
	run di-overlay --from "$T/base.tar" -o "$T/layer.tar" --env EXTRA=1 -c '
		echo "PATH=$PATH FROM_IMAGE=$FROM_IMAGE EXTRA=$EXTRA" >&2
		echo "bob:x:1001:1001::/home/bob:/bin/sh" >>/etc/passwd
		rm /var/lib/state
		rm -rf /usr/share/doc/foo
		mkdir /usr/share/doc/foo
		echo new >/usr/share/doc/foo/NEW
		mkdir /srv
		echo hello >/srv/new.txt'
	[ "$status" -eq 0 ]
	[[ $output == *"PATH=/bin FROM_IMAGE=yes EXTRA=1"* ]]
	tar -tvf "$T/layer.tar" --numeric-owner | awk '{print $1, $2, $6}' >"$T/list"
	cat >"$T/want" <<-'EOF'
	drwxr-xr-x 0/0 etc/
	-rw-r--r-- 0/0 etc/passwd
	drwxr-xr-x 0/0 srv/
	-rw-r--r-- 0/0 srv/new.txt
	drwxr-xr-x 0/0 usr/
	drwxr-xr-x 0/0 usr/share/
	drwxr-xr-x 0/0 usr/share/doc/
	drwxr-xr-x 0/0 usr/share/doc/foo/
	-rw-r--r-- 0/0 usr/share/doc/foo/.wh..wh..opq
	-rw-r--r-- 0/0 usr/share/doc/foo/NEW
	drwxr-xr-x 0/0 var/
	drwxr-xr-x 0/0 var/lib/
	-rw-r--r-- 0/0 var/lib/.wh.state
	EOF
	diff "$T/want" "$T/list"
	tar -xOf "$T/layer.tar" etc/passwd | grep -qx 'bob:x:1001:1001::/home/bob:/bin/sh'
	# The new image flattens to the base with exactly those changes.
	di-cook -n di-overlay-test/run -t 1 --from "$T/base.tar" "$T/layer.tar" >"$T/new.tar"
	di-overlay --from "$T/base.tar" | treelist >"$T/before"
	di-overlay --from "$T/new.tar" | treelist >"$T/after"
	diff "$T/before" "$T/after" | grep '^[<>]' | cut -d'|' -f1 | sort -u >"$T/changed"
	cat >"$T/want" <<-'EOF'
	< usr/share/doc/foo/README
	< usr/share/doc/foo/sub
	< usr/share/doc/foo/sub/deep
	< var/lib/state
	> etc/passwd
	> srv
	> srv/new.txt
	> usr/share/doc/foo/NEW
	EOF
	grep -v '^< etc/passwd' "$T/changed" | diff "$T/want" -
}

@test "--run: the command sees the image's root exactly as --export writes it" {
	need_root
	export_image
	bbroot "$T/base"
	mklayer "$T/base.layer" "$T/base"
	mkimage "$T/img2.tar" di-overlay-test/seen:1 "$T/base.layer" "$T/l1.tar" "$T/l2.tar" "$T/l3.tar"
	di-overlay --from "$T/img2.tar" | treelist >"$T/want"
	# busybox tar inside takes a copy of the root as the command sees it.
	di-overlay --from "$T/img2.tar" -c 'cd / && busybox tar -cf /snap.tar \
		$(ls -A / | grep -v "^proc$\|^sys$\|^dev$\|^snap.tar$")' >"$T/layer.tar"
	tar -xOf "$T/layer.tar" snap.tar | treelist >"$T/got"
	diff "$T/want" "$T/got"
	grep -q '^own/file|file|0600|1000:100|' "$T/got"
	grep -q '^hardlinks: y2 z2$' "$T/got"
}

@test "--run over an image: Docker runs the cooked image and sees exactly the changes" {
	need_docker
	base_image
	di-overlay --from "$T/base.tar" -c '
		echo "bob:x:1001:1001::/home/bob:/bin/sh" >>/etc/passwd
		rm /var/lib/state
		rm -rf /usr/share/doc/foo && mkdir /usr/share/doc/foo
		echo new >/usr/share/doc/foo/NEW
		echo hello >/srv.txt
		chown 1001:1001 /srv.txt' >"$T/layer.tar"
	di-cook -n di-overlay-test/run -t 1 --from "$T/base.tar" "$T/layer.tar" >"$T/new.tar"
	docker load -q -i "$T/new.tar" >/dev/null
	run docker run --rm --network none di-overlay-test/run:1 /bin/sh -c '
		grep bob /etc/passwd; ls /usr/share/doc/foo; cat /srv.txt
		busybox stat -c "%u %g" /srv.txt; ls /var/lib/state 2>&1; true'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bob:x:1001:1001::/home/bob:/bin/sh" ]
	[ "${lines[1]}" = NEW ]
	[ "${lines[2]}" = hello ]
	[ "${lines[3]}" = "1001 1001" ]
	[[ ${lines[4]} == *"No such file"* ]]
	# Docker's view of the whole tree is ours.
	docker_export "$T/new.tar" di-overlay-test/run:1 "$T/docker.tar"
	diff <(treelist --docker <"$T/docker.tar") <(di-overlay --from "$T/new.tar" | treelist)
	docker_export "$T/base.tar" base:1 "$T/docker-base.tar"
	diff <(treelist --docker <"$T/docker-base.tar") <(treelist --docker <"$T/docker.tar") |
		grep '^[<>]' | cut -d'|' -f1 | sort -u >"$T/changed"
	cat >"$T/want" <<-'EOF'
	< etc/passwd
	< usr/share/doc/foo/README
	< usr/share/doc/foo/sub
	< usr/share/doc/foo/sub/deep
	< var/lib/state
	> etc/passwd
	> srv.txt
	> usr/share/doc/foo/NEW
	EOF
	diff "$T/want" "$T/changed"
}

@test "--run: an image whose links point outside, or whose names climb out, writes nothing outside the work directory" {
	need_root
	mkdir -p "$T/outside" "$T/tmp"
	echo secret >"$T/outside/secret"
	snapshot "$T/outside" >"$T/before"
	bbroot "$T/base"
	mklayer "$T/base.layer" "$T/base"
	# Symlinks to the host's directory, absolute and through "..", and
	# entries that go through them, in the same layer and in the next.
	spectar "$T/evil1.tar" <<-EOF
	l abs 0777 0:0 $T/outside
	l rel 0777 0:0 ../../../../../../../../..$T/outside
	f abs/planted 0644 0:0 through abs
	EOF
	spectar "$T/evil2.tar" <<-EOF
	f rel/planted 0644 0:0 through rel
	d abs 0755 0:0
	f abs/planted2 0644 0:0 through abs again
	EOF
	mkimage "$T/evil.tar" evil:1 "$T/base.layer" "$T/evil1.tar" "$T/evil2.tar"
	TMPDIR=$T/tmp run di-overlay --from "$T/evil.tar" -c 'ls /rel /abs >&2; echo x >/abs/x' -o "$T/out.tar"
	echo "$output"
	snapshot "$T/outside" | diff "$T/before" -
	[ -z "$(ls -A "$T/tmp")" ]
	[ "$status" -eq 0 ] || [[ $output == di-overlay:* ]]
	# An absolute hard link to a host file, and a name with "..".
	spectar "$T/evil3.tar" <<-EOF
	h stolen 0644 0:0 $T/outside/secret
	EOF
	mkimage "$T/evil3img.tar" evil:3 "$T/base.layer" "$T/evil3.tar"
	TMPDIR=$T/tmp run di-overlay --from "$T/evil3img.tar" -c 'cat /stolen >&2' -o "$T/out3.tar"
	[ "$status" -eq 1 ]
	[[ $output == di-overlay:*stolen* ]]
	[ "$(stat -c %h "$T/outside/secret")" -eq 1 ]
	spectar "$T/evil4.tar" <<-EOF
	f ../../../../../..$T/outside/dotdot 0644 0:0 climbed
	EOF
	mkimage "$T/evil4img.tar" evil:4 "$T/base.layer" "$T/evil4.tar"
	TMPDIR=$T/tmp run di-overlay --from "$T/evil4img.tar" -c true -o "$T/out4.tar"
	[ "$status" -eq 1 ]
	[[ $output == di-overlay:* ]]
	snapshot "$T/outside" | diff "$T/before" -
	[ -z "$(ls -A "$T/tmp")" ]
}

# --- --run: deletions (overlayfs shares one inode among its whiteouts) ------

# A base with many files to delete, hard links, and trees: at $T/wbase.tar.
whiteout_base() {
	local d=$T/wbase i
	bbroot "$d"
	for i in $(seq -w 1 24); do
		echo "f$i" >"$d/etc/f$i"
	done
	mkdir -p "$d/opt/tree/a/b" "$d/srv"
	for i in 1 2 3 4 5 6; do
		echo "t$i" >"$d/opt/tree/a/t$i"
		echo "u$i" >"$d/opt/tree/a/b/u$i"
	done
	echo same >"$d/srv/hl1"
	ln "$d/srv/hl1" "$d/srv/hl2"
	echo shadow >"$d/etc/shadow"
	mklayer "$T/wbase.layer" "$d"
	mkimage "$T/wbase.tar" wbase:1 "$T/wbase.layer"
}

# The scripts of the deletion tests, by name.
deletion_script() {
	case $1 in
	one-dir) echo 'rm /etc/f*' ;;
	across) echo 'rm /etc/shadow /bin/sed /var/lib/state /usr/share/doc/foo/README /home/alice/.profile /opt/tree/a/t1 /srv/hl2' ;;
	recreate) echo 'rm /etc/f01 /etc/f02 /etc/f03; echo new >/etc/f01; rm /bin/grep; ln -s busybox /bin/grep
		rm -rf /opt/tree; mkdir -p /opt/tree/a; echo t1-again >/opt/tree/a/t1; rm /var/lib/state; mkdir /var/lib/state' ;;
	dir) echo 'rm -rf /opt/tree /usr/share/doc /var/lib; rm -r /home/alice' ;;
	links) echo 'rm /etc/f05 /etc/f06 /etc/f07; echo h >/h1; ln /h1 /h2; ln /h1 /etc/h3
		rm /bin/sed /bin/grep; ln /srv/hl1 /srv/hl3; echo more >>/srv/hl2; rm /opt/tree/a/b/u1
		ln /etc/f08 /etc/f08-link; rm /etc/f09; ln /etc/f10 /opt/f10-link' ;;
	esac
}

# The root as the command left it, taken by busybox tar inside.
SNAPSHOT='cd / && busybox tar -cf /snap.tar $(ls -A / | grep -v "^proc$\|^sys$\|^dev$\|^snap.tar$")'

@test "--run: scripts that delete two or more files write whiteouts, never hard links to one; each layer flattens to what the script left" {
	need_root
	whiteout_base
	for s in one-dir across recreate dir links; do
		di-overlay --from "$T/wbase.tar" -c "$(deletion_script $s); $SNAPSHOT" \
			>"$T/$s.tar"
		# No whiteout is a hard link, nor the target of one.
		tar -tvf "$T/$s.tar" >"$T/$s.list"
		! grep '^h.*\.wh\.' "$T/$s.list"
		! grep ' link to .*\.wh\.' "$T/$s.list"
		tar -tf "$T/$s.tar" | grep '\.wh\.' | LC_ALL=C sort >"$T/$s.wh"
		di-cook -n di-overlay-test/wh -t "$s" --from "$T/wbase.tar" "$T/$s.tar" \
			>"$T/$s.img"
		di-overlay --from "$T/$s.img" | treelist | grep -v '^snap.tar|' >"$T/$s.flat"
		tar -xOf "$T/$s.tar" snap.tar | treelist >"$T/$s.seen"
		# overlayfs (index=off) gives a copied-up file and a new link to
		# it two inode numbers, so the command's own snapshot cannot see
		# those links: groups of links are checked by hand below.
		diff <(grep -v '^hardlinks:' "$T/$s.seen") <(grep -v '^hardlinks:' "$T/$s.flat")
	done
	# The whiteouts, by hand: 24 in one directory, one per path across them.
	[ "$(wc -l <"$T/one-dir.wh")" -eq 24 ]
	printf '%s\n' bin/.wh.sed etc/.wh.shadow home/alice/.wh..profile \
		opt/tree/a/.wh.t1 srv/.wh.hl2 usr/share/doc/foo/.wh.README \
		var/lib/.wh.state | diff - "$T/across.wh"
	printf '%s\n' etc/.wh.f02 etc/.wh.f03 opt/tree/.wh..wh..opq \
		var/lib/state/.wh..wh..opq | diff - "$T/recreate.wh"
	printf '%s\n' home/.wh.alice opt/.wh.tree usr/share/.wh.doc var/.wh.lib |
		diff - "$T/dir.wh"
	# Real hard links stay links, among new files and to copied-up ones.
	grep -q '^hardlinks: etc/h3 h1 h2$' "$T/links.flat"
	grep -q '^hardlinks: srv/hl1 srv/hl3$' "$T/links.flat"
	grep -q '^hardlinks: etc/f08 etc/f08-link$' "$T/links.flat"
	grep -q '^hardlinks: etc/f10 opt/f10-link$' "$T/links.flat"
	grep -q '^srv/hl2|file|.*|' "$T/links.flat"
	! grep -q 'hardlinks:.*srv/hl2' "$T/links.flat"
}

@test "--run: layers of scripts that delete many files load and run in Docker, which sees what the script left" {
	need_docker
	whiteout_base
	docker load -q -i "$T/wbase.tar" >/dev/null
	for s in one-dir across recreate dir links; do
		di-overlay --from "$T/wbase.tar" -c "$(deletion_script $s)" >"$T/$s.tar"
		di-cook -n di-overlay-test/wh -t "$s" --from "$T/wbase.tar" "$T/$s.tar" \
			>"$T/$s.img"
		docker load -q -i "$T/$s.img" >/dev/null
		run docker run --rm --network none "di-overlay-test/wh:$s" /bin/sh -c \
			'ls /etc | grep -c "^f"; ls /opt/tree/a 2>/dev/null | grep -c t || true'
		[ "$status" -eq 0 ]
		c=$(docker create "di-overlay-test/wh:$s" /bin/sh)
		docker export "$c" | treelist --docker >"$T/$s.docker"
		docker rm "$c" >/dev/null
		di-overlay --from "$T/$s.img" | treelist >"$T/$s.flat"
		diff "$T/$s.flat" "$T/$s.docker"
		case $s in
		one-dir) [ "${lines[0]}" = 0 ] ;;
		recreate) [ "${lines[0]}" = 21 ] && [ "${lines[1]}" = 1 ] ;;
		dir) [ "${lines[1]}" = 0 ] ;;
		esac
	done
}

@test "--run: a file 2030 levels deep made by the command goes into the layer" {
	need_root
	base_image
	mkdir "$T/tmp"
	TMPDIR=$T/tmp di-overlay --from "$T/base.tar" -o "$T/deep.tar" -c '
		i=0; while [ $i -lt 2030 ]; do mkdir d && cd d || exit 9; i=$((i + 1)); done
		echo deep >f; cd /; rm /etc/group'
	python3 -c '
import sys, tarfile
deep = 0
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        if m.name.endswith("/f"):
            assert m.name == "d/" * 2030 + "f", m.name[:40]
            assert t.extractfile(m).read() == b"deep\n"
            deep += 1
print(deep)' "$T/deep.tar" | grep -qx 1
	tar -tf "$T/deep.tar" | grep -qx etc/.wh.group
	[ -z "$(ls -A "$T/tmp")" ]
}

@test "upper directory: whiteouts sharing one inode, overlayfs's whiteout and opaque attributes, real links, owners and a capability shifted back" {
	need_root
	require setfattr
	local u=$T/upper b=1879048192
	mkdir -p "$u/etc" "$u/bin" "$u/opq" "$u/opq2" "$u/notopq" "$u/a"
	# overlayfs's whiteouts: links to one 0/0 device.
	mknod "$u/etc/shadow" c 0 0
	ln "$u/etc/shadow" "$u/etc/x"
	ln "$u/etc/shadow" "$u/bin/sed"
	# Whiteouts by attribute, of both namespaces.
	touch "$u/etc/gone" "$u/etc/gone2"
	setfattr -n user.overlay.whiteout -v y "$u/etc/gone"
	setfattr -n trusted.overlay.whiteout -v y "$u/etc/gone2"
	# Opaque directories ("x" marks one that holds attribute whiteouts).
	setfattr -n user.overlay.opaque -v y "$u/opq"
	setfattr -n trusted.overlay.opaque -v y "$u/opq2"
	setfattr -n user.overlay.opaque -v x "$u/notopq"
	echo new >"$u/opq/new"
	# Real hard links, and a copied-up file beside them.
	echo f >"$u/a/f1"
	ln "$u/a/f1" "$u/a/f2"
	echo c >"$u/a/capped"
	setfattr -n trusted.overlay.origin -v 0 "$u/a/capped"
	setfattr -n user.note -v kept "$u/a/capped"
	chown -R $b:$b "$u"
	chown $((b + 1000)):$((b + 100)) "$u/a/f1"
	# cap_net_bind_service=ep, stored with the namespace's root in it (set
	# after the owner: chown clears it).
	setfattr -n security.capability \
		-v 0x010000030004000000000000000000000000000000000070 "$u/a/capped"
	"$DI_UNIT/upperdir" "$u" $b $b 65536 >"$T/layer.tar"
	tar -tvf "$T/layer.tar" --numeric-owner | awk '{print $1, $2, $6, $7, $8, $9}' >"$T/list"
	cat >"$T/want" <<-'EOF'
	drwxr-xr-x 0/0 a/   
	-rw-r--r-- 0/0 a/capped   
	-rw-r--r-- 1000/100 a/f1   
	hrw-r--r-- 1000/100 a/f2 link to a/f1
	drwxr-xr-x 0/0 bin/   
	-rw-r--r-- 0/0 bin/.wh.sed   
	drwxr-xr-x 0/0 etc/   
	-rw-r--r-- 0/0 etc/.wh.gone   
	-rw-r--r-- 0/0 etc/.wh.gone2   
	-rw-r--r-- 0/0 etc/.wh.shadow   
	-rw-r--r-- 0/0 etc/.wh.x   
	drwxr-xr-x 0/0 notopq/   
	drwxr-xr-x 0/0 opq/   
	-rw-r--r-- 0/0 opq/.wh..wh..opq   
	-rw-r--r-- 0/0 opq/new   
	drwxr-xr-x 0/0 opq2/   
	-rw-r--r-- 0/0 opq2/.wh..wh..opq   
	EOF
	diff "$T/want" "$T/list"
	python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        for k, v in sorted(m.pax_headers.items()):
            if k.startswith("SCHILY.xattr."):
                print(m.name, k[13:], v.encode("latin-1", "surrogateescape").hex())
' "$T/layer.tar" >"$T/xattrs"
	printf '%s\n' "a/capped security.capability 0100000200040000000000000000000000000000" \
		"a/capped user.note 6b657074" | diff - "$T/xattrs"
	# An owner that no id inside stands for is an error, named.
	chown 5:5 "$u/opq/new"
	run "$DI_UNIT/upperdir" "$u" $b $b 65536
	[ "$status" -eq 1 ]
	[[ $output == *"opq/new: owner 5 is none of the command's ids"* ]]
}

# --- --run: confinement -------------------------------------------------------

# escape_root DIR: a root with busybox and a static program that tries,
# one line each, what a confined command must not manage.
escape_root() {
	require cc
	bbroot "$1"
	cat >"$T/escape.c" <<-'EOF'
	#define _GNU_SOURCE
	#include <errno.h>
	#include <fcntl.h>
	#include <sched.h>
	#include <signal.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <sys/mount.h>
	#include <sys/ptrace.h>
	#include <sys/stat.h>
	#include <sys/syscall.h>
	#include <sys/sysmacros.h>
	#include <unistd.h>
	static void report(const char *what, int r) {
		printf("%s: %s\n", what, r < 0 ? strerror(errno) : "done");
	}
	int main(int argc, char **argv) {
		unsigned maj = strtoul(argv[1], 0, 0), min = strtoul(argv[2], 0, 0);
		pid_t host = (pid_t)atoi(argv[3]);
		const char *marker = argv[4];
		char via[4096];
		int fd, r;
		if (argc != 5) return 2;
		mkdir("/mnt", 0755);
		report("mknod the host's root device", mknod("/hd", S_IFBLK | 0600, makedev(maj, min)));
		report("mount it", mount("/hd", "/mnt", "ext4", MS_RDONLY, NULL));
		fd = open("/proc/sys/vm/swappiness", O_WRONLY);
		report("write /proc/sys/vm/swappiness", fd < 0 ? -1 : (int)write(fd, "33\n", 3));
		report("remount /proc/sys read-write", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL));
		report("unmount /proc/sys", umount2("/proc/sys", MNT_DETACH));
		report("remount /proc read-write", mount(NULL, "/proc", NULL, MS_REMOUNT, NULL));
		report("remount /sys read-write", mount(NULL, "/sys", NULL, MS_REMOUNT, NULL));
		report("write /sys/kernel/rcu_expedited", open("/sys/kernel/rcu_expedited", O_WRONLY));
		report("mount a new sysfs", mount("sysfs", "/mnt", "sysfs", 0, NULL));
		report("mknod /dev/mem (c 1 1)", mknod("/mem", S_IFCHR | 0600, makedev(1, 1)));
		report("open /dev/kmsg", open("/dev/kmsg", O_WRONLY));
		report("open /dev/vda", open("/dev/vda", O_RDONLY));
		fd = open("/bin/busybox", O_RDONLY);
		report("load a module", (int)syscall(SYS_finit_module, fd, "", 0));
		report("unload a module", (int)syscall(SYS_delete_module, "ext4", 0));
		report("ptrace pid 1", (int)ptrace(PTRACE_ATTACH, 1, 0, 0));
		report("ptrace the host's process", (int)ptrace(PTRACE_ATTACH, host, 0, 0));
		report("kill the host's process", kill(host, SIGKILL));
		report("a new user namespace", unshare(CLONE_NEWUSER));
		report("a new mount namespace", unshare(CLONE_NEWNS));
		mkdir("/jail", 0755);
		r = chroot("/jail");
		for (int i = 0; r == 0 && i < 64; i++)
			r = chdir("..");
		if (r == 0)
			r = chroot(".");
		report("chroot escape, then the host's marker", r < 0 ? r : open(marker, O_RDONLY));
		snprintf(via, sizeof(via), "/proc/1/root%s", marker);
		report("the host's marker through /proc/1/root", open(via, O_RDONLY));
		return 0;
	}
	EOF
	cc -static -O -o "$1/bin/escape" "$T/escape.c"
}

@test "--run started as root: the command is root only inside; mknod, mount, sysctls, remounts, devices, modules, ptrace and chroot escapes all fail and the host is unchanged" {
	need_root
	escape_root "$T/root"
	echo marker >"$T/marker"
	dev=$(stat -c '%d' /)
	maj=$((dev >> 8)) min=$((dev & 255))
	swappiness=$(cat /proc/sys/vm/swappiness)
	modules=$(cat /proc/modules 2>/dev/null | cut -d' ' -f1 | sort)
	sleep 4321 &
	host=$!
	run di-overlay --contents "$T/root" -o "$T/out.tar" \
		-c "id -u; cat /proc/self/uid_map /proc/self/gid_map; /bin/escape $maj $min $host $T/marker"
	kill $host
	wait $host || true
	echo "$output"
	[ "$status" -eq 0 ]
	cat >"$T/want" <<-EOF
	0
	         0 1879048192      65536
	         0 1879048192      65536
	mknod the host's root device: Operation not permitted
	mount it: Operation not permitted
	write /proc/sys/vm/swappiness: Permission denied
	remount /proc/sys read-write: Operation not permitted
	unmount /proc/sys: Operation not permitted
	remount /proc read-write: Operation not permitted
	remount /sys read-write: Operation not permitted
	write /sys/kernel/rcu_expedited: Read-only file system
	mount a new sysfs: Operation not permitted
	mknod /dev/mem (c 1 1): Operation not permitted
	open /dev/kmsg: No such file or directory
	open /dev/vda: No such file or directory
	load a module: Operation not permitted
	unload a module: Operation not permitted
	ptrace pid 1: Operation not permitted
	ptrace the host's process: Operation not permitted
	kill the host's process: No such process
	a new user namespace: Operation not permitted
	a new mount namespace: Operation not permitted
	chroot escape, then the host's marker: No such file or directory
	the host's marker through /proc/1/root: Permission denied
	EOF
	diff "$T/want" - <<<"$output"
	[ "$(cat /proc/sys/vm/swappiness)" = "$swappiness" ]
	[ "$(cat /proc/modules 2>/dev/null | cut -d' ' -f1 | sort)" = "$modules" ]
	[ "$(cat "$T/marker")" = marker ]
	# Only what the program made inside is in the layer: no device node.
	tar -tvf "$T/out.tar" | grep -v '^d' | awk '{print $1, $6}' >"$T/list"
	printf '%s\n' '-rwxr-xr-x bin/busybox' '-rwxr-xr-x bin/escape' >"$T/wantl"
	grep -v '^l' "$T/list" | grep -v 'etc/\|usr/\|var/\|home/' | diff "$T/wantl" -
}

# An ordinary script: users added, owners of many kinds, churn, set-id bits,
# hard links, a fifo, a file capability; device nodes come from the contents.
ORDINARY='echo "bob:x:1001:1001::/home/bob:/bin/sh" >>/etc/passwd
	echo "bob:x:1001:" >>/etc/group; mkdir -p /home/bob; chown 1001:1001 /home/bob
	echo dot >/home/bob/.profile; chown 1001:1001 /home/bob/.profile
	echo x >/srv.txt; chown 65534:65534 /srv.txt; echo y >/y; chown 4242:777 /y
	chmod 0600 /home/alice/.profile; echo more >>/home/alice/.profile
	mkdir -p /var/cache/apt; for i in 1 2 3 4 5; do echo $i >/var/cache/apt/p$i; done
	rm /var/cache/apt/p2; mv /var/cache/apt/p3 /var/cache/apt/p3.new; rm /var/lib/state
	rm -rf /usr/share/doc/foo; mkdir /usr/share/doc/foo; echo n >/usr/share/doc/foo/NEW
	echo s >/bin/suid; chmod 4755 /bin/suid; echo g >/bin/sgid; chown 0:50 /bin/sgid; chmod 2755 /bin/sgid
	ln /bin/suid /bin/suid2; mkdir /run; busybox mkfifo /run/fifo; ln -s ../bin/suid /run/sl'

@test "--run confined: an ordinary script gives byte for byte the layer of --host-root (the command as the host's root), owners of the image kept" {
	need_root
	base_image
	python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, maj, mi in (("dev/null-copy", 1, 3), ("dev/zero-copy", 1, 5)):
        i = tarfile.TarInfo(name); i.type = tarfile.CHRTYPE
        i.devmajor, i.devminor, i.mode, i.mtime = maj, mi, 0o666, 1
        t.addfile(i)
' "$T/devs.tar"
	# A file capability (cap_net_bind_service=ep, set with setxattr as
	# setcap does): inside a user namespace the kernel stores it with the
	# namespace's root in it, which the layer must not keep.
	require cc
	mkdir -p "$T/cap/bin"
	cat >"$T/setcap.c" <<-'EOF'
	#include <stdio.h>
	#include <sys/xattr.h>
	int main(int argc, char **argv) {
		unsigned char v[20] = {0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0};
		v[0] = 1; /* VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, little-endian */
		if (argc != 2 || setxattr(argv[1], "security.capability", v, sizeof(v), 0) != 0) {
			perror("setxattr");
			return 1;
		}
		return 0;
	}
	EOF
	cc -static -O -o "$T/cap/bin/setcap" "$T/setcap.c"
	tar -C "$T/cap" -cf "$T/cap.tar" bin/setcap
	# A bind whose mount point the image lacks, in a directory that root
	# inside cannot reach by name.
	mkdir -p "$T/store" && echo pkg >"$T/store/pkg" && chmod 0700 "$T"
	for how in confined host; do
		opt=()
		[ $how = confined ] || opt=(--host-root)
		di-overlay "${opt[@]}" --from "$T/base.tar" --contents "$T/devs.tar" \
			--contents "$T/cap.tar" --bind "$T/store:/nix/store" \
			-c "$ORDINARY; echo c >/bin/capped; setcap /bin/capped
			    cat /nix/store/pkg >/nix-seen; mkdir /nix/var; echo v >/nix/var/x" \
			>"$T/$how.tar"
	done
	cmp "$T/host.tar" "$T/confined.tar"
	python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    v = t.getmember("bin/capped").pax_headers["SCHILY.xattr.security.capability"]
print(v.encode("latin-1", "surrogateescape").hex())' "$T/confined.tar" |
		grep -qx 0100000200040000000000000000000000000000
	# And the owners, by hand.
	tar -tvf "$T/confined.tar" --numeric-owner | awk '{print $1, $2, $6}' |
		grep ' home/\| srv.txt\| y$\| bin/s\| dev/\| run/\| nix' >"$T/list"
	cat >"$T/want" <<-'EOF'
	-rwxr-xr-x 0/0 bin/setcap
	-rwsr-xr-x 0/0 bin/suid
	hrwsr-xr-x 0/0 bin/suid2
	-rwxr-sr-x 0/50 bin/sgid
	drwxr-xr-x 0/0 dev/
	crw-rw-rw- 0/0 dev/null-copy
	crw-rw-rw- 0/0 dev/zero-copy
	drwxr-xr-x 0/0 home/
	drwxr-xr-x 1000/1000 home/alice/
	-rw------- 1000/1000 home/alice/.profile
	drwxr-xr-x 1001/1001 home/bob/
	-rw-r--r-- 1001/1001 home/bob/.profile
	drwxr-xr-x 0/0 run/
	prw-r--r-- 0/0 run/fifo
	lrwxrwxrwx 0/0 run/sl
	-rw-r--r-- 0/0 nix-seen
	drwxr-xr-x 0/0 nix/
	drwxr-xr-x 0/0 nix/var/
	-rw-r--r-- 0/0 nix/var/x
	-rw-r--r-- 65534/65534 srv.txt
	-rw-r--r-- 4242/777 y
	EOF
	LC_ALL=C sort -k3 "$T/want" | diff - <(LC_ALL=C sort -k3 "$T/list")
}

@test "--run: --subids picks the range; owners of the image beyond it become root's, with a warning naming one; --host-root needs the host's root" {
	need_root
	base_image
	run di-overlay --from "$T/base.tar" --subids 3000000:2000 \
		-c 'cat /proc/self/uid_map; ls -ln /home | grep alice' -o "$T/out.tar"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *" 0 "*" 3000000 "*" 2000" ]]
	[[ ${lines[1]} == *" 1000 "*" 1000 "*alice ]]
	run di-overlay --from "$T/base.tar" --subids 3000000:1000 -o "$T/out2.tar" \
		-c 'ls -ln /home | grep alice; chmod 0700 /home/alice'
	[ "$status" -eq 0 ]
	[[ $output == *"base.tar: home/alice: owner 1000:1000 is beyond the 1000 ids the command has"* ]]
	[[ $output == *"base.tar: 2 owners beyond the 1000 ids the command has were made root's"* ]]
	grep -Eq '^d[-rwx]+ +[0-9]+ 0 +0 .* alice$' <<<"$output"
	tar -tvf "$T/out2.tar" --numeric-owner | grep -q '^drwx------ 0/0 .* home/alice/$'
	run di-overlay --subids 0:65536 -c true
	[ "$status" -eq 2 ]
	run di-overlay --subids 5:0 -c true
	[ "$status" -eq 2 ]
	run di-overlay --host-root --subids 5:10 -c true
	[ "$status" -eq 2 ]
	run unshare --user --map-root-user "$(di_tool di-overlay)" --host-root -c true
	[ "$status" -eq 2 ]
	[[ $output == *"--host-root: not the host's root"* ]]
}

@test "--run: where no user namespace can be made, the command does not run unconfined: exit 1 and a message" {
	need_root
	require unshare
	bbroot "$T/root"
	# No user namespace left, in a user namespace of its own: the host's
	# limit stays as it is.
	limit=$(cat /proc/sys/user/max_user_namespaces)
	run unshare --user --map-root-user sh -c '
		echo 0 >/proc/sys/user/max_user_namespaces || exit 99
		exec "$1" --contents "$2" -c "echo ran >&2" -o "$3"' sh \
		"$(di_tool di-overlay)" "$T/root" "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"the command cannot be confined here: no user namespace"* ]]
	[[ $output != *ran* ]]
	[ ! -e "$T/out.tar" ]
	[ "$(cat /proc/sys/user/max_user_namespaces)" = "$limit" ]
}

@test "usage errors exit 2" {
	run di-overlay --run a -c b
	[ "$status" -eq 2 ]
	run di-overlay --export -c b
	[ "$status" -eq 2 ]
	run di-overlay --bind /x
	[ "$status" -eq 2 ]
	run di-overlay --nope
	[ "$status" -eq 2 ]
	run di-overlay --help
	[ "$status" -eq 0 ]
	[[ $output == usage:* ]]
}
