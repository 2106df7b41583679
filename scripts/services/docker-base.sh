#!/usr/bin/env bash
# The Debian 12 base image orch's Dockerfile builds FROM when no registry
# is reachable: debootstrap --variant=minbase from Debian's archive (what
# debian:bookworm-slim is made of), imported through the Engine API as
# orch-base/debian:bookworm. Idempotent: made once per engine; packages are
# cached under /tmp/orch-test/debootstrap-cache.
# Usage: docker-base.sh SOCKET [MIRROR]
set -euo pipefail
sock=${1:?usage: docker-base.sh SOCKET [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
repo=orch-base/debian tag=bookworm
cache=/tmp/orch-test/debootstrap-cache
api() { curl -sf --unix-socket "$sock" "$@"; }
api "http://d/images/$repo:$tag/json" >/dev/null && exit 0
command -v debootstrap >/dev/null || { echo "docker-base.sh: debootstrap is not installed" >&2; exit 1; }
mkdir -p "$cache"
root=$(mktemp -d /tmp/orch-test/rootfs.XXXXXX)
chmod 755 "$root" # the image's /: every user must reach /usr/bin
trap 'rm -rf "$root" "$root.tar" "$root.log"' EXIT
echo "docker-base.sh: debootstrap $repo:$tag (once per engine)" >&2
debootstrap --variant=minbase --cache-dir="$cache" bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; echo "docker-base.sh: debootstrap failed" >&2; exit 1; }
# As in Debian's own images: the archive to install from, no caches.
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/proc/* "$root"/sys/*
tar -C "$root" --numeric-owner -cf "$root.tar" .
api -X POST -H 'Content-Type: application/x-tar' --data-binary "@$root.tar" \
  "http://d/images/create?fromSrc=-&repo=$repo&tag=$tag" >/dev/null
api "http://d/images/$repo:$tag/json" >/dev/null ||
  { echo "docker-base.sh: the import did not produce $repo:$tag" >&2; exit 1; }
