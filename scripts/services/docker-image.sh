#!/usr/bin/env bash
# The test image orch-test/busybox:1, made without a registry: busybox-static
# and a link per applet, imported through the Engine API. Idempotent.
# Usage: docker-image.sh SOCKET
set -euo pipefail
sock=${1:?usage: docker-image.sh SOCKET}
image=orch-test/busybox
tag=1
api() { curl -sf --unix-socket "$sock" "$@"; }
if api "http://d/images/$image:$tag/json" >/dev/null; then exit 0; fi
bb=$(command -v busybox) || { echo "docker-image.sh: busybox-static is not installed" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,tmp,etc,work,root}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar -C "$root" -cf "$root.tar" .
api -X POST -H 'Content-Type: application/x-tar' --data-binary "@$root.tar" \
  "http://d/images/create?fromSrc=-&repo=$image&tag=$tag" >/dev/null
rm -f "$root.tar"
api "http://d/images/$image:$tag/json" >/dev/null ||
  { echo "docker-image.sh: the import did not produce $image:$tag" >&2; exit 1; }
