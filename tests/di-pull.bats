#!/usr/bin/env bats
# di-pull against the real distribution registry (Debian's docker-registry):
# images pushed by skopeo (Docker schema2, OCI gzip and zstd, a two-platform
# index) and by hand with curl (uncompressed layers, wrong diff_ids), Basic
# auth from every credential source, Bearer tokens from regfront.py, faults
# injected by regfront.py, and the results loaded by docker and podman.

load lib/testlib
load lib/peers
load lib/pullimg

: "${DI_UNIT:=$TOP/build/unit}"

setup_file() {
	peers_require docker-registry skopeo umoci htpasswd jq curl busybox python3 || return 0
	local d=$BATS_FILE_TMPDIR
	export IMG=$d/img
	mkdir -p "$IMG"/l1/{bin,etc,usr/old} "$IMG"/l2/{bin,etc,usr} "$IMG"/l3/data "$IMG"/l4
	cp "$(command -v busybox)" "$IMG/l1/bin/busybox"
	echo one >"$IMG/l1/etc/hostname"
	echo bye >"$IMG/l1/etc/gone"
	echo old >"$IMG/l1/usr/old/file"
	echo two >"$IMG/l2/etc/hostname"
	: >"$IMG/l2/etc/.wh.gone"
	: >"$IMG/l2/usr/.wh..wh..opq"
	echo new >"$IMG/l2/usr/new"
	ln -s busybox "$IMG/l2/bin/sh"
	head -c 3000000 /dev/urandom >"$IMG/l3/data/random"
	ln "$IMG/l3/data/random" "$IMG/l3/data/hard"
	chmod 4755 "$IMG/l1/bin/busybox"
	make_archive "$IMG/a.tar" test/a:1 amd64 "$IMG"/l{1,2,3,4}
	mkdir -p "$IMG/arm/etc"
	echo arm >"$IMG/arm/etc/hostname"
	make_archive "$IMG/arm.tar" test/arm:1 arm64 "$IMG/l1" "$IMG/arm"

	htpasswd -B -b -c "$d/htpasswd" alice s3cret 2>/dev/null
	registry_start
	registry_start auth --htpasswd "$d/htpasswd"
	export REG=$REGISTRY_ADDR AREG=$REGISTRY_ADDR_auth
	local to="skopeo copy -q --dest-tls-verify=false"
	$to -f v2s2 "docker-archive:$IMG/a.tar" "docker://$REG/test/a:v2s2"
	$to -f oci "docker-archive:$IMG/a.tar" "docker://$REG/test/a:oci"
	$to -f oci --dest-compress-format zstd "docker-archive:$IMG/a.tar" "docker://$REG/test/a:zstd"
	$to --dest-creds alice:s3cret "docker-archive:$IMG/a.tar" "docker://$AREG/test/a:1"
	make_index_layout "$IMG/layout" "$IMG/a.tar" "$IMG/arm.tar"
	$to --all "oci:$IMG/layout:multi" "docker://$REG/test/multi:1"
	push_plain_image
	push_bad_images
}

teardown_file() {
	front_stop
	registry_stop auth
	registry_stop
	dockerd_stop
	podman_cleanup
}

setup() {
	peers_check
	di_setup
}

teardown() {
	front_stop
	di_teardown
}

# test/a:plain: the same layers uncompressed, in an OCI manifest pushed by hand.
push_plain_image() {
	local t=$BATS_FILE_TMPDIR/plain layers='' f cfg
	mkdir -p "$t" && tar -C "$t" -xf "$IMG/a.tar"
	for f in $(jq -r '.[0].Layers[]' "$t/manifest.json"); do
		layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$(push_blob "$REG" test/a "$t/$f")\",\"size\":$(stat -c %s "$t/$f")}"
	done
	f=$t/$(jq -r '.[0].Config' "$t/manifest.json")
	cfg=$(push_blob "$REG" test/a "$f")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$cfg" "$(stat -c %s "$f")" "$layers" >"$t/manifest"
	push_manifest "$REG" test/a plain "$t/manifest" application/vnd.oci.image.manifest.v1+json
}

