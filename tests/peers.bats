#!/usr/bin/env bats
# The peer programs that di's tests compare against really run here:
# Docker's Go tarsum, dockerd, the distribution registry, skopeo, podman,
# umoci and containerd alone (tests/lib/peers.bash).

load lib/peers

TARSUM_DATA=/usr/share/gocode/src/github.com/docker/docker/pkg/tarsum/testdata

setup_file() {
	peers_require dockerd docker docker-registry podman skopeo umoci \
		containerd ctr runc htpasswd go curl jq busybox || return 0
	peers_require_root || return 0
	busybox_image "$BATS_FILE_TMPDIR/bb.tar" di-peers/busybox:1
	htpasswd -B -b -c "$BATS_FILE_TMPDIR/htpasswd" alice s3cret
	gotarsum_build
	registry_start
	registry_start auth --htpasswd "$BATS_FILE_TMPDIR/htpasswd"
	dockerd_start
	containerd_start
	podman_setup
}

setup() {
	peers_check
}

teardown_file() {
	podman_cleanup
	containerd_stop
	dockerd_stop
	registry_stop auth
	registry_stop
}

@test "Docker's Go tarsum gives its own published sums" {
	local d=$TARSUM_DATA/46af0962ab5afeb5ce6740d4d91652e69206fc991fd5328c1a94d364ad00e457
	run "$GOTARSUM" -v v0 -e "$d/json" <"$d/layer.tar"
	[ "$output" = tarsum+sha256:4095cc12fa5fdb1ab2760377e1cd0c4ecdd3e61b4f9b82319d96fcea6c9a41c6 ]
	run "$GOTARSUM" -v dev -e "$d/json" <"$d/layer.tar"
	[ "$output" = tarsum.dev+sha256:db56e35eec6ce65ba1588c20ba6b1ea23743b59e81fb6b7f358ccbde5580345c ]
	# Version1 hashes like dev: only the label differs.
	run "$GOTARSUM" -e "$d/json" <"$d/layer.tar"
	[ "$output" = tarsum.v1+sha256:db56e35eec6ce65ba1588c20ba6b1ea23743b59e81fb6b7f358ccbde5580345c ]
}

@test "Docker's Go tarsum rejects what is not a tar" {
	run "$GOTARSUM" <<<"not a tar"
	[ "$status" -eq 1 ]
	[ "$output" = "gotarsum: unexpected EOF" ]
	run "$GOTARSUM" -v v9 </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = 'gotarsum: unknown version "v9"' ]
}

@test "dockerd loads an image and runs a container of it" {
	run docker load -i "$BATS_FILE_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: di-peers/busybox:1" ]
	run docker run --rm --network none di-peers/busybox:1 /bin/busybox echo hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
}

@test "a second private dockerd starts beside the first and leaves nothing" {
	run env -u DOCKERD_DIR -u DOCKER_HOST -u DOCKER_CONFIG bash -c '. "$1"
		dockerd_start && d=$DOCKERD_DIR && dockerd_start &&
		[ "$d" = "$DOCKERD_DIR" ] && docker info -f "{{.DockerRootDir}}" &&
		dockerd_stop && ls -d "$d"' _ "$BATS_TEST_DIRNAME/lib/peers.bash"
	local second=${lines[0]%/data}
	[ "${lines[0]}" = "$second/data" ]
	[ "$second" != "$DOCKERD_DIR" ]
	[ "${lines[1]}" = "ls: cannot access '$second': No such file or directory" ]
	[ "$(docker info -f '{{.DockerRootDir}}')" = "$DOCKERD_DIR/data" ]
}

@test "the registry takes a push from skopeo and lists it" {
	run skopeo copy --dest-tls-verify=false \
		"docker-archive:$BATS_FILE_TMPDIR/bb.tar" "docker://$REGISTRY_ADDR/di-peers/busybox:1"
	[ "$status" -eq 0 ]
	run curl -sf "http://$REGISTRY_ADDR/v2/_catalog"
	[ "$output" = '{"repositories":["di-peers/busybox"]}' ]
	run curl -sf "http://$REGISTRY_ADDR/v2/di-peers/busybox/tags/list"
	[ "$output" = '{"name":"di-peers/busybox","tags":["1"]}' ]
}

