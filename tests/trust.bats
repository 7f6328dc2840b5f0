#!/usr/bin/env bats
# Credentials and trust for di-pull and di-push alike, against the real
# distribution registry (Debian's docker-registry): Docker's credential
# helpers (a docker-credential-ditest script in PATH, named by credHelpers
# and by credsStore in config.json) serving the htpasswd registry's user;
# registries with TLS from a CA made by openssl req, one of them asking
# for a client certificate (http.tls.clientcas); certs.d directories given
# with --cert-dir and found in /etc/containers/certs.d/HOST:PORT/.  What
# was pushed is read back with skopeo.

load lib/testlib
load lib/peers
load lib/pullimg

setup_file() {
	peers_require docker-registry skopeo htpasswd jq curl busybox openssl || return 0
	local d=$BATS_FILE_TMPDIR
	export IMG=$d/img PKI=$d/pki
	mkdir -p "$IMG"/l1/bin "$IMG"/l2/etc "$PKI"
	cp "$(command -v busybox)" "$IMG/l1/bin/busybox"
	echo trust >"$IMG/l2/etc/hostname"
	make_archive "$IMG/a.tar" test/a:1 amd64 "$IMG"/l{1,2}
	make_pki "$PKI"
	htpasswd -B -b -c "$d/htpasswd" alice s3cret 2>/dev/null
	registry_start auth --htpasswd "$d/htpasswd"
	registry_start
	registry_start tls --tls "$PKI/server.pem" "$PKI/server.key"
	registry_start mtls --tls "$PKI/server.pem" "$PKI/server.key" --clientcas "$PKI/clientca.pem"
	export AREG=$REGISTRY_ADDR_auth TREG=$REGISTRY_ADDR_tls MREG=$REGISTRY_ADDR_mtls REG=$REGISTRY_ADDR
	skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret \
		"docker-archive:$IMG/a.tar" "docker://$AREG/test/a:1"
	skopeo copy -q --dest-tls-verify=false "docker-archive:$IMG/a.tar" "docker://$REG/test/a:1"
}

teardown_file() {
	registry_stop
	registry_stop mtls
	registry_stop tls
	registry_stop auth
}

setup() {
	peers_check
	di_setup
	mkdir -p "$T/bin" "$T/dc"
	write_helper "$T/bin/docker-credential-ditest"
	export PATH=$T/bin:$PATH DOCKER_CONFIG=$T/dc DITEST_LOG=$T/helper.log
	export HOME=$T/home XDG_RUNTIME_DIR= REGISTRY_AUTH_FILE=
}

teardown() {
	front_stop
	di_teardown
}

# A CA, a server certificate for 127.0.0.1 signed by it, and a second CA
# with a client certificate signed by that one.
make_pki() {
	local p=$1
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=di-test-ca -days 2 \
		-keyout "$p/ca.key" -out "$p/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-keyout "$p/server.key" -out "$p/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$p/san.ext"
	openssl x509 -req -in "$p/server.csr" -CA "$p/ca.pem" -CAkey "$p/ca.key" \
		-CAcreateserial -days 2 -extfile "$p/san.ext" -out "$p/server.pem" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=di-test-client-ca -days 2 \
		-keyout "$p/clientca.key" -out "$p/clientca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=di-client \
		-keyout "$p/client.key" -out "$p/client.csr" 2>/dev/null
	openssl x509 -req -in "$p/client.csr" -CA "$p/clientca.pem" -CAkey "$p/clientca.key" \
		-CAcreateserial -days 2 -out "$p/client.pem" 2>/dev/null
}

# The helper: what it was asked for goes to $DITEST_LOG (one line per
# call, as sent), its answer depends on $DITEST_MODE.
write_helper() {
	cat >"$1" <<-'SH'
	#!/bin/sh
	[ "$1" = get ] || { echo "ditest: unknown action $1" >&2; exit 3; }
	server=$(cat; echo .)
	server=${server%.}
	printf '[%s]\n' "$server" >>"$DITEST_LOG"
	case ${DITEST_MODE:-ok} in
	ok) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}\n' "$server" ;;
	wrong) printf '{"ServerURL":"%s","Username":"alice","Secret":"wrongsecret42"}\n' "$server" ;;
	fail) echo "ditest: the keychain is locked (wrongsecret42 not shown)" >&2; exit 1 ;;
	notfound) echo "credentials not found in native keychain"; exit 1 ;;
	garbage) echo "Secret wrongsecret42 {" ;;
	token) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-wrongsecret42"}\n' "$server" ;;
	esac
	SH
	chmod +x "$1"
}

pull() {
	di-pull -q --retries 0 "$@"
}

# The manifest digest of REF as the registry serves it, read by skopeo.
remote_digest() {
	skopeo inspect --raw "$@" | sha256sum | cut -d' ' -f1
}

