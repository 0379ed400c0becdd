#!/usr/bin/env bash
# Dry-run from the container image: mounts CONFIG_DIR read-only at /etc/backrest and runs
# `reconcile --dry-run` on /etc/backrest/$CONFIG_FILE with the host's Docker socket and data root.
#
#   CONFIG_DIR=/abs/path/to/configs CONFIG_FILE=my-config.json scripts/dry-run-docker.sh [flags...]
#
# With `docker compose` available this is `docker compose -f $COMPOSE_FILE run --build sidecar
# ...` (deploy/compose.dry-run.yaml, which also defines the demo workloads). Without it (plain
# Docker, as on our CI engines) the same container is started with `docker run`; the image is
# built first with scripts/build-image.sh (deploy/Dockerfile) when it is missing.
#
# Environment: CONFIG_DIR (default testdata), CONFIG_FILE (default example-sidecar.config.json),
# COMPOSE_FILE (default deploy/compose.dry-run.yaml), SIDECAR_IMAGE (default
# dockop/backrest-sidecar:local). Extra arguments replace the default flags
# (`--docker-root /var/lib/docker --include-project-name`).
# Exit code: the CLI's, except 2 (dry run, nothing written), which is success here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
CONFIG_DIR=$(cd "${CONFIG_DIR:-testdata}" && pwd -P)
CONFIG_FILE=${CONFIG_FILE:-example-sidecar.config.json}
COMPOSE_FILE=${COMPOSE_FILE:-deploy/compose.dry-run.yaml}
SIDECAR_IMAGE=${SIDECAR_IMAGE:-dockop/backrest-sidecar:local}
if [ ! -f "$CONFIG_DIR/$CONFIG_FILE" ]; then
  echo "dry-run-docker: $CONFIG_DIR/$CONFIG_FILE does not exist" >&2
  exit 1
fi
if [ "$#" -gt 0 ]; then FLAGS=("$@"); else FLAGS=(--docker-root /var/lib/docker --include-project-name); fi
ARGS=(reconcile --dry-run --config "/etc/backrest/$CONFIG_FILE" "${FLAGS[@]}")

rc=0
if docker compose version >/dev/null 2>&1; then
  CONFIG_DIR="$CONFIG_DIR" CONFIG_FILE="$CONFIG_FILE" SIDECAR_IMAGE="$SIDECAR_IMAGE" \
    docker compose -f "$COMPOSE_FILE" run --rm --build sidecar "${ARGS[@]}" || rc=$?
else
  if ! docker image inspect "$SIDECAR_IMAGE" >/dev/null 2>&1; then
    echo "dry-run-docker: no 'docker compose'; building $SIDECAR_IMAGE with scripts/build-image.sh" >&2
    bash scripts/build-image.sh "$SIDECAR_IMAGE" >&2
  fi
  docker run --rm --network none \
    -e "BACKREST_CONFIG=/etc/backrest/$CONFIG_FILE" \
    -v "$CONFIG_DIR:/etc/backrest:ro" \
    -v /var/run/docker.sock:/var/run/docker.sock:ro \
    -v /var/lib/docker:/var/lib/docker:ro \
    "$SIDECAR_IMAGE" "${ARGS[@]}" || rc=$?
fi
[ "$rc" -eq 2 ] && exit 0
exit "$rc"
