#!/usr/bin/env bats
# Multi-platform images: amd64, arm64 and arm/v7 images made with di-layer
# and di-cook (configs setting architecture and variant), joined with
# di-cook --index; read back by skopeo (oci-archive:, copy --all,
# --override-arch), umoci-free checks of the layout by hand, di-overlay
# --export, di-pull (--arch, --variant), containerd (ctr pull --platform),
# and pushed with di-push (an OCI index, or a Docker manifest list) and with
# skopeo copy --all, against the real distribution registry.

load lib/testlib
load lib/peers

setup_file() {
	peers_require docker-registry skopeo jq curl || return 0
	local d=$BATS_FILE_TMPDIR p
	export MP=$d/mp
	mkdir -p "$MP"
	for p in amd64: arm64: arm:v7; do
		make_platform_image "${p%%:*}" "${p#*:}"
	done
	di-cook --index -n test/multi -t 1 "$MP/amd64.tar" "$MP/arm64.tar" "$MP/arm.tar" >"$MP/multi.tar"
	registry_start
	export REG=$REGISTRY_ADDR
}

teardown_file() {
	registry_stop
	containerd_stop
}

setup() {
	peers_check
	di_setup
}

teardown() {
	di_teardown
}

# $MP/ARCH.tar: one image for linux/ARCH[/VARIANT] whose /etc/platform
# says which, and a file shared by all.
make_platform_image() {
	local arch=$1 variant=$2 dir=$MP/$1 cfg
	mkdir -p "$dir/etc"
	echo "$arch${variant:+/$variant}" >"$dir/etc/platform"
	echo shared >"$dir/etc/shared"
	cfg='{"architecture":"'$arch'","os":"linux"'${variant:+,\"variant\":\"$variant\"}'}'
	echo "$cfg" >"$MP/$arch.json"
	di-layer -c "$MP/$arch.json" "$dir" >"$MP/$arch.bundle"
	di-cook -n "test/$arch" "$MP/$arch.bundle" >"$MP/$arch.tar"
}

# The blob DIGEST of the archive ARCHIVE, as text.
blob() {
	tar -xOf "$1" "blobs/sha256/${2#sha256:}"
}

# The manifest digest of each platform in the index of ARCHIVE, "os/arch[/variant] digest" lines.
index_platforms() {
	local top
	top=$(tar -xOf "$1" index.json | jq -r '.manifests[0].digest')
	blob "$1" "$top" | jq -r '.manifests[] | "\(.platform.os)/\(.platform.architecture)\(if .platform.variant then "/"+.platform.variant else "" end) \(.digest)"'
}

# /etc/platform of the image (a docker-archive or any IMAGE) FILE.
platform_of() {
	di-overlay --from "$1" --export | tar -xOf - etc/platform
}

@test "di-cook --index: an OCI index of the three, each with its platform, named as one image; docker's part the host's" {
	[ "$(uname -m)" = x86_64 ] # the host's platform is amd64 here
	run tar -xOf "$MP/multi.tar" index.json
	[ "$(jq -r '.manifests | length' <<<"$output")" = 1 ]
	[ "$(jq -r '.manifests[0].mediaType' <<<"$output")" = application/vnd.oci.image.index.v1+json ]
	[ "$(jq -c '.manifests[0].annotations' <<<"$output")" = '{"io.containerd.image.name":"docker.io/test/multi:1","org.opencontainers.image.ref.name":"1"}' ]
	run index_platforms "$MP/multi.tar"
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} == "linux/amd64 sha256:"* ]]
	[[ ${lines[1]} == "linux/arm64 sha256:"* ]]
	[[ ${lines[2]} == "linux/arm/v7 sha256:"* ]]
	# each entry's manifest is the one di-cook wrote for that image alone
	local line plat digest arch single
	for line in "${lines[@]}"; do
		plat=${line% *} digest=${line#* }
		arch=$(cut -d/ -f2 <<<"$plat")
		single=$(tar -xOf "$MP/$arch.tar" index.json | jq -r '.manifests[0].digest')
		[ "$digest" = "$single" ]
		[ "$(blob "$MP/multi.tar" "$digest" | sha256sum | cut -d' ' -f1)" = "${digest#sha256:}" ]
	done
	# manifest.json and repositories: the amd64 image, as docker loads it
	[ "$(tar -xOf "$MP/multi.tar" manifest.json | jq -c '.[0].RepoTags')" = '["test/multi:1"]' ]
	[ "$(platform_of "$MP/multi.tar")" = amd64 ]
	[ "$(tar -xOf "$MP/multi.tar" manifest.json | jq -r '.[0].Config')" = "$(tar -xOf "$MP/amd64.tar" manifest.json | jq -r '.[0].Config')" ]
	# every blob stored once; the same bytes twice in a row
	[ -z "$(tar -tf "$MP/multi.tar" | sort | uniq -d)" ]
	di-cook --index -n test/multi -t 1 "$MP/amd64.tar" "$MP/arm64.tar" "$MP/arm.tar" | cmp - "$MP/multi.tar"
	# the first image is docker's when none is the host's
	di-cook --index -n test/multi "$MP/arm64.tar" "$MP/arm.tar" >"$T/arm.tar"
	[ "$(platform_of "$T/arm.tar")" = arm64 ]
}

