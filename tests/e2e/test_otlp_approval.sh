# An approval waited on is a span of its own ("STEP waiting for approval",
# a child of its attempt's span, orch.approval.decision and .by, ending
# when it was decided), in the run's one trace, checked by the receiver of
# the official OTLP definitions (tests/lib/otlp_receiver.mjs):
# - orch run parks, orch runs approve, orch resume (another process) ends
#   the run: the run span starts with the run, not with the resume, and
#   every span id is exported once;
# - the sampler's verdict is the run's (kept with run.started): a run kept
#   under always_on is exported whole by a resume whose sampler keeps
#   nothing of its own, and one dropped when it started stays dropped by a
#   resume whose sampler would keep it;
# - orchd: an approval and a rejection through the API with a write token
#   (same daemon), and an approval's timeout policy (decided by "timeout").
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
. "$(dirname "$0")/../lib/otlp.sh"
NPM_TOOLS=$(npm_tools) || fail "cannot install the npm OTLP definitions"
export NPM_TOOLS

cat >"$T/wf.yaml" <<'YAML'
version: 1
workflows:
  gate:
    steps:
      - {id: build, uses: exec, with: {run: "true"}}
      - {id: ok, uses: approval, needs: [build], with: {message: "ship it?"}}
      - {id: after, uses: exec, needs: [ok], with: {run: "true"}}
  lapse:
    steps:
      - {id: ok, uses: approval, timeout: 1s, with: {message: "in time?", on_timeout: reject}}
YAML

# check_wait JSONL RUN DECISION BY [STATE]: the run's trace holds one span
# per id; the run span starts no later than any other and ends last; ok's
# wait span hangs from its attempt, which hangs from its step, which hangs
# from the run; the wait carries the decision and who made it, and ends
# before the run does.
check_wait() {
  python3 - "$@" <<'PY'
import collections, json, sys
path, run, decision, by = sys.argv[1:5]
spans = [json.loads(l) for l in open(path)]
spans = [s for s in spans if s["attributes"].get("orch.run.id") == run]
dup = [k for k, n in collections.Counter(s["spanId"] for s in spans).items() if n > 1]
assert not dup, ("span ids exported twice", [s["name"] for s in spans if s["spanId"] in dup])
assert len({s["traceId"] for s in spans}) == 1, "one trace"
root = [s for s in spans if s["name"].startswith("run ")]
assert len(root) == 1, [s["name"] for s in spans]
root = root[0]
start = lambda s: int(s["start"])
end = lambda s: int(s["end"])
assert start(root) <= min(start(s) for s in spans), ("the run span starts after a child",
    root["start"], sorted((s["start"], s["name"]) for s in spans)[:3])
assert end(root) >= max(end(s) for s in spans), "a span outlives the run"
by_name = {s["name"]: s for s in spans}
step, att, wait = by_name["ok"], by_name["ok attempt 1"], by_name["ok waiting for approval"]
assert step["parentSpanId"] == root["spanId"], step
assert att["parentSpanId"] == step["spanId"], att
assert wait["parentSpanId"] == att["spanId"], wait
a = wait["attributes"]
assert a["orch.step.id"] == "ok" and a["orch.attempt"] == 1, a
assert a["orch.approval.decision"] == decision, a
assert a["orch.approval.by"] == by, (a, by)
assert start(att) <= start(wait) <= end(wait) <= end(att) <= end(step), "wait outside its attempt"
assert end(wait) > start(wait), "the wait has no length"
if decision == "approved":
    assert wait["status"]["code"] == 1, wait
    assert start(wait) >= end(by_name["build"]), "the wait began before build ended"
    assert end(wait) <= start(by_name["after"]), "after started before the decision"
else:
    assert wait["status"]["code"] == 2 and wait["status"]["message"], wait
    assert step["status"]["code"] == 2, step
print("ok")
PY
}
run_of() { "$ORCH" --json runs list --workflow "$1" --limit 1 | jq_py "d[0]['id']"; }
by_of() { run_json "$1" | jq_py "[a for a in d['attempts'] if a['step'] == 'ok'][-1]['outputs']['by']"; }

