#!/usr/bin/env bash
# bench/run.sh [REPEATS]: orch against the tools users would pick instead,
# on the same workloads, in one run on this machine. Installs what it
# needs (Debian packages), builds orch (Release) in build-bench/, and writes
# bench/results/results.tsv, results.md and PNG plots. No test asserts a
# time: the table reports times and ratios.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
REPEATS=${1:-5}
res="$src/bench/results"
mkdir -p "$res"
OUT="$res/results.tsv"
: >"$OUT"
. "$src/bench/lib.sh"

"$src/scripts/deps.sh"
need=()
for p in make ninja-build snakemake cwltool gnuplot-nox wrk; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
"$src/scripts/build.sh" "$src/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
ORCH="$src/build-bench/bin/orch"
ORCHD="$src/build-bench/bin/orchd"
export ORCH_EXEC="$src/build-bench/libexec/orch/orch-exec" ORCH_LOG_LEVEL=error

w=$(mktemp -d /tmp/orch-bench.XXXXXX)
dpid=
trap 'if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; fi; rm -rf "$w"' EXIT
python3 "$src/bench/gen.py" "$w"
cc -O2 -o "$w/spawn_floor" "$src/bench/spawn_floor.c"
cd "$w"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# 1. Local DAG: a chain of 200 steps, a fan-out of 1000 plus a join; every
# step runs `true`.
measure chain-200 spawn-floor "" -- ./spawn_floor 200
measure chain-200 orch "rm -rf st" -- "$ORCH" --state-dir st run chain.yaml chain
measure chain-200 make "" -- make -s -f chain.mk
measure chain-200 ninja "rm -f .ninja_log .ninja_deps" -- ninja -f chain.ninja -j 2
measure chain-200 snakemake "rm -rf m .snakemake" -- snakemake -s chain.smk -c 1 -q
measure chain-20-scaled cwltool "" -- cwltool --quiet chain.cwl
measure fan-1000 spawn-floor "" -- ./spawn_floor 1001
measure fan-1000 orch "rm -rf st" -- "$ORCH" --state-dir st run fan.yaml fan
measure fan-1000 make "" -- make -s -j 2 -f fan.mk
measure fan-1000 ninja "rm -f .ninja_log .ninja_deps" -- ninja -f fan.ninja -j 2
# The same with tracing on (issue 22: overhead per step under 5 %), every
# span exported over OTLP/HTTP protobuf to a collector that keeps nothing.
python3 "$src/bench/otlp_sink.py" sink.port &
spid=$!
for i in $(seq 100); do [ -s sink.port ] && break; sleep 0.05; done
otel=OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$(cat sink.port)
measure chain-200 orch-traced "rm -rf st" -- env "$otel" "$ORCH" --state-dir st run chain.yaml chain
measure fan-1000 orch-traced "rm -rf st" -- env "$otel" "$ORCH" --state-dir st run fan.yaml fan
kill "$spid"; wait "$spid" 2>/dev/null || true

# 2. Start-up: one step, cold (a new state dir for orch).
measure start-1 orch "rm -rf st" -- "$ORCH" --state-dir st run one.yaml one
measure start-1 make "" -- make -s -f one.mk
measure start-1 ninja "rm -f .ninja_log" -- ninja -f one.ninja

# 5. Daemon footprint and API.
cat >d.yaml <<YAML
version: 1
defaults: {state_dir: $w/dstate}
worker: {tick: 200ms}
workflows:
  gate:
    steps:
      - {id: ok, uses: approval, with: {message: wait}}
YAML
"$ORCHD" --config d.yaml --listen unix:"$w/d.sock" >d.log 2>&1 &
dpid=$!
for i in $(seq 100); do curl -sf --unix-socket "$w/d.sock" http://o/health >/dev/null && break; sleep 0.05; done
sleep 1
row daemon-rss orchd-idle "$(awk '/VmRSS/ {print $2/1024}' /proc/$dpid/status)" MB "RSS after start"
for i in $(seq 1000); do
  curl -sf --unix-socket "$w/d.sock" -H 'Content-Type: application/json' -d '{"workflow":"gate"}' \
    http://o/v1/runs >/dev/null
