#!/usr/bin/env bash
# The main job on an embedded default: demo workloads on the local engine, then a real
# `backrest-sidecar reconcile --dry-run` against them and a sample config. Writes nothing but a
# scratch copy of the sample config under .dockop/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=.dockop/demo
mkdir -p "$DEMO_DIR"
CONFIG="$DEMO_DIR/config.json"
[[ -f "$CONFIG" ]] || cp testdata/example-sidecar.config.json "$CONFIG"

ensure() { # name, then docker run args
  local name=$1
  shift
  if docker container inspect "$name" >/dev/null 2>&1; then return 0; fi
  docker run -d --name "$name" --network none "$@" >/dev/null
  echo "demo: started $name" >&2
}

ensure demo-echo \
  --label com.docker.compose.project=demo --label com.docker.compose.service=echo \
  --label backrest.enable=true --label backrest.repo=default \
  --label 'backrest.schedule=15 3 * * *' --label 'backrest.keep=daily=7,weekly=4,monthly=6' \
  --label 'backrest.paths.exclude=/data/cache' \
  --label "backrest.pre=sh -c 'docker stop \$SELF'" --label "backrest.post=sh -c 'docker start \$SELF'" \
  --label restic-compose-backup.volumes=true --label restic-compose-backup.quiesce=true \
  -v demo_echo_data:/data dockop/busybox:local sleep 2147483647
ensure demo-echo-lite \
  --label com.docker.compose.project=demo --label com.docker.compose.service=echo-lite \
  --label backrest.enable=true \
  -v demo_echo_lite_data:/srv dockop/busybox:local sleep 2147483647

echo "demo: backrest-sidecar reconcile --dry-run --config $CONFIG $*" >&2
set +e
node packages/cli/bin/backrest-sidecar.js reconcile --dry-run --config "$CONFIG" "$@"
code=$?
set -e
echo "demo: exit code $code (2 = dry-run, nothing written). Remove the demo with: docker rm -f demo-echo demo-echo-lite" >&2
[[ $code -eq 2 || $code -eq 0 ]]
