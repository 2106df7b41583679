#!/usr/bin/env bash
# The test image orch-test/tools:2, made without a registry from what the
# host has: busybox-static with a link per applet, and git with the shared
# libraries it needs (no git-remote-http: tests use file:// remotes).
# Imported through the Engine API. Idempotent.
# Usage: docker-image.sh SOCKET
set -euo pipefail
sock=${1:?usage: docker-image.sh SOCKET}
image=orch-test/tools
tag=2
api() { curl -sf --unix-socket "$sock" "$@"; }
if api "http://d/images/$image:$tag/json" >/dev/null; then exit 0; fi
bb=$(command -v busybox) || { echo "docker-image.sh: busybox-static is not installed" >&2; exit 1; }
root=$(mktemp -d)
chmod 755 "$root" # the image's /: every user must reach /bin/sh
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,tmp,etc,work,root}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
git=$(command -v git) || { echo "docker-image.sh: git is not installed" >&2; exit 1; }
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/usr/share"
cp -a "$git" "$root/usr/bin/git"
for t in git-upload-pack git-receive-pack git-upload-archive; do ln -s git "$root/usr/bin/$t"; done
cp -a /usr/lib/git-core "$root/usr/lib/git-core"
rm -f "$root/usr/lib/git-core/git-remote-http"* "$root/usr/lib/git-core/git-imap-send"
cp -a /usr/share/git-core "$root/usr/share/git-core"
for lib in $(ldd "$git" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'user:x:1000:1000:user:/work:/bin/sh' >>"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'user:x:1000:' >>"$root/etc/group"
tar -C "$root" -cf "$root.tar" .
api -X POST -H 'Content-Type: application/x-tar' --data-binary "@$root.tar" \
  "http://d/images/create?fromSrc=-&repo=$image&tag=$tag" >/dev/null
rm -f "$root.tar"
api "http://d/images/$image:$tag/json" >/dev/null ||
  { echo "docker-image.sh: the import did not produce $image:$tag" >&2; exit 1; }
