# Webhook and notification HMAC keys, and refused callers:
# - an unset, empty or short (< 16 bytes) webhook or notification secret
#   stops orchd at start with file:line:col, the webhook and the variable;
#   a literal empty secret is a config error of the file itself;
# - a request signed with the empty key is refused even when the secret
#   becomes empty after start (a secrets file emptied);
# - failed logins (no token, unknown token, a token without the role) and
#   bad webhook signatures are logged with the route template, the remote
#   address and the token's name, never the token or the signature, and
#   counted in /metrics.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_LOG_LEVEL=info
unset ORCH_SECRET_HOOK_KEY ORCH_SECRET_NOTE_KEY ORCH_SECRETS_DIR

cfg() { # cfg FILE HOOK-SECRET-TEXT [NOTIFICATION-SECRET-TEXT]
  local notes=
  [ -n "${3:-}" ] && notes="notifications:
  - {url: \"http://127.0.0.1:9/never\", on: [failed], secret: $3}"
  od_config "$1" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
webhooks:
  build: {workflow: hello, secret: $2}
$notes
workflows:
  hello:
    steps:
      - {id: a, uses: exec, with: {run: "echo hi"}}
EOF
}
ref='"${{ secrets.HOOK_KEY }}"'
cfg "$T/od.yaml" "$ref"
hook_line=$(grep -n 'secret: "\${{ secrets.HOOK_KEY' "$T/od.yaml" | cut -d: -f1)
hook_col=$(grep 'secret: "\${{ secrets.HOOK_KEY' "$T/od.yaml" | awk '{print index($0, "\"${{") }')

# refused_start WHY ENV...: orchd must exit 2 at start naming the place.
refused_start() {
  local why=$1
  shift
  set +e
  env "$@" "$ORCHD" --config "$T/od.yaml" --listen "unix:$T/refused.sock" >"$T/out" 2>&1 &
  local pid=$! i
  T_PIDS+=("$pid")
  for ((i = 0; i < 600; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then cat "$T/out" >&2; fail "orchd started with a webhook secret that $why"; fi
  wait "$pid"
  RC=$?
  set -e
  expect_rc 2 "orchd refuses a webhook secret that $why"
}
refused_start "is empty" ORCH_SECRET_HOOK_KEY=
expect_out "od.yaml:$hook_line:$hook_col: webhook build" "file:line:col and the webhook"
expect_out "ORCH_SECRET_HOOK_KEY" "the variable"
expect_out "is empty" "the reason"
refused_start "is 8 bytes" ORCH_SECRET_HOOK_KEY=hook-key
expect_out "od.yaml:$hook_line:$hook_col: webhook build" "file:line:col (short)"
expect_out "too short (8 bytes)" "the reason (short)"
expect_out "at least 16 bytes" "the minimum"
refused_start "is not set" ORCH_SECRET_HOOK_KEY_OTHER=x
expect_out "is not set" "the reason (unset)"
cfg "$T/od.yaml" "$ref" '"${{ secrets.NOTE_KEY }}"'
note_line=$(grep -n 'secrets.NOTE_KEY' "$T/od.yaml" | cut -d: -f1)
refused_start "belongs to a notification and is short" ORCH_SECRET_HOOK_KEY=hook-key-0123456789 \
  ORCH_SECRET_NOTE_KEY=short
expect_out "od.yaml:$note_line:" "the notification's line"
expect_out "notifications[0]" "the notification"
expect_out "ORCH_SECRET_NOTE_KEY" "the notification's variable"
# A literal secret, empty or not, is refused by the file itself.
cfg "$T/lit.yaml" '""'
o validate "$T/lit.yaml"
[ "$RC" -ne 0 ] || fail "a literal empty webhook secret passed validation"
expect_out "lit.yaml:$hook_line:" "file:line:col of the literal secret"
expect_out 'must be ${{ secrets.NAME }}' "why"
pass "unset, empty and short webhook/notification secrets stop orchd with file:line:col"

# --- a secret emptied after start: requests signed with the empty key refused
mkdir -p "$T/secrets"
printf '%s\n' 'hook-key-0123456789abcdef' >"$T/secrets/HOOK_KEY"
export ORCH_SECRETS_DIR="$T/secrets"
cfg "$T/od.yaml" "$ref"
od_start "$T/od.yaml"
sign() { python3 -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$1" "$2"; }
hook() { # hook BODY [SIGNATURE]
  local args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST --data-binary "$1")
  [ -n "${2:-}" ] && args+=(-H "X-Orch-Signature: sha256=$2")
  HTTP=$(curl "${args[@]}" http://orchd/v1/hooks/build)
}
body='{"inputs":{}}'
hook "$body" "$(sign hook-key-0123456789abcdef "$body")"; expect_http 201 "signed with the real key"
: >"$T/secrets/HOOK_KEY"
hook "$body" "$(sign '' "$body")"
[ "$HTTP" != 201 ] && [ "$HTTP" != 200 ] || fail "a request signed with the empty key was accepted ($HTTP)"
expect_http 503 "the emptied secret makes the webhook unavailable"
printf '%s\n' 'hook-key-0123456789abcdef' >"$T/secrets/HOOK_KEY"
pass "a request signed with the empty key is refused"

# --- refused callers: logged without the token or signature, counted
api GET /v1/runs "" ""; expect_http 401 "no token"
HTTP=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" \
  -H "Authorization: Bearer guess-Kq83hfZ1" http://orchd/v1/runs/r-1)
expect_http 401 "an unknown token"
api POST /v1/runs '{"workflow":"hello"}' reader; expect_http 403 "a read token starting a run"
badsig=$(sign wrong-key-0123456789 "$body")
hook "$body" "$badsig"; expect_http 401 "a bad signature"
hook "$body"; expect_http 401 "no signature"
api GET /v1/runs "" reader; expect_http 200 "a good token still works"
for ((i = 0; i < 600; i++)); do
  [ "$(grep -c 'refused' "$T/orchd.log")" -ge 5 ] && break
  sleep 0.1
done
grep -q 'refused GET /v1/runs from unix: no bearer token (missing)' "$T/orchd.log" ||
  fail "a missing token is not logged with its route: $(grep refused "$T/orchd.log")"
grep -q 'refused GET /v1/runs/{id} from unix: .*(invalid)' "$T/orchd.log" ||
  fail "an unknown token is not logged with the route template"
grep -q "refused POST /v1/runs from unix: .*(forbidden), token 'reader'" "$T/orchd.log" ||
  fail "a forbidden call is not logged with the token's name"
grep -q 'refused POST /v1/hooks/{name} (webhook build) from unix: .*(mismatch)' "$T/orchd.log" ||
  fail "a bad signature is not logged"
grep -q 'refused POST /v1/hooks/{name} (webhook build) from unix: .*(missing)' "$T/orchd.log" ||
  fail "a missing signature is not logged"
for secret in guess-Kq83hfZ1 reader-token "$badsig" hook-key-0123456789abcdef; do
  if grep -qF -- "$secret" "$T/orchd.log"; then fail "the log shows '$secret'"; fi
done
api GET /metrics "" reader; expect_http 200 "metrics"
m() { grep -qxF -- "$1" "$T/resp" || { cat "$T/resp" >&2; fail "metrics lack: $1"; }; }
m '# TYPE orch_http_auth_failures_total counter'
m '# TYPE orch_webhook_signature_failures_total counter'
grep -q '^# HELP orch_http_auth_failures_total ' "$T/resp" || fail "no HELP for auth failures"
grep -q '^# HELP orch_webhook_signature_failures_total ' "$T/resp" || fail "no HELP for signatures"
m 'orch_http_auth_failures_total{method="GET",route="/v1/runs",reason="missing"} 1'
m 'orch_http_auth_failures_total{method="GET",route="/v1/runs/{id}",reason="invalid"} 1'
m 'orch_http_auth_failures_total{method="POST",route="/v1/runs",reason="forbidden"} 1'
m 'orch_webhook_signature_failures_total{webhook="build",reason="mismatch"} 1'
m 'orch_webhook_signature_failures_total{webhook="build",reason="missing"} 1'
od_stop
pass "failed logins and bad signatures: logged (route, address, token name; no secrets), counted"

# --- over TCP the log names the caller's address
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ORCHD" --config "$T/od.yaml" --listen "127.0.0.1:$port" >>"$T/tcp.log" 2>&1 &
TP=$!
T_PIDS+=("$TP")
for ((i = 0; i < 600; i++)); do
  curl -s "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  alive "$TP" || { cat "$T/tcp.log" >&2; fail "orchd on TCP exited"; }
  sleep 0.1
done
HTTP=$(curl -s -o "$T/resp" -w '%{http_code}' "http://127.0.0.1:$port/v1/runs")
expect_http 401 "no token over TCP"
for ((i = 0; i < 600; i++)); do grep -q 'refused GET /v1/runs' "$T/tcp.log" && break; sleep 0.1; done
grep -q 'refused GET /v1/runs from 127.0.0.1:[0-9]*: no bearer token' "$T/tcp.log" ||
  fail "the remote address is not logged: $(grep refused "$T/tcp.log")"
kill -TERM "$TP"
wait "$TP" || true
pass "the remote address of a refused TCP caller is logged"