@test "skopeo reads each platform of the OCI archive" {
	local p
	for p in amd64 arm64; do
		skopeo copy -q --override-arch "$p" "oci-archive:$MP/multi.tar:1" "docker-archive:$T/$p.tar:x/$p:1"
		[ "$(platform_of "$T/$p.tar")" = "$p" ]
	done
	skopeo copy -q --override-arch arm --override-variant v7 "oci-archive:$MP/multi.tar:1" "docker-archive:$T/arm.tar:x/arm:1"
	[ "$(platform_of "$T/arm.tar")" = arm/v7 ]
}

@test "two images of one platform are refused, naming both" {
	cp "$MP/arm64.tar" "$T/again.tar"
	run di-cook --index -n test/dup "$MP/amd64.tar" "$MP/arm64.tar" "$T/again.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-cook: $MP/arm64.tar and $T/again.tar: both images are for linux/arm64" ]
	# arm64 without a variant is arm64/v8
	echo '{"architecture":"arm64","os":"linux","variant":"v8"}' >"$T/v8.json"
	di-layer -c "$T/v8.json" "$MP/arm64" | di-cook -n test/v8 >"$T/v8.tar"
	run di-cook --index -n test/dup "$MP/arm64.tar" "$T/v8.tar"
	[ "$status" -eq 1 ]
	[ "$output" = "di-cook: $MP/arm64.tar and $T/v8.tar: both images are for linux/arm64/v8" ]
	run di-cook --index -n test/dup
	[ "$status" -eq 2 ]
	run di-cook --index --format docker -n test/dup "$MP/amd64.tar"
	[ "$status" -eq 2 ]
}

@test "di-push pushes the index: every platform, then the index and tag; skopeo, di-pull and a second push agree" {
	local digest
	digest=$(di-push -q --plain-http "$MP/multi.tar" "$REG/test/multi:1")
	skopeo inspect --raw --tls-verify=false "docker://$REG/test/multi:1" >"$T/index"
	[ "sha256:$(sha256sum <"$T/index" | cut -d' ' -f1)" = "$digest" ]
	[ "$(jq -r .mediaType "$T/index")" = application/vnd.oci.image.index.v1+json ]
	[ "$(jq -c '[.manifests[].platform]' "$T/index")" = '[{"architecture":"amd64","os":"linux"},{"architecture":"arm64","os":"linux"},{"architecture":"arm","os":"linux","variant":"v7"}]' ]
	# the tag came last: after every manifest it names
	grep -o 'PUT /v2/test/multi/manifests/[^ "]*' "$REGISTRY_DIR/log" | tail -1 | grep -q '/manifests/1$'
	# skopeo per platform
	skopeo copy -q --src-tls-verify=false --override-arch arm64 "docker://$REG/test/multi:1" "docker-archive:$T/sk.tar:x/y:1"
	[ "$(platform_of "$T/sk.tar")" = arm64 ]
	# di-pull per platform; pushed alone, the same manifest digest as in the index
	local arch variant want
	for arch in amd64 arm64 arm; do
		variant=
		[ "$arch" = arm ] && variant=v7
		di-pull -q --plain-http --arch "$arch" ${variant:+--variant $variant} "$REG/test/multi:1" >"$T/$arch.tar"
		[ "$(platform_of "$T/$arch.tar")" = "$arch${variant:+/$variant}" ]
		want=$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' "$T/index")
		# (an OCI manifest, as the index's entries are: the archive di-pull
		# wrote is read by its manifest.json, Docker's form by default)
		[ "$(di-push -q --plain-http --format oci "$T/$arch.tar" "$REG/test/single:$arch")" = "$want" ]
	done
	# pushed again: nothing changes
	[ "$(di-push -q --plain-http "$MP/multi.tar" "$REG/test/multi:2")" = "$digest" ]
}

