# The web UI's HTTP side against a running orchd (curl, no browser): the
# embedded files under /ui/ with their security headers, nothing else
# served under /ui/ (path traversal in every spelling), the login that
# turns a token into an HttpOnly SameSite=Strict cookie (a bad token 401,
# logged and counted), the cookie accepted by the API with the token's
# role, the CSRF rule for a cookie's writes, and the logout.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<EOF2
version: 1
$OD_SERVER
worker: {tick: 100ms}
workflows:
  slow:
    steps:
      - id: wait
        uses: exec
        with: {run: "echo started; sleep 60"}
EOF2
od_start "$T/orchd.yaml"

# u [CURL ARGS...] PATH: status in $HTTP, headers in $T/hdr, body in $T/resp.
u() {
  local path=${*: -1}
  HTTP=$(curl -s --path-as-is -D "$T/hdr" -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" \
    "${@:1:$#-1}" "http://orchd$path")
}
hdr() { tr -d '\r' <"$T/hdr" | sed -n "s/^$1: //Ip" | head -1; }
expect_hdr() {
  local got
  got=$(hdr "$1")
  [ "$got" = "$2" ] || { cat "$T/hdr" >&2; fail "header $1 is '$got', not '$2' ($3)"; }
}
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
ui_headers() {
  expect_hdr Content-Security-Policy "$CSP" "$1"
  expect_hdr X-Content-Type-Options nosniff "$1"
  expect_hdr Referrer-Policy no-referrer "$1"
  expect_hdr Cache-Control no-cache "$1"
}

# --- the files, their types and headers
u /ui/
expect_http 200 "GET /ui/"
ui_headers "GET /ui/"
expect_hdr Content-Type "text/html; charset=utf-8" "index.html"
grepq -F '<script type="module" src="js/app.js"></script>' <"$T/resp" || fail "/ui/ is not the UI's index.html"
cmp -s "$T/resp" "$ORCH_SOURCE_DIR/tools/orchd/ui/index.html" || fail "/ui/ differs from tools/orchd/ui/index.html"
u /ui/js/app.js
expect_http 200 "app.js"
expect_hdr Content-Type "text/javascript; charset=utf-8" "app.js"
ui_headers "app.js"
u /ui/style.css
expect_hdr Content-Type "text/css; charset=utf-8" "style.css"
u -I /ui/index.html
expect_http 200 "HEAD /ui/index.html"
u /ui
expect_http 301 "/ui"
expect_hdr Location /ui/ "/ui redirects"
ui_headers "/ui"
u -X POST /ui/index.html
expect_http 405 "POST /ui/index.html"
expect_hdr Allow "GET, HEAD" "405 names the methods"
u /ui/nope.js
expect_http 404 "an unknown UI file"
ui_headers "a 404 under /ui/"
# Every file the UI is made of: no inline script or style (the CSP would
# block them), no markup built from strings, no other origin named.
for f in "$ORCH_SOURCE_DIR"/tools/orchd/ui/*.* "$ORCH_SOURCE_DIR"/tools/orchd/ui/js/*.js; do
  rel=${f#"$ORCH_SOURCE_DIR"/tools/orchd/ui/}
  u "/ui/$rel"
  expect_http 200 "$rel is served"
  cmp -s "$T/resp" "$f" || fail "/ui/$rel differs from its source"
  # (comment lines aside: they may name what the code avoids)
  if grep -nE '<script>|<script [^>]*>[^<]|style=|\.style\b|innerHTML|outerHTML|insertAdjacentHTML|localStorage|sessionStorage|eval\(|new Function' "$f" |
    grep -vE '^[0-9]+:[[:space:]]*(//|/[*]|[*])'; then
    fail "$rel has inline script or style, string-built markup, web storage or eval"
  fi
  if grep -noE 'https?://[^"'"'"' )]*' "$f" | grep -v 'http://www.w3.org/2000/svg'; then
    fail "$rel names another origin"
  fi
done
pass "/ui/ serves the embedded files with CSP, nosniff, no-referrer, no-cache"

# --- nothing outside the embedded set, however the path is spelled
for p in '/ui/../v1/openapi.yaml' '/ui/%2e%2e/v1/openapi.yaml' '/ui/%2e%2e/%2e%2e/etc/passwd' \
         '/ui//etc/passwd' '/ui/..%2f..%2fetc%2fpasswd' '/ui/js/../../../etc/passwd' \
         '/ui/js/%2e%2e/index.html' '/ui/./index.html' '/ui/%2fetc%2fpasswd' \
         '/ui/....//....//etc/passwd' '/ui/\..\..\etc\passwd'; do
  u "$p"
  [ "$HTTP" = 404 ] || fail "$p answered $HTTP, not 404"
  if grep -E 'root:|openapi:|<html' "$T/resp"; then fail "$p served something"; fi
  ui_headers "$p"
done
# libmicrohttpd decodes %00 into the path, which then ends there: at most
# the embedded file before it, never anything else.
u '/ui/index.html%00../../etc/passwd'
[ "$HTTP" = 404 ] || cmp -s "$T/resp" "$ORCH_SOURCE_DIR/tools/orchd/ui/index.html" ||
  fail "an encoded NUL served something other than index.html ($HTTP)"
pass "path traversal under /ui/ finds nothing"

# --- login
login() { # TOKEN [CURL ARGS...]
  local tok=$1
  shift
  u -X POST -H 'Content-Type: application/json' --data-binary "{\"token\":\"$tok\"}" "$@" /v1/session
}
cookie_of() { hdr Set-Cookie | sed 's/;.*//'; }
login writer-token
expect_http 200 "login with the writer token"
expect_hdr Set-Cookie "orch_session=$(printf writer-token | od -An -tx1 | tr -d ' \n'); HttpOnly; SameSite=Strict; Path=/" "the session cookie"
[ "$(resp "d['name']+' '+d['role']")" = "writer write" ] || fail "login answered $(cat "$T/resp")"
WCOOKIE=$(cookie_of)
login writer-token -H 'X-Forwarded-Proto: https'
hdr Set-Cookie | grepq -F '; Secure' || fail "a login over TLS (a proxy's X-Forwarded-Proto) sets no Secure cookie"
login reader-token
expect_http 200 "login with the reader token"
RCOOKIE=$(cookie_of)
: >"$T/orchd.log.mark"
login not-a-token
expect_http 401 "login with a bad token"
[ -z "$(hdr Set-Cookie)" ] || fail "a failed login set a cookie"
wait_until "the failed login logged" grep -q 'refused POST /v1/session .*(invalid)' "$T/orchd.log"
if grep -F not-a-token "$T/orchd.log"; then fail "the log holds the token tried"; fi
login "" 
expect_http 401 "login with an empty token"
login writer-token -H 'Origin: http://evil.example'
expect_http 403 "a login from another origin"
u -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'token=writer-token' /v1/session
expect_http 400 "a form-encoded login (what a cross-site form sends)"
api GET /metrics "" reader
grepq -F 'orch_http_auth_failures_total{method="POST",route="/v1/session",reason="invalid"} 1' <"$T/resp" ||
  fail "the failed login is not counted: $(grep auth_failures "$T/resp")"
pass "login sets an HttpOnly SameSite=Strict cookie; a bad token is 401, logged and counted"

# --- the cookie as a credential
u -H "Cookie: $WCOOKIE" /v1/runs
expect_http 200 "GET /v1/runs with the cookie"
u -H "Cookie: theme=dark; $WCOOKIE; x=1" /v1/whoami
[ "$(resp "d['name']+' '+d['role']+' '+d['via']")" = "writer write cookie" ] || fail "whoami: $(cat "$T/resp")"
u /v1/whoami
expect_http 200 "whoami before a login"
[ "$(resp "d['role']")" = None ] || fail "whoami without a credential: $(cat "$T/resp")"
u -H "Cookie: orch_session=$(printf forged | od -An -tx1 | tr -d ' \n')" /v1/runs
expect_http 401 "a cookie with an unknown token"
for junk in 'orch_session=zz' 'orch_session=' 'orch_session=abc' 'xorch_session=7772697465722d746f6b656e'; do
  u -H "Cookie: $junk" /v1/runs
  expect_http 401 "a malformed cookie ($junk)"
done
api POST /v1/runs '{"workflow":"slow"}'
expect_http 201 "a bearer token needs no CSRF header"
RUN=$(resp "d['run']['id']")
od_wait_run "$RUN" running
u -X POST -H "Cookie: $WCOOKIE" "/v1/runs/$RUN/cancel"
expect_http 403 "a cookie's cancel without the CSRF header"
[ "$(resp "d['error']['code']")" = csrf ] || fail "the refusal is not csrf: $(cat "$T/resp")"
u -X POST -H "Cookie: $WCOOKIE" -H 'X-Orch-CSRF: 1' -H 'Origin: http://evil.example' "/v1/runs/$RUN/cancel"
expect_http 403 "a cookie's cancel from another origin"
u -X POST -H "Cookie: $WCOOKIE" -H 'X-Orch-CSRF: 1' -H 'Sec-Fetch-Site: cross-site' "/v1/runs/$RUN/cancel"
expect_http 403 "a cookie's cancel with Sec-Fetch-Site: cross-site"
u -X POST -H "Cookie: $WCOOKIE" -H 'X-Orch-CSRF: 0' "/v1/runs/$RUN/cancel"
expect_http 403 "a CSRF header with another value"
u -X POST -H "Cookie: $RCOOKIE" -H 'X-Orch-CSRF: 1' -H 'Origin: http://orchd' "/v1/runs/$RUN/cancel"
expect_http 403 "a read token's cookie cannot cancel"
[ "$(resp "d['error']['code']")" = forbidden ] || fail "the reader's refusal: $(cat "$T/resp")"
api GET "/v1/runs/$RUN" "" reader
[ "$(resp "d['run']['state']")" = running ] || fail "a refused cancel cancelled the run"
# The run's ledger as a live stream (what the run page follows), with the
# cookie as an EventSource sends it: events as they are written, then the
# end once the run has ended.
curl -sN --unix-socket "$OD_SOCK" -H "Cookie: $WCOOKIE" "http://orchd/v1/runs/$RUN/events?follow=true" >"$T/follow" &
FOLLOW=$!
T_PIDS+=("$FOLLOW")
wait_until "the stream's step.started" grep -q '"type":"step.started"' "$T/follow"
if grep -q 'event: end' "$T/follow"; then fail "the stream ended while the run runs"; fi
u -X POST -H "Cookie: $WCOOKIE" -H 'X-Orch-CSRF: 1' -H 'Origin: http://orchd' -H 'Sec-Fetch-Site: same-origin' "/v1/runs/$RUN/cancel"
expect_http 202 "a cookie's cancel with the CSRF header from the same origin"
od_wait_run "$RUN" cancelled
wait_until "the stream's end" grep -q '^data: {"state":"cancelled"}' "$T/follow"
wait "$FOLLOW" || fail "the event stream did not end cleanly"
grep -q '"type":"run.cancelled"\|"type":"run.finished"' "$T/follow" || fail "the stream lacks the run's end event: $(cat "$T/follow")"
api GET /metrics "" reader
grepq -F 'orch_http_auth_failures_total{method="POST",route="/v1/runs/{id}/cancel",reason="csrf"} 4' <"$T/resp" ||
  fail "the CSRF refusals are not counted: $(grep auth_failures "$T/resp")"
pass "the cookie authorizes with its token's role; its writes need the CSRF header and the same origin"

# --- logout
u -X DELETE -H "Cookie: $WCOOKIE" /v1/session
expect_http 403 "a logout without the CSRF header"
u -X DELETE -H "Cookie: $WCOOKIE" -H 'X-Orch-CSRF: 1' /v1/session
expect_http 200 "logout"
expect_hdr Set-Cookie "orch_session=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/" "logout clears the cookie"
pass "logout clears the cookie"

# --- the cookie holds the token: a reload that removes the token locks
# its browser out at the next request (docs/design.md, "The web UI")
login writer-token
WCOOKIE=$(cookie_of)
u -H "Cookie: $WCOOKIE" /v1/runs
expect_http 200 "the new cookie before the reload"
od_config "$T/orchd.yaml" <<EOF2
version: 1
server:
  tokens:
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
workflows:
  slow:
    steps:
      - {id: wait, uses: exec, with: {run: "sleep 60"}}
EOF2
kill -HUP "$OD_PID"
cookie_refused() { u -H "Cookie: $WCOOKIE" /v1/runs; [ "$HTTP" = 401 ]; }
wait_until "the removed token's cookie refused after the reload" cookie_refused
u -H "Cookie: $RCOOKIE" /v1/runs
expect_http 200 "the reader's cookie after the reload"
pass "a reload that removes a token locks its cookie out at once"
