# telemetry.traces in the config file, checked by the receiver of the
# official OTLP definitions (tests/lib/otlp_receiver.mjs): the section
# alone (no OTEL_* variable) exports, with its protocol, service name,
# resource attributes and a header whose value is a secret, which orch
# never prints, logs or shows; the file wins over the variables, whole
# (the variables' collector gets nothing, and orch says they are not
# read); OTEL_SDK_DISABLED=true still stops it; a missing secret costs the
# traces, never the run; a bad value is an error at file:line:col; orchd
# exports by the section too and /health/env names its secret.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
. "$(dirname "$0")/../lib/otlp.sh"
NPM_TOOLS=$(npm_tools) || fail "cannot install the npm OTLP definitions"
export NPM_TOOLS
# Whatever OTEL_* the machine has would change what is read and said.
unset $(compgen -v OTEL_) 2>/dev/null || true
SECRET=collector-token-8d0c2e71

receiver file
FILE_PORT=$PORT
receiver envr
ENV_PORT=$PORT

# wf_file NAME EXTRA: a file whose telemetry.traces points at the file receiver.
wf_file() {
  cat >"$T/$1.yaml" <<EOF
version: 1
telemetry:
  traces:
    endpoint: http://127.0.0.1:$FILE_PORT/v1/traces
    protocol: http/json
    headers: {X-Collector-Token: "\${{ secrets.OTLP_TOKEN }}", X-Plain: plain-value}
    service_name: from-the-file
    timeout: 5s
    resource_attributes: {deployment.environment: test}
workflows:
  hello:
    steps:
      - {id: greet, uses: exec, with: {run: "true"}}
$2
EOF
}
wf_file tel ""

# --- the section alone
# At debug level, so that a line saying what the exporter does would show.
ORCH_SECRET_OTLP_TOKEN=$SECRET ORCH_LOG_LEVEL=debug o run "$T/tel.yaml" hello
expect_rc 0 "a run traced by the file"
R1=$(last_run_id)
expect_no_out "$SECRET" "the secret in orch run's output, at debug level"
# orch exits once its spans were sent: they are there.
run_spans "$T/file.jsonl" "$R1"
# run, step, attempt, the instance's create and destroy
[ "$(spans_q "d['n']")" = 5 ] || fail "the file's collector got $(spans_q "d['n']") spans, not 5"
[ "$(spans_q "d['run']['protocol']")" = json ] || fail "protocol: http/json not followed"
[ "$(spans_q "d['run']['resource']['service.name']")" = from-the-file ] || fail "service_name"
[ "$(spans_q "d['run']['resource']['deployment.environment']")" = test ] ||
  fail "resource_attributes"
python3 - "$T/file.jsonl.requests" "$SECRET" <<'PY' || fail "the export requests lack the headers"
import json, sys
path, secret = sys.argv[1:]
reqs = [json.loads(l)["headers"] for l in open(path)]
assert reqs and all(h.get("x-collector-token") == secret and h.get("x-plain") == "plain-value"
                    for h in reqs), reqs
PY
pass "telemetry.traces alone exports: protocol, service name, resource, a secret header never shown"

# --- the file wins, whole, over the variables; OTEL_SDK_DISABLED still stops it
ORCH_SECRET_OTLP_TOKEN=$SECRET ORCH_LOG_LEVEL=info OTEL_SERVICE_NAME=from-the-env \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$ENV_PORT" o run "$T/tel.yaml" hello
expect_rc 0 "a run with both"
R2=$(last_run_id)
expect_out "OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME not read" "the variables not read are said"
run_spans "$T/file.jsonl" "$R2"
[ "$(spans_q "d['n']")" = 5 ] || fail "the file's collector did not get the run's spans"
[ "$(spans_q "d['run']['resource']['service.name']")" = from-the-file ] ||
  fail "OTEL_SERVICE_NAME mixed into the file's settings"