@test "di-push --format docker: a Docker manifest list" {
	local digest
	digest=$(di-push -q --plain-http --format docker "$MP/multi.tar" "$REG/test/list:1")
	skopeo inspect --raw --tls-verify=false "docker://$REG/test/list:1" >"$T/list"
	[ "sha256:$(sha256sum <"$T/list" | cut -d' ' -f1)" = "$digest" ]
	[ "$(jq -r .mediaType "$T/list")" = application/vnd.docker.distribution.manifest.list.v2+json ]
	[ "$(jq -r '[.manifests[].mediaType] | unique | .[]' "$T/list")" = application/vnd.docker.distribution.manifest.v2+json ]
	di-pull -q --plain-http --arch arm --variant v7 "$REG/test/list:1" >"$T/arm.tar"
	[ "$(platform_of "$T/arm.tar")" = arm/v7 ]
}

@test "skopeo copy --all of the OCI archive; di-pull and skopeo take each platform from it" {
	skopeo copy -q --all --dest-tls-verify=false "oci-archive:$MP/multi.tar:1" "docker://$REG/test/sk:1"
	skopeo inspect --raw --tls-verify=false "docker://$REG/test/sk:1" >"$T/index"
	[ "$(jq -r '.manifests | length' "$T/index")" = 3 ]
	di-pull -q --plain-http --arch arm64 "$REG/test/sk:1" >"$T/arm64.tar"
	[ "$(platform_of "$T/arm64.tar")" = arm64 ]
	di-pull -q --plain-http --arch arm --variant v7 "$REG/test/sk:1" >"$T/arm.tar"
	[ "$(platform_of "$T/arm.tar")" = arm/v7 ]
	skopeo copy -q --src-tls-verify=false --override-arch amd64 "docker://$REG/test/sk:1" "docker-archive:$T/amd64.tar:x/y:1"
	[ "$(platform_of "$T/amd64.tar")" = amd64 ]
	# skopeo kept each platform: the same os/arch/variant as di-cook wrote
	[ "$(jq -r '.manifests[].platform | "\(.os)/\(.architecture)\(if .variant then "/"+.variant else "" end)"' "$T/index")" = "$(index_platforms "$MP/multi.tar" | cut -d' ' -f1)" ]
}

@test "containerd pulls linux/arm64 of what di-push pushed" {
	peers_require containerd ctr
	peers_require_root || return 0
	containerd_start
	di-push -q --plain-http "$MP/multi.tar" "$REG/test/ctr:1" >/dev/null
	local ctr=(ctr -a "$CONTAINERD_ADDRESS" -n di-mp)
	"${ctr[@]}" images pull --plain-http --platform linux/arm64 "$REG/test/ctr:1" >/dev/null
	"${ctr[@]}" images export --platform linux/arm64 "$T/exp.tar" "$REG/test/ctr:1"
	mkdir "$T/x"
	"${ctr[@]}" images mount --platform linux/arm64 --snapshotter native "$REG/test/ctr:1" "$T/x" >/dev/null 2>&1 || {
		# older ctr without mount: read the exported layout
		skopeo copy -q --override-arch arm64 "oci-archive:$T/exp.tar" "docker-archive:$T/c.tar:x/y:1"
		[ "$(platform_of "$T/c.tar")" = arm64 ]
		return 0
	}
	[ "$(cat "$T/x/etc/platform")" = arm64 ]
	"${ctr[@]}" images unmount "$T/x" >/dev/null
}
