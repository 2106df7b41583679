# orchd's API against a running daemon: auth, bodies, starting runs with
# idempotency, listing, logs (plain and streamed), approvals, cancel,
# dead letters, control flags (pause, proof), health, metrics, plugins,
# webhook triggers and notifications.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

# A receiver for notifications: records each body and whether its
# signature verifies.
cat >"$T/receiver.py" <<'PY'
import hashlib, hmac, http.server, json, sys
out, key = sys.argv[1], sys.argv[2].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        want = 'sha256=' + hmac.new(key, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers.get('X-Orch-Signature', ''))
        with open(out, 'a') as f:
            f.write(json.dumps({'ok': ok, 'body': json.loads(body)}) + '\n')
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(out + '.port', 'w').write(str(s.server_port))
s.serve_forever()
PY
python3 "$T/receiver.py" "$T/notes" notify-key-0123456789 &
T_PIDS+=($!)
wait_file "$T/notes.port"
PORT=$(cat "$T/notes.port")
# info level: the log lines about notifications must show no URL path
export ORCH_LOG_LEVEL=info
export ORCH_SECRET_NOTIFY_KEY=notify-key-0123456789 ORCH_SECRET_HOOK_KEY=hook-key-0123456789 ORCH_SECRET_API_PASSWORD=hunter2

od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
  max_body: 64K
worker: {id: 'worker "a"\b', tick: 100ms, lease_ttl: 5s}
webhooks:
  build: {workflow: hello, secret: "\${{ secrets.HOOK_KEY }}"}
notifications:
  - {url: "http://127.0.0.1:$PORT/hook/path-token-123", on: [succeeded, failed], secret: "\${{ secrets.NOTIFY_KEY }}"}
workflows:
  hello:
    inputs: {who: {default: world}}
    steps:
      - id: greet
        uses: exec
        with: {run: "echo hello \${{ inputs.who }} \${{ secrets.API_PASSWORD }}; echo \$MISSING_VAR \${{ env.HOME }} > /dev/null"}
  slow:
    steps:
      - id: wait
        uses: exec
        with: {run: "echo started; sleep 30"}
  gated:
    steps:
      - id: gate
        uses: approval
        with:
          message: "go?"
          inputs: {ticket: string, replicas: number}
          required: [ticket]
      - id: after
        uses: exec
        needs: [gate]
        with: {run: "echo ticket=\${{ steps.gate.outputs.ticket }} by=\${{ steps.gate.outputs.by }}"}
  broken:
    steps:
      - id: fail
        uses: exec
        retry: {attempts: 2, backoff: 10ms}
        with: {run: "echo attempt; exit 3"}
  marker:
    steps:
      - id: touch
        uses: exec
        with: {run: "touch $T/marker-ran"}
EOF
od_start "$T/orchd.yaml"

# --- auth and request checking
api GET /v1/runs "" ""; expect_http 401 "no token"
api GET /v1/runs "" nobody; expect_http 401 "unknown token"
api POST /v1/runs '{"workflow":"hello"}' reader; expect_http 403 "read token starting a run"
api POST /v1/control '{"paused":true}' writer; expect_http 403 "write token setting control"
api GET /health "" ""; expect_http 200 "health needs no token"
api GET /v1/runs "" reader; expect_http 200 "read token listing"
api POST /v1/runs '{"workflow":' ; expect_http 400 "malformed JSON"
grep -q 'not JSON' "$T/resp" || fail "malformed JSON error is not clear: $(cat "$T/resp")"
api POST /v1/runs '["hello"]'; expect_http 400 "non-object body"
api POST /v1/runs '{"workflow":"hello","colour":"red"}'; expect_http 400 "unknown field"
grep -q "colour" "$T/resp" || fail "unknown field not named"
api POST /v1/runs '{"workflow":"helo"}'; expect_http 404 "unknown workflow"
grep -q "did you mean 'hello'" "$T/resp" || fail "no suggestion: $(cat "$T/resp")"
api POST /v1/runs '{"workflow":"hello","inputs":{"nope":"x"}}'; expect_http 400 "unknown input"
big=$(python3 -c 'print("{\"workflow\":\"hello\",\"inputs\":{\"who\":\"" + "a"*70000 + "\"}}")')
api POST /v1/runs "$big"; expect_http 413 "oversized body"
api DELETE /v1/runs; expect_http 405 "wrong method"
api GET /v1/nothing; expect_http 404 "unknown route"
pass "auth (401/403), malformed/unknown/oversized bodies (400/404/413/405)"

