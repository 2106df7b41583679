#!/usr/bin/env bash
# A private S3 server for the tests: s3.sh start|stop|status. s3rver (from
# the npm registry, installed under $ORCH_TEST_DIR, never into the
# project) on 127.0.0.1:$ORCH_S3_PORT (default 4569) with the bucket
# orch-test and its default credentials S3RVER/S3RVER. start is idempotent
# and prints the endpoint; stop kills only the pid in our own pidfile.
set -euo pipefail
base=${ORCH_TEST_DIR:-/tmp/orch-test}
port=${ORCH_S3_PORT:-4569}
dir="$base/s3rver"
pidfile="$base/s3rver.pid"
endpoint="http://127.0.0.1:$port"

up() { curl -s -o /dev/null --max-time 2 "$endpoint/" 2>/dev/null; }

case "${1:-}" in
start)
  if up; then echo "$endpoint"; exit 0; fi
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "s3.sh: node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$dir" "$base/s3-data"
  if [ ! -x "$dir/node_modules/.bin/s3rver" ]; then
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error s3rver@3.7 >"$base/s3rver-npm.log" 2>&1) || {
      echo "s3.sh: npm install s3rver failed:" >&2; tail -20 "$base/s3rver-npm.log" >&2; exit 1; }
  fi
  "$dir/node_modules/.bin/s3rver" -d "$base/s3-data" -a 127.0.0.1 -p "$port" \
    --configure-bucket orch-test >"$base/s3rver.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 200); do
    if up; then echo "$endpoint"; exit 0; fi
    sleep 0.1
  done
  echo "s3.sh: s3rver did not answer on $endpoint within 20 s:" >&2
  tail -20 "$base/s3rver.log" >&2
  exit 1
  ;;
stop)
  [ -f "$pidfile" ] || exit 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  ;;
status)
  if up; then echo "running on $endpoint"; else echo "not running"; exit 1; fi
  ;;
*)
  echo "usage: s3.sh start|stop|status" >&2
  exit 2
  ;;
esac