done
for i in $(seq 600); do
  n=$(curl -sf --unix-socket "$w/d.sock" "http://o/v1/runs?state=waiting&limit=1000" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
  [ "$n" -ge 1000 ] && break
  sleep 0.5
done
row daemon-rss orchd-1000-waiting "$(awk '/VmRSS/ {print $2/1024}' /proc/$dpid/status)" MB "RSS with $n runs waiting"
kill "$dpid"; wait "$dpid" 2>/dev/null || true
# wrk speaks TCP: the same daemon on a loopback port for the API figure.
"$ORCHD" --config d.yaml --listen 127.0.0.1:18089 >>d.log 2>&1 &
dpid=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:18089/health >/dev/null && break; sleep 0.05; done
rid=$(curl -sf "http://127.0.0.1:18089/v1/runs?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])')
wrk -t2 -c8 -d10s --latency "http://127.0.0.1:18089/v1/runs/$rid" >wrk.out 2>&1 || true
row api-get-run orchd "$(awk '/Requests\/sec/ {print $2}' wrk.out)" req/s \
  "wrk -t2 -c8 -d10s GET /v1/runs/ID; p99 $(awk '/ 99%/ {print $2}' wrk.out)"
kill "$dpid"; wait "$dpid" 2>/dev/null || true
# /metrics with 100,000 runs in the store: the scrape reads one aggregate
# (run_stats), so its time must not grow with the store. The rows are
# written straight into the stopped daemon's SQLite file.
sqlite3 "$w/dstate/orch.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
  INSERT INTO runs(id, workflow, state, created_ns, updated_ns)
  SELECT 'r-bench-' || i, 'gate', 4 + i % 3, 1700000000000000000 + i, 1700000000000000000 + i FROM n;"
"$ORCHD" --config d.yaml --listen unix:"$w/d.sock" >>d.log 2>&1 &
dpid=$!
for i in $(seq 100); do curl -sf --unix-socket "$w/d.sock" http://o/health >/dev/null && break; sleep 0.05; done
measure metrics-scrape-100k-runs orchd "" -- curl -sf --unix-socket "$w/d.sock" -o /dev/null http://o/metrics
kill "$dpid"; wait "$dpid" 2>/dev/null || true

# Cost growth (issue 24): 1k, 10k and 100k queued runs in the embedded
# store: orchd's RSS, `orch runs list`, the API's list, the claiming ticks.
"$src/bench/growth.sh" "$ORCH" "$ORCHD" "$w" "$OUT" "$REPEATS"

# 4. Docker step, and 6. the Fly backend (on the Machines API stand-in with
# Fly-like start-up delays): the engine and the stand-in run for these.
svc="$src/scripts/services"
stop_svc=()
"$svc/dockerd.sh" status >/dev/null 2>&1 || stop_svc+=(dockerd.sh)
export ORCH_DOCKER_SOCKET=$("$svc/dockerd.sh" start)
"$svc/docker-image.sh" "$ORCH_DOCKER_SOCKET" >/dev/null
img=orch-test/tools:2
dk() { docker -H "unix://$ORCH_DOCKER_SOCKET" "$@"; }
cat >dock.yaml <<YAML
version: 1
backends:
  box: {uses: docker, with: {socket: $ORCH_DOCKER_SOCKET, image: $img, pull: never, network: none}}
workflows:
  one:
    steps:
      - {id: a, uses: exec, with: {argv: ["true"]}}
  two:
    steps:
      - {id: a, uses: exec, with: {argv: ["true"]}}
      - {id: b, uses: exec, needs: [a], with: {argv: ["true"]}}
YAML
measure docker-first-step orch "rm -rf st" -- "$ORCH" --state-dir st run dock.yaml one
measure docker-first-step docker-run-rm "" -- dk run --rm --network none "$img" true
cid=$(dk run -d --network none "$img" sleep 600)
measure docker-exec docker-exec "" -- dk exec "$cid" true
dk rm -f "$cid" >/dev/null
# orch's own figure for an exec in a live container: step b's attempt time.
for i in $(seq "$REPEATS"); do
  rm -rf st
  "$ORCH" --state-dir st run dock.yaml two >/dev/null 2>&1
  "$ORCH" --state-dir st --json runs show "$("$ORCH" --state-dir st --json runs list --limit 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" |
    python3 -c 'import json,sys; sys.path.insert(0, sys.argv[1]); from api_time import ns
a=[x for x in json.load(sys.stdin)["attempts"] if x["step"]=="b"][0]; print((ns(a["finished"])-ns(a["started"]))/1e6)' "$src/tests/lib"
done >bstep.txt
row docker-exec orch-step "$(sort -n bstep.txt | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" ms   "median of step b's attempt (exec in the run's container), $REPEATS runs"

"$svc/fly-standin.sh" status >/dev/null 2>&1 || stop_svc+=(fly-standin.sh)
"$svc/fly-standin.sh" stop >/dev/null 2>&1 || true
fly_url=$("$svc/fly-standin.sh" start)
export ORCH_SECRET_FLY=orch-test-fly-token
cat >fly.yaml <<YAML
version: 1
backends:
  fly: {uses: fly-machines, with: {api_url: "$fly_url", token: "\${{ secrets.FLY }}", app: bench, create_app: true, image: $img}}
workflows:
  one:
    steps:
      - {id: a, uses: exec, with: {argv: ["true"]}}
YAML
flylog="${ORCH_TEST_DIR:-/tmp/orch-test}/fly-standin.log"
before=$(grep -c " /v1/apps/bench" "$flylog" 2>/dev/null || true)
measure fly-create-exec-destroy orch "rm -rf st" -- "$ORCH" --state-dir st run fly.yaml one
calls=$(( $(grep -c " /v1/apps/bench" "$flylog") - ${before:-0} ))
row fly-api-calls orch "$((calls / REPEATS))" calls "Machines API calls a run (create, wait, mkdir, exec, destroy), median of $REPEATS"

# 3. Durable queue on PostgreSQL: 10,000 queued one-step runs (the step
# spawns no process) drained by two orchd, against graphile-worker and
# pg-boss (npm, into /tmp/orch-test) draining 10,000 no-op jobs.
Q=${BENCH_QUEUE_N:-10000}
"$svc/postgres.sh" status >/dev/null 2>&1 || stop_svc+=(postgres.sh)
pg_url=$("$svc/postgres.sh" start)
npmdir=${ORCH_TEST_DIR:-/tmp/orch-test}/bench-npm
if [ ! -d "$npmdir/node_modules/pg-boss" ]; then
  mkdir -p "$npmdir"
  (cd "$npmdir" && npm install --no-audit --no-fund --loglevel=error graphile-worker pg-boss pg >/dev/null)
fi
export NODE_PATH="$npmdir/node_modules"
qrow() { # TOOL MS-OUTPUT COMMAND
  local ms=$2
  if [[ "$ms" =~ ^[0-9]+$ ]]; then
    printf 'durable-queue-%s\t%s\t%s\t\t\t1\t%s (%s jobs/s)\n' "$Q" "$1" "$ms" "$3" \
      "$(python3 -c "print(round($Q * 1000 / $ms))")" >>"$OUT"
  else
    printf 'durable-queue-%s\t%s\tfailed\t\t\t0\t%s\n' "$Q" "$1" "$3" >>"$OUT"
  fi
}
qrow orch "$("$src/bench/queue/orch.sh" "$ORCHD" "$pg_url" "$Q" "$w" 2>/dev/null | tail -1)" \
  "bench/queue/orch.sh (two orchd, max_runs 64)"
qrow graphile-worker "$(node "$src/bench/queue/graphile.js" "$pg_url" "$Q" 2>/dev/null | tail -1)" \
  "bench/queue/graphile.js (default configuration)"
qrow graphile-worker-batched "$(node "$src/bench/queue/graphile.js" "$pg_url" "$Q" batched 2>/dev/null | tail -1)" \
  "bench/queue/graphile.js batched (localQueue.size 50, completeJobBatchDelay 0)"
qrow pg-boss "$(node "$src/bench/queue/pgboss.js" "$pg_url" "$Q" 2>/dev/null | tail -1)" \
  "bench/queue/pgboss.js (batchSize 100, polling 0.5 s)"

# Scale-out (issue 24): 1, 2 and 4 orchd on the one PostgreSQL, each
# row's throughput and the server's CPU while the daemons drained, so the
# table shows what a daemon more buys and when the database saturates.
pgdata=${ORCH_TEST_DIR:-/tmp/orch-test}/pg-data
for k in 1 2 4; do
  out=$("$src/bench/queue/orch.sh" "$ORCHD" "$pg_url" "$Q" "$w" "$k" "$pgdata" 2>/dev/null | tail -1) || out=
  read -r ms pgms <<<"$out"
  if [[ "${ms:-}" =~ ^[0-9]+$ ]]; then
    printf 'queue-scaleout-%s\torch-%sd\t%s\t\t\t1\t%s orchd: %s runs/s, PostgreSQL CPU %s ms (%s ms a run)\n' \
      "$Q" "$k" "$ms" "$k" "$(python3 -c "print(round($Q * 1000 / $ms))")" "$pgms" \
      "$(python3 -c "print(round($pgms / $Q, 3))")" >>"$OUT"
  else
    printf 'queue-scaleout-%s\torch-%sd\tfailed\t\t\t0\t%s orchd\n' "$Q" "$k" "$k" >>"$OUT"
  fi
done

# Queue latency (issue 24): enqueue to the step's start, p50 and p99, at a
# steady offered load of half each tool's drain throughput measured above,
# for 20 s.
half_rate() { # TOOL: half its jobs/s from the drain row, or nothing
  awk -F'\t' -v t="$1" -v q="durable-queue-$Q" '$1 == q && $2 == t && $3 ~ /^[0-9]+$/ {printf "%.1f", '"$Q"' * 500 / $3}' "$OUT"
}
lrow() { # TOOL RATE "P50 P99 N" COMMAND
  local p50 p99 n
  read -r p50 p99 n <<<"$3"
  if [ -n "${p99:-}" ]; then
    printf 'queue-latency\t%s\t%s\t\t\t1\tp50 ms at %s runs/s offered; p99 %s ms over %s runs (%s)\n' \
      "$1" "$p50" "$2" "$p99" "$n" "$4" >>"$OUT"
  else
    printf 'queue-latency\t%s\tfailed\t\t\t0\t%s\n' "$1" "$4" >>"$OUT"
  fi
}
r=$(half_rate orch)
[ -z "$r" ] || lrow orch "$r" "$("$src/bench/queue/latency_orch.sh" "$ORCHD" "$pg_url" "$r" 20 "$w" 2>/dev/null | tail -1)" \
  "bench/queue/latency_orch.sh, two orchd"
r=$(half_rate graphile-worker)
[ -z "$r" ] || lrow graphile-worker "$r" "$(node "$src/bench/queue/latency_graphile.js" "$pg_url" "$r" 20 2>/dev/null | tail -1)" \
  "bench/queue/latency_graphile.js, default configuration"

for ((i = ${#stop_svc[@]} - 1; i >= 0; i--)); do "$svc/${stop_svc[i]}" stop >/dev/null || true; done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
python3 "$src/bench/report.py" "$OUT" "$res/results.md" "$load_start" "$load_end" \
  "$("$ORCH" --version | head -1)" "make $(make --version | head -1 | cut -d' ' -f3)" \
  "ninja $(ninja --version)" "snakemake $(snakemake --version)" "$(cwltool --version 2>/dev/null | tail -1)"
cd "$res" && gnuplot "$src/bench/plots.gp" 2>/dev/null || echo "bench: plots skipped (gnuplot failed)" >&2
echo "bench: results in $res/results.md"
