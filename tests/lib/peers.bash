# peers.bash: run the real peer programs (Docker, the distribution registry,
# podman, skopeo, umoci, Docker's Go tarsum) for di's tests and benchmarks.
#
# Source it from a bats file or a bash script:  . tests/lib/peers.bash
# The daemons need root. Every *_start/*_setup function is idempotent, and
# every *_stop/*_cleanup function is safe to call when nothing was started,
# so a bats file can start in setup_file and stop in teardown_file.
#
#   peers_require CMD...        skip the test (fail it when CI=true) if a
#                               command is missing
#   peers_require_root          the same, when not running as root
#
#   dockerd_start / dockerd_stop
#       a private dockerd (vfs, no bridge, no iptables) with its own
#       containerd, all state in one temp dir.
#       Exports DOCKER_HOST=unix://DIR/docker.sock, DOCKER_CONFIG, DOCKERD_DIR.
#
#   registry_start [NAME] [--htpasswd FILE] / registry_stop [NAME]
#       a distribution registry (docker-registry) on 127.0.0.1, plain HTTP,
#       filesystem storage in a temp dir, Basic auth with --htpasswd.
#       Without NAME exports REGISTRY_ADDR=127.0.0.1:PORT and REGISTRY_DIR;
#       with NAME (letters, digits, _) exports REGISTRY_ADDR_NAME and
#       REGISTRY_DIR_NAME, so several registries can run at once.
#
#   gotarsum_build
#       builds tests/ref/gotarsum (Docker's pkg/tarsum) into
#       $BUILD_DIR/gotarsum (BUILD_DIR defaults to build/ at the repo root),
#       only when missing or older than its source. Exports GOTARSUM.
#       Usage: "$GOTARSUM" [-v v0|v1|dev] [-e EXTRAFILE] < layer.tar
#
#   podman_setup / podman_private ARGS... / podman_cleanup
#       podman with --storage-driver vfs and a private --root, --runroot and
#       --tmpdir in a temp dir. Exports PODMAN_DIR.
#
#   busybox_image OUT [NAME:TAG]
#       writes a one-layer docker-archive (docker save format) holding
#       busybox-static's /bin/busybox, tagged NAME:TAG (default busybox:test),
#       made by hand so the peers can be tested without di.

