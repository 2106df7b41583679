# Cancelling a run whose approval waits ends the approval's attempt
# `cancelled` (not `waiting` forever beside a new row), through the CLI
# with no daemon and through orchd.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  gated:
    steps:
      - {id: gate, uses: approval, with: {message: "go?"}}
      - {id: after, uses: exec, needs: [gate], with: {run: "touch $T/after-ran"}}
YAML
# "STATE STATE ..." of every attempt of step $2 in run $1, in order
attempt_states() {
  run_json "$1" | jq_py "' '.join(a['state'] for a in sorted(d['attempts'], key=lambda a: a['attempt']) if a['step']=='$2')"
}

# --- orchd: cancel over the API, the daemon's worker ends it
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
workflows:
  gated:
    steps:
      - {id: gate, uses: approval, with: {message: "go?"}}
      - {id: after, uses: exec, needs: [gate], with: {run: "touch $T/after-ran"}}
EOF
ORCH_STATE_DIR="$T/state-d" od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"gated"}'
expect_http 201 "start"
D=$(resp "d['run']['id']")
od_wait_run "$D" waiting
api POST "/v1/runs/$D/cancel"
expect_http 202 "cancel a waiting run"
od_wait_run "$D" cancelled
api GET "/v1/runs/$D" "" reader
states=$(resp "' '.join(a['state'] for s in d['run']['steps'] if s['id']=='gate' for a in s['attempts'])")
[ "$states" = cancelled ] || fail "orchd: the approval's attempts after cancel: '$states'"
od_stop
[ ! -e "$T/after-ran" ] || fail "orchd ran the step after a cancelled approval"
pass "orchd: cancelling a waiting approval ends its attempt cancelled"

# --- the CLI, no daemon: the cancel ends the parked run itself
o run "$T/wf.yaml" gated
expect_rc 0 "the run parks at its approval"
R=$(last_run_id)
[ "$(run_state "$R")" = waiting ] || fail "run is $(run_state "$R"), not waiting"
[ "$(attempt_states "$R" gate)" = waiting ] || fail "gate attempts: $(attempt_states "$R" gate)"
o runs cancel "$R"
expect_rc 0 "cancel of a waiting run"
[ "$(run_state "$R")" = cancelled ] || fail "after the CLI cancel the run is $(run_state "$R")"
[ "$(attempt_states "$R" gate)" = cancelled ] ||
  fail "the approval's attempts after cancel: '$(attempt_states "$R" gate)' (want one, cancelled)"
run_json "$R" | grepq "cancelled while the step waited" || fail "the attempt does not say it was cancelled while waiting"
[ ! -e "$T/after-ran" ] || fail "the step after a cancelled approval ran"
pass "CLI: cancelling a waiting approval ends its attempt cancelled"

