#!/usr/bin/env bats
# di-push against the real distribution registry (Debian's docker-registry):
# plain HTTP, htpasswd Basic, Bearer tokens from regfront.py; what it pushed
# read back by skopeo (inspect, copy), docker pull, podman pull and di-pull;
# the registry's access log for what was sent; regfront.py's faults (a cut
# upload, refusals) for resumption and errors.

load lib/testlib
load lib/peers
load lib/pullimg

MT_DOCKER=application/vnd.docker.distribution.manifest.v2+json
MT_OCI=application/vnd.oci.image.manifest.v1+json

setup_file() {
	peers_require docker-registry skopeo umoci htpasswd jq curl busybox python3 || return 0
	local d=$BATS_FILE_TMPDIR
	export IMG=$d/img
	mkdir -p "$IMG"/l1/{bin,etc} "$IMG"/l2/etc "$IMG"/l3/data
	cp "$(command -v busybox)" "$IMG/l1/bin/busybox"
	ln -s busybox "$IMG/l1/bin/sh"
	echo one >"$IMG/l1/etc/hostname"
	echo two >"$IMG/l2/etc/hostname"
	echo hello >"$IMG/l2/etc/greeting"
	: >"$IMG/l2/etc/.wh.gone"
	head -c 3000000 /dev/urandom >"$IMG/l3/data/random"
	make_archive "$IMG/a.tar" test/a:1 amd64 "$IMG"/l{1,2,3}
	# the same image as skopeo writes an OCI archive: gzip layers, and
	# zstd ones
	skopeo copy -q "docker-archive:$IMG/a.tar" "oci-archive:$IMG/gz.tar:a"
	skopeo copy -q --dest-compress-format zstd "docker-archive:$IMG/a.tar" "oci-archive:$IMG/zs.tar:a"
	htpasswd -B -b -c "$d/htpasswd" alice s3cret 2>/dev/null
	registry_start
	registry_start auth --htpasswd "$d/htpasswd"
	export REG=$REGISTRY_ADDR AREG=$REGISTRY_ADDR_auth REGLOG=$REGISTRY_DIR/log
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

push() {
	di-push --plain-http -q --retry-delay 0.1 "$@"
}

# The manifest of REF (registry/repo:tag) as the registry serves it.
raw_manifest() {
	skopeo inspect --raw --tls-verify=false "docker://$1"
}

# "sha256:<hex>" of standard input.
sha() {
	echo "sha256:$(sha256sum | cut -d' ' -f1)"
}

# The config diff_ids of a docker-archive, one a line.
diff_ids() {
	local dir=$T/ids.$RANDOM
	mkdir -p "$dir" && tar -C "$dir" -xf "$1"
	jq -r '.rootfs.diff_ids[]' "$dir/$(jq -r '.[0].Config' "$dir/manifest.json")"
	rm -rf "$dir"
}

# The config diff_ids of the only image of OCI layout DIR.
oci_diff_ids() {
	local m c
	m=$(jq -r '.manifests[0].digest' "$1/index.json")
	c=$(jq -r .config.digest "$1/blobs/sha256/${m#sha256:}")
	jq -r '.rootfs.diff_ids[]' "$1/blobs/sha256/${c#sha256:}"
}

# Blob uploads the registry's access log shows for repository REPO since
# line N: "POST ..." and "PATCH ..." request lines.
uploads_since() {
	tail -n +"$1" "$REGLOG" | grep -Eo "\"(POST|PATCH|PUT) /v2/$2/blobs/uploads/[^ ]*" || true
}

@test "a push: the digest printed is the manifest's, gzip layers, the config kept, the tag last" {
	run push --digestfile "$T/digest" "$IMG/a.tar" "$REG/test/a:1"
	[ "$status" -eq 0 ]
	[[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
	local digest=$output
	[ "$(cat "$T/digest")" = "$digest" ]
	raw_manifest "$REG/test/a:1" >"$T/m.json"
	[ "$(sha <"$T/m.json")" = "$digest" ]
	[ "$(jq -r .mediaType "$T/m.json")" = "$MT_DOCKER" ]
	[ "$(jq -r '.layers[].mediaType' "$T/m.json" | sort -u)" = application/vnd.docker.image.rootfs.diff.tar.gzip ]
	[ "$(jq '.layers | length' "$T/m.json")" -eq 3 ]
	# the config goes byte for byte: the image id stays
	local cfg
	cfg=$(tar -xOf "$IMG/a.tar" ./manifest.json | jq -r '.[0].Config')
	[ "$(jq -r .config.digest "$T/m.json")" = "sha256:${cfg%.json}" ]
	# each layer blob is what it says, and gunzips to its diff_id
	local i=0 d
	for d in $(jq -r '.layers[].digest' "$T/m.json"); do
		curl -sf "http://$REG/v2/test/a/blobs/$d" >"$T/blob"
		[ "$(sha <"$T/blob")" = "$d" ]
		[ "sha256:$(gzip -dc <"$T/blob" | sha256sum | cut -d' ' -f1)" = "$(diff_ids "$IMG/a.tar" | sed -n "$((i + 1))p")" ]
		i=$((i + 1))
	done
	# the tag after the manifest by digest, in the registry's own log
	local by_digest by_tag
	by_digest=$(grep -n "\"PUT /v2/test/a/manifests/$digest " "$REGLOG" | head -1 | cut -d: -f1)
	by_tag=$(grep -n '"PUT /v2/test/a/manifests/1 ' "$REGLOG" | head -1 | cut -d: -f1)
	[ -n "$by_digest" ] && [ -n "$by_tag" ] && [ "$by_digest" -lt "$by_tag" ]
	# two pushes of the same image give the same manifest
	[ "$(push "$IMG/a.tar" "$REG/test/a2:1")" = "$digest" ]
}

@test "skopeo copy and di-pull read back the image pushed; a round trip gives the same digest" {
	local digest
	digest=$(push "$IMG/a.tar" "$REG/test/rt:1")
	skopeo copy -q --src-tls-verify=false "docker://$REG/test/rt:1" "docker-archive:$T/sk.tar:x/y:1"
	diff <(diff_ids "$T/sk.tar") <(diff_ids "$IMG/a.tar")
	di-pull --plain-http -q --name test/rt --tag 1 "$REG/test/rt@$digest" >"$T/pulled.tar"
	diff <(diff_ids "$T/pulled.tar") <(diff_ids "$IMG/a.tar")
	# what di-pull pulled, pushed again: the same manifest digest
	[ "$(push "$T/pulled.tar" "$REG/test/rt2:1")" = "$digest" ]
	# from standard input too
	[ "$(push "$REG/test/rt3:1" <"$T/pulled.tar")" = "$digest" ]
}

@test "--compress zstd and none: OCI manifests; compressed layers in an OCI archive go as they are" {
	run push --compress zstd "$IMG/a.tar" "$REG/test/zstd:1"
	[ "$status" -eq 0 ]
	raw_manifest "$REG/test/zstd:1" >"$T/z.json"
	[ "$(jq -r .mediaType "$T/z.json")" = "$MT_OCI" ]
	[ "$(jq -r '.layers[].mediaType' "$T/z.json" | sort -u)" = application/vnd.oci.image.layer.v1.tar+zstd ]
	local d
	d=$(jq -r '.layers[2].digest' "$T/z.json")
	[ "sha256:$(curl -sf "http://$REG/v2/test/zstd/blobs/$d" | zstd -dc | sha256sum | cut -d' ' -f1)" = "$(diff_ids "$IMG/a.tar" | sed -n 3p)" ]
	push --compress none "$IMG/a.tar" "$REG/test/none:1" >/dev/null
	raw_manifest "$REG/test/none:1" >"$T/n.json"
	[ "$(jq -r '.layers[].mediaType' "$T/n.json" | sort -u)" = application/vnd.oci.image.layer.v1.tar ]
	diff <(jq -r '.layers[].digest' "$T/n.json") <(diff_ids "$IMG/a.tar")
	run push --format docker --compress zstd "$IMG/a.tar" "$REG/test/zstd:2"
	[ "$status" -eq 2 ]
	# skopeo's OCI archives: the gzip and zstd blobs keep their digests,
	# and the manifest stays OCI
	local src
	for src in gz zs; do
		push "$IMG/$src.tar" "$REG/test/oci-$src:1" >/dev/null
		raw_manifest "$REG/test/oci-$src:1" >"$T/$src.json"
		[ "$(jq -r .mediaType "$T/$src.json")" = "$MT_OCI" ]
		mkdir -p "$T/$src" && tar -C "$T/$src" -xf "$IMG/$src.tar"
		local m
		m=$(jq -r '.manifests[0].digest' "$T/$src/index.json")
		diff <(jq -c '[.layers[] | {mediaType, digest, size}]' "$T/$src.json") \
			<(jq -c '[.layers[] | {mediaType, digest, size}]' "$T/$src/blobs/sha256/${m#sha256:}")
		skopeo copy -q --src-tls-verify=false "docker://$REG/test/oci-$src:1" "oci:$T/$src-back:x"
		diff <(oci_diff_ids "$T/$src-back") <(diff_ids "$IMG/a.tar")
	done
}

@test "a second push sends no blob; a push to another repository mounts them" {
	push "$IMG/a.tar" "$REG/test/once:1" >/dev/null
	local n
	n=$(($(wc -l <"$REGLOG") + 1))
	push "$IMG/a.tar" "$REG/test/once:2" >/dev/null
	[ -z "$(uploads_since "$n" test/once)" ]
	grep -q '"PUT /v2/test/once/manifests/2 ' "$REGLOG"
	# another repository: every blob (3 layers, the config) mounted, none sent
	n=$(($(wc -l <"$REGLOG") + 1))
	push --mount-from test/once "$IMG/a.tar" "$REG/test/other:1" >/dev/null
	[ "$(uploads_since "$n" test/other | grep -c 'mount=sha256.*from=test%2Fonce')" -eq 4 ]
	[ -z "$(uploads_since "$n" test/other | grep -v 'mount=')" ]
	[ "$(tail -n +"$n" "$REGLOG" | grep -c '"POST /v2/test/other/blobs/uploads/?mount=.* 201 ')" -eq 4 ]
	# without a candidate that has them, they are sent
	n=$(($(wc -l <"$REGLOG") + 1))
	push --mount-from test/nothing "$IMG/a.tar" "$REG/test/third:1" >/dev/null
	[ "$(uploads_since "$n" test/third | grep -c '"PATCH ')" -eq 4 ]
}

@test "docker pull and podman pull take what di-push pushed, and run it" {
	peers_require dockerd podman
	peers_require_root
	dockerd_start
	podman_setup
	push "$IMG/a.tar" "$REG/test/run:1" >/dev/null
	docker pull -q "$REG/test/run:1"
	diff <(docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$REG/test/run:1" | sed '/^$/d') \
		<(diff_ids "$IMG/a.tar")
	run docker run --rm --network none "$REG/test/run:1" /bin/busybox cat /etc/greeting
	[ "$output" = hello ]
	run podman_private pull -q --tls-verify=false "$REG/test/run:1"
	[ "$status" -eq 0 ]
	run podman_private run --rm --network none "$REG/test/run:1" /bin/busybox cat /etc/greeting
	[ "$output" = hello ]
}

@test "Basic auth: pushed with the right credentials, refused with wrong ones or none" {
	run push --creds alice:s3cret "$IMG/a.tar" "$AREG/test/auth:1"
	[ "$status" -eq 0 ]
	[ "$(skopeo inspect --raw --tls-verify=false --creds alice:s3cret "docker://$AREG/test/auth:1" | sha)" = "$output" ]
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$AREG" "$(printf alice:s3cret | base64)" >"$T/auth.json"
	push --authfile "$T/auth.json" "$IMG/a.tar" "$AREG/test/auth:2" >/dev/null
	run push --creds alice:wrong "$IMG/a.tar" "$AREG/test/auth:3"
	[ "$status" -eq 1 ]
	[ "$output" = "di-push: $AREG/test/auth: the registry refused the credentials from --creds" ]
	run push "$IMG/a.tar" "$AREG/test/auth:3"
	[ "$status" -eq 1 ]
	[ "$output" = "di-push: $AREG/test/auth: the registry wants credentials (give --creds or an auth file)" ]
}

@test "Bearer tokens: push and pull scopes, and pull on the repository mounted from" {
	push "$IMG/a.tar" "$REG/test/tok:1" >/dev/null
	front_start --bearer --token-creds alice:s3cret
	run push --creds alice:s3cret "$IMG/a.tar" "$FRONT/test/tok2:1"
	[ "$status" -eq 0 ]
	grep -q 'POST /v2/test/tok2/blobs/uploads/ .*auth=bearer' "$FRONT_LOG"
	! grep -q 'PATCH .*auth=none' "$FRONT_LOG"
	run push --creds alice:s3cret --mount-from test/tok "$IMG/a.tar" "$FRONT/test/tok3:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'POST /v2/test/tok3/blobs/uploads/?mount=.*from=test%2Ftok .*auth=bearer' "$FRONT_LOG")" -eq 4 ]
	! grep -q 'PATCH /v2/test/tok3/' "$FRONT_LOG"
	run push --creds alice:wrong "$IMG/a.tar" "$FRONT/test/tok4:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-push: $FRONT/test/tok4: token service 127.0.0.1:$FRONT_PORT refused the credentials from --creds" ]
}

@test "an upload cut in the middle resumes where the registry stopped, or starts over" {
	local digest
	digest=$(push "$IMG/a.tar" "$REG/test/ref:1")
	# a registry whose upload URL stays the same: the chunk goes on from
	# the byte the registry reports (GET on the upload URL)
	front_start --fault cut --fault-path /blobs/uploads/ --max-faults 1 --stable-uploads
	run push --chunk-size 1048576 "$IMG/a.tar" "$FRONT/test/cut:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	local cut half
	cut=$(grep 'cut after' "$FRONT_LOG")
	half=$(echo "$cut" | grep -o 'cut after [0-9]*' | cut -d' ' -f3)
	grep -q "GET /v2/test/cut/blobs/uploads/" "$FRONT_LOG"
	grep -q "PATCH /v2/test/cut/blobs/uploads/.* content-range=$half-" "$FRONT_LOG"
	[ "$(raw_manifest "$REG/test/cut:1" | sha)" = "$digest" ]
	front_stop
	# the distribution registry itself: its upload URL carries a state
	# that the cut left behind, so it refuses the old URL and the blob is
	# sent again from its first byte
	front_start --fault cut --fault-path /blobs/uploads/ --max-faults 1
	run push --chunk-size 1048576 "$IMG/a.tar" "$FRONT/test/cut2:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	[ "$(grep -c 'POST /v2/test/cut2/blobs/uploads/ ' "$FRONT_LOG")" -eq 5 ]
}

@test "refusals: quota, a bad manifest, a wrong digest: exit 1 with the registry's words, no tag" {
	local tag
	front_start --fault quota --fault-repeat --fault-path /blobs/uploads/
	run push "$IMG/a.tar" "$FRONT/test/quota:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: $FRONT/test/quota: upload of blob sha256:"*": HTTP 403 (DENIED: quota exceeded: 0 bytes left)" ]]
	front_stop
	front_start --fault badmanifest --fault-repeat --fault-path /manifests/
	run push "$IMG/a.tar" "$FRONT/test/badm:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: $FRONT/test/badm: manifest sha256:"*": HTTP 400 ("*"INVALID"*")" ]]
	front_stop
	front_start --fault flip --fault-repeat --fault-path /blobs/uploads/
	run push "$IMG/a.tar" "$FRONT/test/flip:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: $FRONT/test/flip: upload of blob sha256:"*": HTTP 400 (DIGEST_INVALID: provided digest did not match uploaded content)" ]]
	for tag in quota badm flip; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/test/$tag/manifests/1")" = 404 ]
	done
}

