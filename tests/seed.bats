#!/usr/bin/env bats
# The seed's derivations (Nix dockerTools, 2015) done as pipes of di's
# tools, and checked end to end by the real consumers: a private dockerd,
# podman, skopeo and the distribution registry.

load lib/testlib
load lib/peers

setup_file() {
	peers_require dockerd docker skopeo jq || return 0
	peers_require_root || return 0
	dockerd_start
	export SEED=$(mktemp -d /tmp/di-seed.XXXXXX)
	make_base "$SEED/base"
	(
		cd "$SEED"
		di-layer base >base.bundle
		di-cook -n seed-base -t 1 -c "$BATS_TEST_DIRNAME/demo/config.json" \
			base.bundle >base.tar
	)
	docker load -q <"$SEED/base.tar" >/dev/null
}

teardown_file() {
	dockerd_stop
	[ -z "${SEED:-}" ] || rm -rf "$SEED"
}

setup() {
	di_setup
	peers_check
}

# A root tree with busybox-static as its shell: the seed's `contents`.
make_base() {
	local d=$1 app
	mkdir -p "$d/bin" "$d/etc" "$d/tmp"
	cp /bin/busybox "$d/bin/busybox"
	for app in sh cat echo ls id env pwd grep wc; do
		ln -s busybox "$d/bin/$app"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
	printf 'root:x:0:\n' >"$d/etc/group"
	printf 'base motd\n' >"$d/etc/motd"
	chmod 1777 "$d/tmp"
}

# docker run of IMAGE with ARGS, no network.
drun() {
	docker run --rm --network none "$@"
}

@test "buildImage with contents: a layer from a tree and a config run in Docker" {
	cat >"$T/config.json" <<'EOF'
{"Cmd":["/bin/sh","-c","echo \"$GREETING from $(pwd)\"; cat /etc/motd"],
 "Env":["PATH=/bin","GREETING=hello"],"WorkingDir":"/tmp"}
EOF
	di-layer "$SEED/base" | di-cook -n seed-contents -t v1 -c "$T/config.json" - >"$T/img.tar"
	run docker load -i "$T/img.tar"
	[[ $output == *"Loaded image: seed-contents:v1"* ]]
	run drun seed-contents:v1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello from /tmp" ]
	[ "${lines[1]}" = "base motd" ]
	run drun seed-contents:v1 env
	[[ $output == *"GREETING=hello"* ]]
	[[ $output == *"PATH=/bin"* ]]
}

@test "buildImage with fromImage: new files on the base, from di-cook and from docker save" {
	require di-merge di-diff
	mkdir -p "$T/contents/etc" "$T/contents/usr/share/app" "$T/extra/opt"
	printf 'app\n' >"$T/contents/usr/share/app/data"
	cp "$SEED/base/etc/passwd" "$T/contents/etc/passwd" # also in the base
	printf 'extra\n' >"$T/extra/opt/extra.txt"
	tar -C "$T/extra" -cf "$T/extra.tar" .
	docker save seed-base:1 >"$T/saved.tar"
	local from
	for from in "$SEED/base.tar" "$T/saved.tar"; do
		# the seed's newFiles: what contents and tarballs add to the base
		di-merge "$T/contents" "$T/extra.tar" |
			di-diff --base "$from" |
			di-layer --tar >"$T/new.tar"
		run tar -tf "$T/new.tar"
		[[ $output == *"usr/share/app/data"* ]]
		[[ $output == *"opt/extra.txt"* ]]
		[[ $output != *"etc/passwd"* ]] # the base has it: not duplicated
		[[ $output != *"bin/busybox"* ]]
		di-cook --from "$from" -n seed-from -t latest "$T/new.tar" >"$T/img.tar"
		docker load -q -i "$T/img.tar" >/dev/null
		run drun seed-from:latest cat /usr/share/app/data /opt/extra.txt /etc/motd
		[ "$output" = "$(printf 'app\nextra\nbase motd')" ]
		[ "$(docker image inspect -f '{{len .RootFS.Layers}}' seed-from:latest)" -eq 2 ]
	done
}

@test "buildImage with runAsRoot: a user and a group made by a script as root" {
	cat >"$T/setup.sh" <<'EOF'
#!/bin/sh
set -e
echo 'alice:x:1000:1000:Alice:/home/alice:/bin/sh' >> /etc/passwd
echo 'staff:x:1000:alice' >> /etc/group
mkdir -p /home/alice
echo 'made as root' > /home/alice/note
chown -R 1000:1000 /home/alice
EOF
	chmod +x "$T/setup.sh"
	di-overlay --from "$SEED/base.tar" --run "$T/setup.sh" >"$T/root.tar"
	run tar -tvf "$T/root.tar"
	[[ $output == *"etc/passwd"* ]]
	[[ $output == *"1000/1000"*"home/alice/note"* ]]
	di-cook --from "$SEED/base.tar" -n seed-root -t latest "$T/root.tar" >"$T/img.tar"
	docker load -q -i "$T/img.tar" >/dev/null
	run drun --user alice seed-root:latest id
	[ "$output" = "uid=1000(alice) gid=1000(staff) groups=1000(staff)" ]
	run drun seed-root:latest cat /home/alice/note
	[ "$output" = "made as root" ]
}

