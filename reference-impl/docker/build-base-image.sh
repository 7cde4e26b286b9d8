#!/usr/bin/env bash
# Makes the minimal Node.js base image failclosed/node-base:local from THIS machine, with no
# image registry: the `node` binary on PATH, exactly the shared libraries `ldd` lists for it (plus
# the dynamic loader), /etc/passwd and /etc/group entries for the runtime user (uid/gid 10001),
# /tmp with mode 1777 and, when the host has them, the CA certificates. No shell, no package
# manager. The tree is imported with `docker import`.
#
# Usage: reference-impl/docker/build-base-image.sh [--force]
#   --force            rebuild even if the image already exists (e.g. after upgrading node)
#   NODE_BASE_IMAGE    the tag to create (default failclosed/node-base:local)
#
# Idempotent: when the image exists it says so and does nothing (exit 0).
set -euo pipefail

IMAGE="${NODE_BASE_IMAGE:-failclosed/node-base:local}"
RUNTIME_UID=10001
RUNTIME_GID=10001
RUNTIME_USER=failclosed

say() { printf 'build-base-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (usage: $0 [--force])" ;;
  esac
done

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
docker info >/dev/null 2>&1 || die "no docker engine is reachable (is dockerd running? try 'docker info')"
command -v ldd >/dev/null 2>&1 || die "ldd is needed to find node's shared libraries"

if [[ $force -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE already exists ($(docker image inspect -f '{{index .Config.Labels "org.failclosed.node-version"}}' "$IMAGE")); nothing to do (use --force to rebuild)"
  exit 0
fi

node_on_path="$(command -v node)" || die "node is not on PATH"
node_bin="$(readlink -f "$node_on_path")"
[[ -x "$node_bin" ]] || die "$node_bin is not executable"
node_version="$("$node_bin" -p 'process.version')"
node_arch="$("$node_bin" -p 'process.arch')"
say "node $node_version ($node_arch) from $node_bin"

tree="$(mktemp -d "${TMPDIR:-/tmp}/failclosed-node-base.XXXXXX")"
trap 'rm -rf "$tree"' EXIT

install -d -m 0755 "$tree/usr/local/bin" "$tree/etc" "$tree/etc/ssl/certs"
install -d -m 1777 "$tree/tmp"
cp "$node_bin" "$tree/usr/local/bin/node"
chmod 0755 "$tree/usr/local/bin/node"

# `ldd` lines look like "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", or
# "/lib64/ld-linux-x86-64.so.2 (0x...)" for the loader, or "linux-vdso.so.1 (0x...)" (kernel-provided).
ldd_out="$(ldd "$node_bin")" || die "ldd $node_bin failed (is node statically linked or for another architecture?)"
if grep -q 'not found' <<<"$ldd_out"; then
  die "node needs libraries the host does not have: $(grep 'not found' <<<"$ldd_out" | tr -s ' \t' ' ')"
fi
mapfile -t libs < <(awk '
  $2 == "=>" && $3 ~ /^\// { print $3; next }
  $1 ~ /^\// { print $1 }
' <<<"$ldd_out")
[[ ${#libs[@]} -gt 0 ]] || die "ldd listed no libraries for $node_bin"
lib_dirs=()
for lib in "${libs[@]}"; do
  # Keep the path ldd printed (that is where the loader and the binary look), the contents of
  # whatever it points to.
  install -d -m 0755 "$tree$(dirname "$lib")"
  cp -L "$lib" "$tree$lib"
  say "  + $lib"
  dir="$(dirname "$lib")"
  [[ " ${lib_dirs[*]-} " == *" $dir "* ]] || lib_dirs+=("$dir")
done

# A loader cache for exactly these directories, so the libraries are found even where they are
# not in the loader's built-in search path. Optional: without ldconfig the built-in path is used.
printf '%s\n' "${lib_dirs[@]}" >"$tree/etc/ld.so.conf"
if command -v ldconfig >/dev/null 2>&1 && ldconfig -r "$tree" 2>/dev/null; then
  say "  + /etc/ld.so.cache"
else
  say "  (no ld.so.cache: ldconfig is missing or failed; relying on the loader's built-in search path)"
fi

cat >"$tree/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
$RUNTIME_USER:x:$RUNTIME_UID:$RUNTIME_GID:failclosed:/nonexistent:/sbin/nologin
EOF
cat >"$tree/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
$RUNTIME_USER:x:$RUNTIME_GID:
EOF
chmod 0644 "$tree/etc/passwd" "$tree/etc/group"

if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
  cp -L /etc/ssl/certs/ca-certificates.crt "$tree/etc/ssl/certs/ca-certificates.crt"
  say "  + /etc/ssl/certs/ca-certificates.crt"
else
  say "  (no CA bundle on this host; node's built-in CA store still works)"
fi

say "importing $(du -sh "$tree" | cut -f1) as $IMAGE"
tar -C "$tree" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "LABEL org.failclosed.node-version=$node_version org.failclosed.node-arch=$node_arch" \
  --change 'CMD ["node"]' \
  --message "failclosed node base: node $node_version and its shared libraries from $(hostname)" \
  - "$IMAGE" >/dev/null

# A base that cannot start node is worse than none: check it before anything builds on it.
got="$(docker run --rm --network none --user "$RUNTIME_UID:$RUNTIME_GID" "$IMAGE" node -p 'process.version')" ||
  die "$IMAGE was created but node does not start in it; see the error above"
[[ "$got" == "$node_version" ]] || die "$IMAGE runs node '$got', expected '$node_version'"
say "done: $IMAGE ($(docker image inspect -f '{{.Id}}' "$IMAGE"), node $got runs as uid $RUNTIME_UID)"