# --- the CLI: parked by one process, ended by another
receiver cli
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT"
o run "$T/wf.yaml" gate
expect_rc 0 "the run parks"
R1=$(run_of gate)
[ "$(run_state "$R1")" = waiting ] || fail "the run is $(run_state "$R1"), not waiting"
o runs approve "$R1" ok --comment "fine"
expect_rc 0 "approve"
# The resume's own sampler keeps nothing it decides itself: the run's
# verdict (keep, taken when it started) is what counts.
OTEL_TRACES_SAMPLER=parentbased_always_off o resume "$R1"
expect_rc 0 "the resume ends the run"
wait_until "the run span" run_span_arrived "$T/cli.jsonl" "$R1"
check_wait "$T/cli.jsonl" "$R1" approved "$(by_of "$R1")" || fail "the CLI run's approval trace is wrong"
pass "orch run parks, another process resumes: the wait is a span, the run span starts with the run"

# --- dropped when it started: stays dropped
OTEL_TRACES_SAMPLER=parentbased_always_off o run "$T/wf.yaml" gate
expect_rc 0 "an unsampled run parks"
R2=$(run_of gate)
[ "$R2" != "$R1" ] || fail "no second run"
o runs approve "$R2" ok
expect_rc 0 "approve the unsampled run"
o resume "$R2"
expect_rc 0 "the resume of the unsampled run"
# Both processes have exited, and each flushes its exporter before it
# does (waiting for the collector's answer): whatever they sent is here.
run_spans "$T/cli.jsonl" "$R2"
[ "$(spans_q "d['n']")" = 0 ] || fail "a run dropped when it started exported $(spans_q "d['n']") spans on resume"
pass "the sampler's verdict is the run's: kept or dropped whole, whatever the resume's sampler says"
unset OTEL_EXPORTER_OTLP_ENDPOINT

# --- orchd: approve and reject through the API (write token), a timeout
receiver od
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
telemetry:
  traces: {endpoint: "http://127.0.0.1:$PORT/v1/traces", protocol: http/json}
$(sed 1d "$T/wf.yaml")
EOF
ORCH_STATE_DIR="$T/od" od_start "$T/orchd.yaml"
od_wait_state() { # RUN STATE
  api GET "/v1/runs/$1" "" reader
  [ "$HTTP" = 200 ] && [ "$(resp "d['run']['state']")" = "$2" ]
}
decide() { # VERB: a gate run decided through the API; its id in $RUN
  api POST /v1/runs '{"workflow":"gate"}'
  expect_http 201 "start gate"
  RUN=$(resp "d['run']['id']")
  wait_until "run $RUN waiting" od_wait_state "$RUN" waiting
  api POST "/v1/runs/$RUN/steps/ok/$1" '{"comment":"by the book"}'
  expect_http 202 "$1 over the API"
}
decide approve
A=$RUN
wait_until "the approved run to succeed" od_wait_state "$A" succeeded
decide reject
J=$RUN
wait_until "the rejected run to fail" od_wait_state "$J" failed
api POST /v1/runs '{"workflow":"lapse"}'
expect_http 201 "start lapse"
L=$(resp "d['run']['id']")
wait_until "the lapsed approval's run to fail" od_wait_state "$L" failed
for r in "$A" "$J" "$L"; do wait_until "the run span of $r" run_span_arrived "$T/od.jsonl" "$r"; done
byA=$(ORCH_STATE_DIR="$T/od" by_of "$A")
[ -n "$byA" ] || fail "the API's approval has no 'by'"
check_wait "$T/od.jsonl" "$A" approved "$byA" || fail "orchd's approved wait span is wrong"
check_wait "$T/od.jsonl" "$J" rejected "$byA" || fail "orchd's rejected wait span is wrong"
python3 - "$T/od.jsonl" "$L" <<'PY' || fail "the timed-out approval's wait span is wrong"
import json, sys
path, run = sys.argv[1:]
spans = [json.loads(l) for l in open(path)]
w = [s for s in spans if s["attributes"].get("orch.run.id") == run and s["name"] == "ok waiting for approval"]
assert len(w) == 1, w
a = w[0]["attributes"]
assert a["orch.approval.decision"] == "rejected" and a["orch.approval.by"] == "timeout", a
# It ends at the deadline: a second after it began (the engine may see it later).
d = int(w[0]["end"]) - int(w[0]["start"])
assert 900_000_000 <= d < 60_000_000_000, d
assert w[0]["status"]["code"] == 2 and "timed out" in w[0]["status"]["message"], w[0]
PY
od_stop
pass "orchd: approved, rejected (API, write token) and timed-out waits are spans with who decided"