@test "buildImage with extraCommands: a tree edited before di-layer" {
	cp -a "$SEED/base" "$T/tree"
	# the seed's extraCommands ran in the layer's directory
	(cd "$T/tree" && mkdir -p var/empty && ln -s /tmp var/tmp && echo extra >etc/extra)
	di-layer "$T/tree" | di-cook -n seed-extra -t latest - >"$T/img.tar"
	docker load -q -i "$T/img.tar" >/dev/null
	run drun seed-extra:latest sh -c 'cat /etc/extra; ls -ld /var/tmp'
	[ "${lines[0]}" = extra ]
	[[ ${lines[1]} == *"/var/tmp -> /tmp"* ]]
}

# "TYPE MODE UID GID TARGET-OR-SHA256 PATH" for every entry of a tar,
# without the files Docker's init layer adds to a container (.dockerenv,
# etc/hosts, etc/hostname, etc/resolv.conf, the etc/mtab link and the
# mount points dev, proc and sys).
tree_listing() {
	python3 - "$1" <<'EOF'
import hashlib, sys, tarfile
skip = {".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf",
        "etc/mtab", "dev", "proc", "sys", "etc", ""}
with tarfile.open(sys.argv[1]) as tf:
    rows = []
    for m in tf:
        name = m.name
        while name.startswith("./") or name.startswith("/"):
            name = name[1:] if name[0] == "/" else name[2:]
        name = name.rstrip("/")
        if name in skip or name.split("/")[0] in ("dev", "proc", "sys"):
            continue
        if m.isreg():
            what = hashlib.sha256(tf.extractfile(m).read()).hexdigest()
        elif m.islnk() or m.issym():
            what = m.linkname.lstrip("./") if m.islnk() else m.linkname
        else:
            what = "-"
        rows.append("%s %o %d %d %s %s" % (m.type.decode(), m.mode & 0o7777,
                                          m.uid, m.gid, what, name))
print("\n".join(sorted(rows)))
EOF
}

@test "exportImage: di-overlay --export equals docker export" {
	printf 'deleted\n' >"$T/gone"
	di-overlay --from "$SEED/base.tar" -c 'rm /etc/motd; mkdir -p /srv/www; echo hi > /srv/www/index.html' >"$T/l.tar"
	di-cook --from "$SEED/base.tar" -n seed-export -t latest "$T/l.tar" >"$T/img.tar"
	docker load -q -i "$T/img.tar" >/dev/null
	local id
	id=$(docker create seed-export:latest)
	docker export "$id" >"$T/docker.tar"
	docker rm "$id" >/dev/null
	di-overlay --from "$T/img.tar" --export >"$T/di.tar"
	tree_listing "$T/docker.tar" >"$T/docker.list"
	tree_listing "$T/di.tar" >"$T/di.list"
	diff "$T/docker.list" "$T/di.list"
	grep -q ' srv/www/index.html$' "$T/di.list"
	! grep -q ' etc/motd$' "$T/di.list"
}

# A fake Nix store: names with 32-character base32 hashes that mention
# each other's hashes.
make_store() {
	local s=$1
	mkdir -p "$s"
	A=$s/0c4w4rnmq1kpwb9yaiaydk0jdyk8r1q5-lib-a
	B=$s/1m9hczw6v35lbg3rx0ms9i6ygk1vq3h7-lib-b
	C=$s/2dsq6qa1zhnhs2xqj04l0abfxq0zvbhb-app
	U=$s/3ab2gqx7v0ajd3hfcxk9hwq31rv1m0b8-unused
	mkdir -p "$A/lib" "$B/lib" "$C/bin" "$U"
	echo "lib a" >"$A/lib/a.so"
	echo "uses ${A##*/}" >"$B/lib/b.so"
	printf '#!/bin/sh\n# %s\n' "${B##*/}" >"$C/bin/app"
	ln -s "$A/lib/a.so" "$C/bin/a-link"
	echo unused >"$U/file"
}

