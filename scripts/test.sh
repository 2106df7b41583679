#!/usr/bin/env bash
# Build orch twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer)
# and run the whole test suite on both, installing what it needs and starting
# the services it needs. Idempotent. Exit status: 0 only if every test passed.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/deps.sh" --test

# Services the integration tests talk to. Each script starts its service
# only when it is not already up and stops only what it started (by its own
# pidfile). A service that does not start fails the run: nothing skips.
svc="$src/scripts/services"
stop_services=()
cleanup() {
  local i
  for ((i = ${#stop_services[@]} - 1; i >= 0; i--)); do "$svc/${stop_services[i]}" stop || true; done
}
trap cleanup EXIT
"$svc/dockerd.sh" status >/dev/null 2>&1 || stop_services+=(dockerd.sh)
ORCH_DOCKER_SOCKET=$("$svc/dockerd.sh" start) ||
  { echo "test: the Docker engine did not start (see above)" >&2; exit 1; }
"$svc/docker-image.sh" "$ORCH_DOCKER_SOCKET"
export ORCH_DOCKER_SOCKET
"$svc/postgres.sh" status >/dev/null 2>&1 || stop_services+=(postgres.sh)
ORCH_PG_URL=$("$svc/postgres.sh" start) ||
  { echo "test: PostgreSQL did not start (see above)" >&2; exit 1; }
export ORCH_PG_URL
"$svc/s3.sh" status >/dev/null 2>&1 || stop_services+=(s3.sh)
ORCH_S3_ENDPOINT=$("$svc/s3.sh" start) ||
  { echo "test: the S3 server did not start (see above)" >&2; exit 1; }
export ORCH_S3_ENDPOINT
"$svc/sshd.sh" status >/dev/null 2>&1 || stop_services+=(sshd.sh)
ORCH_SSH_DIR=$("$svc/sshd.sh" start) ||
  { echo "test: the test sshd did not start (see above)" >&2; exit 1; }
export ORCH_SSH_DIR ORCH_SSH_PORT=${ORCH_SSH_PORT:-2222}
"$svc/fly-standin.sh" status >/dev/null 2>&1 || stop_services+=(fly-standin.sh)
ORCH_FLY_URL=$("$svc/fly-standin.sh" start) ||
  { echo "test: the Fly Machines API stand-in did not start (see above)" >&2; exit 1; }
export ORCH_FLY_URL ORCH_FLY_TOKEN=orch-test-fly-token

jobs=$(nproc 2>/dev/null || echo 2)
status=0
for variant in plain asan; do
  dir="$src/build-test-$variant"
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "$variant" = asan ] && args+=(-DORCH_SANITIZE=ON)
  echo "== build ($variant)"
  "$src/scripts/build.sh" "$dir" "${args[@]}"
  echo "== test ($variant)"
  # intercept_tls_get_addr=0: the sanitizer runtime of GCC 12 (and LLVM up
  # to 16) takes a dynamic TLS block that malloc happened to place 16 bytes
  # into a page for a glibc 2.19 header, reads a bogus range from before it
  # and its leak checker's tracer dies at exit ("Tracer caught signal 11"),
  # about one run in ten of a process that loaded libcurl's and libssh2's
  # TLS libraries (google/sanitizers#1322). Off, LeakSanitizer still scans
  # every thread's stack and static TLS, and glibc 2.36 allocates dynamic
  # TLS blocks with malloc, reachable from the thread's DTV.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" || status=1
done

# The fuzz targets (tests/fuzz), built with clang in their own tree, each
# run for 60 s from its seed corpus: any crash or leak fails the suite.
echo "== fuzz"
"$src/scripts/fuzz.sh" 60 || status=1

# Packaging, once, all on the test engine (never on this machine's root
# filesystem): the Debian packages built, linted, installed over the
# previous release, upgraded and purged in containers; the container image
# built and run; the compose file up with PostgreSQL and S3.
echo "== packaging"
for t in "$src"/tests/packaging/test_*.sh; do
  echo "-- $(basename "$t")"
  ORCH_BIN="$src/build-test-plain/bin" ORCH_SOURCE_DIR="$src" ORCH_DOCKER_SOCKET="$ORCH_DOCKER_SOCKET" \
    bash "$t" || { echo "test: $(basename "$t") FAILED" >&2; status=1; }
done

# The leak check over the whole suite: no container orch made may outlive
# it (each test destroys or reaps its own; a leftover is a bug).
left=$(curl -sf --unix-socket "$ORCH_DOCKER_SOCKET" -G http://d/containers/json \
  --data-urlencode all=1 --data-urlencode 'filters={"label":["orch.backend=docker"]}' |
  python3 -c 'import sys,json; print(" ".join(c["Names"][0] for c in json.load(sys.stdin)))')
if [ -n "$left" ]; then
  echo "test: containers left behind by the suite: $left" >&2
  status=1
fi
# The same for Fly machines on the stand-in (destroying counts as gone).
left=$(curl -sf "$ORCH_FLY_URL/_standin/machines" | python3 -c 'import sys,json
print(" ".join(m["id"] for m in json.load(sys.stdin)
               if not m["_gone"] and m["state"] not in ("destroying", "destroyed")))')
if [ -n "$left" ]; then
  echo "test: Fly machines left behind by the suite: $left" >&2
  status=1
fi
exit $status
