#!/usr/bin/env bats
# di-edit: an image taken apart (its layers as a STACK, its config),
# inspected, edited and put back together with di-cook --config-blob.
# Random images from di-layer and di-cook, and images from docker build
# and skopeo copy, are edited; every edited tree is checked against the
# layers applied one by one by the reference applier of tests/lib/tree
# and against di-overlay --export; Docker loads and runs the results and
# skopeo inspect reads them as di-edit inspect does.

load lib/testlib
load lib/tree
load lib/peers

setup_file() {
	export FIX=$BATS_FILE_TMPDIR/fix
	mkdir -p "$FIX/bb/bin" "$FIX/hello/etc"
	cp "$(command -v busybox)" "$FIX/bb/bin/busybox"
	printf 'hello\n' >"$FIX/hello/etc/greeting"
	di-layer --tar "$FIX/bb" >"$FIX/bb.tar"
	di-layer --tar "$FIX/hello" >"$FIX/hello.tar"
	if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; then
		dockerd_start || export DOCKERD_FAILED=1
	fi
}

teardown_file() {
	containerd_stop
	dockerd_stop
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

diff_ids() {
	di-edit config "$1" | jq -r '.rootfs.diff_ids[]'
}

# The tree that applying LAYER... one by one gives, listed.
want_tree() {
	local root l
	root=$(mktemp -d "$T/want.XXXXXX")
	for l in "$@"; do
		apply_layer "$root" "$l" || return 1
	done
	tree_list "$root"
}

# The tree di-overlay --export gives for IMAGE, listed.
export_tree() {
	local root
	root=$(mktemp -d "$T/got.XXXXXX")
	di-overlay --from "$1" --export | tar -C "$root" -xpf - || return 1
	tree_list "$root"
}

# The layers of IMAGE, taken apart into DIR/001.tar ...; their names.
layer_files() {
	mkdir -p "$2"
	di-edit layers "$1" | tar -C "$2" -xf - || return 1
	ls "$2"/[0-9]*.tar
}

# A random image of N layers in $T/l1.tar ... from SEED: first a tree,
# then layers with whiteouts and opaque directories.
random_image() {
	local seed=$1 n=$2 i
	rm -rf "$T"/l[0-9]*
	random_tree "$T/l1" "$seed"
	for ((i = 2; i <= n; i++)); do
		random_layer "$T/l$i" $((seed * 10 + i))
	done
	for ((i = 1; i <= n; i++)); do
		tar -C "$T/l$i" -cf "$T/l$i.tar" . || return 1
	done
	di-cook -n rand -t "$seed" $(for ((i = 1; i <= n; i++)); do echo "$T/l$i.tar"; done) >"$T/img.tar"
}

# --- taking apart and putting back ------------------------------------

@test "layers: a STACK of the layers' bytes, bottom first; config: the blob's bytes" {
	di-cook -n two "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	di-edit layers "$T/img.tar" >"$T/stack.tar"
	has_eoa "$T/stack.tar"
	[ "$(tar -tf "$T/stack.tar" | tr '\n' ' ')" = "stack.json 001.tar 002.tar " ]
	cmp <(tar -xOf "$T/stack.tar" 001.tar) "$FIX/bb.tar"
	cmp <(tar -xOf "$T/stack.tar" 002.tar) "$FIX/hello.tar"
	[ "$(tar -xOf "$T/stack.tar" stack.json | jq -c '[.layers[].size]')" = "[$(stat -c %s "$FIX/bb.tar"),$(stat -c %s "$FIX/hello.tar")]" ]
	cfg=$(tar -xOf "$T/img.tar" manifest.json | jq -r '.[0].Config')
	cmp <(di-edit config <"$T/img.tar") <(tar -xOf "$T/img.tar" "$cfg")
}

@test "layers: compressed layers come out as stored, or decompressed with --decompress, checked against their diff_ids" {
	di-cook -n two --format docker "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	mkdir "$T/x" && tar -C "$T/x" -xf "$T/img.tar"
	for l in $(jq -r '.[0].Layers[]' "$T/x/manifest.json"); do
		gzip -n <"$T/x/$l" >"$T/x/$l.gz" && mv "$T/x/$l.gz" "$T/x/$l"
	done
	tar -C "$T/x" -cf "$T/gz.tar" .
	di-edit layers "$T/gz.tar" >"$T/stack.tar"
	l=$(jq -r '.[0].Layers[1]' "$T/x/manifest.json")
	cmp <(tar -xOf "$T/stack.tar" 002.tar) "$T/x/$l"
	[ "$(tar -xOf "$T/stack.tar" stack.json | jq '.layers[1].size')" = "$(stat -c %s "$T/x/$l")" ]
	di-edit layers --decompress "$T/gz.tar" >"$T/plain.tar"
	cmp <(tar -xOf "$T/plain.tar" 002.tar) "$FIX/hello.tar"
	[ "$(tar -xOf "$T/plain.tar" stack.json | jq '.layers[1].size')" = "$(stat -c %s "$FIX/hello.tar")" ]
	# A layer whose bytes are not its diff_id's: no end-of-archive.
	gzip -n <"$FIX/bb.tar" >"$T/x/$l"
	tar -C "$T/x" -cf "$T/bad.tar" .
	for opt in --decompress ""; do
		run di-edit layers $opt "$T/bad.tar" -o "$T/out.tar"
		[ "$status" -eq 1 ]
		[[ "$output" == *"$l"*"the config says"* ]]
		[ ! -e "$T/out.tar" ]
		run sh -c 'di-edit layers $3 "$1" > "$2"' _ "$T/bad.tar" "$T/cut.tar" "$opt"
		[ "$status" -eq 1 ]
		refute has_eoa "$T/cut.tar"
	done
	run di-edit config --decompress "$T/gz.tar"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--decompress is for layers"* ]]
}

# oci_manifest IMAGE: the manifest blob that index.json names, its digest.
oci_manifest_digest() {
	tar -xOf "$1" index.json | jq -r '.manifests[0].digest'
}

@test "gzip and zstd images from di-cook --compress: taken apart and put back, the same archive, byte for byte" {
	random_image 5 3
	for f in "gzip oci" "gzip hybrid" "gzip docker" "zstd oci"; do
		set -- $f
		di-cook -n rand:5 --compress "$1" --format "$2" "$T"/l[0-9].tar >"$T/img.tar"
		di-edit layers "$T/img.tar" >"$T/stack.tar"
		di-edit config "$T/img.tar" >"$T/config.json"
		# The STACK's members are the blobs as stored.
		[ "$(tar -xOf "$T/stack.tar" 001.tar | od -An -tx1 -N4 | tr -d ' \n')" = \
			"$([ "$1" = gzip ] && echo 1f8b0800 || echo 28b52ffd)" ]
		di-cook --config-blob "$T/config.json" -n rand:5 --format "$2" "$T/stack.tar" >"$T/back.tar"
		cmp "$T/img.tar" "$T/back.tar" || { echo "$f"; return 1; }
		cmp "$T/config.json" <(di-edit config "$T/back.tar")
		[ "$(diff_ids "$T/back.tar")" = "$(diff_ids "$T/img.tar")" ]
		if [ "$2" != docker ]; then
			[ "$(oci_manifest_digest "$T/back.tar")" = "$(oci_manifest_digest "$T/img.tar")" ]
		fi
		# The layers as plain files: the same again.
		mkdir -p "$T/m" && tar -C "$T/m" -xf "$T/stack.tar"
		di-cook --config-blob "$T/config.json" -n rand:5 --format "$2" "$T"/m/00[0-9].tar | cmp - "$T/img.tar"
		rm -rf "$T/m"
	done
	# Docker's formats have no zstd layers.
	di-cook -n rand:5 --compress zstd --format oci "$T"/l[0-9].tar >"$T/img.tar"
	di-edit layers "$T/img.tar" >"$T/stack.tar"
	run di-cook -n z "$T/stack.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"stack.tar: 001.tar: a zstd layer needs --format oci"* ]]
}

@test "a compressed STACK member is checked decompressed: a name that climbs out, or not a tar, is refused" {
	mkdir -p "$T/r/etc" && printf 'x\n' >"$T/r/etc/x"
	tar -C "$T/r" -cf "$T/evil.tar" --transform 's,^\./etc,../etc,' ./etc/x
	gzip -n <"$T/evil.tar" >"$T/evil.tar.gz"
	run di-cook -n e "$T/evil.tar.gz" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"evil.tar.gz"*"../etc/x"*"climbs out"* ]]
	[ ! -e "$T/out.tar" ]
	# The same as a STACK's member.
	mkdir "$T/s" && cp "$T/evil.tar.gz" "$T/s/001.tar"
	printf '{"layers":[{"name":"001.tar","paths":[],"size":%d}]}' "$(stat -c %s "$T/evil.tar.gz")" >"$T/s/stack.json"
	tar -C "$T/s" -cf "$T/stack.tar" stack.json 001.tar
	run di-cook -n e "$T/stack.tar" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"stack.tar: 001.tar"*"../etc/x"*"climbs out"* ]]
	[ ! -e "$T/out.tar" ]
	printf 'not a tar at all' | gzip -n >"$T/junk.gz"
	run di-cook -n e "$T/junk.gz" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"junk.gz"* ]]
	[ ! -e "$T/out.tar" ]
}