# --- start, idempotency, get, logs
before_ns=$(python3 -c 'import time; print(time.time_ns())')
api POST /v1/runs '{"workflow":"hello","inputs":{"who":"ann"},"idempotency_key":"k-1"}'
expect_http 201 "start"
R=$(resp "d['run']['id']")
api POST /v1/runs '{"workflow":"hello","inputs":{"who":"ann"},"idempotency_key":"k-1"}'
expect_http 200 "same key"
[ "$(resp "d['run']['id']")" = "$R" ] || fail "idempotency key gave another run"
[ "$(resp "d['existing']")" = True ] || fail "existing not reported"
od_wait_run "$R" succeeded
api GET "/v1/runs/$R" "" reader
[ "$(resp "d['run']['steps'][0]['attempts'][0]['outputs']['exit_code']")" = 0 ] || fail "no outputs"
[ "$(resp "d['run']['steps'][0]['state']")" = succeeded ] || fail "step state"
# Times are RFC 3339 to the nanosecond (ns() fails on anything else).
[ "$(resp "$before_ns <= ns(d['run']['created']) <= ns(d['run']['updated'])")" = True ] ||
  fail "created/updated not times, or created before the POST ($before_ns): $(cat "$T/resp")"
api GET "/v1/runs/$R/steps/greet/logs" "" reader
grep -q 'hello ann \*\*\*' "$T/resp" || fail "log lacks the line or the secret is not redacted: $(cat "$T/resp")"
if grep -q hunter2 "$T/resp"; then fail "secret in the log"; fi
api GET "/v1/runs?state=succeeded&workflow=hello&limit=5" "" reader
[ "$(resp "len(d['runs'])")" = 1 ] || fail "filtered list"
api GET "/v1/runs?state=bogus" "" reader; expect_http 400 "bad state filter"
api GET "/v1/runs/$R/events" "" reader; expect_http 200 "events"
[ "$(resp "d['events'][0]['type']")" = run.created ] || [ "$(resp "len(d['events']) > 0")" = True ] || fail "no events"
api GET "/v1/runs/$R/events?after=100000" "" reader; expect_http 200 "a page past the end of a real run"
api GET "/v1/runs/r-nope/events" "" reader; expect_http 404 "events of a run that does not exist"
api GET "/v1/runs/$R/events?after=x" "" reader; expect_http 400 "after not a number"
api GET "/v1/runs/$R" "" reader
[ "$(resp "d['run']['steps'][0]['attempts'][0]['exit_code']")" = 0 ] || fail "the attempt lacks exit_code"
# The tick ledger keeps the worker id whatever it holds (it was once
# pasted into JSON with printf).
api GET "/v1/ticks?limit=1" "" reader; expect_http 200 "the tick ledger"
[ "$(resp "d['ticks'][0]['owner'] == 'worker \"a\"\\\\b'")" = True ] ||
  fail "the tick ledger lost the worker id's quote or backslash: $(cat "$T/resp")"
pass "start, idempotency key, run with steps/attempts/outputs, logs redacted, filters"

# --- live log stream of a running step, then cancel
api POST /v1/runs '{"workflow":"slow"}'; expect_http 201 "start slow"
S=$(resp "d['run']['id']")
timeout 20 curl -sN --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" \
  "http://orchd/v1/runs/$S/steps/wait/logs?follow=true" >"$T/stream" &
SP=$!
wait_until "the live line in the stream" grep -q started "$T/stream"
grep -q '"step":"wait","attempt":1,"stream":"stdout","data":"started\\n"' "$T/stream" ||
  fail "stream did not show the live line with its step and stream: $(cat "$T/stream")"
api POST "/v1/runs/$S/cancel"; expect_http 202 "cancel"
od_wait_run "$S" cancelled
wait "$SP" || true
grep -q 'event: end' "$T/stream" || fail "stream did not end with the attempt: $(cat "$T/stream")"
api POST "/v1/runs/$S/cancel"; expect_http 409 "cancel a finished run"
pass "live log stream (SSE) while running, cancel of a running run"

