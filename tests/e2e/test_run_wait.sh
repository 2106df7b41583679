# Synchronous runs: POST /v1/runs?wait=D answers 200 with the finished run
# (state, steps, outputs) when it ends within D, else 202 with the run as
# it is (a run parked for a decision answers at once); a bad or too long
# wait is a 400 that starts nothing. `orch --server URL runs start W
# --wait [--follow]` prints each step's log live and exits with the run's
# status.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
workflows:
  quick:
    outputs: {said: "\${{ steps.say.outputs.stdout }}"}
    steps:
      - {id: say, uses: exec, with: {run: "echo quick-out", capture: true}}
      - {id: two, uses: exec, needs: [say], with: {run: "echo second-step-line"}}
  held:
    steps:
      - id: hold
        uses: exec
        with: {run: "touch $T/held.started; while [ ! -e $T/release ]; do sleep 0.1; done"}
  failing:
    steps:
      - {id: bad, uses: exec, with: {run: "echo about-to-fail; exit 4"}}
  gated:
    steps:
      - {id: gate, uses: approval, with: {message: "go?"}}
EOF
od_start "$T/orchd.yaml"

runs_count() { api GET /v1/runs "" reader; resp "len(d['runs'])"; }

api POST '/v1/runs?wait=120s' '{"workflow": "quick"}'
expect_http 200 "a run that ends within the wait"
[ "$(resp "d['run']['state']")" = succeeded ] || fail "state: $(cat "$T/resp")"
[ "$(resp "d['finished']")" = True ] || fail "finished: $(cat "$T/resp")"
[ "$(resp "d['run']['outputs']['said']")" = quick-out ] || fail "outputs: $(cat "$T/resp")"
[ "$(resp "[s['state'] for s in d['run']['steps']]")" = "['succeeded', 'succeeded']" ] ||
  fail "steps: $(cat "$T/resp")"
pass "?wait: 200 with the finished run, its steps and outputs"

api POST '/v1/runs?wait=1s' '{"workflow": "held"}'
expect_http 202 "a run still running when the wait ends"
[ "$(resp "d['finished']")" = False ] || fail "finished: $(cat "$T/resp")"
held=$(resp "d['run']['id']")
[ -e "$T/held.started" ] || wait_file "$T/held.started" 60
touch "$T/release"
od_wait_run "$held" succeeded
pass "?wait: 202 with the run as it is when the wait ends first"

api POST '/v1/runs?wait=30s' '{"workflow": "gated"}'
expect_http 202 "a run parked for a decision"
[ "$(resp "d['run']['state']")" = waiting ] || fail "state: $(cat "$T/resp")"
pass "?wait: a run parked for a decision answers at once, 202"

before=$(runs_count)
for bad in 'soon' '-1s' '121s' '1h'; do
  api POST "/v1/runs?wait=$bad" '{"workflow": "quick"}'
  expect_http 400 "wait=$bad"
  grep -qF "wait must be a duration" "$T/resp" || fail "the 400 for wait=$bad does not say why"
done
[ "$(runs_count)" = "$before" ] || fail "a refused wait started a run"
api POST '/v1/runs?wait=30s' '{"workflow": "quick"}' reader
expect_http 403 "a read token cannot start a run, waiting or not"
pass "a bad wait is a 400 naming it and starts nothing; the write role still applies"

# The idempotent re-submission waits on the existing run.
api POST '/v1/runs?wait=120s' '{"workflow": "quick", "idempotency_key": "k-1"}'
expect_http 200 "first, with a key"
first=$(resp "d['run']['id']")
api POST '/v1/runs?wait=120s' '{"workflow": "quick", "idempotency_key": "k-1"}'
expect_http 200 "again, with the same key"
[ "$(resp "d['run']['id']")" = "$first" ] && [ "$(resp "d['existing']")" = True ] ||
  fail "the re-submission is not the existing run: $(cat "$T/resp")"
pass "?wait with an idempotency key answers with the existing run"

export ORCH_TOKEN=writer-token
SRV="unix:$OD_SOCK"
o --server "$SRV" runs start quick --wait --follow
expect_rc 0 "runs start --wait --follow of a succeeding run"
expect_out "[say] quick-out" "the first step's output, under its name"
expect_out "ok say succeeded in " "the first step's end with its duration"
expect_out "second-step-line" "the second step's output"
expect_out "succeeded" "the run's end"
expect_out 'output    said = "quick-out"' "the outputs"
o --server "$SRV" runs start failing --wait --follow
expect_rc 1 "runs start --wait of a failing run exits 1"
expect_out "about-to-fail" "its log"
expect_out "failed" "its end"
o --server "$SRV" runs start failing --wait
expect_rc 1 "--wait alone: the run's status"
expect_no_out "about-to-fail" "--wait without --follow prints no log"
o --server "$SRV" runs start quick --follow
expect_rc 0 "--follow waits too"
expect_out "[say] quick-out" "--follow alone: the log"
expect_out 'output    said = "quick-out"' "--follow alone: the outputs"
o --server "$SRV" --json runs start quick --wait
expect_rc 0 "--json --wait"
[ "$(jq_py "d['outputs']['said']" <"$T/out")" = quick-out ] || fail "--json --wait: $(cat "$T/out")"
pass "orch --server runs start --wait, --follow: the logs, the outputs, the run's exit status"
od_stop
