#!/usr/bin/env bats
# di-overlay: --export flattens an image (checked against docker export and
# umoci unpack of the same image); --run runs a script as root over an image
# and writes what it changed as a layer (checked by loading base + layer in
# Docker).

load lib/testlib
load lib/peers

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
        "etc/resolv.conf") or p.split("/")[0] in ("dev", "proc", "sys"))
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
		for i in $(seq 100); do
			grep -q started "$T/err" && break
			sleep 0.1
		done
		grep -q started "$T/err"
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

@test "--run without root: an unprivileged user namespace, owned by 0 inside" {
	need_root
	require setpriv
	bbroot "$T/root"
	mklayer "$T/root.tar" "$T/root"
	# The user needs to reach the program and the inputs.
	mkdir -m 0777 "$T/u" "$T/u/tmp"
	cp "$(di_tool di-overlay)" "$T/u/di-overlay"
	cp "$T/root.tar" "$T/u/root.tar"
	chmod 0755 "$T" "$T/u/di-overlay"
	chmod 0644 "$T/u/root.tar"
	run setpriv --reuid 65534 --regid 65534 --clear-groups \
		env TMPDIR="$T/u/tmp" "$T/u/di-overlay" --contents "$T/u/root.tar" \
		-c 'id -u >&2; rm /etc/group; echo n >/new' -o "$T/u/out.tar"
	if [ "$status" -ne 0 ] && [[ $output == *"user namespace"* ]]; then
		skip "this kernel allows no overlayfs in a user namespace: $output"
	fi
	[ "$status" -eq 0 ]
	grep -qx 0 <<<"$output"
	# home/alice of the contents is 1000:1000, which has no uid here.
	[[ $output == *"owners other than root were not kept"* ]]
	tar -tvf "$T/u/out.tar" --numeric-owner | grep -q ' 0/0 .* new$'
	! tar -tf "$T/u/out.tar" | grep -q '^etc/group$'
	[ -z "$(ls -A "$T/u/tmp")" ]
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
}

@test "--run: contents that leave the root or hold whiteouts are refused" {
	need_root
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
	mkdir -p "$T/wh/d" && touch "$T/wh/d/.wh.x"
	run di-overlay --contents "$T/wh" -c true
	[ "$status" -eq 1 ]
	[[ $output == *"d/.wh.x: a whiteout in contents"* ]]
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
