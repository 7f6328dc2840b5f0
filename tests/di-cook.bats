#!/usr/bin/env bats
# di-cook: layers and a config into one image archive, and the IMAGE reader
# behind --from.  The archive is checked member by member here, its legacy
# ids are recomputed as the seed computed them, and then the real programs
# take it: Docker (load, run, save), podman, skopeo, umoci, and the OCI
# image-spec's JSON schemas.

load lib/testlib
load lib/peers

SCHEMAS=/usr/share/gocode/src/github.com/opencontainers/image-spec/schema

setup_file() {
	export FIX=$BATS_FILE_TMPDIR/fix
	mkdir -p "$FIX/bb/bin" "$FIX/etc/etc" "$FIX/more/etc"
	cp "$(command -v busybox)" "$FIX/bb/bin/busybox"
	printf 'hello\n' >"$FIX/etc/etc/greeting"
	printf 'NAME=di\n' >"$FIX/etc/etc/os-release"
	printf 'more\n' >"$FIX/more/etc/more"
	for d in bb etc more; do
		tar -C "$FIX/$d" --sort=name --owner=0 --group=0 \
			--numeric-owner --mtime=@1 -cf "$FIX/$d.tar" .
	done
	# A BUNDLE as mkPureLayer made it: VERSION, json, layer.tar.
	mkbundle "$FIX/bb.tar" \
		'{"architecture":"amd64","config":{"Cmd":["/bin/busybox","echo","hello from di"],"Env":["PATH=/bin"]},"created":"1970-01-01T00:00:01Z","os":"linux"}' \
		"$FIX/bb.bundle"
	mkbundle "$FIX/etc.tar" \
		'{"architecture":"amd64","config":{"Cmd":["/bin/busybox","cat","/etc/greeting"],"Env":["PATH=/bin"]},"created":"1970-01-01T00:00:01Z","os":"linux","checksum":"tarsum.v1+sha256:0000000000000000000000000000000000000000000000000000000000000000"}' \
		"$FIX/etc.bundle"
	if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; then
		dockerd_start || export DOCKERD_FAILED=1
		podman_setup || true
	fi
}

teardown_file() {
	podman_cleanup
	containerd_stop
	dockerd_stop
}

# mkbundle LAYER JSON OUT: a BUNDLE made with GNU tar.
mkbundle() {
	local d
	d=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/bundle.XXXXXX")
	printf '1.0' >"$d/VERSION"
	printf '%s' "$2" >"$d/json"
	cp "$1" "$d/layer.tar"
	tar -C "$d" --owner=0 --group=0 --numeric-owner --mtime=@1 \
		-cf "$3" VERSION json layer.tar
	rm -rf "$d"
}

# member ARCHIVE NAME: a member's bytes.
member() {
	tar -xOf "$1" "$2"
}

sha() {
	sha256sum "$@" | cut -c1-64
}

# The archive's members, in order, with their types (ls -l's first letter).
listing() {
	tar -tvf "$1" | awk '{ print substr($1, 1, 1), $6, $7, $8 }'
}

# The layers of manifest.json's first image, extracted in order into DIR.
# Whiteouts are not needed by these images.
unpack_layers() {
	local img=$1 dir=$2 l
	mkdir -p "$dir"
	for l in $(member "$img" manifest.json | jq -r '.[0].Layers[]'); do
		tar -xOf "$img" "$l" | tar -C "$dir" -xf -
	done
}

need_docker() {
	peers_check
	peers_require docker dockerd
	peers_require_root
	[ -z "${DOCKERD_FAILED:-}" ] || {
		[ "${CI:-}" != true ] || return 1
		skip "dockerd did not start"
	}
}

# --- the archive ------------------------------------------------------

