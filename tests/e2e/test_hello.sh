# The example workflow end to end on the embedded defaults: outputs flow
# between steps, the store records every attempt and the logs.
. "$(dirname "$0")/../lib/common.sh"
cd "$T"
o run "$ORCH_SOURCE_DIR/config/examples/hello.yaml" hello --input name=tester
expect_rc 0 "hello succeeds"
expect_out "hello, tester" "the greeting is printed with its step prefix"
expect_out "HELLO, TESTER" "a later step used the first step's output"
expect_out "succeeded" "the run reports success"
id=$(last_run_id)
[ "$(run_state "$id")" = succeeded ] || fail "stored run state"
for s in $(run_json "$id" | jq_py "' '.join(sorted(set(a['step'] for a in d['attempts'])))"); do
  [ "$(state_of "$id" "$s")" = succeeded ] || fail "step $s not succeeded"
done
o runs logs "$id" greet
expect_rc 0 "logs"
expect_out "hello, tester" "stored log of greet"
o runs list
expect_out "$id" "runs list shows the run"
o runs show "$id"
expect_out "greet" "runs show lists steps"
o --json runs events "$id"
expect_out '"run.finished"' "the ledger ends with run.finished"
# No instance leaked: the local work dir of the run is gone.
[ -z "$(ls -A "$ORCH_STATE_DIR/work" 2>/dev/null)" ] || fail "work dir left behind: $(ls "$ORCH_STATE_DIR/work")"
pass "hello"
