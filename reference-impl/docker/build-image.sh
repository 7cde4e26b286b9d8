#!/usr/bin/env bash
# Builds the failclosed reference-system image.
#
# Usage: reference-impl/docker/build-image.sh [TAG]          (default TAG: failclosed/reference:local)
#   BASE_IMAGE=node:20-bookworm-slim reference-impl/docker/build-image.sh   use a registry base
#
# Steps: (1) unless BASE_IMAGE names another image, make failclosed/node-base:local from this
# machine if it is missing (build-base-image.sh, no registry needed); (2) stage a small build
# context in a temporary directory: package.json, package-lock.json, tsconfig.json, bin/, model/,
# conformance/, harness/, reference-impl/ and production-only node_modules (`npm ci --omit=dev
# --offline` from the local npm cache; falling back to a pruned copy of ./node_modules);
# (3) docker build with reference-impl/docker/Dockerfile. Prints the image id last, on stdout.
# Also works from the npm package (node_modules/failclosed, or an unpacked `npm pack`), which has
# no package-lock.json: the production dependencies are then resolved from the npm registry
# (`npm install --omit=dev --prefer-offline`: the local cache first), and the lockfile that
# writes goes into the image.
set -euo pipefail

DEFAULT_BASE=failclosed/node-base:local
TAG="${1:-failclosed/reference:local}"
BASE_IMAGE="${BASE_IMAGE:-$DEFAULT_BASE}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

case "${1:-}" in -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;; esac
[[ $# -le 1 ]] || die "too many arguments (usage: $0 [TAG])"

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
docker info >/dev/null 2>&1 || die "no docker engine is reachable (is dockerd running? try 'docker info')"
command -v npm >/dev/null 2>&1 || die "npm is needed to stage the production node_modules"
[[ -f "$repo/package.json" && -f "$repo/bin/failclosed.mjs" ]] || die "$repo does not look like the failclosed repository or package"

started=$SECONDS

# 1. The base image.
if [[ "$BASE_IMAGE" == "$DEFAULT_BASE" ]]; then
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base $BASE_IMAGE is present"
  else
    say "base $BASE_IMAGE is missing; making it from this machine's node"
    NODE_BASE_IMAGE="$BASE_IMAGE" "$here/build-base-image.sh"
  fi
elif docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "base $BASE_IMAGE (already local)"
else
  say "base $BASE_IMAGE (docker build will pull it from its registry)"
fi

# 2. The build context.
ctx="$(mktemp -d "${TMPDIR:-/tmp}/failclosed-docker-context.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
say "staging the build context in $ctx"
cp "$repo/package.json" "$repo/tsconfig.json" "$ctx/"
if [[ -f "$repo/package-lock.json" ]]; then cp "$repo/package-lock.json" "$ctx/"; fi
tar -C "$repo" --exclude=node_modules --exclude='*.log' --exclude=failclosed-data --exclude=failclosed-report \
  -c bin model conformance harness reference-impl | tar -C "$ctx" -x

npm_quiet=(--no-audit --no-fund --loglevel=error)
# No install scripts: nothing in the production dependencies needs one (esbuild finds its
# platform binary through its optional dependency), and none should run while building an image.
if [[ -f "$ctx/package-lock.json" ]]; then
  install=(ci --omit=dev --offline --ignore-scripts)
  how="from the lockfile (npm ci --omit=dev --offline)"
else
  # The npm package: npm pack never ships package-lock.json, and resolving the dependency tree
  # needs the registry's metadata, which `npm ci` never cached.
  install=(install --omit=dev --prefer-offline --ignore-scripts)
  how="resolved without a lockfile (npm install --omit=dev --prefer-offline)"
fi
if (cd "$ctx" && npm "${install[@]}" "${npm_quiet[@]}" >&2); then
  say "node_modules: production dependencies $how"
elif [[ -d "$repo/node_modules" ]]; then
  say "npm ${install[0]} failed (packages missing from the npm cache?); pruning a copy of ./node_modules instead"
  rm -rf "$ctx/node_modules"
  tar -C "$repo" --exclude='node_modules/.vite*' --exclude='node_modules/.cache' -c node_modules | tar -C "$ctx" -x
  if (cd "$ctx" && npm prune --omit=dev --offline --ignore-scripts "${npm_quiet[@]}" >&2); then
    find "$ctx/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete # scopes left empty
    say "node_modules: pruned copy of ./node_modules (production dependencies only)"
  else
    say "warning: npm prune failed; the image gets the full node_modules, dev dependencies included"
  fi
else
  die "cannot stage node_modules: npm ${install[0]} failed (packages missing from the npm cache, or no registry?) and there is no ./node_modules; run 'npm ci' first (in a clone), or build where the npm registry is reachable (from the package)"
fi
[[ -f "$ctx/node_modules/tsx/package.json" ]] || die "the staged node_modules has no tsx (a production dependency); cannot build"
say "context: $(du -sh "$ctx" | cut -f1) (node_modules $(du -sh "$ctx/node_modules" | cut -f1))"

# 3. The image.
say "docker build -t $TAG (base $BASE_IMAGE)"
docker build \
  -f "$ctx/reference-impl/docker/Dockerfile" \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  -t "$TAG" \
  "$ctx" >&2

id="$(docker image inspect -f '{{.Id}}' "$TAG")"
size="$(docker image inspect -f '{{.Size}}' "$TAG")"
say "built $TAG in $((SECONDS - started))s: $((size / 1000000)) MB"
say "run it: docker run -d --name failclosed -p 127.0.0.1:8700:8700 -v failclosed-data:/data $TAG"
printf '%s\n' "$id"