@test "the htpasswd registry refuses wrong credentials and takes right ones" {
	run skopeo copy --dest-tls-verify=false --dest-creds alice:wrong \
		"docker-archive:$BATS_FILE_TMPDIR/bb.tar" "docker://$REGISTRY_ADDR_auth/secret/bb:1"
	[ "$status" -ne 0 ]
	[[ $output == *"unauthorized: authentication required"* ]]
	run curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_ADDR_auth/v2/_catalog"
	[ "$output" = 401 ]
	run skopeo copy --dest-tls-verify=false --dest-creds alice:s3cret \
		"docker-archive:$BATS_FILE_TMPDIR/bb.tar" "docker://$REGISTRY_ADDR_auth/secret/bb:1"
	[ "$status" -eq 0 ]
	run curl -sf -u alice:s3cret "http://$REGISTRY_ADDR_auth/v2/_catalog"
	[ "$output" = '{"repositories":["secret/bb"]}' ]
}

@test "podman loads an image into private storage and inspects it" {
	run podman_private load -i "$BATS_FILE_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "Loaded image: localhost/di-peers/busybox:1" ]
	run podman_private image inspect --format '{{index .RepoTags 0}} {{.Os}} {{index .Config.Cmd 0}}' di-peers/busybox:1
	[ "$output" = "localhost/di-peers/busybox:1 linux /bin/busybox" ]
	[ "$(podman_private info --format '{{.Store.GraphRoot}}')" = "$PODMAN_DIR/root" ]
	run podman_private run --rm --network none di-peers/busybox:1 /bin/busybox echo hi
	[ "$output" = hi ]
}

@test "umoci unpacks an image that skopeo wrote as an OCI layout" {
	local d=$BATS_TEST_TMPDIR
	skopeo copy "docker-archive:$BATS_FILE_TMPDIR/bb.tar" "oci:$d/oci:v1"
	run umoci unpack --image "$d/oci:v1" "$d/bundle"
	[ "$status" -eq 0 ]
	cmp "$(command -v busybox)" "$d/bundle/rootfs/bin/busybox"
	run jq -c .process.args "$d/bundle/config.json"
	[ "$output" = '["/bin/busybox","sh"]' ]
}

@test "a private containerd imports a docker-archive and runs it with runc" {
	local ctr=(ctr -a "$CONTAINERD_ADDRESS" -n di-peers)
	[[ $CONTAINERD_ADDRESS == "$CONTAINERD_DIR"/* ]]
	run "${ctr[@]}" images import --snapshotter native "$BATS_FILE_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	run "${ctr[@]}" images ls -q
	[ "$output" = docker.io/di-peers/busybox:1 ]
	[ -d "$CONTAINERD_DIR/containerd/root/io.containerd.snapshotter.v1.native/snapshots" ]
	run "${ctr[@]}" run --rm --snapshotter native docker.io/di-peers/busybox:1 \
		peers-run /bin/busybox echo hi from containerd
	[ "$output" = "hi from containerd" ]
	# Starting again is a no-op; stopping twice is safe.
	local dir=$CONTAINERD_DIR
	containerd_start
	[ "$CONTAINERD_DIR" = "$dir" ]
	run bash -c '. "$1"; CONTAINERD_DIR= containerd_stop && echo safe' _ "$BATS_TEST_DIRNAME/lib/peers.bash"
	[ "$output" = safe ]
}

@test "peers_require skips outside CI, fails under CI, names what is missing" {
	local lib=$BATS_TEST_DIRNAME/lib/peers.bash
	run env CI= bash -c '. "$1"; peers_require true no-such-cmd-x' _ "$lib"
	[ "$status" -eq 1 ]
	[ "$output" = "peers: skipping: missing no-such-cmd-x (install tests/lib/packages.txt: make deps)" ]
	run env CI=true bash -c '. "$1"; peers_require true no-such-cmd-x' _ "$lib"
	[ "$status" -eq 1 ]
	[ "$output" = "peers: missing no-such-cmd-x (install tests/lib/packages.txt: make deps)" ]
	run bash -c '. "$1"; peers_require true bash && echo ok' _ "$lib"
	[ "$output" = ok ]
}
