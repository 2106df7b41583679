# A caller's W3C traceparent makes a run its child, checked by the receiver
# of the official OTLP definitions (tests/lib/otlp_receiver.mjs): POST
# /v1/runs with one gives spans in the caller's trace with the run span the
# child of the caller's span, and steps a TRACEPARENT in that trace; an
# idempotent re-POST with another one keeps the first; a caller's
# unsampled flag is followed (parentbased_always_on, the default); a
# malformed one is ignored (the run starts, in a trace of its own); a
# webhook's is honoured; a run whose orchd was killed -9 and that another
# orchd claimed goes on in the same trace under the same parent; orch run
# honours TRACEPARENT, and orch --server passes it on; a reload cannot
# change telemetry:.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
. "$(dirname "$0")/../lib/otlp.sh"
NPM_TOOLS=$(npm_tools) || fail "cannot install the npm OTLP definitions"
export NPM_TOOLS
export ORCH_SECRET_HOOK_KEY=hook-key-0123456789

# The callers' trace ids. A trace id is reused by some cases; each case
# reads only its own run's spans (run_spans filters by run id), so none can
# pass on another's.
S=00f067aa0ba902b7
T1=4bf92f3577b34da6a3ce929d0e0e4736
T2=4bf92f3577b34da6a3ce929d0e0e4737
T3=4bf92f3577b34da6a3ce929d0e0e4738
T4=4bf92f3577b34da6a3ce929d0e0e4739
T5=4bf92f3577b34da6a3ce929d0e0e473a
T6=4bf92f3577b34da6a3ce929d0e0e473b

od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms, lease_ttl: 2s}
webhooks:
  build: {workflow: hello, secret: "\${{ secrets.HOOK_KEY }}"}
workflows:
  hello:
    inputs: {tag: {default: hook}}
    steps:
      - {id: greet, uses: exec, with: {run: 'echo "\$TRACEPARENT" > $T/tp-\${{ inputs.tag }}.txt'}}
  slow:
    steps:
      - {id: first, uses: exec, with: {run: 'echo "\$TRACEPARENT" > $T/tp-slow.txt'}}
      - id: wait
        uses: exec
        needs: [first]
        with: {run: "if [ -e $T/slow.started ]; then exit 0; fi; touch $T/slow.started; sleep 600"}
EOF

post_run() { # WORKFLOW TAG [TRACEPARENT] [KEY]: POST /v1/runs; HTTP, $T/resp, $RUN
  local body args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST
    -H "Authorization: Bearer writer-token" -H 'Content-Type: application/json')
  body=$(printf '{"workflow":"%s","inputs":%s%s}' "$1" \
    "$([ "$1" = hello ] && printf '{"tag":"%s"}' "$2" || printf '{}')" \
    "${4:+,\"idempotency_key\":\"$4\"}")
  [ -n "${3:-}" ] && args+=(-H "traceparent: $3")
  HTTP=$(curl "${args[@]}" --data-binary "$body" http://orchd/v1/runs)
  RUN=$(resp "d['run']['id']")
}
# The step's TRACEPARENT names its attempt's span in the caller's trace.
step_tp_in() { # FILE TRACE RUN FLAGS
  local tp
  tp=$(cat "$1")
  [ "$(cut -d- -f2 <<<"$tp")" = "$2" ] || fail "the step's TRACEPARENT $tp is not in trace $2"
  [ "$(cut -d- -f4 <<<"$tp")" = "$4" ] || fail "the step's TRACEPARENT $tp is not flagged $4"
}
traceparent_events() { # RUN: the run.traceparent events' values, one a line
  api GET "/v1/runs/$1/events" "" reader
  resp "'\\n'.join(e['data']['traceparent'] for e in d['events'] if e['type'] == 'run.traceparent')"
}
# The run's spans are all in the caller's trace, its run span the child of
# the caller's span.
child_of_caller() { # JSONL RUN TRACE
  run_spans "$1" "$2"
  [ "$(spans_q "d['traces']")" = "['$3']" ] || fail "run $2's spans are in $(spans_q "d['traces']"), not $3"
  [ "$(spans_q "d['run']['parentSpanId']")" = "$S" ] ||
    fail "run $2's run span's parent is '$(spans_q "d['run']['parentSpanId']")', not $S"
}

receiver api
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PORT"
od_start "$T/orchd.yaml"

# --- POST /v1/runs with a traceparent; the same key again with another one
post_run hello a "00-$T1-$S-01" key-a; expect_http 201 "a run with a traceparent"
R1=$RUN
post_run hello a "00-$T6-$S-01" key-a; expect_http 200 "the same key again"
[ "$RUN" = "$R1" ] || fail "the idempotent re-POST started another run"
od_wait_run "$R1" succeeded
wait_until "run $R1's run span" run_span_arrived "$T/api.jsonl" "$R1"
child_of_caller "$T/api.jsonl" "$R1" "$T1"
step_tp_in "$T/tp-a.txt" "$T1" "$R1" 01
[ "$(spans_q "[s['spanId'] for s in d['spans'] if s['name'] == 'greet attempt 1']")" = \
  "['$(cut -d- -f3 "$T/tp-a.txt")']" ] || fail "the step's TRACEPARENT does not name its attempt"
[ "$(traceparent_events "$R1")" = "00-$T1-$S-01" ] ||
  fail "the stored context changed or is not one: $(traceparent_events "$R1")"