@test "hybrid: the layer's bytes once, other names link to them" {
	di-cook -n hello -t v1 "$FIX/bb.bundle" >"$T/img.tar"
	has_eoa "$T/img.tar"
	local diff id cfg man
	diff=$(sha "$FIX/bb.tar")
	id=$(sha <(member "$FIX/bb.bundle" json))
	cfg=$(member "$T/img.tar" manifest.json | jq -r '.[0].Config')
	cfg=${cfg#blobs/sha256/}
	man=$(member "$T/img.tar" index.json | jq -r '.manifests[0].digest')
	man=${man#sha256:}
	run listing "$T/img.tar"
	[ "$output" = "- oci-layout  
d $id/  
- $id/VERSION  
- $id/json  
- $id/layer.tar  
d blobs/  
d blobs/sha256/  
l blobs/sha256/$diff -> ../../$id/layer.tar
- blobs/sha256/$cfg  
- blobs/sha256/$man  
- index.json  
- manifest.json  
- repositories  " ]
	cmp "$FIX/bb.tar" <(member "$T/img.tar" "$id/layer.tar")
	[ "$(member "$T/img.tar" oci-layout)" = '{"imageLayoutVersion":"1.0.0"}' ]
	[ "$(member "$T/img.tar" "$id/VERSION")" = 1.0 ]
	[ "$(member "$T/img.tar" repositories)" = "{\"hello\":{\"v1\":\"$id\"}}" ]
	[ "$(member "$T/img.tar" manifest.json)" = "[{\"Config\":\"blobs/sha256/$cfg\",\"Layers\":[\"$id/layer.tar\"],\"RepoTags\":[\"hello:v1\"]}]" ]
	# Blobs are named by their digests.
	[ "$(member "$T/img.tar" "blobs/sha256/$cfg" | sha)" = "$cfg" ]
	[ "$(member "$T/img.tar" "blobs/sha256/$man" | sha)" = "$man" ]
}

@test "hybrid: config, OCI manifest and index say what the layer is" {
	di-cook -n reg.example:5000/ns/hello -t v1 "$FIX/bb.bundle" >"$T/img.tar"
	local diff size cfg
	diff=$(sha "$FIX/bb.tar")
	size=$(stat -c %s "$FIX/bb.tar")
	cfg=$(member "$T/img.tar" manifest.json | jq -r '.[0].Config')
	run member "$T/img.tar" "$cfg"
	[ "$output" = '{"architecture":"amd64","config":{"Cmd":["/bin/busybox","echo","hello from di"],"Env":["PATH=/bin"]},"created":"1970-01-01T00:00:01Z","history":[{"created":"1970-01-01T00:00:01Z","created_by":"di-cook"}],"os":"linux","rootfs":{"diff_ids":["sha256:'$diff'"],"type":"layers"}}' ]
	local idx man
	idx=$(member "$T/img.tar" index.json)
	# Named as containerd's export names them: the full name, and the tag.
	[ "$(jq -c '.manifests[0].annotations' <<<"$idx")" = '{"io.containerd.image.name":"reg.example:5000/ns/hello:v1","org.opencontainers.image.ref.name":"v1"}' ]
	[ "$(jq -c '.manifests[0].platform' <<<"$idx")" = '{"architecture":"amd64","os":"linux"}' ]
	man=$(jq -r '.manifests[0].digest' <<<"$idx")
	run member "$T/img.tar" "blobs/sha256/${man#sha256:}"
	[ "$output" = '{"config":{"digest":"sha256:'"${cfg#blobs/sha256/}"'","mediaType":"application/vnd.oci.image.config.v1+json","size":'"$(member "$T/img.tar" "$cfg" | wc -c)"'},"layers":[{"digest":"sha256:'$diff'","mediaType":"application/vnd.oci.image.layer.v1.tar","size":'$size'}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}' ]
	[ "$(jq -r .repositories <<<"{}")" = null ]
	[ "$(member "$T/img.tar" repositories | jq -r 'keys[0]')" = reg.example:5000/ns/hello ]
}

@test "legacy ids are the seed's: sha256 of the json with its parent" {
	di-cook -n hello -t v1 --format legacy "$FIX/bb.bundle" "$FIX/etc.bundle" \
		"$FIX/more.tar" >"$T/img.tar"
	# The seed: the bottom layer's id hashes its json as it is; above,
	# jshon added "parent" and the id hashed that (here jq, sorted keys,
	# compact: the canonical JSON di writes).
	local id1 id2 id3 top
	id1=$(member "$FIX/bb.bundle" json | sha)
	id2=$(member "$FIX/etc.bundle" json | jq -cjS --arg p "$id1" '. + {parent: $p}' | sha)
	# The top layer has no json of its own: where, when, and the config.
	id3=$(jq -cjS -n --arg p "$id2" '{architecture: "amd64", os: "linux",
		created: "1970-01-01T00:00:01Z", parent: $p,
		config: {Cmd: ["/bin/busybox","cat","/etc/greeting"], Env: ["PATH=/bin"]}}' | sha)
	top=$(member "$T/img.tar" repositories | jq -r '.hello.v1')
	[ "$top" = "$id3" ]
	# Each json then gets its id and Size, exactly as the seed added them.
	run member "$T/img.tar" "$id2/json"
	[ "$output" = "$(member "$FIX/etc.bundle" json | jq -cjS --arg p "$id1" --arg id "$id2" \
		--argjson s "$(stat -c %s "$FIX/etc.tar")" '. + {parent: $p, id: $id, Size: $s}')" ]
	[ "$(member "$T/img.tar" "$id1/json" | jq -r '.id, .Size, .parent')" = "$id1
$(stat -c %s "$FIX/bb.tar")
null" ]
	[ "$(member "$T/img.tar" "$id3/json" | jq -r .parent)" = "$id2" ]
	cmp "$FIX/more.tar" <(member "$T/img.tar" "$id3/layer.tar")
	# The seed's format: no manifest.json, no OCI layout.
	run listing "$T/img.tar"
	[[ $output != *manifest.json* && $output != *blobs* && $output != *index.json* ]]
	[ "$(tar -tf "$T/img.tar" | grep -c /layer.tar)" = 3 ]
}

@test "docker format: docker save's layout, no OCI layout" {
	di-cook -n hello --format docker "$FIX/bb.bundle" >"$T/img.tar"
	local id cfg
	id=$(member "$FIX/bb.bundle" json | sha)
	cfg=$(member "$T/img.tar" manifest.json | jq -r '.[0].Config')
	[[ $cfg =~ ^[0-9a-f]{64}\.json$ ]]
	[ "$(member "$T/img.tar" "$cfg" | sha)" = "${cfg%.json}" ]
	run listing "$T/img.tar"
	[ "$output" = "d $id/  
- $id/VERSION  
- $id/json  
- $id/layer.tar  
- $cfg  
- manifest.json  
- repositories  " ]
	[ "$(member "$T/img.tar" manifest.json | jq -c '.[0].RepoTags')" = '["hello:latest"]' ]
}

@test "oci format: an OCI image layout alone" {
	di-cook -n hello -t 2 --format oci "$FIX/bb.bundle" "$FIX/more.tar" >"$T/img.tar"
	run tar -tf "$T/img.tar"
	[[ $output != *repositories* && $output != *manifest.json* && $output != */json* && $output != */VERSION* ]]
	local man
	man=$(member "$T/img.tar" index.json | jq -r '.manifests[0].digest')
	member "$T/img.tar" "blobs/sha256/${man#sha256:}" >"$T/man.json"
	# Every blob the manifest names is there, under its digest.
	for d in $(jq -r '.config.digest, .layers[].digest' "$T/man.json"); do
		[ "$(member "$T/img.tar" "blobs/sha256/${d#sha256:}" 2>/dev/null | sha)" = "${d#sha256:}" ] ||
			[ "$(tar -xOf "$T/img.tar" "$(tar -tvf "$T/img.tar" | awk -v b="blobs/sha256/${d#sha256:}" '$6 == b { sub("../../", "", $8); print $8 }')" | sha)" = "${d#sha256:}" ]
	done
	[ "$(jq -r '.layers | length' "$T/man.json")" = 2 ]
	# Docker Hub's defaults are spelled out in containerd's name.
	for n in hello=docker.io/library/hello:2 trips/bb=docker.io/trips/bb:2 \
		docker.io/library/hello=docker.io/library/hello:2 \
		localhost:5000/a/b=localhost:5000/a/b:2; do
		di-cook -n "${n%%=*}" -t 2 --format oci "$FIX/bb.bundle" >"$T/n.tar"
		[ "$(member "$T/n.tar" index.json | jq -r '.manifests[0].annotations | .["io.containerd.image.name"] + " " + .["org.opencontainers.image.ref.name"]')" = "${n#*=} 2" ]
	done
}

@test "the same inputs give the same bytes, whatever the clock, umask or zone" {
	di-cook -n a -t b "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/1.tar"
	(umask 077; TZ=Asia/Tokyo LC_ALL=C.UTF-8 di-cook -n a -t b \
		"$FIX/bb.bundle" "$FIX/etc.tar" >"$T/2.tar")
	cmp "$T/1.tar" "$T/2.tar"
	SOURCE_DATE_EPOCH=86400 di-cook -n a -t b "$FIX/bb.bundle" >"$T/3.tar"
	cfg=$(member "$T/3.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/3.tar" "$cfg" | jq -r .created)" = 1970-01-02T00:00:00Z ]
	[ "$(tar --full-time -tvf "$T/3.tar" manifest.json | awk '{print $4, $5}')" = "1970-01-02 00:00:00" ]
	di-cook -n a --created 2024-05-01T10:00:00Z "$FIX/bb.bundle" >"$T/4.tar"
	cfg=$(member "$T/4.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/4.tar" "$cfg" | jq -r '.created, .history[0].created')" = "2024-05-01T10:00:00Z
2024-05-01T10:00:00Z" ]
}

@test "-c CONFIG: laid over the base's; Env merged by name, later wins" {
	di-cook -n base "$FIX/bb.bundle" >"$T/base.tar"
	cat >"$T/config.json" <<-'EOF'
	{"Env": ["HOME=/root", "PATH=/usr/bin:/bin"], "Entrypoint": ["/bin/busybox"],
	 "Labels": {"a": "1"}, "WorkingDir": "/etc", "ExposedPorts": {"80/tcp": {}}}
	EOF
	# CONFIG may be a pipe: it is read once.
	di-cook --from "$T/base.tar" -n app -c <(cat "$T/config.json") "$FIX/etc.tar" >"$T/app.tar"
	cfg=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	run member "$T/app.tar" "$cfg"
	[ "$(jq -c .config <<<"$output")" = '{"Entrypoint":["/bin/busybox"],"Env":["PATH=/usr/bin:/bin","HOME=/root"],"ExposedPorts":{"80/tcp":{}},"Labels":{"a":"1"},"WorkingDir":"/etc"}' ]
	# The base's history comes first, one entry per layer.
	[ "$(jq -c '[.history[].created_by]' <<<"$output")" = '["di-cook","di-cook"]' ]
	# The legacy top layer carries the same config, for old loaders.
	top=$(member "$T/app.tar" repositories | jq -r .app.latest)
	[ "$(member "$T/app.tar" "$top/json" | jq -c .config)" = "$(jq -c .config <<<"$output")" ]
	# Without -c, the top bundle's config is laid over the base's.
	di-cook --from "$T/app.tar" -n app2 "$FIX/etc.bundle" >"$T/app2.tar"
	cfg=$(member "$T/app2.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app2.tar" "$cfg" | jq -c .config)" = '{"Cmd":["/bin/busybox","cat","/etc/greeting"],"Entrypoint":["/bin/busybox"],"Env":["PATH=/bin","HOME=/root"],"ExposedPorts":{"80/tcp":{}},"Labels":{"a":"1"},"WorkingDir":"/etc"}' ]
}

@test "--from: the base's layers and legacy ids are kept byte for byte" {
	di-cook -n base "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/base.tar"
	di-cook --from "$T/base.tar" -n app "$FIX/more.tar" >"$T/app.tar"
	run member "$T/app.tar" manifest.json
	local base_layers app_layers
	base_layers=$(member "$T/base.tar" manifest.json | jq -r '.[0].Layers[]')
	app_layers=$(jq -r '.[0].Layers[]' <<<"$output")
	[ "$(head -2 <<<"$app_layers")" = "$base_layers" ]
	for l in $base_layers; do
		cmp <(member "$T/base.tar" "$l") <(member "$T/app.tar" "$l")
		cmp <(member "$T/base.tar" "${l%layer.tar}json") <(member "$T/app.tar" "${l%layer.tar}json")
	done
	# The new layer's parent is the base's top.
	top=$(member "$T/base.tar" repositories | jq -r .base.latest)
	new=$(tail -1 <<<"$app_layers")
	[ "$(member "$T/app.tar" "${new%layer.tar}json" | jq -r .parent)" = "$top" ]
	cfg=$(jq -r '.[0].Config' <<<"$output")
	[ "$(member "$T/app.tar" "$cfg" | jq -r '.rootfs.diff_ids[]' | cut -c8-)" = "$(sha "$FIX/bb.tar")
$(sha "$FIX/etc.tar")
$(sha "$FIX/more.tar")" ]
}

@test "--from reads every form: docker, oci, legacy, compressed, a pipe" {
	for f in hybrid docker oci legacy; do
		di-cook -n base -t "$f" --format "$f" "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/$f.tar"
	done
	di-cook --from "$T/hybrid.tar" -n app "$FIX/more.tar" >"$T/want.tar"
	unpack_layers "$T/want.tar" "$T/want"
	local want_cfg
	want_cfg=$(member "$T/want.tar" manifest.json | jq -r '.[0].Config')
	want_cfg=$(member "$T/want.tar" "$want_cfg" | jq -c '.rootfs, .config')
	gzip -n <"$T/oci.tar" >"$T/oci.tar.gz"
	zstd -q <"$T/docker.tar" >"$T/docker.tar.zst"
	for f in docker oci legacy oci.tar.gz docker.tar.zst; do
		[ -e "$T/$f" ] || f=$f.tar
		di-cook --from "$T/$f" -n app "$FIX/more.tar" >"$T/got.tar"
		cfg=$(member "$T/got.tar" manifest.json | jq -r '.[0].Config')
		[ "$(member "$T/got.tar" "$cfg" | jq -c '.rootfs, .config')" = "$want_cfg" ]
		rm -rf "$T/got"
		unpack_layers "$T/got.tar" "$T/got"
		diff -r "$T/want" "$T/got"
	done
	# A pipe is spooled; the result is the file's.
	cat "$T/hybrid.tar" | di-cook --from - -n app "$FIX/more.tar" >"$T/piped.tar"
	cmp "$T/want.tar" "$T/piped.tar"
}

@test "--from: the legacy form's layers come from its parent chain" {
	di-cook -n old --format legacy "$FIX/bb.bundle" "$FIX/etc.bundle" >"$T/old.tar"
	di-cook --from "$T/old.tar" -n new --format docker "$FIX/more.tar" >"$T/new.tar"
	run member "$T/new.tar" manifest.json
	local ids
	ids=$(member "$T/old.tar" repositories | jq -r .old.latest)
	ids="$(member "$T/old.tar" "$ids/json" | jq -r .parent) $ids"
	[ "$(jq -r '.[0].Layers[0:2] | join(" ")' <<<"$output")" = "${ids% *}/layer.tar ${ids#* }/layer.tar" ]
	cfg=$(jq -r '.[0].Config' <<<"$output")
	# The legacy form has no diff_ids: they were computed from the layers.
	[ "$(member "$T/new.tar" "$cfg" | jq -r '.rootfs.diff_ids[0]')" = "sha256:$(sha "$FIX/bb.tar")" ]
}

# oci_to_blobs_only DIR: the layers' bytes into blobs/, as newer docker
# save and containerd write them; no legacy directories.
oci_to_blobs_only() {
	local l
	for l in "$1"/blobs/sha256/*; do
		[ ! -L "$l" ] || cp --remove-destination "$(readlink -f "$l")" "$l"
	done
	find "$1" -mindepth 1 -maxdepth 1 -type d -regextype egrep \
		-regex '.*/[0-9a-f]{64}' -exec rm -rf {} +
}

@test "--from: newer docker save and containerd's OCI-layout forms" {
	di-cook -n base -t v1 --format oci "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/oci.tar"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/oci.tar"
	oci_to_blobs_only "$T/x"
	man=$(jq -r '.manifests[0].digest' "$T/x/index.json" | cut -c8-)
	cfg=$(jq -r .config.digest "$T/x/blobs/sha256/$man" | cut -c8-)
	# Docker 25: manifest.json naming blobs, and the tag alone as ref.name.
	jq -n --arg c "blobs/sha256/$cfg" \
		--argjson l "$(jq '[.layers[].digest | "blobs/sha256/" + .[7:]]' "$T/x/blobs/sha256/$man")" \
		'[{Config: $c, RepoTags: ["base:v1"], Layers: $l}]' >"$T/x/manifest.json"
	jq '.manifests[0].annotations = {"io.containerd.image.name": "docker.io/library/base:v1",
		"org.opencontainers.image.ref.name": "v1"}' "$T/x/index.json" >"$T/i" &&
		mv "$T/i" "$T/x/index.json"
	tar -C "$T/x" -cf "$T/d25.tar" .
	want="sha256:$(sha "$FIX/bb.tar") sha256:$(sha "$FIX/etc.tar") sha256:$(sha "$FIX/more.tar")"
	di-cook --from "$T/d25.tar" --from-name base -n app "$FIX/more.tar" >"$T/app.tar"
	cfg2=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app.tar" "$cfg2" | jq -r '.rootfs.diff_ids | join(" ")')" = "$want" ]
	# The OCI layout alone: chosen by containerd's name, or by the tag.
	rm "$T/x/manifest.json"
	tar -C "$T/x" -cf "$T/ctr.tar" .
	for choice in "--from-name base:v1" "--from-name docker.io/library/base --from-tag v1" "--from-tag v1" ""; do
		di-cook --from "$T/ctr.tar" $choice -n app "$FIX/more.tar" >"$T/app.tar"
		cfg2=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
		[ "$(member "$T/app.tar" "$cfg2" | jq -r '.rootfs.diff_ids | join(" ")')" = "$want" ]
	done
	run di-cook --from "$T/ctr.tar" --from-name other -n app "$FIX/more.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-cook: $T/ctr.tar: no image other" ]
}

@test "--from: gzip layers are copied as they are, and checked decompressed" {
	di-cook -n base --format oci "$FIX/bb.bundle" >"$T/oci.tar"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/oci.tar"
	oci_to_blobs_only "$T/x"
	local b=$T/x/blobs/sha256 man cfg layer gz
	man=$(jq -r '.manifests[0].digest' "$T/x/index.json" | cut -c8-)
	cfg=$(jq -r .config.digest "$b/$man" | cut -c8-)
	layer=$(jq -r '.layers[0].digest' "$b/$man" | cut -c8-)
	gzip -n <"$b/$layer" >"$T/gz"
	gz=$(sha "$T/gz") && mv "$T/gz" "$b/$gz" && rm "$b/$layer"
	# A manifest of the gzip layer and config $1, named by index.json.
	put_manifest() {
		jq -cj --arg l "sha256:$gz" --argjson ls "$(stat -c %s "$b/$gz")" \
			--arg c "sha256:$1" --argjson cs "$(stat -c %s "$b/$1")" \
			'.layers[0] |= (.digest = $l | .size = $ls | .mediaType += "+gzip")
			| .config.digest = $c | .config.size = $cs' "$b/$man" >"$T/m"
		local m
		m=$(sha "$T/m") && mv "$T/m" "$b/$m"
		jq --arg d "sha256:$m" --argjson s "$(stat -c %s "$b/$m")" \
			'.manifests[0].digest = $d | .manifests[0].size = $s' "$T/x/index.json" >"$T/i"
		mv "$T/i" "$T/x/index.json"
	}
	put_manifest "$cfg"
	tar -C "$T/x" -cf "$T/gz.tar" .
	di-cook --from "$T/gz.tar" -n app "$FIX/etc.tar" >"$T/app.tar"
	local l0 mt
	l0=$(member "$T/app.tar" manifest.json | jq -r '.[0].Layers[0]')
	cmp "$b/$gz" <(member "$T/app.tar" "$l0")
	m=$(member "$T/app.tar" index.json | jq -r '.manifests[0].digest' | cut -c8-)
	mt=$(member "$T/app.tar" "blobs/sha256/$m" | jq -r '.layers[0] | .mediaType, .digest')
	[ "$mt" = "application/vnd.oci.image.layer.v1.tar+gzip
sha256:$gz" ]
	c=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app.tar" "$c" | jq -r '.rootfs.diff_ids[0]')" = "sha256:$(sha "$FIX/bb.tar")" ]
	# A config that says another diff_id: found when decompressed.
	jq -cj '.rootfs.diff_ids[0] = "sha256:" + ("0" * 64)' "$b/$cfg" >"$T/c"
	c2=$(sha "$T/c") && mv "$T/c" "$b/$c2"
	put_manifest "$c2"
	tar -C "$T/x" -cf "$T/bad.tar" .
	fails 1 "$T/bad.tar: layer 1 (blobs/sha256/$gz): diff_id is sha256:$(sha "$FIX/bb.tar"), the config says sha256:$(printf '0%.0s' {1..64})" \
		di-cook --from "$T/bad.tar" -n app "$FIX/etc.tar"
}

@test "--from: an index of platforms gives this machine's image" {
	[ "$(uname -m)" = x86_64 ] || skip "the fixture is amd64"
	di-cook -n base --format oci "$FIX/bb.bundle" >"$T/oci.tar"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/oci.tar"
	local b=$T/x/blobs/sha256 man cfg arm armman att index
	man=$(jq -r '.manifests[0].digest' "$T/x/index.json" | cut -c8-)
	cfg=$(jq -r .config.digest "$b/$man" | cut -c8-)
	# An arm64 image of the same layer, and an attestation: not images.
	jq -cj '.architecture = "arm64"' "$b/$cfg" >"$T/arm"
	arm=$(sha "$T/arm") && mv "$T/arm" "$b/$arm"
	jq -cj --arg d "sha256:$arm" --argjson s "$(stat -c %s "$b/$arm")" \
		'.config.digest = $d | .config.size = $s' "$b/$man" >"$T/m"
	armman=$(sha "$T/m") && mv "$T/m" "$b/$armman"
	jq -cj '.layers = []' "$b/$man" >"$T/a"
	att=$(sha "$T/a") && mv "$T/a" "$b/$att"
	desc() { jq -cn --arg d "sha256:$1" --argjson s "$(stat -c %s "$b/$1")" \
		--arg a "$2" --arg o "$3" '{mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $d, size: $s, platform: {architecture: $a, os: $o}}'; }
	jq -cjn --argjson a "$(desc "$att" unknown unknown)" --argjson b "$(desc "$armman" arm64 linux)" \
		--argjson c "$(desc "$man" amd64 linux)" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b, $c]}' >"$T/i"
	index=$(sha "$T/i") && mv "$T/i" "$b/$index"
	jq -cn --arg d "sha256:$index" --argjson s "$(stat -c %s "$b/$index")" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.index.v1+json",
		digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "base:latest"}}]}' >"$T/x/index.json"
	tar -C "$T/x" -cf "$T/multi.tar" .
	di-cook --from "$T/multi.tar" --from-name base -n app "$FIX/etc.tar" >"$T/app.tar"
	c=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app.tar" "$c" | jq -r '.architecture, (.rootfs.diff_ids | length)')" = "amd64