@test "random images: taking apart and putting back gives the same archive, byte for byte" {
	local seed
	for seed in $(seq 1 12); do
		random_image "$seed" $((2 + seed % 4)) || return 1
		di-edit layers "$T/img.tar" >"$T/stack.tar"
		di-edit config "$T/img.tar" >"$T/config.json"
		di-cook --config-blob "$T/config.json" -n rand:"$seed" "$T/stack.tar" >"$T/back.tar"
		cmp "$T/img.tar" "$T/back.tar" || { echo "seed $seed"; return 1; }
	done
	# The manifest digest, which registries name the image by, too.
	[ "$(tar -xOf "$T/back.tar" index.json | jq -r '.manifests[0].digest')" = \
		"$(tar -xOf "$T/img.tar" index.json | jq -r '.manifests[0].digest')" ]
}

@test "--config-blob: a config whose diff_ids are not the layers' is refused" {
	di-cook -n one "$FIX/bb.tar" >"$T/img.tar"
	di-edit config "$T/img.tar" >"$T/config.json"
	run di-cook --config-blob "$T/config.json" -n one "$FIX/hello.tar" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"rootfs.diff_ids differ"* ]]
	[ ! -e "$T/out.tar" ]
	run di-cook --config-blob "$T/config.json" -c "$T/config.json" -n one "$FIX/bb.tar"
	[ "$status" -eq 2 ]
}

