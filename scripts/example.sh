#!/usr/bin/env bash
# Build orch and run the example workflow on the embedded defaults (SQLite
# store and local backend, state in .orch/ of the checkout).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/deps.sh"
"$src/scripts/build.sh" "$src/build" -DORCH_TESTS=OFF
cd "$src"
exec "$src/build/bin/orch" run config/examples/hello.yaml hello --input name=world