# test/bad:diffid (a config whose diff_id is wrong), test/bad:mislabeled
# (zstd bytes under a gzip media type), test/bad:helm (not an image).
push_bad_images() {
	local t=$BATS_FILE_TMPDIR/bad gz zs cfg cfgsize
	mkdir -p "$t/tree" && echo hi >"$t/tree/f"
	_tar_layer "$t/tree" "$t/l.tar"
	gzip -n <"$t/l.tar" >"$t/l.tar.gz"
	zstd -q <"$t/l.tar" >"$t/l.tar.zst"
	gz=$(push_blob "$REG" test/bad "$t/l.tar.gz")
	zs=$(push_blob "$REG" test/bad "$t/l.tar.zst")
	_bad_config "$t/cfg1" "sha256:$(echo x | sha256sum | cut -d' ' -f1)"
	_bad_config "$t/cfg2" "sha256:$(sha256sum <"$t/l.tar" | cut -d' ' -f1)"
	_bad_manifest "$t/cfg1" "$gz" "$t/l.tar.gz" tar.gzip >"$t/m1"
	_bad_manifest "$t/cfg2" "$zs" "$t/l.tar.zst" tar.gzip >"$t/m2"
	_bad_manifest "$t/cfg2" "$gz" "$t/l.tar.gz" tar.gzip |
		sed 's/vnd.docker.container.image.v1+json/vnd.cncf.helm.config.v1+json/' >"$t/m3"
	push_manifest "$REG" test/bad diffid "$t/m1" application/vnd.docker.distribution.manifest.v2+json
	push_manifest "$REG" test/bad mislabeled "$t/m2" application/vnd.docker.distribution.manifest.v2+json
	push_manifest "$REG" test/bad helm "$t/m3" application/vnd.docker.distribution.manifest.v2+json
}

_bad_config() {
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' "$2" >"$1"
	push_blob "$REG" test/bad "$1" >/dev/null
}

_bad_manifest() {
	printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.%s","digest":"%s","size":%s}]}' \
		"$(sha256sum <"$1" | cut -d' ' -f1)" "$(stat -c %s "$1")" "$4" "$2" "$(stat -c %s "$3")"
}