# --- editing: random images against the reference applier -------------

@test "random images: drop, replace and insert give the trees their layers give" {
	local seed n k
	for seed in $(seq 1 10); do
		n=$((2 + seed % 3))
		random_image "$seed" "$n" || return 1
		k=$((1 + seed % n))
		local l=() i
		for ((i = 1; i <= n; i++)); do l+=("$T/l$i.tar"); done
		random_layer "$T/new" $((seed + 500)) && tar -C "$T/new" -cf "$T/new.tar" .
		rm -rf "$T/new"
		# drop k
		di-edit drop "$k" "$T/img.tar" >"$T/drop.tar"
		want_tree "${l[@]:0:k-1}" "${l[@]:k}" >"$T/want"
		export_tree "$T/drop.tar" >"$T/got"
		diff -u "$T/want" "$T/got" || { echo "drop $k seed $seed"; return 1; }
		[ "$(diff_ids "$T/drop.tar")" = "$(diff_ids "$T/img.tar" | sed "${k}d")" ]
		# replace k
		di-edit replace "$k" "$T/new.tar" "$T/img.tar" >"$T/repl.tar"
		want_tree "${l[@]:0:k-1}" "$T/new.tar" "${l[@]:k}" >"$T/want"
		export_tree "$T/repl.tar" >"$T/got"
		diff -u "$T/want" "$T/got" || { echo "replace $k seed $seed"; return 1; }
		# insert k
		di-edit insert "$k" "$T/new.tar" "$T/img.tar" >"$T/ins.tar"
		want_tree "${l[@]:0:k-1}" "$T/new.tar" "${l[@]:k-1}" >"$T/want"
		export_tree "$T/ins.tar" >"$T/got"
		diff -u "$T/want" "$T/got" || { echo "insert $k seed $seed"; return 1; }
		[ "$(diff_ids "$T/ins.tar" | sed "${k}d")" = "$(diff_ids "$T/img.tar")" ]
		[ "$(diff_ids "$T/ins.tar" | sed -n "${k}p")" = "sha256:$(sha256sum <"$T/new.tar" | cut -c1-64)" ]
	done
}

@test "random images: a squashed range flattens to the original tree, its marks acting below" {
	local seed n a b
	for seed in $(seq 1 16); do
		n=$((3 + seed % 3))
		random_image "$seed" "$n" || return 1
		a=$((2 + seed % (n - 1)))
		b=$((a + seed % (n - a + 1)))
		di-edit squash "$a" "$b" "$T/img.tar" >"$T/sq.tar"
		export_tree "$T/img.tar" >"$T/want"
		export_tree "$T/sq.tar" >"$T/got"
		diff -u "$T/want" "$T/got" || { echo "squash $a $b seed $seed"; return 1; }
		# The reference applier on the squashed image's own layers.
		rm -rf "$T/sl"
		want_tree $(layer_files "$T/sq.tar" "$T/sl") >"$T/ref"
		diff -u "$T/want" "$T/ref" || { echo "apply: squash $a $b seed $seed"; return 1; }
		# Layers outside the range keep their diff_ids.
		[ "$(diff_ids "$T/sq.tar" | sed "${a}d")" = "$(diff_ids "$T/img.tar" | sed "${a},${b}d")" ]
		[ "$(di-edit inspect "$T/sq.tar" | jq -r ".layers[$a-1].history.created_by")" = "di-edit squash $a $b" ]
	done
}

@test "squash keeps, as marks, what the range deletes from below" {
	mkdir -p "$T/b/etc" "$T/b/d" "$T/r1" "$T/r2/d"
	echo a >"$T/b/etc/a" && echo k >"$T/b/etc/keep" && echo x >"$T/b/d/x"
	touch "$T/r1/.wh.gone" "$T/r2/d/.wh..wh..opq"
	mkdir "$T/b/gone" && echo g >"$T/b/gone/g"
	mkdir -p "$T/r1/etc" && touch "$T/r1/etc/.wh.a"
	echo z >"$T/r2/d/z"
	for d in b r1 r2; do tar -C "$T/$d" -cf "$T/$d.tar" .; done
	di-cook -n wh "$T/b.tar" "$T/r1.tar" "$T/r2.tar" >"$T/img.tar"
	di-edit squash 2 3 "$T/img.tar" >"$T/sq.tar"
	mkdir "$T/sl" && di-edit layers "$T/sq.tar" | tar -C "$T/sl" -xf -
	run tar -tf "$T/sl/002.tar"
	[[ "$output" == *".wh.gone"* ]]
	[[ "$output" == *"etc/.wh.a"* ]]
	[[ "$output" == *"d/.wh..wh..opq"* ]]
	[ "$(export_tree "$T/sq.tar")" = "$(export_tree "$T/img.tar")" ]
	run sh -c 'di-overlay --from "$1" --export | tar -t | sort' _ "$T/sq.tar"
	[[ "$output" != *"etc/a"* && "$output" != *"gone"* && "$output" != *"d/x"* ]]
	[[ "$output" == *"d/z"* && "$output" == *"etc/keep"* ]]
}

