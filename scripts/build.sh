#!/usr/bin/env bash
# Configure and build orch into a build directory: scripts/build.sh DIR [cmake args...]
set -euo pipefail
dir=${1:?usage: scripts/build.sh DIR [cmake args...]}
shift
src=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$src" -B "$dir" -G Ninja "$@" >/dev/null
ninja -C "$dir"
