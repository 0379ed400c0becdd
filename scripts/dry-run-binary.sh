#!/usr/bin/env bash
# Builds the CLI if needed, then runs `backrest-sidecar reconcile --dry-run` against CONFIG.
# Extra arguments are passed through:
#
#   scripts/dry-run-binary.sh --include-project-name --volume-prefix /docker_volumes
#
# Environment: CONFIG (default testdata/example-sidecar.config.json).
# Exit code: the CLI's, except 2 (dry run, nothing written), which is success here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
CONFIG=${CONFIG:-testdata/example-sidecar.config.json}
if [ ! -f packages/cli/dist/main.js ]; then
  echo "dry-run-binary: building (npx tsc -b)" >&2
  npx tsc -b
fi
rc=0
node packages/cli/bin/backrest-sidecar.js reconcile --dry-run --config "$CONFIG" "$@" || rc=$?
[ "$rc" -eq 2 ] && exit 0
exit "$rc"
