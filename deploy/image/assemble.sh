#!/bin/sh
# Assemble the runtime tree of the backrest-sidecar image from a built checkout.
#
#   deploy/image/assemble.sh SRC OUT
#
# SRC is a checkout where `npm run build` (tsc + the CLI bundle) has run and node_modules is installed (with or
# without dev dependencies). OUT receives a root filesystem overlay:
#
#   OUT/app/node_modules/...            the production dependency closure of @backrest-sidecar/cli
#   OUT/app/<workspace>/{package.json,dist,bin}   each workspace in that closure (npm's symlinks
#                                       in node_modules point at these, so the layout is kept)
#   OUT/usr/local/bin/backrest-sidecar  the wrapper that execs node on the CLI's bin
#
# The closure comes from `npm ls --omit=dev --all --parseable --workspace packages/cli`, so the
# same script serves the Dockerfile's build stage (after `npm prune --omit=dev`) and
# scripts/build-image.sh on a developer tree that still holds dev dependencies. Test files,
# declaration files and build info are left out. POSIX sh + tar + npm; no bashisms (busybox ok).
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 SRC OUT" >&2
  exit 2
fi
SRC=$(cd "$1" && pwd -P)
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd -P)

[ -f "$SRC/packages/cli/bin/backrest-sidecar.js" ] || {
  echo "assemble: $SRC/packages/cli/bin/backrest-sidecar.js is missing (the CLI is not in this tree)" >&2
  exit 1
}
[ -f "$SRC/packages/cli/dist/backrest-sidecar.bundle.cjs" ] || {
  echo "assemble: $SRC/packages/cli/dist/backrest-sidecar.bundle.cjs is missing: run 'npm run build' first" >&2
  exit 1
}

list=$(mktemp)
trap 'rm -f "$list" "$list.deps" "$list.ws"' EXIT
# npm ls exits non-zero for problems that don't concern the closure (an extraneous dev package);
# the closure itself is checked below: every listed path must exist.
(cd "$SRC" && npm ls --omit=dev --all --parseable --workspace packages/cli 2>/dev/null) >"$list" || true
grep -q '/node_modules/@backrest-sidecar/cli$' "$list" || {
  echo "assemble: 'npm ls --workspace packages/cli' in $SRC did not list @backrest-sidecar/cli" >&2
  exit 1
}

: >"$list.deps"
: >"$list.ws"
# Sorted, so a parent directory comes before anything nested in it and nested paths are skipped
# (tar copies the parent recursively).
sort -u "$list" | while IFS= read -r p; do
  [ "$p" = "$SRC" ] && continue
  case "$p" in "$SRC"/*) ;; *)
    echo "assemble: dependency outside the tree: $p" >&2
    exit 1
    ;;
  esac
  [ -e "$p" ] || {
    echo "assemble: dependency listed by npm but missing on disk: $p" >&2
    exit 1
  }
  rel=${p#"$SRC"/}
  if [ -L "$p" ]; then
    # A workspace: npm links node_modules/<name> -> ../../<workspace dir>.
    target=$(cd "$p" && pwd -P)
    echo "$rel" >>"$list.deps"
    echo "${target#"$SRC"/}" >>"$list.ws"
    continue
  fi
  parent_listed=no
  while IFS= read -r prev; do
    case "$rel" in "$prev"/*) parent_listed=yes ;; esac
  done <"$list.deps"
  [ "$parent_listed" = yes ] || echo "$rel" >>"$list.deps"
done

mkdir -p "$OUT/app" "$OUT/usr/local/bin"
# -h is not used: workspace symlinks stay symlinks.
(cd "$SRC" && tar -cf - -T "$list.deps") | (cd "$OUT/app" && tar -xf -)

while IFS= read -r ws; do
  mkdir -p "$OUT/app/$ws"
  cp "$SRC/$ws/package.json" "$OUT/app/$ws/package.json"
  [ -d "$SRC/$ws/dist" ] || {
    echo "assemble: workspace $ws has no dist/: build it first (npx tsc -b packages/cli)" >&2
    exit 1
  }
  # Tests and their helpers stay out: *.spec.*, *spec-support*, test-support/ (fakes), testdata.
  (cd "$SRC/$ws" && tar -cf - --exclude='*.spec.js' --exclude='*.spec.js.map' --exclude='*.spec.d.ts' \
    --exclude='*.spec.d.ts.map' --exclude='*spec-support*' --exclude='test-support' \
    --exclude='testdata' --exclude='*.d.ts' --exclude='*.d.ts.map' --exclude='*.tsbuildinfo' \
    dist $( [ -d "$SRC/$ws/bin" ] && echo bin)) | (cd "$OUT/app/$ws" && tar -xf -)
done <"$list.ws"

cp "$SRC/package.json" "$OUT/app/package.json"
cp "$HERE/backrest-sidecar" "$OUT/usr/local/bin/backrest-sidecar"
chmod 755 "$OUT/usr/local/bin/backrest-sidecar"

echo "assemble: $(wc -l <"$list.ws" | tr -d ' ') workspaces, $(wc -l <"$list.deps" | tr -d ' ') dependency paths -> $OUT" >&2
