#!/usr/bin/env bash
# orchd on PostgreSQL, DAEMONS daemons (default 2), draining N queued
# one-step runs whose step spawns no process (a file write in its
# instance). The runs are queued through the API before the daemons that
# drain them start. Prints the milliseconds from the daemons' start to N
# succeeded runs; with PGDATA given, also the CPU milliseconds the
# PostgreSQL server spent meanwhile (its postmaster and every backend,
# live or reaped), as "MS PG_CPU_MS".
# usage: orch.sh ORCHD CONNECTION N WORKDIR [DAEMONS] [PGDATA]
set -euo pipefail
orchd=$1 conn=$2 n=$3 w=$4 daemons=${5:-2} pgdata=${6:-}
# The server's CPU so far, in clock ticks: the postmaster's own and its
# reaped children's, plus its live children's.
pg_cpu() {
  local pm
  pm=$(head -1 "$pgdata/postmaster.pid")
  python3 - "$pm" <<'PY'
import os, sys
pm = sys.argv[1]
def f(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
t = 0
s = f(pm)
t += int(s[11]) + int(s[12]) + int(s[13]) + int(s[14])
for p in os.listdir("/proc"):
    if p.isdigit() and p != pm:
        s = f(p)
        if s and s[1] == pm:
            t += int(s[11]) + int(s[12])
print(t)
PY
}
schema="bench_q_$$"
# Whatever way this ends, the daemons it started go with it (a failed
# repeat once left two orchd running for hours).
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
export ORCH_SECRET_BENCH_PG="$conn"
cat >"$w/q.yaml" <<YAML
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
# Queue N runs through one daemon that is paused (claims nothing).
"$orchd" --config "$w/q.yaml" --listen "unix:$w/q0.sock" >"$w/q0.log" 2>&1 &
p0=$!
pids+=("$p0")
for i in $(seq 100); do curl -sf --unix-socket "$w/q0.sock" http://o/health >/dev/null && break; sleep 0.05; done
curl -sf --unix-socket "$w/q0.sock" -H 'Content-Type: application/json' -d '{"paused":true}' \
  http://o/v1/control >/dev/null
python3 - "$w/q0.sock" "$n" <<'PY'
import http.client, socket, sys
class U(http.client.HTTPConnection):
    def __init__(self, path): super().__init__("o"); self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(self.path)
c = U(sys.argv[1])
for i in range(int(sys.argv[2])):
    c.request("POST", "/v1/runs", body='{"workflow":"noop"}', headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY
kill "$p0"; wait "$p0" 2>/dev/null || true
psql "$conn" -qAtc "DELETE FROM $schema.flags WHERE name = 'paused'"
[ -z "$pgdata" ] || c0=$(pg_cpu)
t0=$(date +%s%N)
drain=()
for ((k = 1; k <= daemons; k++)); do
  "$orchd" --config "$w/q.yaml" --listen "unix:$w/q$k.sock" >"$w/q$k.log" 2>&1 &
  drain+=("$!")
  pids+=("$!")
done
# Polled over one connection every 20 ms, as the peers' harnesses do (a
# psql process and a new session per poll cost as much CPU as a daemon).
coproc PSQL { psql "$conn" -qAt; }
done_runs() {
  echo "SELECT count(*) FROM $schema.runs WHERE state = 4;" >&"${PSQL[1]}"
  read -r c <&"${PSQL[0]}"
  echo "$c"
}
end=$((SECONDS + ${BENCH_QUEUE_DEADLINE_S:-900}))
while [ "$(done_runs)" -lt "$n" ]; do
  [ "$SECONDS" -lt "$end" ] || { echo "orch.sh: $n runs not done after ${BENCH_QUEUE_DEADLINE_S:-900} s" >&2; exit 1; }
  sleep 0.02
done
t1=$(date +%s%N)
[ -z "$pgdata" ] || c1=$(pg_cpu)
exec {PSQL[1]}>&-
wait "$PSQL_PID" 2>/dev/null || true
kill "${drain[@]}"; wait "${drain[@]}" 2>/dev/null || true
psql "$conn" -qAtc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
if [ -n "$pgdata" ]; then
  echo "$(((t1 - t0) / 1000000)) $(((c1 - c0) * 1000 / $(getconf CLK_TCK)))"
else
  echo $(((t1 - t0) / 1000000))
fi