@test "progress on stderr with --progress, a line per layer; nothing with -q" {
	di-push --plain-http --progress "$IMG/a.tar" "$REG/test/prog:1" >"$T/out" 2>"$T/err"
	[[ $(cat "$T/out") =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(wc -l <"$T/err")" -eq 3 ]
	grep -Eq '^sha256:[0-9a-f]{12} +[0-9.]+[KM]?B / [0-9.]+[KM]?B +[0-9.]+[KMG]?B/s  done$' "$T/err"
	di-push --plain-http --progress "$IMG/a.tar" "$REG/test/prog:1" >/dev/null 2>"$T/err2"
	[ "$(grep -c ' present$' "$T/err2")" -eq 3 ]
}

@test "usage errors exit 2" {
	local args
	for args in "" "a b c" "--compress lz4 x r/a:1" "--jobs 0 x r/a:1" \
		"x r/a@sha256:$(printf %064d 0)" "--format x x r/a:1" "x r/Upper:1"; do
		# shellcheck disable=SC2086
		run di-push $args
		[ "$status" -eq 2 ]
	done
	run di-push --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: di-push "* ]]
}

@test "https: the certificate is checked, --cert-dir adds a CA, --tls-verify=false skips it" {
	require openssl
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -days 1 \
		-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
	mkdir "$T/certs" && cp "$T/cert.pem" "$T/certs/front.crt"
	front_start --tls "$T/cert.pem,$T/key.pem" --bearer --token-creds bob:pw
	run di-push -q --retries 0 --creds bob:pw "$IMG/a.tar" "$FRONT/test/tls:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: $FRONT/test/tls: /v2/: TLS with $FRONT: SSL certificate problem: self-signed certificate"* ]]
	local digest
	digest=$(di-push -q --cert-dir "$T/certs" --creds bob:pw "$IMG/a.tar" "$FRONT/test/tls:1")
	[ "$(raw_manifest "$REG/test/tls:1" | sha)" = "$digest" ]
	[ "$(di-push -q --tls-verify=false --creds bob:pw "$IMG/a.tar" "$FRONT/test/tls:2")" = "$digest" ]
	grep -q ' /token?.* auth=basic$' "$FRONT_LOG"
}

@test "not an image, and nothing listening" {
	echo nothing >"$T/x.tar"
	run push "$T/x.tar" "$REG/test/x:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: $T/x.tar: "* ]]
	run push --retries 0 "$IMG/a.tar" "127.0.0.1:1/test/x:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: 127.0.0.1:1/test/x: /v2/: "* ]]
}
