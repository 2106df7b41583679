# Traces of runs over OTLP/HTTP, checked by a receiver that decodes with the
# official OpenTelemetry definitions (tests/lib/otlp_receiver.mjs): a run
# with a fan-out, a retry and a failure gives the expected tree (one trace,
# parents, kinds, attributes, status, exit codes; the instance's create and destroy as
# spans of their own) in http/protobuf and http/json; a
# step's TRACEPARENT names its attempt's span; a run killed -9 and resumed
# keeps its trace id; a collector that answers 503 at first still gets the
# spans, and one that is down costs no run.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
. "$(dirname "$0")/../lib/otlp.sh"
NPM_TOOLS=$(npm_tools) || fail "cannot install the npm OTLP definitions"
export NPM_TOOLS

cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  tree:
    steps:
      - {id: start, uses: exec, with: {run: 'echo "\$TRACEPARENT" > $T/tp.txt'}}
      - {id: fan_a, uses: exec, needs: [start], with: {run: "true"}}
      - {id: fan_b, uses: exec, needs: [start], with: {run: "true"}}
      - {id: fan_c, uses: exec, needs: [start], with: {run: "true"}}
      - id: flaky
        uses: exec
        needs: [start]
        retry: {attempts: 2, backoff: 50ms}
        with: {run: "if [ -e $T/flaky.once ]; then exit 0; fi; touch $T/flaky.once; exit 1"}
      - {id: join, uses: exec, needs: [fan_a, fan_b, fan_c, flaky], with: {run: "true"}}
  broken:
    steps:
      - {id: fails, uses: exec, with: {run: "exit 4"}}
  sub:
    steps:
      - {id: inner, uses: exec, with: {run: "true"}}
  caller:
    steps:
      - {id: c, uses: "workflow:sub"}
  slow:
    steps:
      - {id: first, uses: exec, with: {run: 'echo "\$TRACEPARENT" > $T/slow-tp.txt'}}
      - {id: wait, uses: exec, needs: [first], with: {run: "touch $T/slow.started; sleep 30"}}
YAML