# --- the config ------------------------------------------------------

@test "set: the config changes, the layers' bytes and the history do not" {
	di-cook -n app "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	di-edit set --cmd '["/bin/busybox","cat","/etc/greeting"]' --entrypoint '[]' \
		--env PATH=/bin --env LANG=C --user 1:1 --workdir /etc --label a=b \
		--expose 8080 --created 1000 "$T/img.tar" >"$T/set.tar"
	di-edit config "$T/set.tar" >"$T/c.json"
	[ "$(jq -c .config "$T/c.json")" = '{"Cmd":["/bin/busybox","cat","/etc/greeting"],"Entrypoint":[],"Env":["PATH=/bin","LANG=C"],"ExposedPorts":{"8080/tcp":{}},"Labels":{"a":"b"},"User":"1:1","WorkingDir":"/etc"}' ]
	[ "$(jq -r .created "$T/c.json")" = 1970-01-01T00:16:40Z ]
	[ "$(diff_ids "$T/set.tar")" = "$(diff_ids "$T/img.tar")" ]
	[ "$(jq -c .history "$T/c.json")" = "$(di-edit config "$T/img.tar" | jq -c .history)" ]
	# history replaced whole, checked against the layers
	echo '[{"created_by":"one"},{"created_by":"two"},{"created_by":"ENV","empty_layer":true}]' >"$T/h.json"
	di-edit set --history "$T/h.json" "$T/img.tar" | di-edit inspect | jq -r '.layers[].history.created_by' >"$T/by"
	[ "$(cat "$T/by")" = "$(printf 'one\ntwo')" ]
	echo '[{"created_by":"one"}]' >"$T/h1.json"
	run di-edit set --history "$T/h1.json" "$T/img.tar" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"h1.json: not a history of 2 layers"* ]]
	[ ! -e "$T/out.tar" ]
}

@test "drop moves a layer's empty history entries to the next layer" {
	di-cook -n app "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	echo '[{"created_by":"bb"},{"created_by":"ENV A=1","empty_layer":true},{"created_by":"hello"},{"created_by":"CMD","empty_layer":true}]' >"$T/h.json"
	di-edit set --history "$T/h.json" "$T/img.tar" >"$T/h.tar"
	di-edit drop 2 "$T/h.tar" | di-edit config | jq -c '[.history[].created_by]' >"$T/got"
	[ "$(cat "$T/got")" = '["bb","ENV A=1","CMD"]' ]
	di-edit drop 1 "$T/h.tar" | di-edit config | jq -c '[.history[].created_by]' >"$T/got"
	[ "$(cat "$T/got")" = '["ENV A=1","hello","CMD"]' ]
}

# --- rebase ------------------------------------------------------------

@test "rebase equals cooking the added layers on the new base" {
	local seed
	for seed in 1 2 3 4; do
		random_image "$seed" 4 || return 1
		di-cook -n old "$T/l1.tar" "$T/l2.tar" >"$T/old.tar"
		di-cook --from "$T/old.tar" -n app "$T/l3.tar" "$T/l4.tar" >"$T/app.tar"
		random_tree "$T/nb" $((seed + 99)) && tar -C "$T/nb" -cf "$T/nb.tar" . && rm -rf "$T/nb"
		di-cook -n new "$FIX/bb.tar" "$T/nb.tar" >"$T/new.tar"
		di-edit rebase "$T/old.tar" "$T/new.tar" "$T/app.tar" >"$T/re.tar"
		di-cook --from "$T/new.tar" -n direct "$T/l3.tar" "$T/l4.tar" >"$T/direct.tar"
		[ "$(diff_ids "$T/re.tar")" = "$(diff_ids "$T/direct.tar")" ]
		[ "$(export_tree "$T/re.tar")" = "$(export_tree "$T/direct.tar")" ]
	done
	# Not built on OLDBASE: refused, naming the layer.
	run di-edit rebase "$T/new.tar" "$T/old.tar" "$T/app.tar" -o "$T/out.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 1 is sha256:"*"the image is not built on OLDBASE"* ]]
	[ ! -e "$T/out.tar" ]
}

# --- bad input and usage -----------------------------------------------

@test "bad operands: exit 2 for usage, 1 for a layer the image lacks" {
	di-cook -n app "$FIX/bb.tar" >"$T/img.tar"
	run di-edit frobnicate "$T/img.tar"
	[ "$status" -eq 2 ]
	run di-edit drop "$T/img.tar"
	[ "$status" -eq 2 ]
	run di-edit drop 1 "$T/img.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"its only layer"* ]]
	run di-edit replace 3 "$FIX/hello.tar" "$T/img.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer '3': the image has layers 1 to 1"* ]]
	run di-edit set --cmd 'not json' "$T/img.tar"
	[ "$status" -eq 2 ]
	run di-edit drop 1 --cmd '[]' "$T/img.tar"
	[ "$status" -eq 2 ]
	head -c 3000 "$FIX/bb.tar" >"$T/cut.tar"
	run sh -c 'di-edit insert 1 "$1" "$2" > "$3"' _ "$T/cut.tar" "$T/img.tar" "$T/out.tar"
	[ "$status" -eq 1 ]
	refute has_eoa "$T/out.tar"
}