@test "credHelpers: di-pull and di-push get the user from docker-credential-ditest, asked with the host alone" {
	echo '{"credHelpers":{"'"$AREG"'":"ditest"}}' >"$T/dc/config.json"
	pull --plain-http --creds alice:s3cret --name a "$AREG/test/a:1" >"$T/ref.tar"
	pull --plain-http --name a "$AREG/test/a:1" >"$T/out.tar"
	cmp "$T/ref.tar" "$T/out.tar"
	# as docker does: the address on stdin, without a newline
	[ "$(cat "$DITEST_LOG")" = "[$AREG]" ]
	local digest
	digest=$(di-push -q --plain-http "$T/ref.tar" "$AREG/test/pushed:1")
	[ "sha256:$(remote_digest --tls-verify=false --creds alice:s3cret "docker://$AREG/test/pushed:1")" = "$digest" ]
	[ "$(wc -l <"$DITEST_LOG")" -eq 2 ]
}

@test "credsStore serves every host; credHelpers for the host wins over it" {
	echo '{"credsStore":"ditest"}' >"$T/dc/config.json"
	pull --plain-http --creds alice:s3cret --name a "$AREG/test/a:1" >"$T/ref.tar"
	pull --plain-http --name a "$AREG/test/a:1" | cmp - "$T/ref.tar"
	[ "$(cat "$DITEST_LOG")" = "[$AREG]" ]
	# the store is broken, the host's own helper is not
	printf '#!/bin/sh\necho store broken >&2\nexit 1\n' >"$T/bin/docker-credential-broken"
	chmod +x "$T/bin/docker-credential-broken"
	echo '{"credsStore":"broken","credHelpers":{"'"$AREG"'":"ditest"}}' >"$T/dc/config.json"
	pull --plain-http --name a "$AREG/test/a:1" | cmp - "$T/ref.tar"
	# and the store wins over an "auths" entry with a wrong password
	echo '{"credsStore":"ditest","auths":{"'"$AREG"'":{"auth":"'"$(printf alice:nope | base64)"'"}}}' >"$T/dc/config.json"
	pull --plain-http --name a "$AREG/test/a:1" | cmp - "$T/ref.tar"
}

@test "a failing helper: exit 1 with its words and status; not found is no credentials; the secret never shown" {
	echo '{"credHelpers":{"'"$AREG"'":"ditest"}}' >"$T/dc/config.json"
	DITEST_MODE=fail run pull --plain-http "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: credentials: $T/dc/config.json: docker-credential-ditest get: exit status 1: ditest: the keychain is locked (wrongsecret42 not shown)" ]
	DITEST_MODE=fail run di-push -q --plain-http --retries 0 "$IMG/a.tar" "$AREG/test/pushed:2"
	[ "$status" -eq 1 ]
	[ "$output" = "di-push: credentials: $T/dc/config.json: docker-credential-ditest get: exit status 1: ditest: the keychain is locked (wrongsecret42 not shown)" ]
	DITEST_MODE=notfound run pull --plain-http "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $AREG/test/a: the registry wants credentials (give --creds or an auth file)" ]
	DITEST_MODE=wrong run pull --plain-http "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $AREG/test/a: the registry refused the credentials from docker-credential-ditest ($T/dc/config.json)" ]
	DITEST_MODE=wrong run di-push -q --plain-http --retries 0 "$IMG/a.tar" "$AREG/test/pushed:2"
	[ "$status" -eq 1 ]
	[[ $output != *wrongsecret42* ]]
	[[ $output == *"refused the credentials from docker-credential-ditest ($T/dc/config.json)"* ]]
	DITEST_MODE=garbage run pull --plain-http "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: credentials: $T/dc/config.json: docker-credential-ditest get: its answer is not JSON" ]
	echo '{"credsStore":"nothere"}' >"$T/dc/config.json"
	run pull --plain-http "$AREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: credentials: $T/dc/config.json: docker-credential-nothere: No such file or directory" ]
	# nothing was pushed meanwhile
	run skopeo inspect --raw --tls-verify=false --creds alice:s3cret "docker://$AREG/test/pushed:2"
	[ "$status" -ne 0 ]
}

@test "an identity token (Username <token>) is traded for access tokens at the token service" {
	front_start --bearer --refresh-token refresh-wrongsecret42
	echo '{"credHelpers":{"'"$FRONT"'":"ditest"}}' >"$T/dc/config.json"
	pull --plain-http --name a "$REG/test/a:1" >"$T/ref.tar"
	DITEST_MODE=token pull --plain-http --name a "$FRONT/test/a:1" | cmp - "$T/ref.tar"
	grep -q ' POST /token ' "$FRONT_LOG"
	! grep -q ' GET /token' "$FRONT_LOG"
	# a token the service does not take: refused, the token not shown
	front_stop
	front_start --bearer --refresh-token other
	echo '{"credHelpers":{"'"$FRONT"'":"ditest"}}' >"$T/dc/config.json"
	DITEST_MODE=token run pull --plain-http "$FRONT/test/a:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-pull: $FRONT/test/a: "* ]]
	[[ $output != *wrongsecret42* ]]
}

