# peers.bash: run the real peer programs (Docker, the distribution registry,
# podman, skopeo, umoci, Docker's Go tarsum) for di's tests and benchmarks.
#
# Source it from a bats file (load lib/peers) or a bash script. The daemons
# need root. Every *_start/*_setup function is idempotent and every
# *_stop/*_cleanup is safe to call when nothing was started. State lives in
# exported variables, so child shells see (and may stop) the same daemons.
# In a bats file:
#
#   setup_file() {
#       peers_require dockerd skopeo || return 0   # tests skip or fail
#       dockerd_start
#   }
#   setup() { peers_check; }
#   teardown_file() { dockerd_stop; }
#
#   peers_require CMD...        if a command is missing: under CI=true fail,
#                               else skip the test (from a script: message
#                               and return 1; in setup_file: see peers_check)
#   peers_require_root          the same, when not running as root
#   peers_check                 in setup(): skip or fail each test for what
#                               peers_require found missing in setup_file,
#                               which bats cannot skip from
#
#   dockerd_start / dockerd_stop
#       a private dockerd (vfs, no bridge, no iptables) and containerd,
#       all state in one temp dir (/tmp/did.XXXX: socket paths are short).
#       Exports DOCKER_HOST=unix://DIR/docker.sock, DOCKER_CONFIG, DOCKERD_DIR.
#
#   containerd_start / containerd_stop
#       a private containerd alone (no CRI), its root, state and socket in
#       one temp dir, for ctr with runc.  Exports CONTAINERD_ADDRESS (the
#       socket, which ctr also reads from the environment) and
#       CONTAINERD_DIR.  Usage: ctr -a "$CONTAINERD_ADDRESS" -n NS ...
#
#   registry_start [NAME] [--htpasswd FILE] / registry_stop [NAME]
#       a distribution registry (docker-registry) on 127.0.0.1, plain HTTP,
#       filesystem storage in a temp dir, Basic auth with --htpasswd.
#       Without NAME exports REGISTRY_ADDR=127.0.0.1:PORT and REGISTRY_DIR;
#       with NAME (letters, digits, _) exports REGISTRY_ADDR_NAME and
#       REGISTRY_DIR_NAME, so several registries can run at once.
#       --tls CERT KEY serves https with that certificate; --clientcas CA
#       then asks clients for a certificate signed by CA.
#
#   gotarsum_build
#       builds tests/ref/gotarsum (Docker's pkg/tarsum) into
#       $BUILD_DIR/gotarsum (BUILD_DIR defaults to build/ at the repo root),
#       only when missing or older than its source. Exports GOTARSUM.
#       Usage: "$GOTARSUM" [-v v0|v1|dev] [-e EXTRAFILE] < layer.tar
#
#   podman_setup / podman_private ARGS... / podman_cleanup
#       podman with --storage-driver vfs, a private --root, --runroot,
#       --tmpdir and containers.conf in a temp dir. Exports PODMAN_DIR.
#
#   busybox_image OUT [NAME:TAG]
#       writes a one-layer docker-archive (docker save format) holding
#       busybox-static's busybox as /bin/busybox, tagged NAME:TAG (default
#       busybox:test), made by hand so the peers can be tested without di.

PEERS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Say why and give up: a failed test under CI, a skipped one elsewhere.
# bats 1.8 cannot skip from setup_file: there the reason is kept in
# PEERS_MISSING for peers_check to act on in each test. Outside bats there is
# no skip: the caller gets the message and 1.
_peers_missing() {
	local why=$*
	if declare -F skip >/dev/null && [[ -n ${BATS_TEST_FILENAME:-} ]]; then
		if [[ -z ${BATS_TEST_NAME:-} ]]; then
			export PEERS_MISSING=$why
			echo "peers: $why" >&2
			return 1
		fi
		[[ ${CI:-} == true ]] || skip "$why"
	fi
	if [[ ${CI:-} == true ]]; then
		echo "peers: $why" >&2
	else
		echo "peers: skipping: $why" >&2
	fi
	return 1
}