@test "edits are reproducible and keep unchanged layers' digests" {
	di-cook -n app "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	di-edit set --cmd '["x"]' "$T/img.tar" >"$T/a.tar"
	di-edit set --cmd '["x"]' <"$T/img.tar" >"$T/b.tar"
	cmp "$T/a.tar" "$T/b.tar"
	[ "$(di-edit inspect "$T/a.tar" | jq -c '[.layers[].digest]')" = \
		"$(di-edit inspect "$T/img.tar" | jq -c '[.layers[].digest]')" ]
}

# --- inspect ---------------------------------------------------------

@test "inspect: name, platform, config digest, and per layer its digest, diff_id, size, history, entries" {
	di-cook -n reg.example/app -t v2 "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	di-edit inspect "$T/img.tar" >"$T/i.json"
	cfg=$(tar -xOf "$T/img.tar" manifest.json | jq -r '.[0].Config')
	[ "$(jq -r .name "$T/i.json")" = reg.example/app:v2 ]
	[ "$(jq -r .config_digest "$T/i.json")" = "sha256:$(tar -xOf "$T/img.tar" "$cfg" | sha256sum | cut -c1-64)" ]
	[ "$(jq -r '.platform.os' "$T/i.json")" = linux ]
	[ "$(jq -r '.layers[1].diff_id' "$T/i.json")" = "sha256:$(sha256sum <"$FIX/hello.tar" | cut -c1-64)" ]
	[ "$(jq -r '.layers[1].size' "$T/i.json")" = "$(stat -c %s "$FIX/hello.tar")" ]
	[ "$(jq -r '.layers[1].entries' "$T/i.json")" = "$(tar -tf "$FIX/hello.tar" | wc -l)" ]
	[ "$(jq -r '.layers[0].history.created_by' "$T/i.json")" = di-cook ]
}

