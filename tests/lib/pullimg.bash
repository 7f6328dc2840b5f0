# pullimg.bash: images in a registry for di-pull's tests and benchmark,
# made without di: layers with GNU tar, archives by hand, pushed with skopeo
# or with curl, and regfront.py (a faulty, token-checking front) run and
# stopped.
#
#   make_archive OUT NAME:TAG ARCH DIR...
#       a docker-archive (docker save form) whose layers are the trees DIR...
#       (bottom first), with a config for linux/ARCH.
#   make_archive_tars OUT NAME:TAG ARCH LAYER.tar...
#       the same from layer tars (moved into the archive).
#   make_index_layout DIR AMD64.tar ARM64.tar
#       an OCI layout whose tag "multi" is an index of the two archives'
#       images (linux/amd64, linux/arm64/v8), preceded by an attestation
#       manifest that claims linux/amd64 as buildkit writes them.
#   push_blob REG REPO FILE            upload FILE as a blob; prints its digest
#   push_manifest REG REPO REF FILE MEDIATYPE
#   manifest_digest REG REPO REF       the Docker-Content-Digest of REF
#   front_start ARGS...                regfront.py in front of $REGISTRY_ADDR
#                                      (or --upstream ADDR first); exports
#                                      FRONT=127.0.0.1:PORT, FRONT_LOG
#   front_stop

PULLIMG_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_tar_layer() {
	tar -C "$1" --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner \
		--format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-cf "$2" .
}

make_archive() {
	local out=$1 ref=$2 arch=$3 tmp i=0 d tars=()
	shift 3
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pullimg.XXXXXX") || return
	for d; do
		i=$((i + 1))
		_tar_layer "$d" "$tmp/l$i.tar" || return
		tars+=("$tmp/l$i.tar")
	done
	make_archive_tars "$out" "$ref" "$arch" "${tars[@]}" && rm -rf "$tmp"
}

# The same from layer tars, which are moved into the archive.
make_archive_tars() {
	local out=$1 ref=$2 arch=$3 tmp diffs='' layers='' hist='' i=0 f sum cfg
	shift 3
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pullimg.XXXXXX") || return
	for f; do
		i=$((i + 1))
		sum=$(sha256sum <"$f" | cut -d' ' -f1)
		mkdir -p "$tmp/img/$sum" && mv "$f" "$tmp/img/$sum/layer.tar"
		diffs+="${diffs:+,}\"sha256:$sum\""
		layers+="${layers:+,}\"$sum/layer.tar\""
		hist+="${hist:+,}{\"created\":\"1970-01-01T00:00:01Z\",\"created_by\":\"layer $i\"}"
	done
	printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:01Z","config":{"Cmd":["/bin/busybox","sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
		"$arch" "$diffs" "$hist" >"$tmp/config.json"
	[[ $arch == arm64 ]] && sed -i 's/"os":"linux"/"os":"linux","variant":"v8"/' "$tmp/config.json"
	cfg=$(sha256sum <"$tmp/config.json" | cut -d' ' -f1)
	mv "$tmp/config.json" "$tmp/img/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' \
		"$cfg" "$ref" "$layers" >"$tmp/img/manifest.json"
	tar -C "$tmp/img" --sort=name --mtime=@1 --owner=0 --group=0 \
		--numeric-owner -cf "$out" . && rm -rf "$tmp"
}

# Write FILE into layout DIR's blobs; print "DIGEST SIZE".
_layout_blob() {
	local dir=$1 file=$2 sum
	sum=$(sha256sum <"$file" | cut -d' ' -f1)
	cp "$file" "$dir/blobs/sha256/$sum"
	echo "sha256:$sum $(stat -c %s "$file")"
}

_layout_ref() {
	jq -c --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | {mediaType, digest, size}' "$1/index.json"
}

