#!/usr/bin/env bash
# Build orch twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer)
# and run the whole test suite on both, installing what it needs and starting
# the services it needs. Idempotent. Exit status: 0 only if every test passed.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/deps.sh" --test

jobs=$(nproc 2>/dev/null || echo 2)
status=0
for variant in plain asan; do
  dir="$src/build-test-$variant"
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "$variant" = asan ] && args+=(-DORCH_SANITIZE=ON)
  echo "== build ($variant)"
  "$src/scripts/build.sh" "$dir" "${args[@]}"
  echo "== test ($variant)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" || status=1
done
exit $status