# The diff_ids, config digest and layer bytes of IMAGE (a docker-archive),
# one line each, for comparing two images.
image_facts() {
	local dir=$T/facts.$RANDOM cfg
	mkdir -p "$dir" && tar -C "$dir" -xf "$1"
	cfg=$(jq -r '.[0].Config' "$dir/manifest.json")
	cfg=${cfg##*/}
	echo "config sha256:${cfg%.json}"
	jq -r '.rootfs.diff_ids[]' "$dir/$(jq -r '.[0].Config' "$dir/manifest.json")"
	for f in $(jq -r '.[0].Layers[]' "$dir/manifest.json"); do
		echo "layer sha256:$(sha256sum <"$dir/$f" | cut -d' ' -f1)"
	done
	rm -rf "$dir"
}

# The root file system of a docker-archive as umoci unpacks it, listed with
# types, modes, sizes, link targets and content sums.
rootfs_listing() {
	local dir=$T/rootfs.$RANDOM
	mkdir -p "$dir"
	skopeo copy -q "docker-archive:$1" "oci:$dir/oci:x" >/dev/null &&
		umoci unpack --image "$dir/oci:x" "$dir/b" >/dev/null || return
	(cd "$dir/b/rootfs" && find . -printf '%p %y %m %s %l %n\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
	rm -rf "$dir"
}

pull() {
	di-pull --plain-http -q --retry-delay 0.1 "$@"
}

@test "the parsers of references, challenges, tokens, auth files and manifests" {
	run "$DI_UNIT/test_pull_parsers"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
}

@test "a schema2 image by tag: the pushed diff_ids, config and root file system" {
	pull "$REG/test/a:v2s2" >"$T/out.tar"
	has_eoa "$T/out.tar"
	# skopeo's own copy of the image from the registry, for comparison
	skopeo copy -q --src-tls-verify=false "docker://$REG/test/a:v2s2" "docker-archive:$T/sk.tar"
	image_facts "$T/out.tar" >"$T/out.facts"
	image_facts "$T/sk.tar" >"$T/sk.facts"
	image_facts "$IMG/a.tar" >"$T/a.facts"
	[ "$(wc -l <"$T/out.facts")" -eq 9 ]
	diff "$T/out.facts" "$T/sk.facts"
	# the diff_ids are those of the tars pushed, and the layers' digests
	diff <(grep '^layer' "$T/out.facts" | cut -d' ' -f2) <(grep '^sha256' "$T/a.facts")
	grep -c '^sha256' "$T/out.facts" | grep -qx 4
	rootfs_listing "$T/out.tar" >"$T/out.list"
	rootfs_listing "$IMG/a.tar" >"$T/a.list"
	diff "$T/out.list" "$T/a.list"
	grep -q '^./etc/hostname f 644 4  1$' "$T/out.list"
	grep -q '^./data/hard f 644 3000000  2$' "$T/out.list"
	grep -q '^./bin/sh l 777 7 busybox 1$' "$T/out.list"
	grep -q '^./usr/new f 644 4  1$' "$T/out.list"
	! grep -q '^./etc/gone \|^./usr/old' "$T/out.list"
	# the name and tag come from the reference
	tar -xOf "$T/out.tar" manifest.json | jq -e --arg r "$REG/test/a:v2s2" '.[0].RepoTags == [$r]'
}

@test "by digest: the manifest is pinned and the tag is only a name" {
	local dg
	dg=$(manifest_digest "$REG" test/a v2s2)
	[[ $dg == sha256:* ]]
	pull --name x/a --tag 1 "$REG/test/a:v2s2" >"$T/tag.tar"
	pull --name x/a --tag 1 "$REG/test/a@$dg" >"$T/digest.tar"
	pull --name x/a --tag 1 "$REG/test/a:nonesuch@$dg" >"$T/both.tar"
	cmp "$T/tag.tar" "$T/digest.tar"
	cmp "$T/tag.tar" "$T/both.tar"
	tar -xOf "$T/tag.tar" manifest.json | jq -e '.[0].RepoTags == ["x/a:1"]'
	# a digest the registry does not have
	run pull "$REG/test/a@sha256:$(echo nope | sha256sum | cut -d' ' -f1)"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: $REG/test/a: manifest sha256:"*": HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)" ]]
}

@test "OCI gzip, OCI zstd and uncompressed layers give the same layers" {
	local want
	want=$(image_facts "$IMG/a.tar" | grep '^sha256')
	for tag in oci zstd plain; do
		pull "$REG/test/a:$tag" >"$T/$tag.tar"
		diff <(image_facts "$T/$tag.tar" | grep '^layer' | cut -d' ' -f2) <(echo "$want")
		# the config is the registry's, byte for byte
		[ "$(image_facts "$T/$tag.tar" | sed -n 's/^config //p')" = "$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/a/manifests/$tag" | jq -r .config.digest)" ]
	done
	rootfs_listing "$T/zstd.tar" >"$T/zstd.list"
	rootfs_listing "$IMG/a.tar" >"$T/a.list"
	diff "$T/zstd.list" "$T/a.list"
}

@test "an index: the platform asked for, attestations skipped, no match listed" {
	pull --name m --tag 1 "$REG/test/multi:1" >"$T/host.tar"
	pull --name m --tag 1 --arch amd64 "$REG/test/multi:1" >"$T/amd64.tar"
	cmp "$T/host.tar" "$T/amd64.tar"
	tar -xOf "$T/amd64.tar" "$(tar -xOf "$T/amd64.tar" manifest.json | jq -r '.[0].Config')" |
		jq -e '.architecture == "amd64"'
	diff <(image_facts "$T/amd64.tar" | grep '^layer' | cut -d' ' -f2) \
		<(image_facts "$IMG/a.tar" | grep '^sha256')
	pull --arch arm64 --variant v8 "$REG/test/multi:1" >"$T/arm64.tar"
	pull --arch arm64 "$REG/test/multi:1" >"$T/arm64b.tar"
	cmp "$T/arm64.tar" "$T/arm64b.tar"
	rootfs_listing "$T/arm64.tar" >"$T/arm64.list"
	rootfs_listing "$IMG/arm.tar" >"$T/arm.list"
	diff "$T/arm64.list" "$T/arm.list"
	grep -q '^./etc/hostname f 644 4  1$' "$T/arm.list"
	run pull --arch s390x "$REG/test/multi:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $REG/test/multi: no image for linux/s390x in the index; it has: linux/amd64, linux/arm64/v8" ]
	run pull --os windows --arch arm64 --variant v7 "$REG/test/multi:1"
	[ "$status" -eq 1 ]
	[[ $output == *"no image for windows/arm64/v7 in the index"* ]]
}