2" ]
}

@test "--from alone: the base retagged, converted, or given a new config" {
	di-cook -n base -t 1 --format docker "$FIX/bb.bundle" "$FIX/etc.bundle" >"$T/base.tar"
	di-cook --from "$T/base.tar" -n again -t 1 --format docker >"$T/again.tar"
	# The layers, their ids and the config are the base's.
	for m in $(tar -tf "$T/base.tar" | grep -v '^repositories$\|^manifest.json$'); do
		cmp <(member "$T/base.tar" "$m") <(member "$T/again.tar" "$m")
	done
	[ "$(member "$T/again.tar" manifest.json | jq -c '.[0].RepoTags')" = '["again:1"]' ]
	# A new config goes into the top layer's json: a new id there only.
	echo '{"Cmd": ["/bin/busybox", "true"]}' >"$T/c.json"
	di-cook --from "$T/base.tar" -n again -c "$T/c.json" --format docker >"$T/new.tar"
	local old new
	old=$(member "$T/base.tar" manifest.json | jq -r '.[0].Layers | join(" ")')
	new=$(member "$T/new.tar" manifest.json | jq -r '.[0].Layers | join(" ")')
	[ "${old%% *}" = "${new%% *}" ]
	[ "${old##* }" != "${new##* }" ]
	[ "$(member "$T/new.tar" "${new##* }" | sha)" = "$(sha "$FIX/etc.tar")" ]
	[ "$(member "$T/new.tar" "$(dirname "${new##* }")/json" | jq -c .config.Cmd)" = '["/bin/busybox","true"]' ]
	run di-cook --from "$T/base.tar" -n x --format legacy -o "$T/l.tar"
	[ "$status" -eq 0 ]
	top=$(member "$T/l.tar" repositories | jq -r .x.latest)
	[ "$(member "$T/l.tar" "$top/json" | jq -c .config.Cmd)" = '["/bin/busybox","cat","/etc/greeting"]' ]
}

@test "--progress reports each layer on stderr, not on stdout" {
	di-cook -n a --progress "$FIX/bb.bundle" "$FIX/etc.tar" 2>"$T/err" >"$T/img.tar"
	cmp "$T/img.tar" <(di-cook -n a "$FIX/bb.bundle" "$FIX/etc.tar" 2>/dev/null)
	[ "$(cat "$T/err")" = "di-cook: layer 1: $FIX/bb.bundle: $(stat -c %s "$FIX/bb.tar") bytes, sha256:$(sha "$FIX/bb.tar")
di-cook: layer 2: $FIX/etc.tar: $(stat -c %s "$FIX/etc.tar") bytes, sha256:$(sha "$FIX/etc.tar")
di-cook: a:latest: 2 layers, $(($(stat -c %s "$FIX/bb.tar") + $(stat -c %s "$FIX/etc.tar"))) bytes" ]
}

@test "--from-name and --from-tag choose one image of several" {
	di-cook -n one -t a "$FIX/bb.bundle" >"$T/one.tar"
	di-cook -n two -t b --format docker "$FIX/etc.bundle" >"$T/two.tar"
	# Two images in one docker-archive: both manifests, all members.
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/one.tar"
	tar -C "$T/x" -xf "$T/two.tar"
	jq -s 'add' <(member "$T/one.tar" manifest.json) <(member "$T/two.tar" manifest.json) >"$T/x/manifest.json"
	tar -C "$T/x" -cf "$T/both.tar" --sort=name .
	di-cook --from "$T/both.tar" --from-name two -n app "$FIX/more.tar" >"$T/app.tar"
	cfg=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app.tar" "$cfg" | jq -r '.rootfs.diff_ids[0]')" = "sha256:$(sha "$FIX/etc.tar")" ]
	di-cook --from "$T/both.tar" --from-name docker.io/library/one --from-tag a -n app "$FIX/more.tar" >"$T/app.tar"
	cfg=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app.tar" "$cfg" | jq -r '.rootfs.diff_ids[0]')" = "sha256:$(sha "$FIX/bb.tar")" ]
	# Without a choice, the first.
	di-cook --from "$T/both.tar" -n app "$FIX/more.tar" >"$T/app.tar"
	cfg=$(member "$T/app.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/app.tar" "$cfg" | jq -r '.rootfs.diff_ids[0]')" = "sha256:$(sha "$FIX/bb.tar")" ]
	run di-cook --from "$T/both.tar" --from-name three -n app "$FIX/more.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-cook: $T/both.tar: no image three" ]
	run di-cook --from "$T/both.tar" --from-name one --from-tag b -n app "$FIX/more.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-cook: $T/both.tar: no image one:b" ]
}