PEERS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Say why and give up: a failed test under CI, a skipped one elsewhere.
# Outside bats there is no skip, so the caller gets the message and 1.
_peers_missing() {
	if [[ ${CI:-} == true ]]; then
		echo "peers: $*" >&2
		return 1
	fi
	if declare -F skip >/dev/null; then
		skip "$*"
	fi
	echo "peers: skipping: $*" >&2
	return 1
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

# Start "$@" in the background with output to log $1 and its pid in file $2.
# It must not inherit bats' file descriptor 3: bats would wait for it forever.
_peers_spawn() {
	local log=$1 pidfile=$2
	shift 2
	"$@" </dev/null >"$log" 2>&1 3>&- &
	echo $! >"$pidfile"
}

# Kill the process whose pid is in file $1 and wait up to $2 s for it to go;
# then SIGKILL.
_peers_kill_pidfile() {
	local pid
	[[ -s $1 ]] || return 0
	pid=$(<"$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	_peers_wait "$2" eval "! kill -0 $pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	_peers_wait 5 eval "! kill -0 $pid"
}

# Unmount whatever is still mounted under $1 (deepest first), remove it.
_peers_rmdir() {
	local dir=$1 mnt
	[[ -n $dir && -d $dir ]] || return 0
	findmnt -rn -o TARGET | grep -F "$dir/" | sort -r | while read -r mnt; do
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
	[[ -n ${DOCKERD_DIR:-} && -s $DOCKERD_DIR/spawn.pid ]] &&
		kill -0 "$(<"$DOCKERD_DIR/spawn.pid")" 2>/dev/null
}

dockerd_start() {
	peers_require dockerd docker containerd runc || return
	peers_require_root || return
	_dockerd_alive && return 0
	# Short path: the containerd socket below it must fit in 108 bytes.
	local dir
	dir=$(mktemp -d /tmp/did.XXXX) || return
	echo '{}' >"$dir/daemon.json"
	# A docker client config of our own; podman and skopeo read it too, and
	# fail when DOCKER_CONFIG names a directory without config.json.
	mkdir "$dir/config" && echo '{}' >"$dir/config/config.json"
	export DOCKERD_DIR=$dir DOCKER_HOST=unix://$dir/docker.sock DOCKER_CONFIG=$dir/config
	# --config-file: ignore the host's /etc/docker/daemon.json.
	# --containerd-namespace: should a system containerd be running, dockerd
	# uses it instead of starting its own; a namespace of our own keeps this
	# daemon's containers apart from any other's.
	_peers_spawn "$dir/log" "$dir/spawn.pid" dockerd \
		--config-file "$dir/daemon.json" \
		--data-root "$dir/data" --exec-root "$dir/exec" \
		--pidfile "$dir/docker.pid" -H "$DOCKER_HOST" \
		--containerd-namespace "${dir##*/}" \
		--containerd-plugins-namespace "${dir##*/}p" \
		--iptables=false --bridge=none --storage-driver=vfs
	_peers_wait 60 _dockerd_up_or_dead "$dir"
	if ! docker info >/dev/null 2>&1; then
		echo "peers: dockerd did not answer within 60 s" >&2
		_peers_show_log "$dir/log"
		dockerd_stop
		return 1
	fi
}

_dockerd_up_or_dead() {
	! kill -0 "$(<"$1/spawn.pid")" || docker info
}

dockerd_stop() {
	local dir=${DOCKERD_DIR:-}
	[[ -n $dir ]] || return 0
	# dockerd stops the containerd it started; kill it too in case
	# dockerd could not (it was killed, or died).
	_peers_kill_pidfile "$dir/spawn.pid" 30
	_peers_kill_pidfile "$dir/exec/containerd/containerd.pid" 10
	_peers_rmdir "$dir"
	unset DOCKERD_DIR DOCKER_HOST DOCKER_CONFIG
}

## registry

# registry_start [NAME] [--htpasswd FILE]
registry_start() {
	local name= suffix= htpasswd= dir port tries
	if [[ ${1:-} != --* && -n ${1:-} ]]; then
		name=$1 suffix=_$1
		shift
	fi
	if [[ -n $name && ! $name =~ ^[A-Za-z0-9_]+$ ]]; then
		echo "peers: registry_start: bad name: $name" >&2
		return 2
	fi
	case ${1:-} in
	--htpasswd) htpasswd=$(realpath "$2") || return 2 ;;
	'') ;;
	*) echo "usage: registry_start [NAME] [--htpasswd FILE]" >&2; return 2 ;;
	esac
	peers_require docker-registry curl || return
	_registry_alive "$suffix" && return 0
	dir=$(mktemp -d "${TMPDIR:-/tmp}/registry.XXXXXX") || return
	# A port picked at random can be taken meanwhile: the registry then
	# exits at once, and another port is tried.
	for tries in 1 2 3 4 5; do
		port=$(_peers_free_port) || break
		_registry_config "$dir" "$port" "$htpasswd" >"$dir/config.yml"
		_registry_spawn "$dir"
		_peers_wait 30 _registry_up_or_dead "$dir" "$port"
		if _registry_up "$port"; then
			export "REGISTRY_ADDR$suffix=127.0.0.1:$port" "REGISTRY_DIR$suffix=$dir"
			return 0
		fi
		kill -0 "$(<"$dir/pid")" 2>/dev/null && break
		grep -q 'address already in use' "$dir/log" || break
	done
	echo "peers: docker-registry did not start" >&2
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
	local port i
	for i in {1..50}; do
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
	[[ -z $htpasswd ]] || cat <<-YAML
	auth:
	  htpasswd:
	    realm: di-test
	    path: $htpasswd
	YAML
}

# The registry reads every REGISTRY_* variable as a setting (REGISTRY_AUTH_FILE,
# used by skopeo and podman, would become an "auth: file" section), so it
# gets an environment without them.
_registry_spawn() {
	local dir=$1
	(
		unset $(compgen -e | grep '^REGISTRY_')
		_peers_spawn "$dir/log" "$dir/pid" docker-registry serve "$dir/config.yml"
	)
}

# /v2/ answers 200, or 401 when auth is on.
_registry_up() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")
	[[ $code == 200 || $code == 401 ]]
}

_registry_up_or_dead() {
	! kill -0 "$(<"$1/pid")" || _registry_up "$2"
}

## Docker's Go tarsum, the reference for di-tarsum

gotarsum_build() {
	local src=$PEERS_ROOT/tests/ref/gotarsum
	local out=${BUILD_DIR:-$PEERS_ROOT/build}/gotarsum
	local gocode=/usr/share/gocode
	export GOTARSUM=$out/gotarsum
	[[ $GOTARSUM -nt $src/main.go ]] && return 0
	peers_require go || return
	if [[ ! -d $gocode/src/github.com/docker/docker/pkg/tarsum ]]; then
		_peers_missing "no $gocode/src/github.com/docker/docker/pkg/tarsum (package golang-github-docker-docker-dev)"
		return
	fi
	mkdir -p "$out" || return
	# GOPATH mode finds docker's sources where Debian puts them; the build
	# goes to a temporary name so that parallel builds do not collide.
	(cd "$src" && GO111MODULE=off GOPATH=$gocode GOFLAGS= CGO_ENABLED=0 \
		GOCACHE=$out/cache go build -o "$GOTARSUM.$$" .) &&
		mv -f "$GOTARSUM.$$" "$GOTARSUM" || {
		echo "peers: go build of $src failed" >&2
		rm -f "$GOTARSUM.$$"
		return 1
	}
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
	[[ $nproc == unlimited ]] || ((nproc > 32768)) && nproc=32768
	[[ $nofile == unlimited ]] && nofile=1048576
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
