#!/usr/bin/env bash
# Cost growth (issue 24, item 5): orchd on the embedded store with 1,000,
# 10,000 and 100,000 queued runs: its RSS once started, the time of
# `orch runs list` and of the API's run list (a page of 50), and the
# scheduler's claiming ticks (median duration of the ticks that claimed,
# from the tick ledger) once unpaused. Each figure should stay flat as the
# store grows. Appends rows to OUT (bench/lib.sh's format).
# usage: growth.sh ORCH ORCHD WORKDIR OUT [REPEATS]
set -euo pipefail
ORCH=$1 ORCHD=$2 w=$3 OUT=$4 REPEATS=${5:-5}
. "$(dirname "$0")/lib.sh"
dpid=
trap 'if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; fi' EXIT
start_d() { # STATE-DIR
  "$ORCHD" --config "$w/g.yaml" --listen "unix:$w/g.sock" >>"$w/g.log" 2>&1 &
  dpid=$!
  for i in $(seq 600); do curl -sf --unix-socket "$w/g.sock" http://o/health >/dev/null && return 0; sleep 0.05; done
  echo "growth.sh: orchd did not start" >&2
  exit 1
}
stop_d() { kill "$dpid"; wait "$dpid" 2>/dev/null || true; dpid=; }
for n in 1000 10000 100000; do
  st="$w/g-$n"
  rm -rf "$st" "$w/g.sock"
  cat >"$w/g.yaml" <<YAML
version: 1
defaults: {state_dir: $st}
worker: {tick: 100ms, max_runs: 64}
control: {paused: true}
workflows:
  noop:
    steps:
      - {id: a, uses: file, with: {action: write, path: done, content: "ok"}}
YAML
  start_d
  curl -sf --unix-socket "$w/g.sock" -H 'Content-Type: application/json' -d '{"workflow":"noop"}' \
    http://o/v1/runs >/dev/null
  stop_d
  # n - 1 more copies of that queued run, each its own id and time.
  sqlite3 "$st/orch.db" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n - 1)
    INSERT INTO runs(id, workflow, state, inputs_json, source, source_path, created_ns, updated_ns)
    SELECT 'r-growth-' || i, workflow, state, inputs_json, source, source_path, created_ns + i, updated_ns + i
    FROM runs, c WHERE runs.id = (SELECT id FROM runs LIMIT 1);"
  start_d
  row "growth-$n" orchd-rss "$(awk '/VmRSS/ {print $2/1024}' /proc/$dpid/status)" MB "RSS with $n runs queued"
  measure "growth-$n" runs-list-cli "" -- "$ORCH" --state-dir "$st" runs list --limit 50
  measure "growth-$n" runs-list-api "" -- curl -sf --unix-socket "$w/g.sock" -o /dev/null "http://o/v1/runs?limit=50"
  curl -sf --unix-socket "$w/g.sock" -H 'Content-Type: application/json' -d '{"paused":false}' \
    http://o/v1/control >/dev/null
  # Claiming ticks, once 500 runs (or all) have succeeded.
  want=$((n < 500 ? n : 500))
  for i in $(seq 1200); do
    done_n=$(sqlite3 "$st/orch.db" "SELECT count(*) FROM runs WHERE state = 4")
    [ "$done_n" -ge "$want" ] && break
    sleep 0.1
  done
  curl -sf --unix-socket "$w/g.sock" "http://o/v1/ticks?limit=1000" >"$w/ticks.json"
  med=$(python3 -c '
import json, statistics, sys
t = [x["duration_ns"] / 1e6 for x in json.load(open(sys.argv[1]))["ticks"] if x["claimed"] > 0]
print(f"{statistics.median(t):.3f} {len(t)}" if t else "failed 0")' "$w/ticks.json")
  row "growth-$n" claim-tick "${med% *}" ms "median of the ${med#* } ticks that claimed (the tick ledger), $n queued"
  stop_d
  rm -rf "$st"
done