peers_check() {
	[[ -z ${PEERS_MISSING:-} ]] || _peers_missing "$PEERS_MISSING"
}

peers_require() {
	local cmd missing=()
	for cmd; do
		command -v "$cmd" >/dev/null || missing+=("$cmd")
	done
	((${#missing[@]} == 0)) && return 0
	_peers_missing "missing ${missing[*]} (install tests/lib/packages.txt: make deps)"
}

peers_require_root() {
	[[ $(id -u) == 0 ]] || _peers_missing "needs root"
}

# Wait up to $1 seconds for command "${@:2}" to succeed.
_peers_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# True once the command "${@:2}" succeeds, or the process whose pid is in
# file $1 has died (no use waiting longer).
_peers_up_or_dead() {
	! kill -0 "$(<"$1")" || "${@:2}"
}

# Start "$@" in the background with output to log $1 and its pid in file $2.
# It must not inherit bats' file descriptor 3: bats would wait for it forever.
_peers_spawn() {
	local log=$1 pidfile=$2
	shift 2
	"$@" </dev/null >"$log" 2>&1 3>&- &
	echo $! >"$pidfile"
}

# Kill the process whose pid is in file $1 and wait up to $2 s for it to go;
# then SIGKILL. Only if its command line names the pid file's directory: a
# pid left from a daemon long gone may be another process's now.
_peers_kill_pidfile() {
	local pid
	[[ -s $1 ]] || return 0
	pid=$(<"$1")
	[[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *"${1%/*}/"* ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	_peers_wait "$2" eval "! kill -0 $pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	_peers_wait 5 eval "! kill -0 $pid"
}

# Unmount whatever is still mounted under $1 (deepest first), remove it.
_peers_rmdir() {
	local dir=$1 mnt
	[[ -n $dir && -d $dir ]] || return 0
	findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r |
		while read -r mnt; do
			umount "$mnt" 2>/dev/null || umount -l "$mnt"
		done
	rm -rf "$dir"
}

_peers_show_log() {
	echo "--- $1 (last 30 lines)" >&2
	tail -n 30 "$1" >&2
}

## dockerd

_dockerd_alive() {
	[[ -n ${DOCKERD_DIR:-} && -s $DOCKERD_DIR/dockerd.pid ]] &&
		kill -0 "$(<"$DOCKERD_DIR/dockerd.pid")" 2>/dev/null
}

dockerd_start() {
	peers_require dockerd docker containerd ctr runc || return
	peers_require_root || return
	_dockerd_alive && return 0
	# Short path: the sockets below it must fit in 108 bytes.
	local dir
	dir=$(mktemp -d /tmp/did.XXXX) || return
	# A docker client config of our own; podman and skopeo read it too, and
	# fail when DOCKER_CONFIG names a directory without config.json.
	mkdir "$dir/config" && echo '{}' >"$dir/config/config.json"
	export DOCKERD_DIR=$dir DOCKER_HOST=unix://$dir/docker.sock DOCKER_CONFIG=$dir/config
	if ! _containerd_spawn "$dir" || ! _dockerd_spawn "$dir"; then
		dockerd_stop
		return 1
	fi
}

# dockerd would use a containerd listening on /run/containerd/containerd.sock
# rather than start its own, and hangs on a stale socket there; so it gets
# one of our own, with a config that ignores the host's.
_containerd_spawn() {
	local dir=$1
	cat >"$dir/containerd.toml" <<-EOF
	version = 2
	root = "$dir/containerd/root"
	state = "$dir/containerd/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$dir/containerd.sock"
	EOF
	_peers_spawn "$dir/containerd.log" "$dir/containerd.pid" \
		containerd --config "$dir/containerd.toml"
	_peers_wait 30 _peers_up_or_dead "$dir/containerd.pid" \
		ctr --address "$dir/containerd.sock" version
	ctr --address "$dir/containerd.sock" version >/dev/null 2>&1 && return 0
	echo "peers: containerd did not start (or answer within 30 s)" >&2
	_peers_show_log "$dir/containerd.log"
	return 1
}

# A daemon.json of our own, in place of the host's; without
# deprecated-key-path dockerd 20.10 writes /etc/docker/key.json.
_dockerd_spawn() {
	local dir=$1
	printf '{"deprecated-key-path": "%s"}\n' "$dir/key.json" >"$dir/daemon.json"
	_peers_spawn "$dir/dockerd.log" "$dir/dockerd.pid" dockerd \
		--config-file "$dir/daemon.json" --containerd "$dir/containerd.sock" \
		--data-root "$dir/data" --exec-root "$dir/exec" \
		--pidfile "$dir/docker.pid" -H "$DOCKER_HOST" \
		--iptables=false --bridge=none --storage-driver=vfs
	_peers_wait 60 _peers_up_or_dead "$dir/dockerd.pid" docker info
	docker info >/dev/null 2>&1 && return 0
	echo "peers: dockerd did not start (or answer within 60 s)" >&2
	_peers_show_log "$dir/dockerd.log"
	return 1
}

# dockerd stops its containers; then containerd can go.
dockerd_stop() {
	local dir=${DOCKERD_DIR:-}
	[[ -n $dir ]] || return 0
	_peers_kill_pidfile "$dir/dockerd.pid" 30
	_peers_kill_pidfile "$dir/containerd.pid" 10
	_peers_rmdir "$dir"
	unset DOCKERD_DIR DOCKER_HOST DOCKER_CONFIG
}

## containerd alone, for ctr

_containerd_alive() {
	[[ -n ${CONTAINERD_DIR:-} && -s $CONTAINERD_DIR/containerd.pid ]] &&
		kill -0 "$(<"$CONTAINERD_DIR/containerd.pid")" 2>/dev/null
}

containerd_start() {
	peers_require containerd ctr runc || return
	peers_require_root || return
	_containerd_alive && return 0
	local dir
	# Short path: the socket below it must fit in 108 bytes.
	dir=$(mktemp -d /tmp/dic.XXXX) || return
	export CONTAINERD_DIR=$dir CONTAINERD_ADDRESS=$dir/containerd.sock
	if ! _containerd_spawn "$dir"; then
		containerd_stop
		return 1
	fi
}

# Tasks left by a failed test go first: their shims outlive containerd.
containerd_stop() {
	local dir=${CONTAINERD_DIR:-} ns id
	[[ -n $dir ]] || return 0
	if _containerd_alive; then
		for ns in $(ctr -a "$dir/containerd.sock" namespaces ls -q 2>/dev/null); do
			for id in $(ctr -a "$dir/containerd.sock" -n "$ns" tasks ls -q 2>/dev/null); do
				ctr -a "$dir/containerd.sock" -n "$ns" tasks kill -s KILL "$id" >/dev/null 2>&1
				_peers_wait 10 ctr -a "$dir/containerd.sock" -n "$ns" tasks delete "$id"
			done
		done
	fi
	_peers_kill_pidfile "$dir/containerd.pid" 10
	_peers_rmdir "$dir"
	unset CONTAINERD_DIR CONTAINERD_ADDRESS
}

## registry

# registry_start [NAME] [--htpasswd FILE]
registry_start() {
	local name='' suffix='' htpasswd='' dir port
	if [[ ${1:-} != --* && -n ${1:-} ]]; then
		name=$1 suffix=_$1
		shift
	fi
	if [[ -n $name && ! $name =~ ^[A-Za-z0-9_]+$ ]]; then
		echo "peers: registry_start: bad name: $name" >&2
		return 2
	fi
	local tls_cert='' tls_key='' clientcas=''
	while [[ -n ${1:-} ]]; do
		case $1 in
		--htpasswd)
			if [[ ! -r ${2:-} ]]; then
				echo "peers: registry_start: cannot read htpasswd file ${2:-}" >&2
				return 2
			fi
			htpasswd=$(realpath "$2")
			shift 2
			;;
		--tls)
			tls_cert=$(realpath "$2") tls_key=$(realpath "$3")
			shift 3
			;;
		--clientcas)
			clientcas=$(realpath "$2")
			shift 2
			;;
		*)
			echo "usage: registry_start [NAME] [--htpasswd FILE] [--tls CERT KEY [--clientcas CA]]" >&2
			return 2
			;;
		esac
	done
	peers_require docker-registry curl || return
	_registry_alive "$suffix" && return 0
	dir=$(mktemp -d "${TMPDIR:-/tmp}/registry.XXXXXX") || return
	# A port picked at random can be taken meanwhile: the registry then
	# exits at once, and another port is tried.
	for _ in 1 2 3 4 5; do
		port=$(_peers_free_port) || break
		_registry_config "$dir" "$port" "$htpasswd" "$tls_cert" "$tls_key" "$clientcas" >"$dir/config.yml"
		_registry_spawn "$dir"
		_peers_wait 30 _peers_up_or_dead "$dir/pid" _registry_up "$port"
		if _registry_up "$port"; then
			export "REGISTRY_ADDR$suffix=127.0.0.1:$port" "REGISTRY_DIR$suffix=$dir"
			return 0
		fi
		kill -0 "$(<"$dir/pid")" 2>/dev/null && break
		grep -q 'address already in use' "$dir/log" || break
	done
	echo "peers: docker-registry did not start (or answer within 30 s)" >&2
	_peers_show_log "$dir/log"
	_peers_kill_pidfile "$dir/pid" 10
	_peers_rmdir "$dir"
	return 1
}

# registry_stop [NAME]
registry_stop() {
	local suffix=${1:+_$1}
	local var=REGISTRY_DIR$suffix
	local dir=${!var:-}
	[[ -n $dir ]] || return 0
	_peers_kill_pidfile "$dir/pid" 10
	_peers_rmdir "$dir"
	unset "REGISTRY_DIR$suffix" "REGISTRY_ADDR$suffix"
}

_registry_alive() {
	local var=REGISTRY_DIR$1
	[[ -n ${!var:-} && -s ${!var}/pid ]] && kill -0 "$(<"${!var}/pid")" 2>/dev/null
}

# A port on 127.0.0.1 that nothing listens on, below the kernel's
# ephemeral range so that no outgoing connection takes it meanwhile.
_peers_free_port() {
	local port
	for _ in {1..50}; do
		port=$((20000 + RANDOM % 12000))
		(: </dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo "$port"; return 0; }
	done
	echo "peers: no free port found" >&2
	return 1
}

_registry_config() {
	local dir=$1 port=$2 htpasswd=$3
	cat <<-YAML
	version: 0.1
	log:
	  level: info
	storage:
	  filesystem:
	    rootdirectory: $dir/data
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
	YAML
	_registry_tls_config "${4:-}" "${5:-}" "${6:-}"
	[[ -z $htpasswd ]] || cat <<-YAML
	auth:
	  htpasswd:
	    realm: di-test
	    path: $htpasswd
	YAML
}

# The http.tls section, inside the http: block.
_registry_tls_config() {
	[[ -n $1 ]] || return 0
	printf '  tls:\n    certificate: %s\n    key: %s\n' "$1" "$2"
	[[ -z $3 ]] || printf '    clientcas:\n      - %s\n' "$3"
}

# The registry reads every REGISTRY_* variable as a setting (REGISTRY_AUTH_FILE,
# used by skopeo and podman, would become an "auth: file" section), so it
# gets an environment without them.
_registry_spawn() {
	local dir=$1 vars
	(
		mapfile -t vars < <(compgen -e | grep '^REGISTRY_')
		unset "${vars[@]}"
		_peers_spawn "$dir/log" "$dir/pid" docker-registry serve "$dir/config.yml"
	)
}

# /v2/ answers 200, or 401 when auth is on.
_registry_up() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")
	# A TLS registry answers plain http with 400 (Go's net/http does).
	[[ $code == 400 ]] && return 0
	[[ $code == 200 || $code == 401 ]]
}