@test "skopeo inspect agrees with di-edit inspect, for docker-archive and oci-archive" {
	peers_require skopeo
	di-cook -n app -t v1 "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	di-edit set --env A=1 "$T/img.tar" >"$T/set.tar"
	skopeo copy -q "docker-archive:$T/set.tar" "oci-archive:$T/oci.tar:app:v1"
	for ref in "docker-archive:$T/set.tar" "oci-archive:$T/oci.tar"; do
		skopeo inspect "$ref" >"$T/s.json"
		f=${ref#*:}
		f=${f%%:*}
		di-edit inspect "$f" >"$T/d.json"
		[ "$(jq -c .Layers "$T/s.json")" = "$(jq -c '[.layers[].digest]' "$T/d.json")" ]
		[ "$(jq -r .Os "$T/s.json")/$(jq -r .Architecture "$T/s.json")" = \
			"$(jq -r '.platform.os + "/" + .platform.architecture' "$T/d.json")" ]
		[ "$(jq -c .Env "$T/s.json")" = "$(jq -c .config.Env "$T/d.json")" ]
		[ "$(skopeo inspect --config "$ref" | jq -S -c .)" = "$(di-edit config "$f" | jq -S -c .)" ]
	done
}

@test "skopeo's docker-archive and oci-archive: taken apart and put back, the same diff_ids, config and manifest digest" {
	peers_require skopeo
	random_image 7 3
	skopeo copy -q "docker-archive:$T/img.tar" "docker-archive:$T/sd.tar:rand:7"
	skopeo copy -q "docker-archive:$T/img.tar" "oci-archive:$T/so.tar:rand:7"
	for f in sd so; do
		di-edit layers "$T/$f.tar" >"$T/stack.tar"
		di-edit config "$T/$f.tar" >"$T/config.json"
		di-cook --config-blob "$T/config.json" -n rand:7 "$T/stack.tar" >"$T/back-$f.tar"
		cmp "$T/config.json" <(di-edit config "$T/back-$f.tar")
		[ "$(diff_ids "$T/back-$f.tar")" = "$(diff_ids "$T/img.tar")" ]
	done
	# docker-archive holds the layers as they are: skopeo names the
	# image put back by the same manifest digest.
	[ "$(skopeo inspect "docker-archive:$T/back-sd.tar" | jq -r .Digest)" = \
		"$(skopeo inspect "docker-archive:$T/sd.tar" | jq -r .Digest)" ]
	# skopeo's oci-archive gzips them (and writes an OCI config): the
	# STACK keeps them as stored, so the manifest names the same blobs
	# (di-cook writes its keys sorted, skopeo in its own order).
	di-edit layers "$T/so.tar" >"$T/stack.tar"
	di-edit config "$T/so.tar" >"$T/config.json"
	di-cook --config-blob "$T/config.json" -n rand:7 --format oci "$T/stack.tar" >"$T/back-oci.tar"
	[ "$(skopeo inspect --raw "oci-archive:$T/back-oci.tar" | jq -S -c .)" = \
		"$(skopeo inspect --raw "oci-archive:$T/so.tar" | jq -S -c .)" ]
	skopeo inspect --raw "oci-archive:$T/back-oci.tar" |
		jq -e '.layers | length == 3 and all(.mediaType == "application/vnd.oci.image.layer.v1.tar+gzip")'
	[ "$(skopeo inspect "oci-archive:$T/back-so.tar" | jq -c .Layers)" = \
		"$(skopeo inspect "oci-archive:$T/so.tar" | jq -c .Layers)" ]
	# Put back again, di-cook's own image keeps its manifest digest.
	di-edit layers "$T/back-oci.tar" >"$T/stack2.tar"
	di-cook --config-blob "$T/config.json" -n rand:7 --format oci "$T/stack2.tar" | cmp - "$T/back-oci.tar"
	# An edit copies them as stored.
	di-edit set "$T/so.tar" -n rand:7 >"$T/same.tar"
	[ "$(skopeo inspect "oci-archive:$T/so.tar" | jq -c .Layers)" = \
		"$(di-edit inspect "$T/same.tar" | jq -c '[.layers[].digest]')" ]
	[ "$(di-edit inspect "$T/same.tar" | jq -r '.layers[0].compression')" = gzip ]
}

@test "manifest: a skopeo oci-archive (gzip layers) taken apart and put back with --manifest-blob, the same manifest digest" {
	peers_require skopeo
	random_image 7 3
	skopeo copy -q "docker-archive:$T/img.tar" "oci-archive:$T/so.tar:rand:7"
	di-edit layers "$T/so.tar" >"$T/stack.tar"
	di-edit config "$T/so.tar" >"$T/config.json"
	di-edit manifest "$T/so.tar" >"$T/manifest.json"
	# The manifest blob's bytes as stored: skopeo's own.
	cmp "$T/manifest.json" <(skopeo inspect --raw "oci-archive:$T/so.tar")
	for fmt in oci hybrid; do
		di-cook --config-blob "$T/config.json" --manifest-blob "$T/manifest.json" \
			-n rand:7 --format $fmt "$T/stack.tar" >"$T/back.tar"
		[ "$(skopeo inspect --raw "oci-archive:$T/back.tar" | sha256sum)" = \
			"$(skopeo inspect --raw "oci-archive:$T/so.tar" | sha256sum)" ]
		[ "$(tar -xOf "$T/back.tar" index.json | jq -r '.manifests[0].digest')" = \
			"$(tar -xOf "$T/so.tar" index.json | jq -r '.manifests[0].digest')" ]
		cmp "$T/manifest.json" <(di-edit manifest "$T/back.tar")
	done
	# di-cook's hybrid archive: the OCI manifest its index.json names.
	cmp <(di-edit manifest "$T/img.tar") \
		<(tar -xOf "$T/img.tar" "blobs/sha256/$(tar -xOf "$T/img.tar" index.json | jq -r '.manifests[0].digest | ltrimstr("sha256:")')")
	# skopeo's docker-archive stores no manifest blob: said so, nothing written.
	skopeo copy -q "docker-archive:$T/img.tar" "docker-archive:$T/sd.tar:rand:7"
	run di-edit manifest "$T/sd.tar" -o "$T/none.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no OCI manifest blob"* ]]
	[ ! -e "$T/none.json" ]
}

@test "--manifest-blob: a manifest that does not describe the layers or config written is refused, naming the first mismatch" {
	peers_require skopeo
	random_image 7 3
	skopeo copy -q "docker-archive:$T/img.tar" "oci-archive:$T/so.tar:rand:7"
	di-edit layers "$T/so.tar" >"$T/stack.tar"
	di-edit config "$T/so.tar" >"$T/config.json"
	di-edit manifest "$T/so.tar" >"$T/manifest.json"
	cook() { di-cook --config-blob "$T/config.json" --manifest-blob "$1" -n rand:7 --format oci "$T/stack.tar" -o "$T/out.tar"; }
	jq -c '.layers[1].size += 1' "$T/manifest.json" >"$T/m1.json"
	run cook "$T/m1.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest blob: layer 1: size "* ]]
	[ ! -e "$T/out.tar" ]
	jq -c '.layers |= [.[1], .[0], .[2]]' "$T/manifest.json" >"$T/m2.json"
	run cook "$T/m2.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest blob: layer 0: digest $(jq -r '.layers[1].digest' "$T/manifest.json")"* ]]
	jq -c '.layers[2].mediaType = "application/vnd.oci.image.layer.v1.tar"' "$T/manifest.json" >"$T/m3.json"
	run cook "$T/m3.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest blob: layer 2: media type application/vnd.oci.image.layer.v1.tar,"* ]]
	jq -c '.layers |= .[0:2]' "$T/manifest.json" >"$T/m4.json"
	run cook "$T/m4.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest blob: 2 layers, 3 written"* ]]
	jq -c '.config.size += 1' "$T/manifest.json" >"$T/m5.json"
	run cook "$T/m5.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest blob: config size "* ]]
	[ ! -e "$T/out.tar" ]
	# Only with --config-blob, and only where there is an OCI layout.
	run di-cook --manifest-blob "$T/manifest.json" -n rand:7 "$T/stack.tar"
	[ "$status" -eq 2 ]
	run di-cook --config-blob "$T/config.json" --manifest-blob "$T/manifest.json" -n rand:7 --format docker "$T/stack.tar"
	[ "$status" -eq 2 ]
}