make_index_layout() {
	local dir=$1 amd=$2 arm=$3 tmp a b cfg lay att idx
	skopeo copy -q "docker-archive:$amd" "oci:$dir:amd64" &&
		skopeo copy -q "docker-archive:$arm" "oci:$dir:arm64" || return
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pullidx.XXXXXX") || return
	a=$(_layout_ref "$dir" amd64) b=$(_layout_ref "$dir" arm64)
	# An attestation as buildkit attaches one: an in-toto layer.
	echo '{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}' >"$tmp/attcfg"
	echo '{"_type":"https://in-toto.io/Statement/v0.1"}' >"$tmp/intoto"
	read -r cfg cfgsize < <(_layout_blob "$dir" "$tmp/attcfg")
	read -r lay laysize < <(_layout_blob "$dir" "$tmp/intoto")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.in-toto+json","digest":"%s","size":%s}]}' \
		"$cfg" "$cfgsize" "$lay" "$laysize" >"$tmp/att"
	read -r att attsize < <(_layout_blob "$dir" "$tmp/att")
	jq -c -n --argjson a "$a" --argjson b "$b" --arg att "$att" --argjson attsize "$attsize" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [
			{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $att, size: $attsize,
			 platform: {os: "linux", architecture: "amd64"},
			 annotations: {"vnd.docker.reference.type": "attestation-manifest",
			               "vnd.docker.reference.digest": $a.digest}},
			($a + {platform: {os: "linux", architecture: "amd64"}}),
			($b + {platform: {os: "linux", architecture: "arm64", variant: "v8"}})
		]}' >"$tmp/index"
	read -r idx idxsize < <(_layout_blob "$dir" "$tmp/index")
	jq --arg d "$idx" --argjson s "$idxsize" '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
		"$dir/index.json" >"$tmp/top" && mv "$tmp/top" "$dir/index.json"
	rm -rf "$tmp"
}

push_blob() {
	local reg=$1 repo=$2 file=$3 digest loc sep
	digest=sha256:$(sha256sum <"$file" | cut -d' ' -f1)
	loc=$(curl -sf -X POST -D - -o /dev/null "http://$reg/v2/$repo/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p') || return
	[[ $loc == /* ]] && loc=http://$reg$loc
	sep='?'
	[[ $loc == *\?* ]] && sep='&'
	curl -sf -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary "@$file" "$loc${sep}digest=$digest" >/dev/null || return
	echo "$digest"
}

push_manifest() {
	curl -sf -X PUT -H "Content-Type: $5" --data-binary "@$4" \
		"http://$1/v2/$2/manifests/$3" >/dev/null
}

manifest_digest() {
	curl -sf -I -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
		"http://$1/v2/$2/manifests/$3" | tr -d '\r' |
		sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

front_start() {
	local up=${REGISTRY_ADDR:-} dir
	if [[ ${1:-} == --upstream ]]; then
		up=$2
		shift 2
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/front.XXXXXX") || return
	export FRONT_DIR=$dir FRONT_LOG=$dir/log
	: >"$FRONT_LOG"
	/usr/bin/python3 "$PULLIMG_LIB/regfront.py" --upstream "$up" \
		--port-file "$dir/port" --log "$FRONT_LOG" --lifetime 300 "$@" \
		</dev/null >"$dir/out" 2>&1 3>&- &
	echo $! >"$dir/pid"
	for _ in {1..100}; do
		[[ -s $dir/port ]] && break
		sleep 0.05
	done
	[[ -s $dir/port ]] || { cat "$dir/out" >&2; return 1; }
	read -r FRONT_PORT FRONT_SIDE_PORT <"$dir/port"
	export FRONT=127.0.0.1:$FRONT_PORT FRONT_SIDE_PORT
}

front_stop() {
	[[ -n ${FRONT_DIR:-} ]] || return 0
	kill "$(<"$FRONT_DIR/pid")" 2>/dev/null
	wait "$(<"$FRONT_DIR/pid")" 2>/dev/null || true
	rm -rf "$FRONT_DIR"
	unset FRONT FRONT_DIR FRONT_LOG FRONT_PORT FRONT_SIDE_PORT
}