@test "two pulls give the same bytes, whatever the number of jobs" {
	pull "$REG/test/a:zstd" >"$T/1.tar"
	pull -j 1 "$REG/test/a:zstd" >"$T/2.tar"
	pull -j 8 -o "$T/3.tar" "$REG/test/a:zstd"
	cmp "$T/1.tar" "$T/2.tar"
	cmp "$T/1.tar" "$T/3.tar"
	# SOURCE_DATE_EPOCH sets the members' times, and only them
	SOURCE_DATE_EPOCH=86400 pull "$REG/test/a:zstd" >"$T/4.tar"
	! cmp -s "$T/1.tar" "$T/4.tar"
	[ "$(tar -tvf "$T/4.tar" | awk '{print $4}' | sort -u)" = 1970-01-02 ]
}

@test "a pulled image loads into docker and podman" {
	peers_require dockerd podman
	peers_require_root
	dockerd_start
	podman_setup
	pull --name di-pull/a --tag v1 "$REG/test/a:zstd" >"$T/a.tar"
	run docker load -i "$T/a.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "Loaded image: di-pull/a:v1" ]
	diff <(docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' di-pull/a:v1 | sed '/^$/d') \
		<(image_facts "$IMG/a.tar" | grep '^sha256')
	run docker run --rm --network none di-pull/a:v1 /bin/busybox sh -c 'ls /usr; cat /usr/new; test -e /etc/gone || echo gone'
	[ "$output" = "$(printf 'new\nnew\ngone')" ]
	run podman_private load -i "$T/a.tar"
	[ "$status" -eq 0 ]
	# podman takes the OCI index's containerd name: Docker's normalization.
	[[ $output == *"Loaded image: docker.io/di-pull/a:v1"* || $output == *"Loaded image(s): docker.io/di-pull/a:v1"* ]]
	[ "$(podman_private image inspect -f '{{.Digest}}' di-pull/a:v1)" != "" ]
}

@test "Basic auth: right credentials from each source, wrong ones refused" {
	local auth='{"auths":{"'$AREG'":{"auth":"'$(printf alice:s3cret | base64)'"}}}'
	local bad='{"auths":{"'$AREG'":{"auth":"'$(printf alice:nope | base64)'"}}}'
	pull --name a --tag 1 --creds alice:s3cret "$AREG/test/a:1" >"$T/ref.tar"
	cmp <(image_facts "$T/ref.tar") <(pull "$REG/test/a:v2s2" | image_facts /dev/stdin)
	echo "$auth" >"$T/auth.json"
	pull --name a --tag 1 --authfile "$T/auth.json" "$AREG/test/a:1" | cmp - "$T/ref.tar"
	REGISTRY_AUTH_FILE=$T/auth.json pull --name a --tag 1 "$AREG/test/a:1" | cmp - "$T/ref.tar"
	mkdir -p "$T/xdg/containers" "$T/dc" "$T/home/.docker"
	echo "$auth" >"$T/xdg/containers/auth.json"
	XDG_RUNTIME_DIR=$T/xdg HOME=$T/home pull --name a --tag 1 "$AREG/test/a:1" | cmp - "$T/ref.tar"
	echo "$auth" >"$T/dc/config.json"
	DOCKER_CONFIG=$T/dc pull --name a --tag 1 "$AREG/test/a:1" | cmp - "$T/ref.tar"
	echo "$auth" | sed "s|\"$AREG\"|\"http://$AREG/v1/\"|" >"$T/home/.docker/config.json"
	HOME=$T/home pull --name a --tag 1 "$AREG/test/a:1" | cmp - "$T/ref.tar"
	# --creds wins over the files; the first file with an entry wins
	echo "$bad" >"$T/bad.json"
	REGISTRY_AUTH_FILE=$T/bad.json pull --name a --tag 1 --creds alice:s3cret "$AREG/test/a:1" | cmp - "$T/ref.tar"
	REGISTRY_AUTH_FILE=$T/auth.json DOCKER_CONFIG=$T/bad pull --name a --tag 1 "$AREG/test/a:1" | cmp - "$T/ref.tar"

	run pull --creds alice:nope "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $AREG/test/a: the registry refused the credentials from --creds" ]
	run env REGISTRY_AUTH_FILE="$T/bad.json" di-pull --plain-http -q "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $AREG/test/a: the registry refused the credentials from $T/bad.json" ]
	run env HOME="$T/nohome" XDG_RUNTIME_DIR= DOCKER_CONFIG= di-pull --plain-http -q "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $AREG/test/a: the registry wants credentials (give --creds or an auth file)" ]
	run pull --authfile "$T/missing.json" "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: credentials: $T/missing.json: No such file or directory" ]
	echo '{"auths":' >"$T/broken.json"
	run pull --authfile "$T/broken.json" "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: credentials: $T/broken.json: not JSON: "* ]]
	run pull --creds nocolon "$AREG/test/a:1"
	[ "$status" -eq 2 ]
	[ "$output" = "di-pull: --creds: credentials are not USER:PASSWORD" ]
}