# --- Docker --------------------------------------------------------------

@test "docker build, docker save: taken apart and put back, the same image id and manifest digest" {
	need_docker
	di-cook -n di-edit-base:1 -c <(echo '{"Env":["PATH=/bin"]}') "$FIX/bb.tar" >"$T/base.tar"
	docker load -i "$T/base.tar" >/dev/null
	mkdir "$T/ctx" && printf 'FROM di-edit-base:1\nRUN ["/bin/busybox","sh","-c","mkdir -p /srv && echo built > /srv/made && rm /etc/greeting || true"]\nENV GREETING=hi\nCMD ["/bin/busybox","cat","/srv/made"]\n' >"$T/ctx/Dockerfile"
	DOCKER_BUILDKIT=0 docker build -q -t di-edit-built:1 "$T/ctx" >/dev/null
	docker save di-edit-built:1 >"$T/saved.tar"
	di-edit layers "$T/saved.tar" >"$T/stack.tar"
	di-edit config "$T/saved.tar" >"$T/config.json"
	di-cook --config-blob "$T/config.json" -n di-edit-back:1 "$T/stack.tar" >"$T/back.tar"
	[ "$(skopeo inspect "docker-archive:$T/back.tar" | jq -r .Digest)" = \
		"$(skopeo inspect "docker-archive:$T/saved.tar" | jq -r .Digest)" ]
	docker load -i "$T/back.tar" >/dev/null
	[ "$(docker image inspect -f '{{.Id}}' di-edit-back:1)" = "$(docker image inspect -f '{{.Id}}' di-edit-built:1)" ]
	[ "$(di-edit inspect "$T/saved.tar" | jq -r '.layers[1].history.created_by')" = \
		"$(docker history --no-trunc --format '{{.CreatedBy}}' di-edit-built:1 | sed -n 3p)" ]
}

@test "edited images load and run in Docker" {
	need_docker
	di-cook -n di-edit-app:1 -c <(echo '{"Env":["PATH=/bin"],"Cmd":["/bin/busybox","cat","/etc/greeting"]}') \
		"$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	printf 'bye\n' >"$T/bye" && mkdir -p "$T/r/etc" && cp "$T/bye" "$T/r/etc/greeting"
	di-layer --tar "$T/r" >"$T/bye.tar"
	di-edit replace 2 "$T/bye.tar" "$T/img.tar" |
		di-edit set --cmd '["/bin/busybox","cat","/etc/greeting"]' --env X=1 -n di-edit-app:2 >"$T/e.tar"
	docker load -i "$T/e.tar" >/dev/null
	[ "$(docker run --rm --network none di-edit-app:2)" = bye ]
	[ "$(docker run --rm --network none di-edit-app:2 /bin/busybox sh -c 'echo $X')" = 1 ]
	di-edit drop 2 "$T/img.tar" -n di-edit-app:3 >"$T/d.tar"
	docker load -i "$T/d.tar" >/dev/null
	run docker run --rm --network none di-edit-app:3
	[ "$status" -ne 0 ]
	[[ "$output" == *"/etc/greeting"*"No such file"* ]]
	[ "$(docker run --rm --network none di-edit-app:3 /bin/busybox echo ok)" = ok ]
	di-edit squash 1 2 "$T/img.tar" -n di-edit-app:4 >"$T/s.tar"
	docker load -i "$T/s.tar" >/dev/null
	[ "$(docker run --rm --network none di-edit-app:4)" = hello ]
	docker save di-edit-app:4 | di-edit inspect | jq -e '.layers | length == 1'
}

@test "a skopeo oci-archive (gzip layers) taken apart and put back loads and runs in Docker, its layers as stored" {
	need_docker
	peers_require skopeo
	di-cook -n di-edit-gz:1 -c <(echo '{"Env":["PATH=/bin"],"Cmd":["/bin/busybox","cat","/etc/greeting"]}') \
		"$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	skopeo copy -q "oci-archive:$T/img.tar" "oci-archive:$T/so.tar:di-edit-gz:1"
	di-edit layers "$T/so.tar" >"$T/stack.tar"
	di-edit config "$T/so.tar" >"$T/config.json"
	di-cook --config-blob "$T/config.json" -n di-edit-gz:2 "$T/stack.tar" >"$T/back.tar"
	# The OCI part names skopeo's gzip blobs (skopeo's docker-archive
	# reader names layers by their diff_ids, whatever they hold).
	[ "$(skopeo inspect "oci-archive:$T/back.tar" | jq -c .Layers)" = \
		"$(skopeo inspect "oci-archive:$T/so.tar" | jq -c .Layers)" ]
	skopeo inspect --raw "docker-archive:$T/back.tar" |
		jq -e 'all(.layers[]; .mediaType == "application/vnd.docker.image.rootfs.diff.tar.gzip")'
	docker load -i "$T/back.tar" >/dev/null
	[ "$(docker run --rm --network none di-edit-gz:2)" = hello ]
	[ "$(docker image inspect -f '{{.Id}}' di-edit-gz:2)" = "sha256:$(sha256sum <"$T/config.json" | cut -c1-64)" ]
}