pass "POST /v1/runs with traceparent: the caller's trace, the run span its child, steps in it; a re-POST keeps it"

# --- a caller that did not sample: neither does orch; a malformed one: ignored
post_run hello u "00-$T2-$S-00"; expect_http 201 "an unsampled caller"
RU=$RUN
od_wait_run "$RU" succeeded
step_tp_in "$T/tp-u.txt" "$T2" "$RU" 00
post_run hello m "00-$T3-$S-1"; expect_http 201 "a malformed traceparent is no error"
RM=$RUN
od_wait_run "$RM" succeeded
# The two runs' spans were queued before this one's: once it has arrived,
# theirs would have.
wait_until "run $RM's run span" run_span_arrived "$T/api.jsonl" "$RM"
run_spans "$T/api.jsonl" "$RU"
[ "$(spans_q "d['n']")" = 0 ] || fail "spans of a run whose caller did not sample were exported"
run_spans "$T/api.jsonl" "$RM"
[ "$(spans_q "d['traces'] != ['$T3'] and len(d['traces']) == 1")" = True ] ||
  fail "the malformed traceparent's run is not in a trace of its own: $(spans_q "d['traces']")"
[ "$(spans_q "d['run']['parentSpanId']")" = "" ] || fail "the malformed traceparent made a parent"
[ -z "$(traceparent_events "$RM")" ] || fail "a malformed traceparent was stored"
grepq -F "is not a W3C traceparent" <"$T/orchd.log" || fail "the ignored traceparent is not logged"
pass "an unsampled caller is followed; a malformed traceparent is ignored (the run has its own trace)"

# --- a webhook with a traceparent
body='{"inputs":{"tag":"h"}}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$ORCH_SECRET_HOOK_KEY" | awk '{print $NF}')
HTTP=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST \
  -H "X-Orch-Signature: sha256=$sig" -H "X-Orch-Delivery: d-1" -H "traceparent: 00-$T4-$S-01" \
  --data-binary "$body" http://orchd/v1/hooks/build)
expect_http 201 "a signed webhook with a traceparent"
RH=$(resp "d['run_id']")
od_wait_run "$RH" succeeded
wait_until "the webhook run's span" run_span_arrived "$T/api.jsonl" "$RH"
child_of_caller "$T/api.jsonl" "$RH" "$T4"
pass "a webhook's traceparent makes its run the caller's child"

# --- kill -9 of orchd mid-run; another orchd claims the run
post_run slow - "00-$T5-$S-01"; expect_http 201 "the slow run"
RS=$RUN
wait_file "$T/slow.started"
kill -9 "$OD_PID"; wait "$OD_PID" 2>/dev/null || true
# The sleep the killed daemon left is the next one's to kill (its reap).
od_start "$T/orchd.yaml"
od_wait_run "$RS" succeeded
wait_until "the claimed run's span" run_span_arrived "$T/api.jsonl" "$RS"
child_of_caller "$T/api.jsonl" "$RS" "$T5"
step_tp_in "$T/tp-slow.txt" "$T5" "$RS" 01
[ "$(spans_q "'resumed' in d['run']['events']")" = True ] || fail "no 'resumed' event on the run span"
[ "$(spans_q "sorted(s['attributes']['orch.attempt'] for s in d['spans'] if s['name'].startswith('wait attempt'))")" = "[2]" ] ||
  fail "the claimed run's second attempt is not in the trace"
pass "a run whose orchd was killed -9 goes on in the caller's trace, under the same parent, after a claim"

# --- orch --server passes TRACEPARENT on
TRACEPARENT="00-$T6-$S-01" ORCH_TOKEN=writer-token o --json --server "unix:$OD_SOCK" runs start hello --input tag=remote
expect_rc 0 "orch --server runs start"
RR=$(jq_py "d['run']['id']" <"$T/out")
[ "$(traceparent_events "$RR")" = "00-$T6-$S-01" ] || fail "orch --server did not pass TRACEPARENT on"
od_wait_run "$RR" succeeded
pass "orch --server runs start passes TRACEPARENT on"

# --- a reload cannot change telemetry:
printf 'telemetry:\n  traces: {endpoint: "http://127.0.0.1:9/v1/traces"}\n' >>"$T/orchd.yaml"
api POST /v1/admin/reload "" admin; expect_http 422 "a reload that changes telemetry:"
resp "' '.join(d['errors'])" | grepq "telemetry changed: a reload cannot change it" ||
  fail "the refusal does not name telemetry: $(cat "$T/resp")"
od_stop
pass "a reload refuses a changed telemetry: section"

# --- orch run honours TRACEPARENT
cat >"$T/wf.yaml" <<EOF
version: 1
workflows:
  hello:
    steps:
      - {id: greet, uses: exec, with: {run: 'echo "\$TRACEPARENT" > $T/tp-cli.txt'}}
EOF
TRACEPARENT="00-$T2-$S-01" o run "$T/wf.yaml" hello; expect_rc 0 "orch run with TRACEPARENT"
RC1=$(last_run_id)
# orch exits once its spans were sent: they are there.
child_of_caller "$T/api.jsonl" "$RC1" "$T2"
step_tp_in "$T/tp-cli.txt" "$T2" "$RC1" 01
pass "orch run honours TRACEPARENT"