@test "the password is wiped from the arguments and never printed" {
	front_start --upstream "$AREG" --fault stall --fault-path /blobs/
	di-pull --plain-http -q --timeout 10 --creds alice:s3cret "$FRONT/test/a:1" >"$T/out.tar" 2>"$T/err" &
	local pid=$!
	for _ in {1..50}; do
		grep -q blobs "$FRONT_LOG" && break
		sleep 0.1
	done
	grep -q blobs "$FRONT_LOG"
	tr '\0' ' ' </proc/$pid/cmdline >"$T/cmdline"
	kill $pid
	wait $pid || true
	grep -q -- '--creds' "$T/cmdline"
	! grep -q s3cret "$T/cmdline"
	! grep -q alice "$T/cmdline"
	run pull --creds alice:s3cret-wrong "$AREG/test/a:1"
	[[ $output != *s3cret* ]]
}

@test "Bearer tokens: fetched with Basic credentials, refreshed when refused" {
	pull --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --bearer --token-creds bob:pw --token-uses 2
	pull --name a --tag 1 --creds bob:pw "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	# every token request carried Basic, every registry request a token
	[ "$(grep -c ' /token?service=di-test&scope=repository%3Atest%2Fa%3Apull range=- auth=basic$' "$FRONT_LOG")" -ge 3 ]
	! grep ' /v2/test/' "$FRONT_LOG" | grep -v 'auth=bearer$'
	run pull --creds bob:wrong "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: token service 127.0.0.1:$FRONT_PORT refused the credentials from --creds" ]
	run pull "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: token service 127.0.0.1:$FRONT_PORT wants credentials (give --creds or an auth file)" ]
}

@test "Bearer tokens: insufficient_scope, expiry, and access_token" {
	pull --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --bearer --scope-once --token-field access_token
	pull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	grep -q 'GET /v2/test/a/manifests/v2s2 range=- auth=bearer' "$FRONT_LOG"
	[ "$(grep -c ' /token?' "$FRONT_LOG")" -eq 2 ]
	front_stop
	# tokens that last a second, and a front that answers slowly: the
	# token is fetched again before it runs out, not after a 401
	front_start --bearer --token-ttl 1 --fault slow --fault-path /v2/ --fault-repeat
	pull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out2.tar"
	cmp "$T/ref.tar" "$T/out2.tar"
	# no request was refused and made again
	[ "$(grep -c ' /token?' "$FRONT_LOG")" -ge 2 ]
	[ "$(grep -c ' /v2/test/' "$FRONT_LOG")" -eq 6 ]
}