## Docker's Go tarsum, the reference for di-tarsum

gotarsum_build() {
	local src=$PEERS_ROOT/tests/ref/gotarsum
	local out=${BUILD_DIR:-$PEERS_ROOT/build}/gotarsum
	local gocode=/usr/share/gocode
	mkdir -p "$out" && out=$(realpath "$out") || return
	export GOTARSUM=$out/gotarsum
	[[ $GOTARSUM -nt $src/main.go ]] && return 0
	peers_require go || return
	if [[ ! -d $gocode/src/github.com/docker/docker/pkg/tarsum ]]; then
		_peers_missing "no $gocode/src/github.com/docker/docker/pkg/tarsum (package golang-github-docker-docker-dev)"
		return
	fi
	# GOPATH mode finds docker's sources where Debian puts them; the build
	# goes to a temporary name so that parallel builds do not collide.
	if ! (cd "$src" && GO111MODULE=off GOPATH=$gocode GOFLAGS='' \
		CGO_ENABLED=0 GOCACHE=$out/cache go build -o "$GOTARSUM.$$" .); then
		echo "peers: go build of $src failed" >&2
		rm -f "$GOTARSUM.$$"
		return 1
	fi
	mv -f "$GOTARSUM.$$" "$GOTARSUM"
}

## podman, with private storage

