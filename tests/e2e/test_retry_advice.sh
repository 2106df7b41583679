# A plugin's retry advice (a 429's Retry-After, as retry_after_ms) is a
# floor for the back-off: a step that asks for 1500 ms is not retried after
# the configured 10 ms. And continue_on_error covers a timed-out step like a
# failed one: its dependents run and the run succeeds.
. "$(dirname "$0")/../lib/common.sh"
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  limited:
    steps:
      - id: limited
        uses: crash
        retry: {attempts: 2, backoff: 10ms}
        with: {mode: rate_limited}
  tolerant:
    steps:
      - id: slow
        uses: exec
        timeout: 1s
        continue_on_error: true
        with: {run: "sleep 30"}
      - id: after
        uses: exec
        needs: [slow]
        with: {run: "echo after slow"}
YAML
o run "$T/wf.yaml" limited
expect_rc 1 "a step that is always rate limited fails the run"
id=$(last_run_id)
[ "$(attempts_of "$id" limited)" = 2 ] || fail "expected 2 attempts, got $(attempts_of "$id" limited)"
"$ORCH" runs events "$id" >"$T/ev"
grep -q '"delay_ms":1500' "$T/ev" || { cat "$T/ev" >&2; fail "the retry did not wait the advised 1500 ms"; }
# The second attempt started no sooner than the advice: a lower bound on a
# recorded gap, never an upper bound on how long anything took.
gap=$(run_json "$id" | jq_py "(lambda a: (ns(a[1]['started']) - ns(a[0]['finished'])) // 1000000)(sorted([x for x in d['attempts'] if x['step']=='limited'], key=lambda x: x['attempt']))")
[ "$gap" -ge 1500 ] || fail "attempt 2 started ${gap} ms after attempt 1 ended (advice: 1500)"
pass "retry_after_ms is honoured"

o run "$T/wf.yaml" tolerant
expect_rc 0 "a timed-out step with continue_on_error does not fail the run"
expect_out "after slow" "its dependent ran"
id=$(last_run_id)
[ "$(state_of "$id" slow)" = timed_out ] || fail "slow state $(state_of "$id" slow)"
[ "$(state_of "$id" after)" = succeeded ] || fail "after state $(state_of "$id" after)"
pass "continue_on_error covers timeouts"