@test "a connection dropped in the middle of a blob resumes with Range" {
	pull --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --fault drop
	pull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	# each layer blob: once whole, then the rest from where it broke
	local blob size
	blob=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/test/a/manifests/v2s2" | jq -r '.layers[2].digest')
	size=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/test/a/manifests/v2s2" | jq -r '.layers[2].size')
	[ "$(grep -c "GET /v2/test/a/blobs/$blob range=- " "$FRONT_LOG")" -eq 1 ]
	grep -q "GET /v2/test/a/blobs/$blob range=bytes=$((size / 2))- " "$FRONT_LOG"
	front_stop
	# a server that ignores Range, or answers with a range that does not
	# continue the file: the blob is fetched again whole
	for second in norange badrange; do
		front_start --fault "drop,$second"
		pull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/$second.tar"
		cmp "$T/ref.tar" "$T/$second.tar"
		front_stop
	done
	# a connection that stalls is given up after --timeout and resumed
	front_start --fault stall --fault-path "$blob"
	pull --name a --tag 1 --timeout 1 "$FRONT/test/a:v2s2" >"$T/stall.tar"
	cmp "$T/ref.tar" "$T/stall.tar"
	grep -q "GET /v2/test/a/blobs/$blob range=bytes=$((size / 2))- " "$FRONT_LOG"
}

@test "500 and 429 are retried; when they go on, a clear error" {
	pull --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --fault 500,429 --fault-path /manifests/
	pull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	[ "$(grep -c 'GET /v2/test/a/manifests/v2s2 ' "$FRONT_LOG")" -eq 3 ]
	front_stop
	front_start --fault 500 --fault-repeat --fault-path /manifests/
	run pull --retries 2 "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: manifest v2s2: HTTP 500 (after 3 attempts)" ]
	[ "$(grep -c 'GET /v2/test/a/manifests/v2s2 ' "$FRONT_LOG")" -eq 3 ]
}

# The bytes regfront.py's endless answers got out before the client hung
# up (it logs them once the connection is gone: wait for N lines).
endless_sent() {
	local n=${1:-1}
	for _ in {1..200}; do
		[ "$(grep -c 'endless sent=' "$FRONT_LOG")" -ge "$n" ] && break
		sleep 0.05
	done
	grep -o 'endless sent=[0-9]*' "$FRONT_LOG" | cut -d= -f2
}

# di-pull under a timeout, so that a pull that never ends fails the test.
tpull() {
	timeout 120 di-pull --plain-http -q --retry-delay 0.1 "$@"
}

@test "an error answer with an endless body is read to a bound, and a redirect's too" {
	# each 64 KiB chunk written is logged when the client hangs up: what
	# the client took is bounded by its 64 KiB plus the sockets' buffers,
	# where an unbounded reader would go on to the front's 8 GiB
	front_start --fault endless404 --fault-path /manifests/
	run tpull --retries 0 -o "$T/x.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: manifest v2s2: HTTP 404" ]
	[ "$(endless_sent)" -lt $((64 << 20)) ]
	[ ! -e "$T/x.tar" ]
	front_stop
	front_start --fault endless500 --fault-repeat
	run tpull --retries 1 -o "$T/x.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: $FRONT/test/a: blob sha256:"*": HTTP 500 (after 2 attempts)" ]]
	for n in $(endless_sent 2); do [ "$n" -lt $((64 << 20)) ]; done
	front_stop
	# a redirect with an endless body is followed all the same
	pull --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --fault endless302 --fault-repeat
	tpull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	[ "$(grep -c "^[0-9.]* $FRONT_SIDE_PORT GET /v2/test/a/blobs/" "$FRONT_LOG")" -eq 5 ]
}