# --- approval: waiting, bad input, approve with input, reject
api POST /v1/runs '{"workflow":"gated"}'; G=$(resp "d['run']['id']")
od_wait_run "$G" waiting
api POST "/v1/runs/$G/steps/gate/approve" '{"input":{"replicas":2}}'; expect_http 400 "missing required input"
api POST "/v1/runs/$G/steps/gate/approve" '{"input":{"ticket":7}}'; expect_http 400 "wrong type"
api POST "/v1/runs/$G/steps/after/approve" '{}'; expect_http 404 "not a waiting step"
api POST "/v1/runs/$G/steps/gate/approve" '{"input":{"ticket":"OPS-1","replicas":2},"comment":"ok"}'
expect_http 202 "approve"
od_wait_run "$G" succeeded
api GET "/v1/runs/$G/steps/after/logs" "" reader
grep -q 'ticket=OPS-1 by=writer' "$T/resp" || fail "approval outputs not used: $(cat "$T/resp")"
api POST /v1/runs '{"workflow":"gated"}'; G2=$(resp "d['run']['id']")
od_wait_run "$G2" waiting
api POST "/v1/runs/$G2/steps/gate/reject" '{"comment":"not today"}'; expect_http 202 "reject"
od_wait_run "$G2" failed
api GET "/v1/runs/$G2" "" reader
resp "d['run']['error']" | grepq 'rejected by writer: not today' || fail "rejection not in the error"
pass "approval: parks waiting, input checked, approve continues with outputs, reject fails"

# --- dead letters and requeue
api POST /v1/runs '{"workflow":"broken"}'; B=$(resp "d['run']['id']")
od_wait_run "$B" failed
api GET "/v1/runs/$B" "" reader
[ "$(resp "d['run']['steps'][0]['attempt_count']")" = 2 ] || fail "retries not spent"
api GET /v1/dead-letters "" reader
resp "[r['id'] for r in d['dead_letters']]" | grepq "$B" || fail "failed run not a dead letter"
api POST "/v1/dead-letters/$B/requeue"; expect_http 202 "requeue"
# The event is the re-run's end: a fresh budget of two more attempts spent
# (waiting for "failed" alone could see the state from before the requeue).
requeued_twice() {
  api GET "/v1/runs/$B" "" reader
  [ "$(resp "d['run']['state']")" = failed ] && [ "$(resp "d['run']['steps'][0]['attempt_count']")" = 4 ]
}
wait_until "the requeued run $B to spend a fresh retry budget" requeued_twice
api POST "/v1/dead-letters/$R/requeue"; expect_http 409 "requeue a succeeded run"
pass "dead letters listed and re-queued with a fresh retry budget"

# --- control: pause keeps runs queued; proof mode plans instead of running
api POST /v1/control '{"paused":true}' admin; expect_http 200 "pause"
api POST /v1/runs '{"workflow":"marker"}'; P=$(resp "d['run']['id']")
od_wait_ticks 3 # whole ticks that began after the run was queued
api GET "/v1/runs/$P" "" reader
[ "$(resp "d['run']['state']")" = queued ] || fail "a paused daemon claimed a run"
api POST /v1/control '{"paused":"yes"}' admin; expect_http 400 "bad flag value"
api POST /v1/control '{"paused":false,"proof":true}' admin; expect_http 200 "resume + proof"
od_wait_run "$P" succeeded
[ ! -e "$T/marker-ran" ] || fail "proof mode ran the command"
api GET /v1/control "" reader
[ "$(resp "d['proof']")" = True ] || fail "proof flag not reported"
api POST /v1/control '{"proof":false}' admin
api POST /v1/runs '{"workflow":"marker"}'; P2=$(resp "d['run']['id']")
od_wait_run "$P2" succeeded
[ -e "$T/marker-ran" ] || fail "after proof mode the command did not run"
pass "pause keeps runs queued, resume claims them, proof mode changes nothing"

