# An idempotency key names one request. `orch run --idempotency-key K`
# again exits as K's run did (non-zero when it failed, saying it is an
# earlier run); K with other inputs or another workflow is refused (CLI
# exit 2, API 409) naming the difference, and nothing is stored or run.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  ok:
    inputs: {who: {default: world}, tag: {default: a}}
    steps:
      - id: s
        uses: exec
        with: {run: "touch $T/ran-ok"}
  bad:
    steps:
      - id: s
        uses: exec
        with: {run: "touch $T/ran-bad; exit 3"}
YAML
runs_count() { "$ORCH" --json runs list | jq_py "len(d)"; }

# --- a failed run's key: the re-submission fails too, and says why
o run "$T/wf.yaml" bad --idempotency-key fail-1
expect_rc 1 "the keyed run fails"
first=$(last_run_id)
rm -f "$T/ran-bad"
o run "$T/wf.yaml" bad --idempotency-key fail-1
expect_rc 1 "re-submitting the key of a failed run"
expect_out "$first" "the re-submission names the earlier run"
expect_out "earlier run" "the message says the failure is an earlier run's"
[ ! -e "$T/ran-bad" ] || fail "a keyed re-submission ran the steps again"
o --json run "$T/wf.yaml" bad --idempotency-key fail-1
expect_rc 1 "re-submission, --json"
expect_out '"state": "failed"' "the JSON answer carries the earlier run's state"
pass "the key of a failed run: exit 1 naming the earlier run, nothing run"

# --- same key, same inputs (defaults filled either way): the run, exit 0
o run "$T/wf.yaml" ok --idempotency-key ok-1 --input who=ann
expect_rc 0 "keyed run"
okrun=$(last_run_id)
n=$(runs_count)
rm -f "$T/ran-ok"
o run "$T/wf.yaml" ok --idempotency-key ok-1 --input who=ann --input tag=a
expect_rc 0 "same key, same inputs (one given as its default)"
expect_out "$okrun" "same inputs return the earlier run"
[ ! -e "$T/ran-ok" ] || fail "same key, same inputs ran again"

# --- same key, other inputs or workflow: exit 2 naming the difference
o run "$T/wf.yaml" ok --idempotency-key ok-1 --input who=bob
expect_rc 2 "same key, another input value"
expect_out "input 'who' was 'ann'" "the differing input and its earlier value"
expect_out "'bob'" "the value of this request"
o run "$T/wf.yaml" ok --idempotency-key ok-1 --input who=ann --input tag=b
expect_rc 2 "same key, another value of a defaulted input"
expect_out "input 'tag'" "the differing input"
o run "$T/wf.yaml" bad --idempotency-key ok-1
expect_rc 2 "same key, another workflow"
expect_out "workflow 'ok', not 'bad'" "the differing workflow"
[ ! -e "$T/ran-ok" ] && [ ! -e "$T/ran-bad" ] || fail "a refused key ran steps"
[ "$(runs_count)" = "$n" ] || fail "a refused key stored a run"
pass "same key + same inputs: the earlier run; other inputs/workflow: exit 2 naming them"

# --- the API: 409 naming the differing input or field
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
workflows:
  hello:
    inputs: {who: {default: world}}
    steps:
      - {id: greet, uses: exec, with: {run: "echo hi"}}
  other:
    steps:
      - {id: s, uses: exec, with: {run: "echo other"}}
EOF
export ORCH_STATE_DIR="$T/state-d"
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"hello","inputs":{"who":"ann"},"idempotency_key":"k-1"}'
expect_http 201 "keyed start"
R=$(resp "d['run']['id']")
api POST /v1/runs '{"workflow":"hello","inputs":{"who":"ann"},"idempotency_key":"k-1"}'
expect_http 200 "same key, same inputs"
[ "$(resp "d['run']['id']")" = "$R" ] || fail "same key gave another run"
api POST /v1/runs '{"workflow":"hello","inputs":{"who":"bob"},"idempotency_key":"k-1"}'
expect_http 409 "same key, other inputs"
grep -q "input 'who' was 'ann'" "$T/resp" || fail "409 does not name the input: $(cat "$T/resp")"
api POST /v1/runs '{"workflow":"other","idempotency_key":"k-1"}'
expect_http 409 "same key, another workflow"
grep -q "workflow 'hello', not 'other'" "$T/resp" || fail "409 does not name the workflow: $(cat "$T/resp")"
api GET /v1/runs "" reader
[ "$(resp "len(d['runs'])")" = 1 ] || fail "a refused key stored a run: $(cat "$T/resp")"
od_stop
pass "API: same key + other inputs/workflow is 409 naming the difference, nothing stored"