@test "a server that drips: the low-speed floor, the request timeout and the deadline end it, and say so" {
	local layer
	layer=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/test/a/manifests/v2s2" | jq -r '.layers[2].digest')
	# a byte every half second resets the idle timeout for ever: the
	# floor ends it, for a manifest, a blob and an error's body alike
	front_start --fault drip --fault-path /manifests/
	run tpull --retries 0 --timeout 2 --low-speed 100 "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: manifest v2s2: slower than 100 bytes/s for 2 s (--low-speed)" ]
	front_stop
	front_start --fault drip --fault-path "$layer"
	run tpull --retries 0 --timeout 2 --low-speed 100 -o "$T/x.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: blob $layer: slower than 100 bytes/s for 2 s (--low-speed)" ]
	[ ! -e "$T/x.tar" ]
	front_stop
	front_start --fault drip404 --fault-path /manifests/
	run tpull --retries 0 --timeout 2 --low-speed 100 "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: manifest v2s2: slower than 100 bytes/s for 2 s (--low-speed)" ]
	front_stop
	# above the floor but slow: one request's time runs out, and with
	# retries that go on, the whole pull's
	front_start --fault drip --fault-repeat --fault-path "$layer" --drip-bytes 2000 --drip-interval 0.1
	run tpull --retries 0 --low-speed 100 --request-timeout 2 -o "$T/x.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: blob $layer: the request took longer than 2 s (--request-timeout)" ]
	run tpull --retries 50 --retry-delay 0 --low-speed 100 --request-timeout 1 --deadline 4 -o "$T/x.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/test/a: blob $layer: the deadline for the whole run was hit (--deadline)" ]
	[ ! -e "$T/x.tar" ]
	# each request resumed where the last one stopped
	grep -q "GET /v2/test/a/blobs/$layer range=bytes=[1-9][0-9]*- " "$FRONT_LOG"
}

@test "a redirect to another host is followed without the Authorization" {
	pull --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --bearer --fault redirect --fault-repeat
	pull --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	grep -q "^[0-9.]* $FRONT_PORT GET /v2/test/a/blobs/.* auth=bearer$" "$FRONT_LOG"
	[ "$(grep -c "^[0-9.]* $FRONT_SIDE_PORT GET /v2/test/a/blobs/" "$FRONT_LOG")" -eq 5 ]
	! grep "^[0-9.]* $FRONT_SIDE_PORT " "$FRONT_LOG" | grep -v 'auth=none redirected$'
	front_stop
	# the same with Basic credentials passed through to the registry
	front_start --upstream "$AREG" --upstream-creds alice:s3cret --fault redirect --fault-repeat
	pull --name a --tag 1 --creds alice:s3cret "$FRONT/test/a:1" >"$T/basic.tar"
	cmp "$T/ref.tar" "$T/basic.tar"
	grep -q "^[0-9.]* $FRONT_PORT GET /v2/test/a/blobs/.* auth=basic$" "$FRONT_LOG"
	! grep "^[0-9.]* $FRONT_SIDE_PORT " "$FRONT_LOG" | grep -v 'auth=none redirected$'
}

@test "a corrupted blob or manifest: exit 1, and no end-of-archive" {
	front_start --fault corrupt --fault-repeat
	run pull -j 1 -o "$T/x.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == "di-pull: $FRONT/test/a: blob sha256:"*": content has digest sha256:"* ]]
	pull -j 1 "$FRONT/test/a:v2s2" >"$T/out.tar" 2>/dev/null || true
	! has_eoa "$T/out.tar"
	run pull -o "$T/o.tar" "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[ ! -e "$T/o.tar" ]
	[ -z "$(ls "$T" | grep o.tar)" ]
	front_stop
	front_start --fault corrupt --fault-path /manifests/
	run pull "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: $FRONT/test/a: manifest v2s2: content has digest sha256:"*", the registry says sha256:"* ]]
}

