#!/usr/bin/env bash
# Build the backrest-sidecar image from deploy/Dockerfile.
#
#   scripts/build-image.sh [TAG]        TAG defaults to dockop/backrest-sidecar:local
#
# Two ways, chosen automatically (BUILD_FROM=auto):
#   source   a registry answers (or both node images are already local): the Dockerfile's full
#            two-stage build from the repository (npm ci, tsc, prune) on node:26 / node:26-slim.
#   context  no registry: compile and bundle on the host (`npx tsc -b packages/cli`, incremental,
#            then packages/cli/scripts/bundle.mjs), assemble
#            dist + production node_modules with deploy/image/assemble.sh into a staged context,
#            and build both stages on the local base image dockop/node-base:local (made by
#            scripts/docker-engine.sh up; this script never starts an engine or builds it).
#
# Environment (all optional):
#   BUILD_FROM=auto|source|context   force a mode
#   BUILD_IMAGE / RUNTIME_IMAGE      base images for source mode (node:26 / node:26-slim)
#   LOCAL_BASE_IMAGE                 base image for context mode (dockop/node-base:local)
#   SKIP_TSC=1                       context mode: use the dist/ already on disk (tests do this:
#                                    the test runner has just built the tree)
#   DOCKER_BUILD_FLAGS               extra flags for `docker build` (word-split), e.g. --no-cache
#
# Idempotent: a second run with unchanged sources reuses every cached layer and retags.
# Prints the image id on stdout as its last line; progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TAG=${1:-dockop/backrest-sidecar:local}
BUILD_FROM=${BUILD_FROM:-auto}
BUILD_IMAGE=${BUILD_IMAGE:-node:26}
RUNTIME_IMAGE=${RUNTIME_IMAGE:-node:26-slim}
LOCAL_BASE_IMAGE=${LOCAL_BASE_IMAGE:-dockop/node-base:local}
VERSION=$(node -p "require('$ROOT/package.json').version" 2>/dev/null || echo 0.1.0)
REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# org.opencontainers.image.source: the git remote as an https URL (SOURCE_URL overrides).
remote=$(git -C "$ROOT" config --get remote.origin.url 2>/dev/null || true)
remote=${remote%.git}
if [[ $remote =~ ^git@([^:]+):(.+)$ ]]; then remote="https://${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"; fi
SOURCE_URL=${SOURCE_URL:-${remote:-unknown}}

say() { printf 'build-image: %s\n' "$*" >&2; }
image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# A registry is usable when the manifest of the build image can be read (a DNS failure answers in
# milliseconds; the timeout bounds a firewall that drops packets).
registry_reachable() {
  timeout 15 docker manifest inspect "$BUILD_IMAGE" >/dev/null 2>&1
}

if [[ $BUILD_FROM == auto ]]; then
  if image_present "$BUILD_IMAGE" && image_present "$RUNTIME_IMAGE"; then
    BUILD_FROM=source
  elif registry_reachable; then
    BUILD_FROM=source
  else
    say "no registry answers for $BUILD_IMAGE: building from the local tree on $LOCAL_BASE_IMAGE"
    BUILD_FROM=context
  fi
fi

read -r -a extra <<<"${DOCKER_BUILD_FLAGS:-}"
common=(--file "$ROOT/deploy/Dockerfile" --tag "$TAG" --build-arg "VERSION=$VERSION"
  --build-arg "REVISION=$REVISION" --build-arg "SOURCE_URL=$SOURCE_URL")
# The classic builder is what Docker 20.10 without buildx has; BuildKit builds the same file.
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

case "$BUILD_FROM" in
source)
  say "building $TAG from source on $BUILD_IMAGE / $RUNTIME_IMAGE"
  docker build "${common[@]}" --build-arg "BUILD_FROM=source" --build-arg "BUILD_IMAGE=$BUILD_IMAGE" \
    --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" "${extra[@]}" "$ROOT" >&2
  ;;
context)
  # Never start or rebuild engines or shared images from here: other jobs may be using them.
  if ! timeout 10 docker version >/dev/null 2>&1; then
    say "no Docker engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
    exit 3
  fi
  if ! image_present "$LOCAL_BASE_IMAGE"; then
    say "$LOCAL_BASE_IMAGE is missing: run 'bash scripts/docker-engine.sh up' first (it builds the local images)"
    exit 3
  fi
  if [[ ${SKIP_TSC:-} != 1 ]]; then
    say "compiling (npx tsc -b packages/cli)"
    (cd "$ROOT" && npx tsc -b packages/cli) >&2
  fi
  # The bin runs the bundle; rebuilt every time (~2 s) so it never lags behind dist/.
  (cd "$ROOT" && BUILD_COMMIT="$REVISION" node packages/cli/scripts/bundle.mjs) >&2
  stage=$(mktemp -d "${TMPDIR:-/tmp}/backrest-sidecar-image.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  sh "$ROOT/deploy/image/assemble.sh" "$ROOT" "$stage/out"
  # The builder's COPY cache hashes file contents, not mtimes: an unchanged tree staged again
  # reuses every layer.
  docker build "${common[@]}" --build-arg "BUILD_FROM=context" \
    --build-arg "BUILD_IMAGE=$LOCAL_BASE_IMAGE" --build-arg "RUNTIME_IMAGE=$LOCAL_BASE_IMAGE" \
    "${extra[@]}" "$stage" >&2
  ;;
*)
  say "BUILD_FROM must be auto, source or context, not '$BUILD_FROM'"
  exit 2
  ;;
esac

docker image inspect --format '{{.Id}}' "$TAG"