[ ! -s "$T/envr.jsonl.requests" ] || fail "the variables' collector was sent to"
ORCH_SECRET_OTLP_TOKEN=$SECRET OTEL_SDK_DISABLED=true o run "$T/tel.yaml" hello
expect_rc 0 "a run with OTEL_SDK_DISABLED"
run_spans "$T/file.jsonl" "$(last_run_id)"
[ "$(spans_q "d['n']")" = 0 ] || fail "OTEL_SDK_DISABLED=true did not stop the file's export"
# Without the section, the variables as before.
cat >"$T/plain.yaml" <<'EOF'
version: 1
workflows:
  hello:
    steps:
      - {id: greet, uses: exec, with: {run: "true"}}
EOF
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$ENV_PORT" o run "$T/plain.yaml" hello
expect_rc 0 "a run traced by the variables"
run_spans "$T/envr.jsonl" "$(last_run_id)"
[ "$(spans_q "d['n']")" = 5 ] || fail "without telemetry: the variables do not configure traces"
pass "the file's section wins over the OTEL_* variables, whole; OTEL_SDK_DISABLED stops it; none: the variables"

# --- a missing secret costs the traces, never the run
o run "$T/tel.yaml" hello; expect_rc 0 "a run whose collector's secret is missing"
expect_out "secret OTLP_TOKEN is not set" "the missing secret is named"
expect_out "traces are not exported" "what it costs is said"
run_spans "$T/file.jsonl" "$(last_run_id)"
[ "$(spans_q "d['n']")" = 0 ] || fail "spans sent without the header's secret"
pass "a missing header secret: the run runs, its traces are not exported, the secret is named"

# --- bad values: errors at file:line:col
wf_file bad ""
sed -i 's|protocol: http/json|protocol: grpc|; s|timeout: 5s|timeout: 10000|' "$T/bad.yaml"
printf '    sampler: traceidratio\n    sampler_arg: 1.5\n' >"$T/sampler.txt"
sed -i "/resource_attributes/r $T/sampler.txt" "$T/bad.yaml"
o validate "$T/bad.yaml"; expect_rc 2 "a bad telemetry: section"
expect_out "$T/bad.yaml:5:15: telemetry.traces.protocol: 'grpc' is not http/protobuf or http/json" \
  "the protocol at its line:col"
expect_out "$T/bad.yaml:8:14: telemetry.traces.timeout: from 1ms to 60s" "the timeout at its line:col"
expect_out "$T/bad.yaml:11:18: telemetry.traces: the sampler's argument '1.5' is not a ratio" \
  "the sampler's argument at its line:col"
o run "$T/bad.yaml" hello; expect_rc 2 "orch run refuses it too"
pass "a bad telemetry.traces value is a config error at file:line:col"

# --- orchd exports by the section; /health/env names its secret
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
$(sed -n '/^telemetry:/,/^workflows:/p' "$T/tel.yaml")
    steps:
      - {id: greet, uses: exec, with: {run: "true"}}
EOF
sed -i 's/^workflows:$/workflows:\n  hello:/' "$T/orchd.yaml"
ORCH_SECRET_OTLP_TOKEN=$SECRET od_start "$T/orchd.yaml"
api GET /health/env "" reader; expect_http 200 "health/env"
resp "d['secrets']" | grepq OTLP_TOKEN || fail "/health/env does not name the header's secret"
api POST /v1/runs '{"workflow":"hello"}'; expect_http 201 "a run on orchd"
RD=$(resp "d['run']['id']")
od_wait_run "$RD" succeeded
wait_until "orchd's run span" run_span_arrived "$T/file.jsonl" "$RD"
[ "$(spans_q "d['run']['resource']['service.name']")" = from-the-file ] || fail "orchd's service name"
od_stop
grepq -F "$SECRET" <"$T/orchd.log" && fail "orchd logged the header's secret"
pass "orchd exports by telemetry.traces; /health/env names its secret, the log never its value"