@test "a layer that is not its diff_id, or not what its media type says" {
	run pull -o "$T/o.tar" "$REG/test/bad:diffid"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: $REG/test/bad: layer 1 (sha256:"*"): diff_id is sha256:"*", expected sha256:"* ]]
	pull "$REG/test/bad:diffid" >"$T/out.tar" 2>/dev/null || true
	! has_eoa "$T/out.tar"
	run pull -o "$T/o.tar" "$REG/test/bad:mislabeled"
	[ "$status" -eq 1 ]
	[[ $output == *"media type says gzip, the bytes are zstd" ]]
	run pull -o "$T/o.tar" "$REG/test/bad:helm"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $REG/test/bad: manifest helm: not a container image: config media type \"application/vnd.cncf.helm.config.v1+json\"" ]
}

@test "progress: a line per blob with --progress, nothing with -q, never on stdout" {
	di-pull --plain-http --progress "$REG/test/a:v2s2" >"$T/out.tar" 2>"$T/err"
	[ "$(wc -l <"$T/err")" -eq 4 ]
	grep -Eq '^sha256:[0-9a-f]{12} +[0-9.]+[KM]?B / [0-9.]+[KM]?B +[0-9.]+[KMG]?B/s  done$' "$T/err"
	di-pull --plain-http -q "$REG/test/a:v2s2" >"$T/q.tar" 2>"$T/qerr"
	[ ! -s "$T/qerr" ]
	cmp "$T/out.tar" "$T/q.tar"
	# on a terminal: the four lines redrawn in place, by default
	require script
	script -qec "di-pull --plain-http -o $T/tty.tar $REG/test/a:v2s2" /dev/null >"$T/tty"
	cmp "$T/out.tar" "$T/tty.tar"
	grep -q $'\e\[4A' "$T/tty"
	[ "$(tr '\r' '\n' <"$T/tty" | grep -c ' done$')" -ge 4 ]
	script -qec "di-pull --plain-http -q -o $T/tty2.tar $REG/test/a:v2s2" /dev/null >"$T/tty2"
	[ ! -s "$T/tty2" ]
}

@test "usage errors exit 2" {
	run di-pull
	[ "$status" -eq 2 ]
	[[ $output == "di-pull: no REFERENCE"* ]]
	run di-pull a b
	[ "$status" -eq 2 ]
	run di-pull 'Not/Valid:'
	[ "$status" -eq 2 ]
	[[ $output == "di-pull: Not/Valid:: invalid tag"* ]]
	run di-pull --tls-verify=maybe x
	[ "$status" -eq 2 ]
	run di-pull --tag 'bad tag' x
	[ "$status" -eq 2 ]
	run di-pull --jobs 0 x
	[ "$status" -eq 2 ]
	run di-pull --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: di-pull "* ]]
}

@test "https: the certificate is checked unless --tls-verify=false" {
	require openssl
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -days 1 \
		-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
	di-pull --plain-http -q --name a --tag 1 "$REG/test/a:v2s2" >"$T/ref.tar"
	front_start --tls "$T/cert.pem,$T/key.pem" --bearer --token-creds bob:pw
	run di-pull -q --retries 0 --creds bob:pw "$FRONT/test/a:v2s2"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: $FRONT/test/a: /v2/: TLS with $FRONT: SSL certificate problem: self-signed certificate"* ]]
	di-pull -q --tls-verify=false --creds bob:pw --name a --tag 1 "$FRONT/test/a:v2s2" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	grep -q ' /token?.* auth=basic$' "$FRONT_LOG"
	# a plain-http registry: --tls-verify=false falls back to http at once
	di-pull -q --tls-verify=false --retry-delay 10 --name a --tag 1 "$REG/test/a:v2s2" >"$T/plain.tar"
	cmp "$T/ref.tar" "$T/plain.tar"
}

@test "not a registry, and nothing listening" {
	run di-pull --plain-http -q --retries 1 --retry-delay 0.1 "127.0.0.1:1/a"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: 127.0.0.1:1/a: /v2/: Couldn't connect to server (after 2 attempts)" ]]
	front_start --upstream 127.0.0.1:1 --fault notfound --fault-path /v2/ --fault-repeat
	run pull "$FRONT/a"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $FRONT/a: not a registry: /v2/ answers HTTP 404" ]
}
