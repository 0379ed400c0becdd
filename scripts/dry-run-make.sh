#!/usr/bin/env bash
# Dry-run through the Makefile against the sample config: renders every labeled container's plan,
# logs one `plan.rendered` line per plan and a `dry-run.complete` summary, writes nothing.
#
#   CONFIG=/etc/backrest/config.json RUN_FLAGS="--include-project-name" scripts/dry-run-make.sh
#
# Environment: CONFIG (default testdata/example-sidecar.config.json), RUN_FLAGS (extra flags).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
exec make --no-print-directory dry-run \
  CONFIG="${CONFIG:-testdata/example-sidecar.config.json}" \
  RUN_FLAGS="${RUN_FLAGS:-}"
