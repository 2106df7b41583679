# A reusable workflow across two orchd on one PostgreSQL: the orchd that
# starts a parent drives its child beside it; kill -9 that orchd while the
# child's command runs, and the other takes both over after their leases
# expire. Asserted: one child run for the attempt (never a second), the
# child's command never running twice at once (its first copy is gone
# before the second starts: tests/lib/no_double.sh), the parent ending
# with the child's outputs, the links read through the surviving daemon.
# max_runs is 1: a parent that only waits for a child driven elsewhere
# parks, so it never holds the one slot its child needs.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/no_double.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_reuse_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'nd_kill_copies; psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_PG_URL="$ORCH_PG_URL"
D="$T/child"
nd_step_script "$D"

cat >"$T/orchd.yaml" <<EOF
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema}
worker: {tick: 200ms, lease_ttl: 3s, max_runs: 1, stop_grace: 1s}
workflows:
  work:
    inputs: {tag: {type: string, required: true}}
    outputs: {made: "\${{ steps.run.outputs.tag }}"}
    steps:
      - id: run
        uses: exec
        env: {TAG: "\${{ inputs.tag }}"}
        with: {run: 'sh $D/step.sh && echo "::set-output name=tag::made-\$TAG"'}
  parent:
    outputs: {got: "\${{ steps.call.outputs.made }}"}
    steps:
      - {id: call, uses: "workflow:work", with: {tag: x1}}
      - {id: after, needs: [call], uses: exec, with: {run: "echo after >> $T/after"}}
  work2:
    steps:
      - {id: w, uses: exec, with: {run: "touch $T/s2.started; while [ ! -e $T/s2.go ]; do sleep 0.1; done"}}
  parent2:
    steps:
      - {id: call, uses: "workflow:work2"}
EOF

source "$(dirname "$0")/../lib/daemons.sh"
state_is() { # N RUN STATE
  api "$1" GET "/v1/runs/$2"
  [ "$(resp "d['run']['state']")" = "$3" ]
}

start_daemon 1
wait_health 1
# Daemon 2 starts once daemon 1 drives the parent and its child.
api 1 POST /v1/runs '{"workflow": "parent"}'
[ "$HTTP" = 201 ] || fail "start the parent: $HTTP $(cat "$T/resp")"
parent=$(resp "d['run']['id']")
wait_file "$D/started.1" 60
api 1 GET "/v1/runs/$parent"
child=$(resp "d['run']['children'][0]['run']")
[ -n "$child" ] || fail "the parent names no child: $(cat "$T/resp")"
api 1 GET "/v1/runs/$child"
[ -n "$(resp "d['run']['owner'] or ''")" ] || fail "daemon 1 does not hold the child: $(cat "$T/resp")"
start_daemon 2
wait_health 2

kill -9 "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null || true
touch "$D/release"
WAIT_S=120 wait_until "the parent to succeed through daemon 2" state_is 2 "$parent" succeeded
state_is 2 "$child" succeeded || fail "the child: $(cat "$T/resp")"
api 2 GET "/v1/runs/$parent"
[ "$(resp "d['run']['outputs']['got']")" = made-x1 ] || fail "the parent's outputs: $(cat "$T/resp")"
[ "$(resp "len(d['run']['children'])")" = 1 ] || fail "children: $(cat "$T/resp")"
[ "$(psql_q "SELECT count(*) FROM $schema.runs WHERE workflow = 'work'")" = 1 ] ||
  fail "$(psql_q "SELECT count(*) FROM $schema.runs WHERE workflow = 'work'") child runs for one attempt"
[ "$(wc -l <"$T/after")" = 1 ] || fail "the step after the call ran $(wc -l <"$T/after") times"
nd_check "$D" "the child's command across the daemon's kill -9"
pass "kill -9 of the orchd driving a parent and its child: the other daemon ends both, one child, no overlap"

# A graceful stop puts both back in the queue, each on its own (the
# parent's drop took its child along unwritten, left running under an
# expired lease); a daemon with max_runs 1 claims the parent first (it is
# older), which parks waiting for its child, so the child gets the slot,
# ends, and re-queues its parent.
api 2 POST /v1/runs '{"workflow": "parent2"}'
[ "$HTTP" = 201 ] || fail "start parent2: $HTTP $(cat "$T/resp")"
parent2=$(resp "d['run']['id']")
wait_file "$T/s2.started" 60
kill -TERM "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null || true
[ "$(psql_q "SELECT count(*) FROM $schema.runs WHERE workflow IN ('parent2', 'work2') AND state = 1")" = 2 ] ||
  fail "the graceful stop did not queue both: $(psql_q "SELECT workflow, state FROM $schema.runs")"
touch "$T/s2.go"
start_daemon 3
wait_health 3
WAIT_S=120 wait_until "parent2 to succeed through daemon 3 (max_runs 1)" state_is 3 "$parent2" succeeded
pass "graceful stop: parent and child queued each on its own; one slot is enough to end both"
