#!/usr/bin/env bash
# The Fly Machines API stand-in for the tests (tests/fly/standin.py):
# fly-standin.sh start|stop|status. Its machines are containers on the test
# Docker engine ($ORCH_DOCKER_SOCKET); it listens on a free loopback port
# and takes the token orch-test-fly-token. start is idempotent and prints
# the base URL; stop kills only the pid in our own pidfile. start also makes
# sure the Debian image the Fly tests run their machines on exists
# (orch-base/debian:bookworm, whose /bin/sh is dash as on real Debian and
# Ubuntu images; docker-base.sh owns it and builds it once per engine).
set -euo pipefail
base=${ORCH_TEST_DIR:-/tmp/orch-test}
pidfile="$base/fly-standin.pid"
portfile="$base/fly-standin.port"
src=$(cd "$(dirname "$0")/../.." && pwd)

up() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && [ -s "$portfile" ]; }

case "${1:-}" in
start)
  if up; then echo "http://127.0.0.1:$(cat "$portfile")"; exit 0; fi
  : "${ORCH_DOCKER_SOCKET:?fly-standin.sh: the Docker engine must run first (ORCH_DOCKER_SOCKET)}"
  mkdir -p "$base"
  "$src/scripts/services/docker-base.sh" "$ORCH_DOCKER_SOCKET" >&2
  rm -f "$portfile"
  python3 "$src/tests/fly/standin.py" --port-file "$portfile" --token orch-test-fly-token \
    --docker-host "unix://$ORCH_DOCKER_SOCKET" --log "$base/fly-standin.log" \
    >>"$base/fly-standin.out" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if up; then echo "http://127.0.0.1:$(cat "$portfile")"; exit 0; fi
    sleep 0.1
  done
  echo "fly-standin.sh: the stand-in did not start:" >&2
  tail -20 "$base/fly-standin.out" >&2
  exit 1
  ;;
stop)
  [ -f "$pidfile" ] || exit 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile" "$portfile"
  ;;
status)
  if up; then echo "running on http://127.0.0.1:$(cat "$portfile")"; else echo "not running"; exit 1; fi
  ;;
*)
  echo "usage: fly-standin.sh start|stop|status" >&2
  exit 2
  ;;
esac
