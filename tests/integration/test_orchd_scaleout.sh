# Three orchd processes on one PostgreSQL: the control flags of one apply
# to all (pause, proof), work spreads across them, and a kill -9 of one in
# the middle of its runs hands them to the others after the lease expires,
# with counts proving no finished step ran twice and every unfinished one
# completed.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_scale_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_PG_URL="$ORCH_PG_URL"

cat >"$T/orchd.yaml" <<EOF
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema}
worker: {tick: 200ms, lease_ttl: 3s, max_runs: 3, stop_grace: 1s}
workflows:
  chain:
    inputs: {n: {required: true}}
    steps:
      - {id: one, uses: exec, with: {run: "echo \${{ inputs.n }}:one >> $T/count"}}
      - {id: two, uses: exec, needs: [one], with: {run: "echo \${{ inputs.n }}:two-start >> $T/count; i=0; while [ ! -e $T/release ] && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i+1)); done; echo \${{ inputs.n }}:two >> $T/count"}}
      - {id: three, uses: exec, needs: [two], with: {run: "echo \${{ inputs.n }}:three >> $T/count"}}
EOF

source "$(dirname "$0")/../lib/daemons.sh"
runs_in() { # STATE -> count
  api 2 GET "/v1/runs?state=$1"
  resp "len(d['runs'])"
}

# Three daemons at once: they migrate the fresh schema concurrently.
for n in 1 2 3; do start_daemon $n; done
for n in 1 2 3; do wait_health $n; done
[ "$(psql_q "SELECT count(*) FROM $schema.orch_schema")" = 5 ] || fail "migrated once (schema 5: one row a version)"

# --- pause through daemon 1 holds all three
api 1 POST /v1/control '{"paused":true}'
[ "$HTTP" = 200 ] || fail "pause: $HTTP"
for n in $(seq 9); do
  api $((n % 3 + 1)) POST /v1/runs "{\"workflow\":\"chain\",\"inputs\":{\"n\":\"$n\"}}"
  [ "$HTTP" = 201 ] || { cat "$T/resp"; fail "start run $n: $HTTP"; }
done
# What did not happen is asserted after three whole ticks of every
# daemon that began after the runs were queued, never after a fixed sleep.
ticks_of() { api "$1" GET /v1/health; resp "d['scheduler']['ticks']"; }
declare -A base
for n in 1 2 3; do base[$n]=$(ticks_of $n); done
three_more_ticks() {
  local n
  for n in 1 2 3; do [ "$(ticks_of $n)" -ge $((base[$n] + 3)) ] || return 1; done
}
wait_until "three more ticks of each daemon" three_more_ticks
[ "$(runs_in queued)" = 9 ] || fail "a paused cluster claims nothing"
api 3 GET /v1/control
[ "$(resp "d['paused']")" = True ] || fail "daemon 3 sees the pause"
api 2 POST /v1/control '{"paused":false}'
pass "pause through one daemon holds every daemon"

# --- work spreads; kill -9 one daemon while all runs are in step two
# Step two waits for a release, so every run is inside it when one daemon
# dies (none can be in step three, whose re-run would then be a legitimate
# retry of a step killed mid-flight, not a bug).
two_started() { [ "$(grep -c two-start "$T/count" 2>/dev/null)" -ge 9 ]; }
wait_until "every run in step two: $(cat "$T/count" 2>/dev/null | tr '\n' ' ')" two_started
api 1 GET /v1/runs
owners=$(resp "len(set(r['owner'] for r in d['runs'] if r['owner']))")
[ "$owners" = 3 ] || fail "work spread over three daemons, not $owners: $(cat "$T/resp")"
victim=${PIDS[1]}
mine=$(resp "' '.join(r['id'] for r in d['runs'] if r['owner'] and ':$victim:' in r['owner'])")
[ -n "$mine" ] || fail "daemon 1 owns runs"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
touch "$T/release"
pass "work spread over three daemons; one killed with runs in flight"

all_succeeded() { [ "$(runs_in succeeded)" = 9 ]; }
WAIT_S=120 wait_until "all 9 runs to succeed" all_succeeded
[ "$(runs_in succeeded)" = 9 ] || { api 2 GET /v1/runs; cat "$T/resp"; fail "every run succeeded"; }
for n in $(seq 9); do
  [ "$(grep -c "^$n:one$" "$T/count")" = 1 ] || fail "run $n: step one ran more than once"
  [ "$(grep -c "^$n:three$" "$T/count")" = 1 ] || fail "run $n: step three ran once"
  [ "$(grep -c "^$n:two$" "$T/count")" -ge 1 ] || fail "run $n: step two completed"
done
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE step_id <> 'two' AND attempt > 1")" = 0 ] ||
  fail "a finished step got a second attempt"
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE state = 3 AND step_id = 'one'")" = 9 ] ||
  fail "nine successes of step one"
for id in $mine; do
  api 2 GET "/v1/runs/$id"
  [ "$(resp "d['run']['state']")" = succeeded ] || fail "run $id of the killed daemon finished"
done
pass "the killed daemon's runs were taken over: no finished step re-ran, every run completed"

# --- proof mode through daemon 3 applies to the others
api 3 POST /v1/control '{"proof":true}'
lines=$(grep -c . "$T/count")
api 2 POST /v1/runs '{"workflow":"chain","inputs":{"n":"proof"}}'
P=$(resp "d['run']['id']")
proof_done() { api 2 GET "/v1/runs/$P"; [ "$(resp "d['run']['state']")" = succeeded ]; }
wait_until "the proof run to end" proof_done
[ "$(resp "d['run']['state']")" = succeeded ] || fail "the proof run ended"
[ "$(grep -c . "$T/count")" = "$lines" ] || fail "proof mode ran a command"
api 3 POST /v1/control '{"proof":false}'
pass "proof mode set on one daemon holds for all"

for n in 2 3; do kill -TERM "${PIDS[$n]}"; done
for n in 2 3; do wait "${PIDS[$n]}" 2>/dev/null || true; done
if grep -q "orch-test-pw" "$T"/d*.log; then fail "the password reached a log"; fi
pass "scale-out on PostgreSQL"