need_containerd() {
	peers_check
	peers_require containerd ctr runc
	peers_require_root
	containerd_start
}

@test "edited images import and run in containerd (ctr, runc, native)" {
	need_containerd
	local ctr=(ctr -a "$CONTAINERD_ADDRESS" -n di-edit)
	di-cook -n edit/app:1 -c <(echo '{"Env":["PATH=/bin"],"Cmd":["/bin/busybox","cat","/etc/greeting"]}') \
		"$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	di-edit squash 1 2 "$T/img.tar" -n edit/app:squashed >"$T/s.tar"
	di-edit set --cmd '["/bin/busybox","sh","-c","echo $X"]' --env X=from-set "$T/img.tar" -n edit/app:set >"$T/e.tar"
	di-edit drop 2 "$T/img.tar" -n edit/app:dropped --format oci |
		di-edit set --cmd '["/bin/busybox","ls","/etc/greeting"]' -n edit/app:dropped >"$T/d.tar"
	for f in s e d; do
		"${ctr[@]}" images import --snapshotter native "$T/$f.tar"
	done
	run "${ctr[@]}" run --rm --snapshotter native docker.io/edit/app:squashed sq
	[ "$status" -eq 0 ] && [ "$output" = hello ]
	run "${ctr[@]}" run --rm --snapshotter native docker.io/edit/app:set set
	[ "$status" -eq 0 ] && [ "$output" = from-set ]
	run "${ctr[@]}" run --rm --snapshotter native docker.io/edit/app:dropped dr
	[ "$status" -ne 0 ]
	[[ "$output" == *"/etc/greeting"* ]]
}

# --- inspect --all ---------------------------------------------------------

@test "inspect --all: a line per image of a docker-archive, and per platform of a nested index" {
	mkdir "$T/x" "$T/o"
	for a in amd64 arm64; do
		di-layer -c <(printf '{"architecture":"%s","os":"linux","config":{"Cmd":["%s"]}}' "$a" "$a") \
			"$FIX/hello" >"$T/$a.bundle"
		di-cook -n "img-$a" --format docker "$T/$a.bundle" >"$T/$a-d.tar"
		di-cook -n multi --format oci "$T/$a.bundle" >"$T/$a-o.tar"
		tar -C "$T/x" -xf "$T/$a-d.tar"
		tar -C "$T/o" -xf "$T/$a-o.tar"
	done
	jq -s add <(tar -xOf "$T/amd64-d.tar" manifest.json) <(tar -xOf "$T/arm64-d.tar" manifest.json) >"$T/x/manifest.json"
	tar -C "$T/x" -cf "$T/both.tar" .
	di-edit inspect --all "$T/both.tar" >"$T/all"
	[ "$(wc -l <"$T/all")" = 2 ]
	[ "$(jq -r '.name + " " + .platform.architecture' "$T/all" | tr '\n' ,)" = "img-amd64:latest amd64,img-arm64:latest arm64," ]
	# An index of two platforms, nested under index.json.
	jq -s '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: ([.[].manifests[]] | map(del(.annotations)))}' \
		<(tar -xOf "$T/amd64-o.tar" index.json) <(tar -xOf "$T/arm64-o.tar" index.json) >"$T/idx.json"
	d=$(sha256sum <"$T/idx.json" | cut -c1-64)
	cp "$T/idx.json" "$T/o/blobs/sha256/$d"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"multi:1"}}]}' \
		"$d" "$(stat -c %s "$T/idx.json")" >"$T/o/index.json"
	tar -C "$T/o" -cf "$T/multi.tar" .
	di-edit inspect --all <"$T/multi.tar" >"$T/all"
	[ "$(jq -r '.platform.architecture + " " + (.config.Cmd[0])' "$T/all" | tr '\n' ,)" = "amd64 amd64,arm64 arm64," ]
	[ "$(jq -s -r '[.[].name] | unique[]' "$T/all")" = multi:1 ]
	# Without --all, one image: this machine's platform or the first.
	[ "$(di-edit inspect "$T/multi.tar" | wc -l)" = 1 ]
}

@test "a layer whose names climb out is refused by replace and insert, naming the entry" {
	di-cook -n app "$FIX/bb.tar" "$FIX/hello.tar" >"$T/img.tar"
	python3 - "$T/up.tar" <<-'PY'
		import io, sys, tarfile
		with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
		    i = tarfile.TarInfo("etc/../../escaped")
		    i.size = 3
		    t.addfile(i, io.BytesIO(b"up\n"))
	PY
	for verb in "replace 2" "insert 1"; do
		run sh -c 'di-edit $1 "$2" "$3" > "$4"' _ "$verb" "$T/up.tar" "$T/img.tar" "$T/out.tar"
		[ "$status" -eq 1 ]
		[[ "$output" == *"offset 0: 'etc/../../escaped'"*"climbs out"* ]]
		refute has_eoa "$T/out.tar"
	done
}
