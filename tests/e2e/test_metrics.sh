# /metrics after a varied workload (runs that succeed, fail, crash an
# executor, wait for approval, sit in a paused queue; an API instance;
# refused requests) passes `promtool check metrics` with no lint problem,
# and each metric family moved as that workload says it must.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/promtool.sh"
PROMTOOL=$(promtool_bin) || fail "promtool is needed (Debian's prometheus package)"
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"

od_config "$T/orchd.yaml" <<'EOF2'
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms, lease_ttl: 5s}
backends:
  local: {uses: local}
workflows:
  hello:
    steps:
      - id: greet
        uses: exec
        with: {run: "echo hello"}
  "quote\"d":
    steps:
      - id: fail
        uses: exec
        with: {run: "exit 3"}
  boom:
    steps:
      - id: crash
        uses: crash
        with: {mode: segv}
  gated:
    steps:
      - id: gate
        uses: approval
        with: {message: "go?"}
EOF2
od_start "$T/orchd.yaml"

start() { api POST /v1/runs "{\"workflow\": \"$1\"}"; expect_http 201 "start $1"; resp "d['run']['id']"; }
h1=$(start hello); h2=$(start hello); f1=$(start 'quote\"d'); b1=$(start boom); g1=$(start gated)
od_wait_run "$h1" succeeded; od_wait_run "$h2" succeeded; od_wait_run "$f1" failed
od_wait_run "$b1" failed; od_wait_run "$g1" waiting
api POST /v1/instances '{"backend": "local"}'; expect_http 201 "create an instance"
api GET /v1/runs "" nobody; expect_http 401 "a forged token"
api POST /v1/control '{"paused": true}' admin; expect_http 200 "pause"
q1=$(start hello); q2=$(start hello)

scrape() { api GET /metrics "" reader; expect_http 200 "scrape"; cp "$T/resp" "$T/metrics.txt"; }
# the paused queue holds q1 and q2 (their age grows from 0)
queued_two() { scrape; grep -q '^orch_queue_depth 2$' "$T/metrics.txt"; }
wait_until "the queue depth of the paused daemon to be 2" queued_two
"$PROMTOOL" check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 || {
  cat "$T/promtool.out" >&2; fail "promtool check metrics found problems"; }
[ ! -s "$T/promtool.out" ] || { cat "$T/promtool.out" >&2; fail "promtool printed lint problems"; }

metric() { # NAME{LABELS} -> its value
  K="$1" awk '$1 == ENVIRON["K"] { print $2; found = 1 } END { if (!found) print "missing" }' "$T/metrics.txt"
}
want() { # NAME{LABELS} VALUE
  local v
  v=$(metric "$1")
  [ "$v" = "$2" ] || { grep -F "${1%%\{*}" "$T/metrics.txt" >&2; fail "$1 is $v, expected $2"; }
}
want 'orch_runs_started_total{workflow="hello"}' 2
want 'orch_runs_finished_total{workflow="hello",state="succeeded"}' 2
want 'orch_runs_finished_total{workflow="quote\"d",state="failed"}' 1
want 'orch_runs_finished_total{workflow="boom",state="failed"}' 1
want 'orch_runs_finished_total{workflow="gated",state="succeeded"}' 0
want 'orch_runs{state="queued"}' 2
want 'orch_runs{state="waiting"}' 1
want 'orch_runs_waiting_approval' 1
want 'orch_dead_letters' 2
want 'orch_instances_live{backend="local"}' 1
want 'orch_run_duration_seconds_count' 4
want 'orch_executor_crashes_total' 1
want 'orch_http_requests_total{method="POST",route="/v1/runs",code="201"}' 7
want 'orch_http_requests_total{method="POST",route="/v1/instances",code="201"}' 1
want 'orch_http_auth_failures_total{method="GET",route="/v1/runs",reason="invalid"}' 1
want 'orch_store_up' 1
age=$(metric orch_queue_oldest_age_seconds)
python3 -c "import sys; sys.exit(0 if float('$age') > 0 else 1)" || fail "oldest queued age is $age"
grep -q '^orch_build_info{version="[0-9.]*"} 1$' "$T/metrics.txt" || fail "no orch_build_info"
grep -q '^orch_executors{state="busy"} ' "$T/metrics.txt" || fail "no executor gauge"
pass "metrics pass promtool and move with the workload"