@test "mkTarball and writeReferencesToFile: di-closure holds exactly the closure" {
	make_store "$T/store"
	run di-closure --store "$T/store" --scan --list "$C"
	[ "$output" = "$(printf '%s\n' "$A" "$B" "$C" | sort)" ]
	di-closure --store "$T/store" --scan "$C" >"$T/closure.tar"
	run tar -tf "$T/closure.tar"
	[[ $output == *"${C#/}/bin/app"* ]]
	[[ $output == *"${A#/}/lib/a.so"* ]]
	[[ $output != *unused* ]]
	# the seed's mkTarball without onlyDeps: the root's contents at /
	di-closure --store "$T/store" --scan --root-contents "$C" >"$T/root.tar"
	tar -tf "$T/root.tar" | grep -qx 'bin/app'
}

@test "mergeTarballs: di-merge equals tar -xkpf of each tarball in turn" {
	require di-merge
	mkdir -p "$T/a/etc" "$T/b/etc" "$T/b/usr" "$T/out"
	echo one >"$T/a/etc/conf"
	echo two >"$T/b/etc/conf"
	echo usr >"$T/b/usr/file"
	tar -C "$T/a" -cf "$T/a.tar" .
	tar -C "$T/b" -czf "$T/b.tar.gz" .
	di-merge "$T/a.tar" "$T/b.tar.gz" >"$T/merged.tar"
	for t in "$T/a.tar" "$T/b.tar.gz"; do
		tar -C "$T/out" -xkpf "$t" 2>/dev/null || true
	done
	tar -C "$T/out" -cf "$T/seed.tar" .
	diff <(tree_listing "$T/seed.tar") <(tree_listing "$T/merged.tar")
	[ "$(tar -xOf "$T/merged.tar" ./etc/conf 2>/dev/null || tar -xOf "$T/merged.tar" etc/conf)" = one ]
}

@test "tarsum: the checksum in a bundle is the layer's tarsum, as Docker's Go code says" {
	di-layer "$SEED/base" >"$T/l.bundle"
	tar -xOf "$T/l.bundle" layer.tar >"$T/layer.tar"
	local sum
	sum=$(tar -xOf "$T/l.bundle" json | jq -r .checksum)
	[ "$sum" = "$(di-tarsum "$T/layer.tar")" ]
	if command -v go >/dev/null; then
		gotarsum_build >/dev/null
		[ "$sum" = "$("$GOTARSUM" <"$T/layer.tar")" ]
	fi
}

@test "pullImage: from a local registry, then --from it in a build" {
	peers_require docker-registry || return 1
	registry_start SEEDREG
	skopeo copy -q --dest-tls-verify=false "docker-archive:$SEED/base.tar" \
		"docker://$REGISTRY_ADDR_SEEDREG/seed/base:1"
	di-pull -q --plain-http "$REGISTRY_ADDR_SEEDREG/seed/base:1" >"$T/pulled.tar"
	registry_stop SEEDREG
	mkdir -p "$T/new/srv"
	echo pulled-build >"$T/new/srv/x"
	di-layer --tar "$T/new" >"$T/new.tar"
	di-cook --from "$T/pulled.tar" -n seed-pulled -t latest "$T/new.tar" >"$T/img.tar"
	docker load -q -i "$T/img.tar" >/dev/null
	run drun seed-pulled:latest cat /srv/x /etc/motd
	[ "$output" = "$(printf 'pulled-build\nbase motd')" ]
}

# The whole build, from a tree made in ORDER, in directory DIR.
build_all() {
	local dir=$1 order=$2
	mkdir -p "$dir/tree/bin" "$dir/tree/etc" "$dir/tree/srv"
	if [ "$order" = forward ]; then
		cp /bin/busybox "$dir/tree/bin/busybox"
		echo a >"$dir/tree/srv/a"
		echo b >"$dir/tree/srv/b"
		ln -s busybox "$dir/tree/bin/sh"
	else
		ln -s busybox "$dir/tree/bin/sh"
		echo b >"$dir/tree/srv/b"
		echo a >"$dir/tree/srv/a"
		cp /bin/busybox "$dir/tree/bin/busybox"
	fi
	chmod 755 "$dir/tree/bin/busybox"
	chmod 644 "$dir/tree/srv/a" "$dir/tree/srv/b"
	chmod 755 "$dir/tree" "$dir/tree/bin" "$dir/tree/etc" "$dir/tree/srv"
	(cd "$dir" && di-layer tree >l.bundle && di-cook -n repro -t 1 l.bundle >img.tar)
}

@test "reproducible: two builds in other directories, umask, TZ and creation order give the same bytes" {
	(umask 022 && TZ=UTC LC_ALL=C build_all "$T/one" forward)
	(umask 077 && TZ=Asia/Tokyo LC_ALL=C.UTF-8 build_all "$T/two" backward)
	cmp "$T/one/l.bundle" "$T/two/l.bundle"
	cmp "$T/one/img.tar" "$T/two/img.tar"
}