@test "plain layers from a pipe or compressed are spooled, bundles stream" {
	di-cook -n a "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/want.tar"
	cat "$FIX/etc.tar" | di-cook -n a "$FIX/bb.bundle" - >"$T/1.tar"
	cmp "$T/want.tar" "$T/1.tar"
	gzip -n <"$FIX/etc.tar" >"$T/etc.tar.gz"
	cat "$T/etc.tar.gz" | di-cook -n a "$FIX/bb.bundle" - >"$T/2.tar"
	cmp "$T/want.tar" "$T/2.tar"
	cat "$FIX/bb.bundle" | di-cook -n a - "$FIX/etc.tar" >"$T/3.tar"
	cmp "$T/want.tar" "$T/3.tar"
	zstd -q <"$FIX/bb.bundle" | di-cook -n a - "$FIX/etc.tar" >"$T/4.tar"
	cmp "$T/want.tar" "$T/4.tar"
	di-cook -n a -o "$T/5.tar" "$FIX/bb.bundle" "$FIX/etc.tar"
	cmp "$T/want.tar" "$T/5.tar"
}

# --- bad input --------------------------------------------------------

# fails STATUS MESSAGE CMD...: exits so, says so on stderr, and its
# standard output never gets an archive's end.
fails() {
	local want=$1 msg=$2
	shift 2
	run bash -c '"$@" 2>&1 >"$0"' "$T/out.tar" "$@"
	echo "status $status: $output" >&2
	[ "$status" -eq "$want" ]
	[[ $output == *"$msg"* ]]
	if has_eoa "$T/out.tar"; then return 1; fi
}

@test "a bundle with members missing or out of order" {
	mkdir "$T/b"
	cp "$FIX/etc.tar" "$T/b/layer.tar"
	printf 1.0 >"$T/b/VERSION"
	printf '{}' >"$T/b/json"
	tar -C "$T/b" -cf "$T/order.bundle" VERSION layer.tar json
	fails 1 "$T/order.bundle: not a bundle: expected 'json' next" \
		di-cook -n x "$FIX/bb.bundle" "$T/order.bundle"
	tar -C "$T/b" -cf "$T/short.bundle" VERSION json
	fails 1 "$T/short.bundle: not a bundle: 'layer.tar' is missing" \
		di-cook -n x "$FIX/bb.bundle" "$T/short.bundle"
	printf 2.0 >"$T/b/VERSION"
	tar -C "$T/b" -cf "$T/v2.bundle" VERSION json layer.tar
	fails 1 "bundle VERSION is '2.0', not 1.0" di-cook -n x "$T/v2.bundle"
}

@test "a json that does not parse" {
	mkbundle "$FIX/etc.tar" '{"config": {' "$T/bad.bundle"
	fails 1 "$T/bad.bundle: json: " di-cook -n x "$FIX/bb.bundle" "$T/bad.bundle"
	printf '{"Env": "PATH=/bin"}' >"$T/c.json"
	fails 1 "Env is not an array of strings" di-cook -n x -c "$T/c.json" "$FIX/bb.bundle"
	# With -o, no file appears.
	run di-cook -n x -o "$T/o.tar" "$FIX/bb.bundle" "$T/bad.bundle"
	[ "$status" -eq 1 ]
	[ ! -e "$T/o.tar" ]
	[ -z "$(ls "$T" | grep o.tar)" ]
	printf '{"Env": [' >"$T/c.json"
	fails 1 "$T/c.json: " di-cook -n x -c "$T/c.json" "$FIX/bb.bundle"
}

# oci_config_edit DIR PYTHON: the config of the OCI layout in DIR rewritten
# by the Python statement PYTHON on `c` (its JSON, integers exact), with
# the manifest and the index renamed after it.  Not jq: jq 1.6 would round
# the numbers that these tests need as written.
oci_config_edit() {
	python3 - "$1" "$2" <<-'PY'
	import hashlib, json, os, sys
	d, stmt = sys.argv[1], sys.argv[2]
	def blob(digest):
	    return os.path.join(d, "blobs/sha256", digest[7:])
	def put(data):
	    digest = "sha256:" + hashlib.sha256(data).hexdigest()
	    open(blob(digest), "wb").write(data)
	    return {"digest": digest, "size": len(data)}
	index = json.load(open(os.path.join(d, "index.json")))
	man = json.load(open(blob(index["manifests"][0]["digest"])))
	c = json.load(open(blob(man["config"]["digest"])))
	exec(stmt)
	man["config"].update(put(json.dumps(c, separators=(",", ":")).encode()))
	index["manifests"][0].update(put(json.dumps(man).encode()))
	json.dump(index, open(os.path.join(d, "index.json"), "w"))
	PY
}

# base_with DIR PYTHON OUT: FIX/bb.tar as an OCI archive OUT whose config
# PYTHON changed.
base_with() {
	di-cook -n base -t v1 --format oci "$FIX/bb.tar" >"$T/b.tar"
	rm -rf "$1" && mkdir "$1" && tar -C "$1" -xf "$T/b.tar"
	oci_config_edit "$1" "$2"
	tar -C "$1" -cf "$3" .
}

cooked_config() {
	member "$1" "$(member "$1" manifest.json | jq -r '.[0].Config')"
}