@test "TLS from a private CA: refused without it (host and reason), taken with --cert-dir, by di-push and di-pull" {
	run pull "$TREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: $TREG/test/a: /v2/: TLS with $TREG: SSL certificate problem: unable to get local issuer certificate" ]
	run di-push -q --retries 0 "$IMG/a.tar" "$TREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-push: $TREG/test/a: /v2/: TLS with $TREG: SSL certificate problem: unable to get local issuer certificate" ]
	mkdir "$T/certs" && cp "$PKI/ca.pem" "$T/certs/ca.crt"
	local digest
	digest=$(di-push -q --cert-dir "$T/certs" "$IMG/a.tar" "$TREG/test/a:1")
	[ "sha256:$(remote_digest --cert-dir "$T/certs" "docker://$TREG/test/a:1")" = "$digest" ]
	pull --plain-http --creds alice:s3cret --name a "$AREG/test/a:1" >"$T/ref.tar"
	pull --cert-dir "$T/certs" --name a "$TREG/test/a:1" | cmp - "$T/ref.tar"
	# a CA under another name ending in .crt counts too; a .pem does not
	mv "$T/certs/ca.crt" "$T/certs/other.crt"
	pull --cert-dir "$T/certs" --name a "$TREG/test/a:1" | cmp - "$T/ref.tar"
	mv "$T/certs/other.crt" "$T/certs/ca.pem"
	run pull --cert-dir "$T/certs" "$TREG/test/a:1"
	[ "$status" -eq 1 ]
	[[ $output == *"TLS with $TREG: SSL certificate problem"* ]]
	run pull --cert-dir "$T/nodir" "$TREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: certificates in $T/nodir: No such file or directory" ]
}

@test "/etc/containers/certs.d/HOST:PORT/ and /etc/docker/certs.d/HOST:PORT/ are read by default" {
	peers_require_root || return 0
	local root
	pull --plain-http --creds alice:s3cret --name a "$AREG/test/a:1" >"$T/ref.tar"
	di-push -q --tls-verify=false "$IMG/a.tar" "$TREG/test/a:1" >/dev/null
	for root in /etc/containers/certs.d /etc/docker/certs.d; do
		with_certs_d "$root" pull --name a "$TREG/test/a:1" >"$T/out.tar"
		cmp "$T/ref.tar" "$T/out.tar"
		rm "$T/out.tar"
	done
	# and gone again: refused
	run pull "$TREG/test/a:1"
	[ "$status" -eq 1 ]
	[[ $output == *"TLS with $TREG: SSL certificate problem: unable to get local issuer certificate" ]]
}

# Run a command with ROOT/$TREG/ca.crt in place, then take away what was
# made (the directory is this run's port's own; parents made are removed,
# parents that were there stay as they were).
with_certs_d() {
	local root=$1 made=() p rc=0
	shift
	[ ! -e "$root/$TREG" ] || { echo "$root/$TREG exists already" >&2; return 1; }
	for p in "${root%/*}" "$root"; do
		[ -e "$p" ] || made=("$p" "${made[@]}")
	done
	mkdir -p "$root/$TREG" && cp "$PKI/ca.pem" "$root/$TREG/ca.crt"
	"$@" || rc=$?
	rm -rf "${root:?}/$TREG"
	for p in "${made[@]}"; do rmdir "$p"; done
	return $rc
}

@test "a registry that wants a client certificate: refused without one, taken with a *.cert and *.key pair" {
	mkdir "$T/certs" && cp "$PKI/ca.pem" "$T/certs/ca.crt"
	# TLS 1.3 refuses the missing certificate after the handshake: the
	# request may meet a closed connection first (a send error, tried
	# again) before the alert, which is final
	run di-push -q --retry-delay 0.1 --cert-dir "$T/certs" "$IMG/a.tar" "$MREG/test/a:1"
	[ "$status" -eq 1 ]
	[[ $output == "di-push: $MREG/test/a: /v2/: TLS with $MREG: "*"alert"* ]]
	cp "$PKI/client.pem" "$T/certs/client.cert"
	run pull --cert-dir "$T/certs" "$MREG/test/a:1"
	[ "$status" -eq 1 ]
	[ "$output" = "di-pull: certificates in $T/certs: a client certificate (*.cert) without its *.key" ]
	cp "$PKI/client.key" "$T/certs/client.key"
	local digest
	digest=$(di-push -q --cert-dir "$T/certs" "$IMG/a.tar" "$MREG/test/a:1")
	[ "sha256:$(remote_digest --cert-dir "$T/certs" "docker://$MREG/test/a:1")" = "$digest" ]
	pull --plain-http --creds alice:s3cret --name a "$AREG/test/a:1" >"$T/ref.tar"
	pull --cert-dir "$T/certs" --name a "$MREG/test/a:1" | cmp - "$T/ref.tar"
}