check_tree() { # JSONL RUN PROTOCOL
  python3 - "$1" "$2" "$3" "$T/tp.txt" <<'PY'
import json, sys
path, run, proto, tpfile = sys.argv[1:]
spans = [json.loads(l) for l in open(path)]
spans = [s for s in spans if s["attributes"].get("orch.run.id") == run]
assert spans, "no spans of the run"
assert all(s["protocol"] == proto for s in spans), "protocol"
assert len({s["traceId"] for s in spans}) == 1, "one trace per run"
by_id = {s["spanId"]: s for s in spans}
runs = [s for s in spans if s["name"] == "run tree"]
assert len(runs) == 1 and runs[0]["parentSpanId"] == "", runs
root = runs[0]
assert root["status"]["code"] == 1 and root["attributes"]["orch.workflow"] == "tree", root
assert root["attributes"]["orch.run.state"] == "succeeded"
steps = {s["attributes"]["orch.step.id"]: s for s in spans
         if s["parentSpanId"] == root["spanId"] and "orch.step.id" in s["attributes"]}
assert set(steps) == {"start", "fan_a", "fan_b", "fan_c", "flaky", "join"}, sorted(steps)
# The instance's create and destroy: spans of their own under the run's,
# create before the first step, destroy after the last.
inst = [s for s in spans if s["parentSpanId"] == root["spanId"] and
        "orch.instance.id" in s["attributes"]]
made = [s for s in inst if s["name"].startswith("create instance ")]
gone = [s for s in inst if s["name"].startswith("destroy instance ")]
assert len(made) == 1 and len(gone) == 1 and len(inst) == 2, [s["name"] for s in inst]
iid = made[0]["attributes"]["orch.instance.id"]
assert iid.startswith("i-") and gone[0]["attributes"]["orch.instance.id"] == iid, inst
for s in inst:
    assert s["attributes"]["orch.backend"] == "local" and s["status"]["code"] == 1, s
    assert s["name"].endswith(iid), s["name"]
assert int(made[0]["end"]) <= min(int(s["start"]) for s in steps.values()), "create after a step"
assert int(gone[0]["start"]) >= max(int(s["end"]) for s in steps.values()), "destroy before a step ended"
assert int(gone[0]["end"]) <= int(root["end"]), "destroy outlived the run"
for sid, st in steps.items():
    assert st["kind"] == 1 and st["status"]["code"] == 1, (sid, st)
    assert int(st["end"]) >= int(st["start"]) > 0
kids = lambda p: [s for s in spans if s["parentSpanId"] == p["spanId"]]
fl = kids(steps["flaky"])
att = sorted([s for s in fl if "attempt" in s["name"] and "back-off" not in s["name"]],
             key=lambda s: s["attributes"]["orch.attempt"])
assert [a["attributes"]["orch.attempt"] for a in att] == [1, 2], fl
assert att[0]["status"]["code"] == 2 and "status 1" in att[0]["status"]["message"], att[0]
assert att[1]["status"]["code"] == 1
# The command's exit status, by the semantic conventions' name.
assert [a["attributes"].get("process.exit.code") for a in att] == [1, 0], att
assert any("back-off" in s["name"] for s in fl), "no back-off span"
res = root["resource"]
assert res["service.name"] == "orch" and res.get("service.version") and res.get("host.name"), res
tp = open(tpfile).read().strip().split("-")
start_att = kids(steps["start"])[0]
assert tp[1] == root["traceId"] and tp[2] == start_att["spanId"], (tp, start_att)
PY
}
run_id() { "$ORCH_BIN/orch" --state-dir "$T/st" --json runs list --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'; }
spans_of_run_span() { # JSONL RUN-NAME: the run span arrived
  grep -q "\"name\":\"$2\"" "$1" 2>/dev/null
}

# --- http/protobuf: the tree, TRACEPARENT, a failure
receiver pb
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
o --state-dir "$T/st" run "$T/wf.yaml" tree; expect_rc 0 "the traced run"
R1=$(run_id)
wait_until "the run span over protobuf" spans_of_run_span "$T/pb.jsonl" "run tree"
check_tree "$T/pb.jsonl" "$R1" protobuf || fail "the protobuf trace tree is wrong"
o --state-dir "$T/st" run "$T/wf.yaml" broken; expect_rc 1 "a failing run"
wait_until "the failing run's span" spans_of_run_span "$T/pb.jsonl" "run broken"
python3 - "$T/pb.jsonl" <<'PY' || fail "the failing run's spans lack an error status"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
run = [s for s in spans if s["name"] == "run broken"][0]
assert run["status"]["code"] == 2 and "fails" in run["status"]["message"], run
step = [s for s in spans if s["attributes"].get("orch.step.id") == "fails" and s["parentSpanId"] == run["spanId"]][0]
assert step["status"]["code"] == 2 and step["attributes"]["orch.step.state"] == "failed", step
att = [s for s in spans if s["parentSpanId"] == step["spanId"]]
assert len(att) == 1 and att[0]["attributes"].get("process.exit.code") == 4, att
PY
[ ! -s "$T/pb.jsonl.errors" ] || fail "the receiver could not decode: $(cat "$T/pb.jsonl.errors")"
pass "http/protobuf: run, step, attempt and back-off spans, parents, status, TRACEPARENT"

# --- http/json
rm -f "$T/flaky.once"
receiver js
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/json
o --state-dir "$T/st" run "$T/wf.yaml" tree; expect_rc 0 "the traced run (json)"
R2=$(run_id)
wait_until "the run span over json" spans_of_run_span "$T/js.jsonl" "run tree"
check_tree "$T/js.jsonl" "$R2" json || fail "the json trace tree is wrong"
pass "http/json: the same tree"

# --- a child run (a call step's) is in its parent's trace, under the call
# step's attempt span.
o --state-dir "$T/st" run "$T/wf.yaml" caller; expect_rc 0 "a run calling a workflow"
RC=$("$ORCH" --state-dir "$T/st" --json runs list --workflow caller --limit 1 | jq_py "d[0]['id']")
RS=$("$ORCH" --state-dir "$T/st" --json runs show "$RC" | jq_py "d['children'][0]['run']")
wait_until "the child's run span" run_span_arrived "$T/js.jsonl" "$RS"
wait_until "the parent's run span" run_span_arrived "$T/js.jsonl" "$RC"
python3 - "$T/js.jsonl" "$RC" "$RS" <<'PY' || fail "the child run's trace does not hang from its call step"
import json, sys
path, parent, child = sys.argv[1:]
spans = [json.loads(l) for l in open(path)]
prun = [s for s in spans if s["name"] == "run caller" and s["attributes"]["orch.run.id"] == parent][0]
crun = [s for s in spans if s["name"] == "run sub" and s["attributes"]["orch.run.id"] == child][0]
att = [s for s in spans if s["attributes"].get("orch.run.id") == parent
       and s["attributes"].get("orch.step.id") == "c" and s["name"] == "c attempt 1"]
assert len(att) == 1, att
assert crun["traceId"] == prun["traceId"], (crun["traceId"], prun["traceId"])
assert crun["parentSpanId"] == att[0]["spanId"], (crun["parentSpanId"], att[0]["spanId"])
assert att[0]["status"]["code"] == 1, att[0]
PY
pass "a child run's spans are in its parent's trace, under the call step's attempt"

# --- a resumed run keeps its trace
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
receiver resume
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT"
"$ORCH_BIN/orch" --state-dir "$T/st" run "$T/wf.yaml" slow >"$T/slow.out" 2>&1 &
SP=$!
T_PIDS+=($SP)
wait_file "$T/slow.started"
kill -9 "$SP"; wait "$SP" 2>/dev/null || true
# The command the killed orch left running is resume's to kill (its reap):
# nothing here touches processes this test did not start.
rm -f "$T/slow.started"
R3=$(run_id)
o --state-dir "$T/st" resume "$R3" &
RP=$!
T_PIDS+=($RP)
wait_until "the resumed step to start" test -e "$T/slow.started"
# the resumed 'wait' step sleeps; cancel it to end the run
o --state-dir "$T/st" runs cancel "$R3" >/dev/null 2>&1 || kill -INT "$RP" 2>/dev/null || true
wait "$RP" 2>/dev/null || true
wait_until "the resumed run's span" spans_of_run_span "$T/resume.jsonl" "run slow"
want=$(cut -d- -f2 "$T/slow-tp.txt")
python3 - "$T/resume.jsonl" "$R3" "$want" <<'PY' || fail "the resumed run started a new trace"
import json, sys
path, run, want = sys.argv[1:]
spans = [json.loads(l) for l in open(path) if json.loads(l)["attributes"].get("orch.run.id") == run]
assert spans and all(s["traceId"] == want for s in spans), ({s["traceId"] for s in spans}, want)
assert any("resumed" in s["events"] for s in spans if s["name"] == "run slow"), "no resumed event"
PY
pass "a run killed -9 and resumed keeps its trace id"

# --- a collector that fails at first, and one that is down
rm -f "$T/flaky.once"
receiver flaky 2
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT"
o --state-dir "$T/st" run "$T/wf.yaml" tree; expect_rc 0 "traced run, collector answering 503 first"
wait_until "the spans after the 503s" spans_of_run_span "$T/flaky.jsonl" "run tree"
rm -f "$T/flaky.once"
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9"  # nothing listens on discard
o --state-dir "$T/st" run "$T/wf.yaml" tree; expect_rc 0 "a collector that is down costs no run"
expect_out "not exported" "the dropped spans are reported"
pass "export retried after 503s; a dead collector drops spans, never a run"