podman_setup() {
	peers_require podman || return
	peers_require_root || return
	[[ -n ${PODMAN_DIR:-} && -d $PODMAN_DIR ]] && return 0
	PODMAN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/podman.XXXXXX") || return
	export PODMAN_DIR
	_podman_config >"$PODMAN_DIR/containers.conf"
}

# Our own containers.conf, in place of the host's. No systemd: cgroupfs and a
# file for events. By default podman run gives a container open-file and
# process limits above the hard limits, which fails without CAP_SYS_RESOURCE
# (as in some VMs and containers); so they are the hard limits, and at most
# 32768 processes, to which podman lowers its own limit at start.
_podman_config() {
	local nofile nproc
	nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
	if [[ $nproc == unlimited ]] || ((nproc > 32768)); then
		nproc=32768
	fi
	[[ $nofile != unlimited ]] || nofile=1048576
	cat <<-EOF
	[containers]
	default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	EOF
}

podman_private() {
	if [[ -z ${PODMAN_DIR:-} ]]; then
		echo "peers: podman_private: call podman_setup first" >&2
		return 1
	fi
	CONTAINERS_CONF=$PODMAN_DIR/containers.conf podman --storage-driver vfs \
		--root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" \
		--tmpdir "$PODMAN_DIR/tmp" "$@"
}