# --- health, metrics, plugins
api GET /health/ready "" ""; expect_http 200 "ready"
[ "$(resp "d['checks']['scheduler']['ok']")" = True ] || fail "scheduler not ticking"
api GET /health/env "" reader
[ "$(resp "d['secrets']['API_PASSWORD']")" = True ] || fail "present secret not reported"
[ "$(resp "d['env']['HOME']")" = True ] || fail "env var presence"
if grep -q hunter2 "$T/resp"; then fail "secret value in /health/env"; fi
api GET /metrics "" reader
grep -q '^orch_runs{state="succeeded"} ' "$T/resp" || fail "metrics lack runs by state"
grep -q '^orch_step_duration_seconds_count ' "$T/resp" || fail "metrics lack step durations"
grep -q '^orch_queue_depth 0' "$T/resp" || fail "metrics lack queue depth"
grep -q '^orch_scheduler_last_tick_age_seconds ' "$T/resp" || fail "metrics lack tick age"
# Only terminal states finish a run: the approval run above parked (waiting) first.
grep -q '^orch_runs_finished_total{workflow="gated",state="succeeded"} [1-9]' "$T/resp" || fail "no finished runs counted"
if grep -q '^orch_runs_finished_total{.*state="waiting"}' "$T/resp"; then fail "a parked run counted as finished"; fi
api GET /v1/plugins "" reader
resp "[p['name'] for p in d['plugins']]" | grepq approval || fail "plugins list"
api GET /v1/workflows/gated "" reader
[ "$(resp "d['workflow']['order']")" = "['gate', 'after']" ] || fail "DAG order: $(cat "$T/resp")"
pass "health (ready, env as booleans), metrics, plugins, workflow DAG"

# --- webhook trigger: signature checked, delivery id idempotent
hook() { # hook BODY [SIGNATURE] [DELIVERY]
  local args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST --data-binary "$1")
  [ -n "${2:-}" ] && args+=(-H "X-Orch-Signature: sha256=$2")
  [ -n "${3:-}" ] && args+=(-H "X-Orch-Delivery: $3")
  HTTP=$(curl "${args[@]}" http://orchd/v1/hooks/build)
}
body='{"inputs":{"who":"hook"}}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac hook-key-0123456789 | awk '{print $NF}')
hook "$body" "$sig" d-1; expect_http 201 "signed webhook"
H=$(resp "d['run_id']")
hook "$body" "$sig" d-1; expect_http 200 "redelivery"
[ "$(resp "d['run_id']")" = "$H" ] || fail "redelivery started another run"
hook '{"inputs":{"who":"evil"}}' "$sig"; expect_http 401 "tampered body"
hook "$body"; expect_http 401 "unsigned webhook"
od_wait_run "$H" succeeded
api GET "/v1/runs/$H/steps/greet/logs" "" reader
grep -q 'hello hook' "$T/resp" || fail "webhook inputs not passed"
pass "webhook: HMAC verified, tampered/unsigned refused, redelivery idempotent"

# --- notifications: signed, on success and failure
# Wait for the notifications this check needs (a fixed 10 s budget failed
# on a loaded machine): R's success and B's failure.
notified() {
  python3 - "$T/notes" "$R" "$B" <<'PY' 2>/dev/null
import json, sys
notes = [json.loads(l) for l in open(sys.argv[1])]
states = {(n['body']['run_id'], n['body']['state']) for n in notes}
sys.exit(0 if (sys.argv[2], 'succeeded') in states and (sys.argv[3], 'failed') in states else 1)
PY
}
wait_until "the notifications of runs $R and $B" notified
python3 - "$T/notes" "$R" "$B" "$T_LIB" "$before_ns" <<'PY' || fail "notifications: $(cat "$T/notes")"
import json, sys, time
sys.path.insert(0, sys.argv[4])
from api_time import ns
notes = [json.loads(l) for l in open(sys.argv[1])]
assert all(n['ok'] for n in notes), 'a notification signature did not verify'
assert all(int(sys.argv[5]) <= ns(n['body']['ts']) <= time.time_ns() and 'ts_ns' not in n['body']
           for n in notes), 'a notification without its ts as a time of the API'
states = {(n['body']['run_id'], n['body']['state']) for n in notes}
assert (sys.argv[2], 'succeeded') in states, states
assert (sys.argv[3], 'failed') in states, states
assert all(n['body']['workflow'] for n in notes), 'a notification lacks its workflow'
PY
pass "notifications delivered on success and failure, HMAC-signed, ts an RFC 3339 time"

# --- logs: JSON lines with run, step and attempt
grep -q '"run_id":"'"$B"'","step_id":"fail","attempt":2' "$T/orchd.log" || fail "log lines lack run/step/attempt"
if grep -q hunter2 "$T/orchd.log"; then fail "secret in the daemon log"; fi
grep -q '"notified http://127.0.0.1:'"$PORT"'"' "$T/orchd.log" || fail "notification not logged"
if grep -q path-token-123 "$T/orchd.log"; then fail "a notification URL's path (often its secret) in the log"; fi
od_stop
pass "JSON log lines carry run, step and attempt; no secret in the log"
