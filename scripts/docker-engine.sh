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
# loaded with `docker import`: a static busybox workload image, a restic image, and a node base
# image (node + the libraries ldd lists) for the controller image. Idempotent: a second `up` with a
# running engine and present images takes well under a second.
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
    say "the running dockerd did not answer within 60 s; see $LOGFILE"
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

# Waits up to 60 s for the engine to answer. With a pid: gives up early when that process exits,
# and records it as ours only once the engine answers (a failed start never overwrites the pid
# file of a running engine).
wait_for_engine() {
  local pid=$1 i
  for i in $(seq 1 120); do
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

# Copy a binary and every library ldd lists (plus the loader) into a root filesystem.
copy_with_libs() {
  local bin=$1 root=$2 dest=${3:-$1}
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$bin" "$root$dest"
  ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    [[ -e "$lib" ]] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

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

  if [[ -n "$force" ]] || ! image_present "$NODE_IMAGE"; then
    busybox_root "$tmp/node"
    copy_with_libs "$(command -v node)" "$tmp/node" /usr/local/bin/node
    copy_with_libs "$(command -v restic)" "$tmp/node" /usr/bin/restic
    mkdir -p "$tmp/node/etc/ssl/certs"
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$tmp/node/etc/ssl/certs/"
    import_root "$tmp/node" "$NODE_IMAGE" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change 'CMD ["node"]'
  fi
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
  command -v restic >/dev/null 2>&1 || install_packages
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