# Containers go first; their "podman container cleanup", which conmon starts
# when they exit, may still be writing in the directory: wait for it.
podman_cleanup() {
	[[ -n ${PODMAN_DIR:-} ]] || return 0
	podman_private rm --all --force --time 0 >/dev/null 2>&1
	_peers_wait 30 eval "! pgrep -f -- '$PODMAN_DIR/' >/dev/null"
	_peers_rmdir "$PODMAN_DIR"
	unset PODMAN_DIR
}

## a tiny image, made without di

# busybox_image OUT [NAME:TAG]
busybox_image() {
	local out=$1 ref=${2:-busybox:test} tmp diff cfg arch
	peers_require busybox sha256sum || return
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/bbimg.XXXXXX") || return
	mkdir -p "$tmp/root/bin" "$tmp/img/layer"
	cp "$(command -v busybox)" "$tmp/root/bin/busybox"
	tar -C "$tmp/root" --sort=name --mtime=@1 --owner=0 --group=0 \
		--numeric-owner -cf "$tmp/img/layer/layer.tar" bin
	diff=$(sha256sum <"$tmp/img/layer/layer.tar" | cut -d' ' -f1)
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:01Z","config":{"Cmd":["/bin/busybox","sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:01Z","created_by":"busybox_image"}]}' \
		"$arch" "$diff" >"$tmp/img/config.json"
	cfg=$(sha256sum <"$tmp/img/config.json" | cut -d' ' -f1)
	mv "$tmp/img/config.json" "$tmp/img/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]' \
		"$cfg" "$ref" >"$tmp/img/manifest.json"
	tar -C "$tmp/img" --sort=name --mtime=@1 --owner=0 --group=0 \
		--numeric-owner -cf "$out" . &&
		rm -rf "$tmp"
}
