#!/usr/bin/env bash
# A private Docker engine for the tests: dockerd.sh start|stop|status.
# Runs with the only flags this sandbox allows (../shared/SERVICES.md): no
# bridge, no iptables, vfs storage, fixed ulimits. Everything lives under
# $ORCH_TEST_DIR (default /tmp/orch-test); stop kills only the pid in our
# own pidfile. start is idempotent and prints the socket path.
set -euo pipefail
base=${ORCH_TEST_DIR:-/tmp/orch-test}
sock="$base/docker.sock"
pidfile="$base/docker.pid"

ping() { curl -sf --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }

case "${1:-}" in
start)
  if ping; then echo "$sock"; exit 0; fi
  command -v dockerd >/dev/null || {
    echo "dockerd.sh: dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
  mkdir -p "$base"
  dockerd --host "unix://$sock" \
    --data-root "$base/docker-root" --exec-root "$base/docker-exec" \
    --pidfile "$pidfile" --iptables=false --ip6tables=false \
    --bridge=none --storage-driver=vfs \
    --default-ulimit nofile=1024:1024 --default-ulimit nproc=4096:4096 \
    >"$base/dockerd.log" 2>&1 &
  for _ in $(seq 1 300); do
    if ping; then echo "$sock"; exit 0; fi
    sleep 0.1
  done
  echo "dockerd.sh: dockerd did not answer on $sock within 30 s; last log lines:" >&2
  tail -20 "$base/dockerd.log" >&2
  exit 1
  ;;
stop)
  [ -f "$pidfile" ] || exit 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || exit 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  ;;
status)
  if ping; then echo "running on $sock"; else echo "not running"; exit 1; fi
  ;;
*)
  echo "usage: dockerd.sh start|stop|status" >&2
  exit 2
  ;;
esac
