# worker.mode: singleton, a leader that stalls (SIGSTOP, as a long GC
# pause, a frozen VM or a swapped-out process would) past its lease: the
# standby takes the leader lease and the run, kills the command the stalled
# leader left running before it runs the step again, and finishes the run;
# the old leader, continued (SIGCONT), finds it lost the lease, writes
# nothing for the run it no longer owns and stands by. Never two drivers at
# once: checked from the step's command (tests/lib/no_double.sh: one copy
# alive at a time), from the attempt records (each attempt's owner) and
# from the run's end.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/no_double.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_stall_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
declare -A PID
cont_all() { local p; for p in "${PID[@]:-}"; do [ -n "$p" ] && kill -CONT "$p" 2>/dev/null || true; done; }
trap 'cont_all; nd_kill_copies; psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_PG_URL="$ORCH_PG_URL"
D="$T/case"
nd_step_script "$D"
od_config "$T/pg.yaml" <<EOF
version: 1
$OD_SERVER
worker: {mode: singleton, tick: 100ms, lease_ttl: 3s}
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "sh $D/step.sh"}}
EOF
start_d() { # NAME
  ORCH_LOG_LEVEL=info "$ORCHD" --config "$T/pg.yaml" --listen "unix:$T/$1.sock" >>"$T/$1.log" 2>&1 &
  PID[$1]=$!
  T_PIDS+=("$!")
}
role_of() { # NAME: leader, standby, or down
  curl -s -m 5 --unix-socket "$T/$1.sock" -H "Authorization: Bearer reader-token" http://orchd/v1/health 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2>/dev/null || echo down
}
role_is() { [ "$(role_of "$1")" = "$2" ]; }

start_d d1
wait_until "d1 to lead" role_is d1 leader
start_d d2
wait_until "d2 to stand by" role_is d2 standby
curl -s -o "$T/resp" --unix-socket "$T/d1.sock" -H "Authorization: Bearer writer-token" \
  -H 'Content-Type: application/json' --data-binary '{"workflow": "w"}' http://orchd/v1/runs
run=$(resp "d['run']['id']")
wait_file "$D/started.1" 120
first=$(head -1 "$D/pids")
owner1=$(psql_q "SELECT owner FROM $schema.attempts WHERE run_id = '$run'")
[ -n "$owner1" ] || fail "no attempt recorded for the first copy"

# --- the leader stalls past its lease
kill -STOP "${PID[d1]}"
touch "$D/release" # the second copy ends on its own (the first sleeps until killed)
wait_until "d2 to take the lead from the stalled d1" role_is d2 leader
wait_file "$D/started.2" 120
run_state_pg() { psql_q "SELECT state FROM $schema.runs WHERE id = '$run'"; }
run_ended() { [ "$(run_state_pg)" = 4 ]; }
WAIT_S=120 wait_until "the run to succeed under d2" run_ended
nd_check "$D" "a stalled leader"
pass "a leader stalled past its lease: the standby leads, kills the left command, then runs the step once"

# --- the stalled leader goes on: it finds the lease lost and writes nothing
before=$(psql_q "SELECT step_id, attempt, state, owner, finished_ns FROM $schema.attempts WHERE run_id = '$run' ORDER BY attempt")
kill -CONT "${PID[d1]}"
wait_until "d1 to stand by once continued" role_is d1 standby
# Its yield is logged after its runs were dropped: whatever it would have
# written for them has been refused (or written) by then.
wait_until "d1 to say it handed its runs back" grepq -F "the lease was lost: runs handed back" "$T/d1.log"
grepq -F "lease lost (run $run is no longer owned" "$T/d1.log" || fail "d1 did not say it lost the run"
[ "$(run_state_pg)" = 4 ] || fail "the old leader changed the run: state $(run_state_pg)"
after=$(psql_q "SELECT step_id, attempt, state, owner, finished_ns FROM $schema.attempts WHERE run_id = '$run' ORDER BY attempt")
[ "$before" = "$after" ] || fail "the old leader rewrote attempts:
before: $before
after:  $after"
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE run_id = '$run' AND state = 3")" = 1 ] ||
  fail "the step did not succeed exactly once: $after"
[ "$(role_of d2)" = leader ] || fail "d2 is $(role_of d2) after d1 came back"
# Who leads, as operators read it: the leader lease in the health
# document (held by the owner of the run's last attempt), orch_leader.
get() { curl -s -m 10 --unix-socket "$T/$1.sock" -H "Authorization: Bearer reader-token" "http://orchd$2"; }
owner2=$(psql_q "SELECT owner FROM $schema.attempts WHERE run_id = '$run' AND attempt = 2")
get d1 /v1/health >"$T/resp"
[ "$(resp "[l['owner'] for l in d['leases'] if l.get('name') == 'orchd.leader']")" = "['$owner2']" ] ||
  fail "the health document's leader lease is not d2's ($owner2): $(resp "d['leases']")"
[ "$(get d2 /metrics | awk '$1 == "orch_leader" {print $2}')" = 1 ] || fail "d2's orch_leader is not 1"
[ "$(get d1 /metrics | awk '$1 == "orch_leader" {print $2}')" = 0 ] || fail "d1's orch_leader is not 0"
pass "the stalled leader, continued: stands by, the run and its attempts as the new leader left them"
