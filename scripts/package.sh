#!/usr/bin/env bash
# Build the Debian package: a Release build for /usr (no tests) and cpack.
# Prints the path of the .deb. Usage: scripts/package.sh [BUILD_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build-pkg}
"$src/scripts/build.sh" "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DORCH_TESTS=OFF >&2
(cd "$dir" && cpack -G DEB >&2)
ls -t "$dir"/orch_*.deb | head -1
