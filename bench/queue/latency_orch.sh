#!/usr/bin/env bash
# Queue latency of orchd on PostgreSQL (issue 24): two daemons running, one
# run offered every 1/RATE s for SECONDS s through the API; each run's
# latency is from its creation (the run row) to its step's attempt start
# (the attempt row), both written by orch. Prints "P50_MS P99_MS N".
# usage: latency_orch.sh ORCHD CONNECTION RATE SECONDS WORKDIR
set -euo pipefail
orchd=$1 conn=$2 rate=$3 secs=$4 w=$5
schema="bench_lat_$$"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
export ORCH_SECRET_BENCH_PG="$conn"
cat >"$w/lat.yaml" <<YAML
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.BENCH_PG }}", schema: $schema}
worker: {tick: 100ms, max_runs: 64}
workflows:
  noop:
    steps:
      - {id: a, uses: file, with: {action: write, path: done, content: "ok"}}
YAML
for k in 1 2; do
  "$orchd" --config "$w/lat.yaml" --listen "unix:$w/lat$k.sock" >"$w/lat$k.log" 2>&1 &
  pids+=("$!")
  for i in $(seq 200); do curl -sf --unix-socket "$w/lat$k.sock" http://o/health >/dev/null && break; sleep 0.05; done
done
# Offered at a steady pace (not as fast as the API answers), alternating
# between the daemons' APIs.
python3 - "$w/lat1.sock" "$w/lat2.sock" "$rate" "$secs" <<'PY'
import http.client, socket, sys, time
class U(http.client.HTTPConnection):
    def __init__(self, path): super().__init__("o"); self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(self.path)
cs = [U(sys.argv[1]), U(sys.argv[2])]
rate, secs = float(sys.argv[3]), float(sys.argv[4])
t0 = time.monotonic()
for i in range(int(rate * secs)):
    due = t0 + i / rate
    d = due - time.monotonic()
    if d > 0:
        time.sleep(d)
    c = cs[i % 2]
    c.request("POST", "/v1/runs", body='{"workflow":"noop"}', headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY
n=$(python3 -c "print(int($rate * $secs))")
end=$((SECONDS + 300))
until [ "$(psql "$conn" -qAtc "SELECT count(*) FROM $schema.runs WHERE state = 4")" -ge "$n" ]; do
  [ "$SECONDS" -lt "$end" ] || { echo "latency_orch.sh: runs not done" >&2; exit 1; }
  sleep 0.2
done
psql "$conn" -qAtc "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) / 1e6,
                           percentile_cont(0.99) WITHIN GROUP (ORDER BY l) / 1e6, count(*)
                    FROM (SELECT a.started_ns - r.created_ns AS l FROM $schema.attempts a
                          JOIN $schema.runs r ON r.id = a.run_id WHERE a.attempt = 1) x" |
  awk -F'|' '{printf "%.1f %.1f %d\n", $1, $2, $3}'
psql "$conn" -qAtc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
