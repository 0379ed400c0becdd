#!/usr/bin/env bash
# Captures the sample outputs in docs/samples/ from real runs of the CLI bundle against demo
# workloads on the local engine (scripts/docker-engine.sh up first), so they can be refreshed
# after an output change: `npm run build && scripts/capture-samples.sh`.
#
# The demo is a compose-like project "shop" (db, web, a cache with a mistyped label, and a
# worker started after the first reconcile), selected by its own label so the other containers
# of the engine stay out of the samples. The config is a scratch file; everything the script
# starts is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${SAMPLES_DIR:-docs/samples}
CLI=(node packages/cli/bin/backrest-sidecar.js)
SEL=io.dockop.sample=shop
IMAGE=${SAMPLE_IMAGE:-dockop/busybox:local}
WORK=$(mktemp -d)
started=()
volumes=()

cleanup() {
  ((${#started[@]})) && docker rm -f "${started[@]}" >/dev/null 2>&1 || true
  ((${#volumes[@]})) && docker volume rm "${volumes[@]}" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

run_workload() { # name service volume mountpoint [label...]
  local name=$1 service=$2 volume=$3 target=$4
  shift 4
  if docker container inspect "$name" >/dev/null 2>&1; then
    echo "capture-samples: a container named $name exists already; remove it first" >&2
    exit 1
  fi
  docker volume create --label "$SEL" "$volume" >/dev/null
  volumes+=("$volume")
  local labels=()
  for l in "$@"; do labels+=(--label "$l"); done
  docker run -d --name "$name" --network none --label "$SEL" \
    --label com.docker.compose.project=shop --label "com.docker.compose.service=$service" \
    "${labels[@]}" -v "$volume:$target" "$IMAGE" \
    sh -c "head -c 48000 /dev/urandom > $target/$service.dat && exec sleep 2147483647" >/dev/null
  started+=("$name")
}

run_workload shop-db-1 db shop_pgdata /var/lib/postgresql/data \
  backrest.enable=true 'backrest.schedule=15 3 * * *' 'backrest.keep=daily=7,weekly=4,monthly=6' \
  backrest.paths.exclude=/var/lib/postgresql/data/pg_wal \
  "backrest.pre=sh -c 'docker stop \$SELF'" "backrest.post=sh -c 'docker start \$SELF'"
run_workload shop-web-1 web shop_uploads /srv/uploads backrest.enable=true 'backrest.keep=last=10'
run_workload shop-cache-1 cache shop_cache /data backrest.enable=true 'backrest.keep=daily=seven'

cat >"$WORK/config.json" <<'JSON'
{
  "repos": [{ "id": "default", "type": "local", "url": "/srv/restic-repo", "env": {} }],
  "plans": []
}
JSON
common=(--config "$WORK/config.json" --selector "$SEL" --log-format json --log-level error)

# A fixed terminal width: kubectl-like tables don't depend on it, but keep runs comparable.
export COLUMNS=160 NO_COLOR=1
capture() { # file, then the CLI arguments; 0, 2 (dry run with changes) and 3 (a workload refused: the cache) are expected
  local file=$1
  shift
  local code=0
  "${CLI[@]}" "$@" >"$OUT/$file" 2>"$WORK/stderr" || code=$?
  if [[ $code -ne 0 && $code -ne 2 && $code -ne 3 ]]; then
    echo "capture-samples: '${*}' exited $code:" >&2
    cat "$WORK/stderr" >&2
    exit 1
  fi
  # The scratch directory is random: show it as the paths an operator would use.
  sed -i -e "s#$WORK/config.json#/etc/backrest/config.json#g" -e "s#$WORK/state#/var/lib/backrest-sidecar#g" \
    -e "s#$WORK/repo#/srv/restic-repo#g" "$OUT/$file"
  echo "capture-samples: $OUT/$file" >&2
}

mkdir -p "$OUT"
capture reconcile-dry-run.diff reconcile --dry-run "${common[@]}"
"${CLI[@]}" reconcile "${common[@]}" >/dev/null 2>&1 || true

# One real backup of the shop into a scratch local restic repository, so `get workloads` has
# snapshots and statuses to show.
RESTIC_IMG=${SAMPLE_RESTIC_IMAGE:-dockop/restic:local}
mkdir -p "$WORK/repo" "$WORK/state"
RESTIC_REPOSITORY="$WORK/repo" RESTIC_PASSWORD=samples restic init >/dev/null
printf 'RESTIC_REPOSITORY=/repo\nRESTIC_PASSWORD=samples\n' >"$WORK/restic.env"
restic_args=(--rcb-env-file "$WORK/restic.env" --restic-image "$RESTIC_IMG"
  --restic-volume "$WORK/repo:/repo" --restic-host demo-host --state-dir "$WORK/state")
"${CLI[@]}" backup-once --engine restic --progress none "${restic_args[@]}" --selector "$SEL" \
  --quiesce-label io.dockop.sample.quiesce=true --log-format json >"$WORK/backup.log" 2>&1 || true
# A workload started after the last reconcile: Pending until the next one.
run_workload shop-worker-1 worker shop_jobs /var/spool/jobs backrest.enable=true
capture get-plans.txt get plans "${common[@]}"
capture get-plans-wide.txt get plans -o wide "${common[@]}"
# `get workloads` (when this build has it).
if "${CLI[@]}" get workloads --help 2>/dev/null | grep -q "^Usage: backrest-sidecar get workloads"; then
  capture get-workloads-wide.txt get workloads -o wide "${restic_args[@]}" --selector "$SEL" \
    --log-format json --log-level error
else
  echo "capture-samples: this build has no 'get workloads': skipped" >&2
fi
