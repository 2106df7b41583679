#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz) with clang in build-fuzz/ and run
# each for a bounded time from its seed corpus (tests/fuzz/corpus/TARGET):
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]     (default 60 s; all targets)
#
# A crash, a leak, a timeout (25 s for one input), running out of memory
# (2 GB) or a fuzzer that does not start fails the run: the script prints
# the report, the reproducer (kept in build-fuzz/artifacts/) and the command
# that replays it. The same under CI=true and locally. The seed corpus is
# only read; what a run adds stays in a temp dir.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config http template)
case $secs in '' | *[!0-9]*) echo "fuzz: SECONDS must be a number, not '$secs'" >&2; exit 2 ;; esac

build="$src/build-fuzz"
command -v clang >/dev/null || { echo "fuzz: clang is missing (scripts/deps.sh --test installs it)" >&2; exit 1; }
echo "== fuzz build ($build)"
# Only the targets (and the core they link), not the whole tree.
CC=clang cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCH_FUZZ=ON \
  -DORCH_TESTS=OFF >/dev/null
ninja -C "$build" "${targets[@]/#/fuzz_}" >"$build/ninja.log" 2>&1 || {
  cat "$build/ninja.log" >&2
  echo "fuzz: the fuzz targets do not build" >&2
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/orch-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  seeds="$src/tests/fuzz/corpus/$t"
  [ -x "$bin" ] || { echo "fuzz: no target fuzz_$t" >&2; status=1; continue; }
  [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || { echo "fuzz: no seed corpus $seeds" >&2; status=1; continue; }
  mkdir -p "$work/$t/corpus" "$work/$t/tmp" "$work/$t/artifacts"
  echo "-- fuzz_$t: ${secs}s from $(ls "$seeds" | wc -l) seeds"
  set +e
  TMPDIR="$work/$t/tmp" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" "$seeds" >"$work/$t/log" 2>&1
  rc=$?
  set -e
  found=$(ls "$work/$t/artifacts")
  if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")
    echo "   ok: ${runs:-?} inputs, nothing found"
    continue
  fi
  status=1
  echo "FAIL: fuzz_$t exited $rc" >&2
  # The report: from the sanitizer's or libFuzzer's first line to the end.
  sed -n '/^==[0-9]*==ERROR\|^==[0-9]*== ERROR\|runtime error\|^fuzz_http:\|ERROR: libFuzzer/,$p' \
    "$work/$t/log" | head -120 >&2
  [ -n "$found" ] || tail -40 "$work/$t/log" >&2
  for a in $found; do
    cp "$work/$t/artifacts/$a" "$build/artifacts/$t-$a"
    echo "reproducer: $build/artifacts/$t-$a ($(wc -c <"$build/artifacts/$t-$a") bytes):" >&2
    head -c 2048 "$build/artifacts/$t-$a" | od -An -c | head -40 >&2
    echo "replay: $bin $build/artifacts/$t-$a" >&2
  done
done
exit $status