@test "--from: a base whose config has no \"config\" (it is optional) is taken" {
	base_with "$T/x" 'del(c["config"])' "$T/base.tar"
	local man cfg
	man=$(jq -r .manifests[0].digest "$T/x/index.json")
	cfg=$(jq -r .config.digest "$T/x/blobs/sha256/${man#sha256:}")
	[ "$(jq -c 'keys' "$T/x/blobs/sha256/${cfg#sha256:}")" = '["architecture","created","history","os","rootfs"]' ]
	local path='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'
	# A plain layer on it, the base alone, a CONFIG, a bundle's config.
	di-cook --from "$T/base.tar" -n app "$FIX/etc.tar" >"$T/1.tar"
	[ "$(cooked_config "$T/1.tar" | jq -c .config)" = "{\"Env\":[$path]}" ]
	[ "$(cooked_config "$T/1.tar" | jq -r '.rootfs.diff_ids | length')" = 2 ]
	di-cook --from "$T/base.tar" -n app >"$T/2.tar"
	[ "$(cooked_config "$T/2.tar" | jq -c .config)" = "{\"Env\":[$path]}" ]
	echo '{"Cmd":["/bin/busybox","true"]}' >"$T/c.json"
	di-cook --from "$T/base.tar" -n app -c "$T/c.json" "$FIX/etc.tar" >"$T/3.tar"
	[ "$(cooked_config "$T/3.tar" | jq -c .config)" = "{\"Cmd\":[\"/bin/busybox\",\"true\"],\"Env\":[$path]}" ]
	di-cook --from "$T/base.tar" -n app "$FIX/etc.bundle" >"$T/4.tar"
	[ "$(cooked_config "$T/4.tar" | jq -c .config)" = '{"Cmd":["/bin/busybox","cat","/etc/greeting"],"Env":["PATH=/bin"]}' ]
}

@test "a config of the wrong type: the message names the input at fault" {
	base_with "$T/x" 'c["config"] = 5' "$T/base.tar"
	fails 1 "di-cook: $T/base.tar: the image config's \"config\" is not an object" \
		di-cook --from "$T/base.tar" -n app "$FIX/etc.tar"
	fails 1 "di-cook: $T/base.tar: the image config's \"config\" is not an object" \
		di-cook --from "$T/base.tar" -n app
	mkbundle "$FIX/etc.tar" '{"config": {"Env": "PATH=/bin"}}' "$T/env.bundle"
	fails 1 "di-cook: $T/env.bundle: Env is not an array of strings" \
		di-cook -n x "$FIX/bb.bundle" "$T/env.bundle" "$FIX/more.tar"
	mkbundle "$FIX/etc.tar" '{"config": 7}' "$T/seven.bundle"
	fails 1 "di-cook: $T/seven.bundle: the config is not an object" \
		di-cook -n x "$T/seven.bundle"
	echo '[]' >"$T/c.json"
	fails 1 "di-cook: $T/c.json: the config is not an object" \
		di-cook -n x -c "$T/c.json" "$T/seven.bundle"
}

@test "numbers a double cannot hold are kept as written, from the base and CONFIG" {
	# Beyond 2^53, beyond 2^64, an integer jq would write as 1e+17, and
	# numbers that are fine as they are.
	base_with "$T/x" 'c["config"]["Healthcheck"] = {"Test": ["NONE"], "Interval": 12345678901234567890, "Timeout": 9007199254740993, "StartPeriod": 100000000000000000, "Retries": 3}; c["config"]["x-ratio"] = 0.5' "$T/base.tar"
	grep -q '"Interval":12345678901234567890' "$T/x/blobs/sha256/"*
	echo '{"Labels":{"n":"1"},"x-big":[-98765432109876543210,1e400,1.5]}' >"$T/c.json"
	di-cook --from "$T/base.tar" -n app -c "$T/c.json" "$FIX/etc.tar" >"$T/app.tar"
	run cooked_config "$T/app.tar"
	[[ $output == *'"Healthcheck":{"Interval":12345678901234567890,"Retries":3,"StartPeriod":100000000000000000,"Test":["NONE"],"Timeout":9007199254740993}'* ]]
	[[ $output == *'"x-big":[-98765432109876543210,1e400,1.5],"x-ratio":0.5}'* ]]
	# The legacy top layer's json carries the same numbers.
	top=$(member "$T/app.tar" repositories | jq -r .app.latest)
	[[ $(member "$T/app.tar" "$top/json") == *'"Interval":12345678901234567890,'* ]]
	# And the image cooked again from it keeps them too, byte for byte.
	di-cook --from "$T/app.tar" -n again >"$T/again.tar"
	[ "$(cooked_config "$T/again.tar" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["Healthcheck"]["Interval"])')" = 12345678901234567890 ]
	[ "$(cooked_config "$T/again.tar" | jq -c .config.Labels)" = '{"n":"1"}' ]
}

@test "a base image with a missing layer or a wrong diff_id" {
	di-cook -n base --format docker "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/base.tar"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/base.tar"
	l=$(jq -r '.[0].Layers[1]' "$T/x/manifest.json")
	# A layer whose bytes are not what the config says.
	cp "$FIX/more.tar" "$T/x/$l"
	tar -C "$T/x" -cf "$T/wrong.tar" .
	fails 1 "$T/wrong.tar: $l: diff_id is sha256:$(sha "$FIX/more.tar"), expected sha256:$(sha "$FIX/etc.tar")" \
		di-cook --from "$T/wrong.tar" -n app "$FIX/more.tar"
	rm "$T/x/$l"
	tar -C "$T/x" -cf "$T/missing.tar" .
	fails 1 "$T/missing.tar: layer '$l' is missing" \
		di-cook --from "$T/missing.tar" -n app "$FIX/more.tar"
	# More layers than diff_ids.
	cp "$FIX/more.tar" "$T/x/$l"
	jq '.[0].Layers += [.[0].Layers[0]]' "$T/x/manifest.json" >"$T/m" && mv "$T/m" "$T/x/manifest.json"
	tar -C "$T/x" -cf "$T/count.tar" .
	fails 1 "has 2 diff_ids for 3 layers" di-cook --from "$T/count.tar" -n app "$FIX/more.tar"
	# An OCI blob whose bytes are not its name's.
	di-cook -n base --format oci "$FIX/bb.bundle" >"$T/oci.tar"
	mkdir "$T/o"
	tar -C "$T/o" -xf "$T/oci.tar"
	man=$(jq -r '.manifests[0].digest' "$T/o/index.json" | cut -c8-)
	cfg=$(jq -r .config.digest "$T/o/blobs/sha256/$man" | cut -c8-)
	jq -cj '.os = "plan9"' "$T/o/blobs/sha256/$cfg" >"$T/c" && mv "$T/c" "$T/o/blobs/sha256/$cfg"
	tar -C "$T/o" -cf "$T/tampered.tar" .
	fails 1 "$T/tampered.tar: blobs/sha256/$cfg: its digest is sha256:" \
		di-cook --from "$T/tampered.tar" -n app "$FIX/more.tar"
	printf 'junk' >"$T/junk.tar"
	fails 1 "$T/junk.tar: member at offset 0" di-cook --from "$T/junk.tar" -n app "$FIX/more.tar"
}

@test "a truncated layer or bundle" {
	head -c 1048576 "$FIX/bb.tar" >"$T/cut.tar"
	fails 1 "$T/cut.tar: offset 1048576: truncated data of './bin/busybox'" di-cook -n x "$T/cut.tar"
	head -c 1048576 "$FIX/bb.bundle" >"$T/cut.bundle"
	fails 1 "$T/cut.bundle: offset" di-cook -n x "$FIX/etc.bundle" "$T/cut.bundle"
	head -c 1000 "$FIX/etc.tar" >"$T/odd.tar"
	fails 1 "$T/odd.tar: " di-cook -n x "$T/odd.tar"
}

@test "usage errors exit 2" {
	run di-cook "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	[[ $output == *"an image name is needed"* ]]
	run di-cook -n x --format zip "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	[[ $output == *"unknown format 'zip'"* ]]
	run di-cook -n x --from-name y "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	run di-cook -n x --created yesterday "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	# Names that no loader would take: upper case, a bad tag.
	run di-cook -n Hello "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "di-cook: bad name 'Hello:latest'" ]
	run di-cook -n hello -t -v1 "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "di-cook: bad name 'hello:-v1'" ]
	run di-cook --help
	[ "$status" -eq 0 ]
	[[ $output == usage:* ]]
}

# --- the real programs ------------------------------------------------

@test "docker loads and runs the image, and sees its config" {
	need_docker
	di-cook -n di-cook-hello -t v1 "$FIX/bb.bundle" >"$T/img.tar"
	run docker load -i "$T/img.tar"
	[ "$status" -eq 0 ]
	[[ $output == *"Loaded image: di-cook-hello:v1"* ]]
	run docker run --rm --network none di-cook-hello:v1
	[ "$status" -eq 0 ]
	[ "$output" = "hello from di" ]
	[ "$(docker image inspect -f '{{json .Config.Env}}' di-cook-hello:v1)" = '["PATH=/bin"]' ]
}

@test "docker loads the legacy format" {
	need_docker
	di-cook -n di-cook-legacy -t v1 --format legacy "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	run docker load -i "$T/img.tar"
	[ "$status" -eq 0 ]
	run docker run --rm --network none di-cook-legacy:v1 /bin/busybox cat /etc/greeting
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run docker run --rm --network none di-cook-legacy:v1
	[ "$output" = "hello from di" ]
}

@test "docker save fed back as --from: both layers' files, one more layer" {
	need_docker
	di-cook -n di-cook-base -t v1 --format docker "$FIX/bb.bundle" >"$T/img.tar"
	docker load -i "$T/img.tar"
	docker save -o "$T/saved.tar" di-cook-base:v1
	di-cook --from "$T/saved.tar" -n di-cook-app -t v1 "$FIX/etc.bundle" >"$T/app.tar"
	run docker load -i "$T/app.tar"
	[[ $output == *"Loaded image: di-cook-app:v1"* ]]
	run docker run --rm --network none di-cook-app:v1
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run docker run --rm --network none di-cook-app:v1 /bin/busybox sh -c \
		'/bin/busybox ls /bin; /bin/busybox cat /etc/os-release'
	[ "$output" = "busybox
NAME=di" ]
	[ "$(docker image inspect -f '{{len .RootFS.Layers}}' di-cook-app:v1)" = 2 ]
}

@test "podman loads it and shows its config" {
	peers_check
	peers_require podman
	peers_require_root
	di-cook -n di-cook-pod -t v2 "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	run podman_private load -i "$T/img.tar"
	[ "$status" -eq 0 ]
	[[ $output == *"di-cook-pod:v2"* ]]
	run podman_private image inspect di-cook-pod:v2 --format '{{json .Config.Cmd}} {{len .RootFS.Layers}}'
	[ "$output" = '["/bin/busybox","echo","hello from di"] 2' ]
	# The OCI format alone: podman takes containerd's full name.
	di-cook -n di-cook-pod/oci -t v3 --format oci "$FIX/bb.bundle" >"$T/oci.tar"
	run podman_private load -i "$T/oci.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "Loaded image: docker.io/di-cook-pod/oci:v3" ]
}

@test "skopeo reads it as docker-archive and oci-archive; umoci unpacks it" {
	peers_check
	peers_require skopeo umoci
	di-cook -n di-cook-sk -t v3 "$FIX/bb.bundle" "$FIX/etc.bundle" "$FIX/more.tar" >"$T/img.tar"
	run skopeo inspect --raw "docker-archive:$T/img.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers | length' <<<"$output")" = 3 ]
	run skopeo inspect "docker-archive:$T/img.tar"
	[ "$(jq -c .Layers <<<"$output")" = "[\"sha256:$(sha "$FIX/bb.tar")\",\"sha256:$(sha "$FIX/etc.tar")\",\"sha256:$(sha "$FIX/more.tar")\"]" ]
	run skopeo inspect --config "oci-archive:$T/img.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -c .config.Cmd <<<"$output")" = '["/bin/busybox","cat","/etc/greeting"]' ]
	skopeo copy -q "oci-archive:$T/img.tar" "oci:$T/dir:v3"
	umoci unpack --image "$T/dir:v3" "$T/bundle"
	mkdir "$T/want"
	for l in bb etc more; do tar -C "$T/want" -xf "$FIX/$l.tar"; done
	diff -r --no-dereference "$T/want" "$T/bundle/rootfs"
	[ "$(jq -c .process.args "$T/bundle/config.json")" = '["/bin/busybox","cat","/etc/greeting"]' ]
}

@test "skopeo's docker-archive and oci-archive come back in as --from" {
	peers_check
	peers_require skopeo
	di-cook -n di-cook-sk -t v4 "$FIX/bb.bundle" >"$T/img.tar"
	skopeo copy -q "oci-archive:$T/img.tar" "docker-archive:$T/sk-docker.tar:sk/img:v4"
	skopeo copy -q --dest-compress --dest-compress-format gzip "oci-archive:$T/img.tar" "oci-archive:$T/sk-gz.tar:v4"
	skopeo copy -q --dest-compress --dest-compress-format zstd "oci-archive:$T/img.tar" "oci-archive:$T/sk-zstd.tar"
	[ "$(tar -xOf "$T/sk-gz.tar" index.json | jq -r .manifests[0].digest | xargs -I{} sh -c "tar -xOf '$T/sk-gz.tar' blobs/sha256/\$(echo {} | cut -c8-)" | jq -r '.layers[0].mediaType')" = application/vnd.oci.image.layer.v1.tar+gzip ]
	for f in sk-docker sk-gz sk-zstd; do
		di-cook --from "$T/$f.tar" -n app "$FIX/etc.tar" >"$T/app-$f.tar"
		cfg=$(member "$T/app-$f.tar" manifest.json | jq -r '.[0].Config')
		[ "$(member "$T/app-$f.tar" "$cfg" | jq -r '.rootfs.diff_ids | join(" ")')" = "sha256:$(sha "$FIX/bb.tar") sha256:$(sha "$FIX/etc.tar")" ]
		[ "$(member "$T/app-$f.tar" "$cfg" | jq -c '.config.Cmd')" = '["/bin/busybox","echo","hello from di"]' ]
	done
	# Compressed base layers are copied as they are, named by their digest.
	man=$(member "$T/app-sk-gz.tar" index.json | jq -r '.manifests[0].digest' | cut -c8-)
	[ "$(member "$T/app-sk-gz.tar" "blobs/sha256/$man" | jq -r '.layers[].mediaType' | tr '\n' ' ')" = "application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.layer.v1.tar " ]
	# umoci 0.4 knows gzip, not zstd.
	skopeo copy -q "oci-archive:$T/app-sk-gz.tar" "oci:$T/dir:x"
	umoci unpack --image "$T/dir:x" "$T/b"
	[ "$(cat "$T/b/rootfs/etc/greeting")" = hello ]
	cmp "$FIX/bb/bin/busybox" "$T/b/rootfs/bin/busybox"
}

# --- compressed layers (--compress) ------------------------------------

@test "a gzip or zstd LAYER file is stored as it is: its bytes the blob, its diff_id the tar's" {
	di-cook -n a --format oci "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/want.tar"
	gzip -n <"$FIX/etc.tar" >"$T/etc.tar.gz"
	zstd -q <"$FIX/etc.tar" >"$T/etc.tar.zst"
	for f in etc.tar.gz:gzip etc.tar.zst:zstd; do
		di-cook -n a --format oci "$FIX/bb.bundle" "$T/${f%:*}" >"$T/got.tar"
		[ "$(oci_manifest "$T/got.tar" | jq -c '.layers[1]')" = \
			"$(jq -n -c --arg d "sha256:$(sha "$T/${f%:*}")" --argjson s "$(stat -c %s "$T/${f%:*}")" \
				--arg t "application/vnd.oci.image.layer.v1.tar+${f#*:}" '{digest: $d, mediaType: $t, size: $s}')" ]
		rm -rf "$T/x" && mkdir "$T/x" && tar -C "$T/x" -xf "$T/got.tar"
		cmp "$T/${f%:*}" "$T/x/blobs/sha256/$(sha "$T/${f%:*}")"
		cfg=$(oci_manifest "$T/got.tar" | jq -r .config.digest | cut -c8-)
		[ "$(member "$T/got.tar" "blobs/sha256/$cfg" | jq -r '.rootfs.diff_ids[1]')" = "sha256:$(sha "$FIX/etc.tar")" ]
		# The same as --compress of the plain tar gives, when its bytes are.
		[ "$(oci_manifest "$T/got.tar" | jq -c '.layers[0]')" = "$(oci_manifest "$T/want.tar" | jq -c '.layers[0]')" ]
	done
	# Docker's part names the gzip layer with its gzip media type.
	di-cook -n a --format docker "$FIX/bb.bundle" "$T/etc.tar.gz" >"$T/d.tar"
	l=$(member "$T/d.tar" manifest.json | jq -r '.[0].Layers[1]')
	cmp "$T/etc.tar.gz" <(member "$T/d.tar" "$l")
	run di-cook -n a "$T/etc.tar.zst" -o "$T/z.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"etc.tar.zst: a zstd layer needs --format oci"* ]]
	[ ! -e "$T/z.tar" ]
}

# oci_manifest IMG: the OCI manifest that index.json names.
oci_manifest() {
	local m
	m=$(member "$1" index.json | jq -r '.manifests[0].digest' | cut -c8-)
	member "$1" "blobs/sha256/$m"
}

# one_member KIND FILE: FILE is exactly one gzip member or zstd frame,
# nothing after it (python's zlib, and zstd's frame header by hand).
one_member() {
	case $1 in
	gzip)
		python3 -c 'import sys, zlib
d = zlib.decompressobj(31); d.decompress(open(sys.argv[1], "rb").read())
sys.exit(0 if d.eof and not d.unused_data else 1)' "$2"
		# no name, mtime 0, no extra flags, OS 3 (Unix)
		[ "$(od -An -tx1 -N10 "$2" | tr -d ' ')" = 1f8b0800000000000003 ]
		;;
	zstd)
		# magic, then a frame header with the checksum, no content size
		[ "$(od -An -tx1 -N5 "$2" | tr -d ' ')" = 28b52ffd04 ]
		zstd -t -q "$2"
		;;
	esac
}

# A layer of some 24 MB of this machine's programs: many gzip blocks and
# several zstd jobs.
big_layer() {
	[ -f "$FIX/big.tar" ] && return
	(cd /usr/bin && find . -maxdepth 1 -type f -printf '%s %p\n' | sort -k2 |
		awk '{ t += $1; if (t > 24 * 2^20) exit; print $2 }') >"$FIX/big.list"
	tar -C /usr/bin --owner=0 --group=0 --numeric-owner --mtime=@1 \
		-cf "$FIX/big.tar" -T "$FIX/big.list"
	[ "$(stat -c %s "$FIX/big.tar")" -gt $((16 << 20)) ]
}

# check_compressed KIND IMG FIXTURE...: each layer of IMG is FIXTURE's tar
# compressed with KIND, stored once at the path manifest.json (or the OCI
# blob) names, the OCI descriptor giving the stored bytes' digest and size,
# the config the plain tar's digest.
check_compressed() {
	local kind=$1 img=$2 i=0 l path blob cfg
	shift 2
	rm -rf "$T/x" && mkdir "$T/x" && tar -C "$T/x" -xf "$img"
	cfg=$(oci_manifest "$img" | jq -r .config.digest | cut -c8-)
	for l in "$@"; do
		blob=$(oci_manifest "$img" | jq -r ".layers[$i].digest" | cut -c8-)
		path=$(readlink "$T/x/blobs/sha256/$blob")
		path=${path#../../}
		[[ $path == */layer.tar ]]
		[ -f "$T/x/$path" ] && [ ! -L "$T/x/$path" ]
		if [ -f "$T/x/manifest.json" ]; then
			[ "$(jq -r ".[0].Layers[$i]" "$T/x/manifest.json")" = "$path" ]
		fi
		one_member "$kind" "$T/x/$path"
		"$kind" -dc <"$T/x/$path" | cmp - "$FIX/$l.tar"
		[ "$(oci_manifest "$img" | jq -c ".layers[$i]")" = "{\"digest\":\"sha256:$(sha "$T/x/$path")\",\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+$kind\",\"size\":$(stat -c %s "$T/x/$path")}" ]
		[ "$(jq -r ".rootfs.diff_ids[$i]" "$T/x/blobs/sha256/$cfg")" = "sha256:$(sha "$FIX/$l.tar")" ]
		i=$((i + 1))
	done
	[ "$(oci_manifest "$img" | jq '.layers | length')" = $# ]
	[ "$(tar -tvf "$img" | grep -c '^-.*/layer.tar$')" = $# ]
}

@test "--compress gzip: layers stored once as one gzip member each; manifest names the stored bytes, config the plain tars" {
	di-cook -n gz -t v1 --compress gzip "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	has_eoa "$T/img.tar"
	check_compressed gzip "$T/img.tar" bb etc
	# the legacy json keeps the seed's id and the plain size
	id=$(sha <(member "$FIX/bb.bundle" json))
	[ "$(member "$T/img.tar" "$id/json" | jq .Size)" = "$(stat -c %s "$FIX/bb.tar")" ]
	di-cook -n gz -t v1 --compress gzip --format docker "$FIX/bb.bundle" >"$T/d.tar"
	[ "$(tar -xOf "$T/d.tar" "$id/layer.tar" | gzip -dc | sha)" = "$(sha "$FIX/bb.tar")" ]
	di-cook -n gz -t v1 --compress gzip --format oci "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/o.tar"
	check_compressed gzip "$T/o.tar" bb etc
	# --compress none is what no option gives
	cmp <(di-cook -n gz --compress none "$FIX/bb.bundle") <(di-cook -n gz "$FIX/bb.bundle")
}

@test "--compress zstd: OCI only, one zstd frame per layer, +zstd media type" {
	di-cook -n zs -t v1 --compress zstd --format oci "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	has_eoa "$T/img.tar"
	check_compressed zstd "$T/img.tar" bb etc
	for f in hybrid docker legacy; do
		fails 2 "di-cook: --compress zstd needs --format oci: Docker's formats have no zstd layers" \
			di-cook -n zs --compress zstd --format $f "$FIX/bb.bundle"
	done
	run di-cook -n zs --compress xz "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
	[[ $output == *"unknown compression 'xz'"* ]]
	run di-cook -n zs --compress gzip --threads 65 "$FIX/bb.bundle"
	[ "$status" -eq 2 ]
}

@test "--compress: the same bytes every run, for 1, 2 and 8 threads, from a file or a pipe" {
	big_layer
	for c in gzip zstd; do
		di-cook -n r --format oci --compress $c --threads 1 "$FIX/big.tar" "$FIX/etc.tar" >"$T/$c.1"
		for n in 2 8 0; do
			di-cook -n r --format oci --compress $c --threads $n "$FIX/big.tar" "$FIX/etc.tar" >"$T/$c.$n"
			cmp "$T/$c.1" "$T/$c.$n"
		done
		cat "$FIX/big.tar" | di-cook -n r --format oci --compress $c --threads 2 - "$FIX/etc.tar" | cmp - "$T/$c.1"
		check_compressed $c "$T/$c.1" big etc
	done
	# many blocks: the gzip layer is far smaller than the tar, and joined
	[ "$(oci_manifest "$T/gzip.1" | jq '.layers[0].size')" -lt $((24 << 20)) ]
}

@test "--compress into a regular file: the header written after the layer, the same bytes as through a pipe" {
	big_layer
	for c in gzip zstd; do
		di-cook -n r --format oci --compress $c "$FIX/big.tar" "$FIX/etc.tar" | cat >"$T/pipe"
		di-cook -n r --format oci --compress $c -o "$T/o" "$FIX/big.tar" "$FIX/etc.tar"
		cmp "$T/pipe" "$T/o"
		# after other bytes in the file, and appended (O_APPEND: spooled)
		{ echo before; di-cook -n r --format oci --compress $c "$FIX/big.tar" "$FIX/etc.tar"; } >"$T/after"
		echo before >"$T/append"
		di-cook -n r --format oci --compress $c "$FIX/big.tar" "$FIX/etc.tar" >>"$T/append"
		cmp <(echo before; cat "$T/pipe") "$T/after"
		cmp "$T/after" "$T/append"
		check_compressed $c "$T/o" big etc
	done
	for f in hybrid docker legacy; do
		di-cook -n r --format $f --compress gzip "$FIX/bb.bundle" "$FIX/big.tar" | cat >"$T/pipe"
		di-cook -n r --format $f --compress gzip "$FIX/bb.bundle" "$FIX/big.tar" >"$T/file"
		cmp "$T/pipe" "$T/file"
	done
	# a layer that fails half-way leaves no archive a tar reader takes:
	# its header was never written over the placeholder
	head -c $((12 << 20)) "$FIX/big.tar" >"$T/cut.tar"
	run bash -c 'di-cook -n r --format oci --compress gzip "$1" >"$2"' _ "$T/cut.tar" "$T/cut.out"
	[ "$status" -eq 1 ]
	[[ $output == *"cut.tar: offset"* ]]
	! tar -tf "$T/cut.out" >/dev/null 2>&1
	! has_eoa "$T/cut.out"
}

@test "--compress with --from: plain base layers compressed, compressed ones kept as they are" {
	di-cook -n base --compress gzip --format oci "$FIX/bb.bundle" >"$T/gz.tar"
	di-cook -n base "$FIX/etc.tar" >"$T/plain.tar"
	gzblob=$(oci_manifest "$T/gz.tar" | jq -c '.layers[0]')
	di-cook --from "$T/gz.tar" -n app "$FIX/more.tar" >"$T/app.tar"
	[ "$(oci_manifest "$T/app.tar" | jq -c '.layers[0]')" = "$gzblob" ]
	[ "$(oci_manifest "$T/app.tar" | jq -r '.layers[1].mediaType')" = application/vnd.oci.image.layer.v1.tar ]
	di-cook --from "$T/plain.tar" -n app --compress gzip --format oci "$FIX/more.tar" >"$T/app2.tar"
	check_compressed gzip "$T/app2.tar" etc more
	di-cook --from "$T/gz.tar" -n app --compress zstd --format oci "$FIX/more.tar" >"$T/app3.tar"
	[ "$(oci_manifest "$T/app3.tar" | jq -c '.layers[0]')" = "$gzblob" ]
	[ "$(oci_manifest "$T/app3.tar" | jq -r '.layers[1].mediaType')" = application/vnd.oci.image.layer.v1.tar+zstd ]
}

@test "docker loads and runs gzip images, hybrid and legacy" {
	need_docker
	di-cook -n di-cook-gz -t v1 --compress gzip "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	run docker load -i "$T/img.tar"
	[ "$status" -eq 0 ]
	[[ $output == *"Loaded image: di-cook-gz:v1"* ]]
	run docker run --rm --network none di-cook-gz:v1 /bin/busybox cat /etc/greeting
	[ "$output" = hello ]
	[ "$(docker image inspect -f '{{json .RootFS.Layers}}' di-cook-gz:v1)" = "[\"sha256:$(sha "$FIX/bb.tar")\",\"sha256:$(sha "$FIX/etc.tar")\"]" ]
	di-cook -n di-cook-gzl -t v1 --compress gzip --format legacy "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/l.tar"
	run docker load -i "$T/l.tar"
	[ "$status" -eq 0 ]
	run docker run --rm --network none di-cook-gzl:v1 /bin/busybox cat /etc/greeting
	[ "$output" = hello ]
}

@test "podman loads a gzip image" {
	peers_check
	peers_require podman
	peers_require_root
	di-cook -n di-cook-pgz -t v1 --compress gzip "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	run podman_private load -i "$T/img.tar"
	[ "$status" -eq 0 ]
	[[ $output == *"di-cook-pgz:v1"* ]]
	run podman_private image inspect di-cook-pgz:v1 --format '{{json .RootFS.Layers}}'
	[ "$output" = "[\"sha256:$(sha "$FIX/bb.tar")\",\"sha256:$(sha "$FIX/etc.tar")\"]" ]
}

@test "skopeo copies and inspects gzip and zstd images; umoci unpacks them" {
	peers_check
	peers_require skopeo umoci
	di-cook -n sk -t v1 --compress gzip "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/gz.tar"
	di-cook -n sk -t v1 --compress zstd --format oci "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/zs.tar"
	run skopeo inspect "docker-archive:$T/gz.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -c .Layers <<<"$output")" = "[\"sha256:$(sha "$FIX/bb.tar")\",\"sha256:$(sha "$FIX/etc.tar")\"]" ]
	mkdir "$T/want"
	for l in bb etc; do tar -C "$T/want" -xf "$FIX/$l.tar"; done
	for c in gz zs; do
		run skopeo inspect --raw "oci-archive:$T/$c.tar"
		[ "$status" -eq 0 ]
		[ "$output" = "$(oci_manifest "$T/$c.tar")" ]
		# skopeo checks every blob against its digest as it copies
		skopeo copy -q "oci-archive:$T/$c.tar" "oci:$T/dir-$c:v1"
		[ "$(skopeo inspect "oci:$T/dir-$c:v1" | jq -c .Layers)" = "$(oci_manifest "$T/$c.tar" | jq -c '[.layers[].digest]')" ]
	done
	umoci unpack --image "$T/dir-gz:v1" "$T/b-gz"
	diff -r --no-dereference "$T/want" "$T/b-gz/rootfs"
	# umoci 0.4 has no zstd: skopeo decompresses it (checking the diff_ids
	# against the config) into gzip that umoci takes
	skopeo copy -q --dest-compress-format gzip "oci:$T/dir-zs:v1" "oci:$T/dir-zg:v1"
	umoci unpack --image "$T/dir-zg:v1" "$T/b-zs"
	diff -r --no-dereference "$T/want" "$T/b-zs/rootfs"
	# and docker-archive out of the gzip one: the plain tars back
	skopeo copy -q "oci-archive:$T/gz.tar" "docker-archive:$T/back.tar:sk/back:v1"
	[ "$(skopeo inspect "docker-archive:$T/back.tar" | jq -c .Layers)" = "[\"sha256:$(sha "$FIX/bb.tar")\",\"sha256:$(sha "$FIX/etc.tar")\"]" ]
}

need_containerd() {
	peers_check
	peers_require containerd ctr runc
	peers_require_root
	containerd_start
}

@test "containerd imports it under its full name and runs it (runc, native)" {
	need_containerd
	local ctr=(ctr -a "$CONTAINERD_ADDRESS" -n di-cook)
	for f in hybrid oci; do
		di-cook -n trips/bb -t "$f" --format "$f" "$FIX/bb.bundle" >"$T/$f.tar"
		"${ctr[@]}" images import --snapshotter native "$T/$f.tar"
	done
	run "${ctr[@]}" images ls -q
	[ "$output" = "docker.io/trips/bb:hybrid
docker.io/trips/bb:oci" ]
	for f in hybrid oci; do
		run "${ctr[@]}" run --rm --snapshotter native docker.io/trips/bb:$f "run-$f"
		[ "$status" -eq 0 ]
		[ "$output" = "hello from di" ]
	done
}

@test "no PATH in the base or CONFIG: Docker's default, and sh -c runs under containerd" {
	need_containerd
	local ctr=(ctr -a "$CONTAINERD_ADDRESS" -n di-cook-path) cfg
	mkdir -p "$T/r/bin"
	cp "$FIX/bb/bin/busybox" "$T/r/bin/busybox"
	ln -s busybox "$T/r/bin/sh"
	ln -s busybox "$T/r/bin/echo"
	tar -C "$T/r" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 -cf "$T/r.tar" .
	# An Env without PATH, as an image made by hand may have.
	echo '{"Env":["GREETING=hi"],"Cmd":["sh","-c","echo $GREETING; echo $PATH"]}' >"$T/c.json"
	di-cook -n nopath -t v1 -c "$T/c.json" "$T/r.tar" >"$T/img.tar"
	cfg=$(member "$T/img.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/img.tar" "$cfg" | jq -c .config.Env)" = '["GREETING=hi","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' ]
	"${ctr[@]}" images import --snapshotter native "$T/img.tar"
	run "${ctr[@]}" run --rm --snapshotter native docker.io/library/nopath:v1 nopath
	[ "$status" -eq 0 ]
	[ "$output" = "hi
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]
	# No Env at all gets the same; a PATH from the base or CONFIG is kept.
	di-cook -n a "$T/r.tar" >"$T/a.tar"
	cfg=$(member "$T/a.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/a.tar" "$cfg" | jq -c .config)" = '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}' ]
	echo '{"Env":["PATH=/bin"]}' >"$T/p.json"
	di-cook -n b -c "$T/p.json" "$T/r.tar" >"$T/b.tar"
	di-cook --from "$T/b.tar" -n c -c "$T/c.json" "$T/r.tar" >"$T/c.tar"
	cfg=$(member "$T/c.tar" manifest.json | jq -r '.[0].Config')
	[ "$(member "$T/c.tar" "$cfg" | jq -c .config.Env)" = '["PATH=/bin","GREETING=hi"]' ]
}

# validate SCHEMA DOC...: check each DOC against its image-spec SCHEMA,
# references between the schemas resolved from the same directory.
validate() {
	/usr/bin/python3 - "$SCHEMAS" "$@" <<-'EOF'
	import json, os, sys, urllib.parse
	import jsonschema
	schemas = sys.argv[1]
	def load(url):
	    name = os.path.basename(urllib.parse.urlparse(url).path)
	    if not name.endswith(".json"):
	        name += ".json"
	    with open(os.path.join(schemas, name)) as f:
	        return json.load(f)
	args = sys.argv[2:]
	for schema_name, doc in zip(args[::2], args[1::2]):
	    with open(os.path.join(schemas, schema_name)) as f:
	        schema = json.load(f)
	    resolver = jsonschema.RefResolver.from_schema(
	        schema, handlers={"https": load, "http": load})
	    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
	    v = jsonschema.Draft4Validator(schema, resolver=resolver,
	                                   format_checker=checker)
	    errors = list(v.iter_errors(json.load(open(doc))))
	    for e in errors:
	        print("%s: %s: %s" % (schema_name, list(e.path), e.message))
	    print("%s: %s" % (schema_name, "ok" if not errors else "FAILED"))
	EOF
}

@test "the OCI JSON validates against the image-spec schemas" {
	peers_check
	[ -d "$SCHEMAS" ] || { [ "${CI:-}" != true ] || return 1; skip "no $SCHEMAS"; }
	/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
		{ [ "${CI:-}" != true ] || return 1; skip "no python3-jsonschema"; }
	cat >"$T/config.json" <<-'EOF'
	{"Env": ["A=1"], "Cmd": ["/bin/busybox"], "ExposedPorts": {"80/tcp": {}},
	 "Volumes": {"/data": {}}, "Labels": {"l": "v"}, "User": "1:1",
	 "WorkingDir": "/", "StopSignal": "SIGTERM", "Entrypoint": ["/bin/busybox", "sh"]}
	EOF
	di-cook -n valid -t v1 -c "$T/config.json" "$FIX/bb.bundle" "$FIX/etc.tar" >"$T/img.tar"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/img.tar"
	man=$(jq -r '.manifests[0].digest' "$T/x/index.json" | cut -c8-)
	cfg=$(jq -r '.config.digest' "$T/x/blobs/sha256/$man" | cut -c8-)
	run validate image-layout-schema.json "$T/x/oci-layout" \
		image-index-schema.json "$T/x/index.json" \
		image-manifest-schema.json "$T/x/blobs/sha256/$man" \
		config-schema.json "$T/x/blobs/sha256/$cfg"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "image-layout-schema.json: ok
image-index-schema.json: ok
image-manifest-schema.json: ok
config-schema.json: ok" ]
	# The validator does reject what the schemas forbid.
	jq '.config.Env = "A=1" | .rootfs.diff_ids = ["md5:x"]' "$T/x/blobs/sha256/$cfg" >"$T/bad.json"
	run validate config-schema.json "$T/bad.json"
	[[ $output == *"config-schema.json: FAILED"* ]]
	[[ $output == *"['config', 'Env']"* ]]
}

# --- STACK inputs -----------------------------------------------------------

# mkstack OUT: a STACK from di-closure of three store paths of a store in
# $T/store, a layer each.  Sets P1, P2, P3.
mkstack() {
	local s=$T/store
	P1=$s/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-one
	P2=$s/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-two
	P3=$s/2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c-three
	mkdir -p "$P1" "$P2" "$P3"
	echo one >"$P1/file"
	echo two >"$P2/file"
	echo three >"$P3/file"
	di-closure --store "$s" --layers 10 "$P1" "$P2" "$P3" >"$1"
}

@test "a STACK among the inputs: its layers in order, each with a history entry naming its store paths" {
	mkstack "$T/stack"
	di-cook -n di-cook-stack -t v1 - "$FIX/bb.bundle" <"$T/stack" >"$T/img.tar"
	tar -xOf "$T/img.tar" manifest.json >"$T/manifest"
	[ "$(jq '.[0].Layers | length' "$T/manifest")" = 4 ]
	cfg=$(jq -r '.[0].Config' "$T/manifest")
	tar -xOf "$T/img.tar" "$cfg" >"$T/config"
	# The STACK's layers come first, bottom first, each as it was.
	for i in 1 2 3; do
		local m=$(printf '%03d.tar' "$i")
		[ "$(jq -r ".rootfs.diff_ids[$((i - 1))]" "$T/config")" = "sha256:$(tar -xOf "$T/stack" "$m" | sha256sum | cut -c1-64)" ]
	done
	[ "$(jq -r '.history[] | .comment // "-"' "$T/config")" = "store paths: $P1
store paths: $P2
store paths: $P3
-" ]
	# The bundle on top still gives the config.
	[ "$(jq -c .config.Cmd "$T/config")" = '["/bin/busybox","echo","hello from di"]' ]
}

@test "a STACK as the top input: its last layer carries the config; Docker runs it" {
	peers_check
	peers_require docker
	mkstack "$T/stack"
	printf '{"Cmd":["/bin/busybox","cat","%s/file","%s/file"]}\n' "$P1" "$P3" >"$T/config.json"
	di-cook -n di-cook-stack2 -t v1 -c "$T/config.json" "$FIX/bb.bundle" - <"$T/stack" >"$T/img.tar"
	top=$(tar -xOf "$T/img.tar" manifest.json | jq -r '.[0].Layers[3]')
	tar -xOf "$T/img.tar" "${top%/layer.tar}/json" | jq -e '.config.Cmd[2] | endswith("-one/file")'
	docker load -i "$T/img.tar"
	run docker run --rm --network none di-cook-stack2:v1
	[ "$status" -eq 0 ]
	[ "$output" = $'one\nthree' ]
}

# badstack OUT CASE: a STACK that breaks one of its rules (Python's tarfile
# pads each layer to 10240 bytes).
badstack() {
	python3 - "$1" "$2" <<'PY'
import io, json, sys, tarfile
out, case = sys.argv[1], sys.argv[2]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.USTAR_FORMAT) as t:
    info = tarfile.TarInfo("f")
    info.size = 2
    t.addfile(info, io.BytesIO(b"x\n"))
data = layer.getvalue()
listed = [{"name": "001.tar", "size": len(data), "paths": []},
          {"name": "002.tar", "size": len(data), "paths": []}]
members = [("001.tar", data), ("002.tar", data)]
index = json.dumps({"layers": listed}).encode()
if case == "short":
    members = members[:1]
elif case == "renamed":
    members[1] = ("x.tar", data)
elif case == "size":
    listed[1]["size"] = len(data) + 512
    index = json.dumps({"layers": listed}).encode()
elif case == "extra":
    members.append(("003.tar", data))
elif case == "json":
    index = b"{not json"
elif case == "paths":
    listed[0]["paths"] = [3]
    index = json.dumps({"layers": listed}).encode()
with tarfile.open(out, mode="w", format=tarfile.USTAR_FORMAT) as t:
    for name, b in [("stack.json", index)] + members:
        info = tarfile.TarInfo(name)
        info.size = len(b)
        t.addfile(info, io.BytesIO(b))
PY
}

@test "a bad STACK: exit 1 naming the member, no end-of-archive" {
	local c want
	for c in short renamed size extra json paths; do
		badstack "$T/bad.stack" "$c"
		case $c in
		short) want="di-cook: $T/bad.stack: ends before 002.tar, which stack.json lists" ;;
		renamed) want="di-cook: $T/bad.stack: offset 11776: 'x.tar': stack.json lists 002.tar of 10240 bytes here" ;;
		size) want="di-cook: $T/bad.stack: offset 11776: '002.tar': stack.json lists 002.tar of 10752 bytes here" ;;
		extra) want="di-cook: $T/bad.stack: offset 22528: '003.tar': more members than stack.json lists" ;;
		json) want="di-cook: $T/bad.stack: stack.json: not a JSON object" ;;
		paths) want="di-cook: $T/bad.stack: stack.json: layer 1: not {\"size\": N, \"paths\": [...]}" ;;
		esac
		di-cook -n bad "$T/bad.stack" >"$T/out" 2>"$T/err" && false
		echo "$c: $(cat "$T/err")"
		[ "$(cat "$T/err")" = "$want" ]
		! has_eoa "$T/out"
	done
}
