# Logs an operator can follow: one JSON access line per request (request
# id, method, route template, status, duration, token name, remote address;
# never the token or the body), X-Request-Id taken from a sane caller value
# or generated, returned on every answer and carried by the other log lines
# the request caused (an auth failure, a bad webhook signature).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_SECRET_HOOK_KEY=hook-key-0123456789
export ORCH_LOG_LEVEL=info # the access log is written at info (access=warn silences it)
od_config "$T/orchd.yaml" <<'EOF2'
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
webhooks:
  build: {workflow: hello, secret: "${{ secrets.HOOK_KEY }}"}
workflows:
  hello:
    inputs: {who: {default: world}}
    steps:
      - {id: greet, uses: exec, with: {run: "echo hi"}}
EOF2
od_start "$T/orchd.yaml"

req() { # ID-HEADER-VALUE METHOD PATH [BODY] [TOKEN]: headers in $T/hdr
  local args=(-s -D "$T/hdr" -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X "$2")
  [ -n "$1" ] && args+=(-H "X-Request-Id: $1")
  [ -n "${5:-}" ] && args+=(-H "Authorization: Bearer $5")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  HTTP=$(curl "${args[@]}" "http://orchd$3")
}
rid() { tr -d '\r' <"$T/hdr" | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }'; }
access_line() { # REQUEST-ID: the access line of that request
  grep '"component":"access"' "$T/orchd.log" | grep -F "\"request_id\":\"$1\"" | tail -1
}

req trace-abc.1 POST /v1/runs '{"workflow": "hello", "inputs": {"who": "body-marker-7f3a"}}' writer-token
[ "$HTTP" = 201 ] || fail "start a run: $HTTP"
[ "$(rid)" = trace-abc.1 ] || fail "the caller's X-Request-Id is not returned: $(rid)"
wait_until "the access line of trace-abc.1" access_line trace-abc.1
line=$(access_line trace-abc.1)
python3 - "$line" <<'PY' || fail "access line fields: $line"
import json, sys
d = json.loads(sys.argv[1])
want = {"method": "POST", "route": "/v1/runs", "status": 201, "token": "writer", "remote": "unix"}
for k, v in want.items():
    assert d.get(k) == v, (k, d.get(k))
assert isinstance(d["duration_ms"], (int, float)) and d["duration_ms"] >= 0
PY

# A generated id when none (or a hostile one) is given.
req "" GET /v1/runs "" reader-token
gen=$(rid)
[[ "$gen" =~ ^q-[0-9a-z]{20}$ ]] || fail "no generated request id: '$gen'"
wait_until "the access line of a generated id" access_line "$gen"
req 'bad id with spaces' GET /v1/runs "" reader-token
[[ "$(rid)" =~ ^q-[0-9a-z]{20}$ ]] || fail "an id with spaces was echoed: $(rid)"
req "$(printf 'x%.0s' $(seq 1 200))" GET /v1/runs "" reader-token
[[ "$(rid)" =~ ^q-[0-9a-z]{20}$ ]] || fail "a 200-byte id was echoed"

# Failures: the auth refusal and a bad webhook signature carry the request id.
req auth-fail-1 GET /v1/runs "" forged-token-5b2c
[ "$HTTP" = 401 ] || fail "forged token: $HTTP"
wait_until "the auth failure line" grep -q '"component":"auth".*"request_id":"auth-fail-1"' "$T/orchd.log"
req sig-fail-1 POST /v1/hooks/build '{"inputs": {}}'
[ "$HTTP" = 401 ] || fail "unsigned webhook: $HTTP"
wait_until "the webhook failure line" grep -q '"component":"webhook".*"request_id":"sig-fail-1"' "$T/orchd.log"
access_line sig-fail-1 | grepq '"route":"/v1/hooks/{name}"' || fail "webhook access line lacks its route template"
req unmatched-1 GET /no/such/path "" reader-token
wait_until "the unmatched access line" access_line unmatched-1
access_line unmatched-1 | grepq '"route":"unmatched","status":404' || fail "unmatched route: $(access_line unmatched-1)"

# Never a token, a body or a secret in the log.
for s in writer-token reader-token forged-token-5b2c body-marker-7f3a hook-key-0123456789; do
  if grep -qF "$s" "$T/orchd.log"; then grep -F "$s" "$T/orchd.log" >&2; fail "the log shows '$s'"; fi
done
pass "access log, request ids, failures traceable, nothing secret logged"
