#!/usr/bin/env bash
# Build the Debian packages with debhelper: orch, orchd, orch-plugin-dev
# and their -dbgsym packages, from a copy of the tree whose debian/ is
# packaging/debian. Needs the Build-Depends of packaging/debian/control
# (dpkg-buildpackage checks them) and debhelper. Prints the paths of the
# .deb files. Usage: scripts/package.sh [OUT_DIR]   (default build-pkg)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-pkg}
rm -rf "$out"
mkdir -p "$out/orch"
# The sources only: in a checkout the files git knows (no build trees),
# else (an exported tree) everything but build directories.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -)
else
  tar -C "$src" --exclude='./build*' -cf - .
fi | tar -C "$out/orch" -xf -
rm -rf "$out/orch/debian"
cp -a "$src/packaging/debian" "$out/orch/debian"
(cd "$out/orch" && dpkg-buildpackage -us -uc -b >&2)
ls "$out"/*.deb
