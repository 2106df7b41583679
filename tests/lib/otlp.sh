# Helpers for the trace tests: a receiver decoding with the official OTLP
# definitions (otlp_receiver.mjs), and the spans it wrote, by run. Source
# after common.sh and npm_tools.sh, with NPM_TOOLS exported.

# receiver NAME [FAIL_FIRST]: start a receiver writing $T/NAME.jsonl (and
# each request's headers to $T/NAME.jsonl.requests); its port in $PORT.
receiver() {
  node "$ORCH_SOURCE_DIR/tests/lib/otlp_receiver.mjs" "$T/$1.jsonl" "${2:-0}" &
  T_PIDS+=($!)
  wait_file "$T/$1.jsonl.port"
  PORT=$(cat "$T/$1.jsonl.port")
}

# run_spans JSONL RUN: $T/spans.json = {n, traces, run (its run span or
# null), spans} of the spans of run RUN; query it with spans_q EXPR.
run_spans() {
  python3 - "$1" "$2" >"$T/spans.json" <<'PY'
import json, os, sys
path, run = sys.argv[1:]
spans = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
mine = [s for s in spans if s["attributes"].get("orch.run.id") == run]
runs = [s for s in mine if s["name"].startswith("run ")]
print(json.dumps({"n": len(mine), "traces": sorted({s["traceId"] for s in mine}),
                  "run": runs[0] if runs else None, "spans": mine}))
PY
}
spans_q() { jq_py "$1" <"$T/spans.json"; }

# run_span_arrived JSONL RUN: the run span of RUN is in JSONL (for wait_until).
run_span_arrived() {
  run_spans "$1" "$2"
  [ "$(spans_q "d['run'] is not None")" = True ]
}
