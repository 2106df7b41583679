# The health document: GET /health says only ok/degraded (no token, 200
# or 503), GET /v1/health (read role) the store, schema, control flags,
# queue, dead letters, approvals, leases, scheduler, executor pool,
# plugins and secrets (booleans), each checked against runs this test put
# there; `orch health` prints it and exits 1 when degraded. Degraded is
# shown for a missing secret and for a PostgreSQL store that became
# unreachable (a TCP proxy in front of it, killed), and ok again once it
# is back.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: eval \"\$(/work/svc.sh)\" or scripts/test.sh starts it}"

export ORCH_SECRET_API_KEY=health-secret-value-42
od_config "$T/orchd.yaml" <<EOF
# Secrets come from ORCH_SECRET_NAME, e.g. \${{ secrets.ONLY_IN_A_COMMENT }}:
# a comment requires nothing.
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {id: health-a, tick: 100ms, lease_ttl: 5s}
workflows:
  broken:
    steps:
      - {id: fail, uses: exec, with: {run: "exit 3"}}
  gated:
    steps:
      - {id: gate, uses: approval, with: {message: "go?"}}
  slow:
    steps:
      - id: wait
        uses: exec
        with: {run: "i=0; while [ ! -e $T/release ] && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i+1)); done"}
  marker:
    steps:
      - {id: touch, uses: exec, with: {run: "echo \${{ secrets.API_KEY }} > /dev/null"}}
EOF
od_start "$T/orchd.yaml"
trap 'touch "$T/release"; t_cleanup' EXIT

# --- /health: public and minimal; /v1/health: a read token
api GET /health "" ""; expect_http 200 "health needs no token"
[ "$(resp "sorted(d.items())")" = "[('status', 'ok')]" ] || fail "/health says more than its status: $(cat "$T/resp")"
api GET /v1/health "" ""; expect_http 401 "the health document without a token"
api GET /v1/health "" nobody; expect_http 401 "the health document with an unknown token"
api GET /v1/health "" reader; expect_http 200 "the health document with a read token"
[ "$(resp "d['status']")" = ok ] || fail "a fresh daemon is not ok: $(cat "$T/resp")"
api GET /health/live "" ""; expect_http 200 "liveness"
api GET /health/ready "" ""; expect_http 200 "readiness still answers"
pass "/health minimal without a token, /v1/health for the read role, /health/live, /health/ready"

# --- one run in each state the document counts
api POST /v1/runs '{"workflow":"broken"}' admin; expect_http 201 "start broken"
BROKEN=$(resp "d['run']['id']")
api POST /v1/runs '{"workflow":"gated"}' admin; GATED=$(resp "d['run']['id']")
api POST /v1/runs '{"workflow":"slow"}' admin; SLOW=$(resp "d['run']['id']")
od_wait_run "$BROKEN" failed
od_wait_run "$GATED" waiting
od_wait_run "$SLOW" running
api POST /v1/control '{"paused":true}' admin; expect_http 200 "pause"
api POST /v1/runs '{"workflow":"marker"}' admin; QUEUED=$(resp "d['run']['id']")
api GET "/v1/runs/$QUEUED" "" reader
[ "$(resp "d['run']['state']")" = queued ] || fail "the run started while paused is not queued"

# The pool's use is published at each tick: wait for the one that sees
# the slow step's executor busy.
pool_busy() { api GET /v1/health "" reader && [ "$(resp "d['executor_pool']['busy']")" -ge 1 ]; }
wait_until "the executor pool to show the slow step" pool_busy
check() { # PYTHON-EXPR DESCRIPTION
  [ "$(resp "$1")" = True ] || { python3 -m json.tool "$T/resp" >&2; fail "$2"; }
}
openapi_valid() { # what: the answer in $T/resp matches the Health schema of the OpenAPI file
  python3 "$ORCH_SOURCE_DIR/tests/lib/openapi_check.py" "$ORCH_SOURCE_DIR/docs/api/openapi.yaml" Health "$T/resp" ||
    fail "the health document ($1) does not match docs/api/openapi.yaml"
}
openapi_valid "ok, with runs"
check "d['status'] == 'ok' and d['problems'] == []" "status ok with no problems"
check "d['worker'] == 'health-a' and d['version'] != ''" "worker id and version"
check "d['store']['uses'] == 'sqlite' and d['store']['reachable'] is True" "store reachable"
check "d['store']['latency_ms'] >= 0" "store latency"
check "d['store']['schema']['version'] == d['store']['schema']['supported'] >= 1 and d['store']['schema']['current']" "schema version current"
check "d['control'] == {'paused': True, 'proof': False, 'draining': False}" "control flags"
check "d['queue']['depth'] == 1 and d['queue']['delayed'] == 0" "queue depth"
check "isinstance(d['queue']['oldest_age_ms'], int) and d['queue']['oldest_age_ms'] >= 0" "oldest queued age"
check "d['dead_letters'] == 1" "dead letters"
check "d['waiting_for_approval'] == 1" "runs waiting for approval"
check "d['running'] == 1" "running runs"
check "[(l['owner'], l['runs']) for l in d['leases'] if 'runs' in l] == [('health-a', 1)]" "the run lease holder"
check "all(isinstance(l['last_renewal_age_ms'], int) and l['expires_in_ms'] > -60000 for l in d['leases'])" "lease renewal ages"
check "d['scheduler']['ticks'] > 0 and d['scheduler']['recent_ticks'] > 0" "ticks counted"
check "isinstance(d['scheduler']['last_tick_age_ms'], int) and d['scheduler']['slowest_recent_tick_ms'] >= 0" "tick ages"
check "d['executor_pool']['capacity'] >= d['executor_pool']['busy'] >= 1" "executor pool"
check "d['runs_driven']['active'] == 1 and d['runs_driven']['max'] >= 1" "runs driven here (slow; a run waiting for approval is parked)"
check "d['plugins']['loaded'] > 0 and 'exec' in d['plugins']['names'] and d['plugins']['errors'] == 0" "plugins"
check "d['secrets'] == {'API_KEY': True}" "secrets as booleans"
grep -q health-secret-value "$T/resp" && fail "a secret's value is in the health document"
pass "the document: store, schema, control, queue, dead letters, approvals, leases, ticks, pool, plugins, secrets"

# --- orch health for a person, --json, --public
export ORCH_TOKEN=reader-token
o --server "unix:$OD_SOCK" health
expect_rc 0 "orch health on an ok daemon"
expect_out "status     ok" "the status line"
expect_out "sqlite: reachable" "the store line"
expect_out "1 queued" "the queue line"
expect_out "1 running, 1 waiting for approval, 1 dead letters" "the runs line"
expect_out "held by health-a (1 runs)" "the lease line"
expect_out "secret     API_KEY set" "the secret line"
expect_no_out "health-secret-value" "no secret value printed"
o --server "unix:$OD_SOCK" --json health
expect_rc 0 "orch --json health"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["dead_letters"] == 1' "$T/out" ||
  fail "orch --json health is not the document"
ORCH_SERVER="unix:$OD_SOCK" o health
expect_rc 0 "orch health with \$ORCH_SERVER"
unset ORCH_TOKEN
o --server "unix:$OD_SOCK" health
expect_rc 2 "orch health without a token"
expect_out "401" "the refusal is named"
o --server "unix:$OD_SOCK" health --public
expect_rc 0 "orch health --public needs no token"
[ "$(cat "$T/out")" = ok ] || fail "health --public printed: $(cat "$T/out")"
o health
expect_rc 2 "orch health without a server"
expect_out "--server" "says how to name the daemon"
o --server "unix:$OD_SOCK" health --verbose
expect_rc 2 "an unknown option"
pass "orch health: table, --json, \$ORCH_SERVER, --public, refusals"
touch "$T/release"
od_wait_run "$SLOW" succeeded
od_stop

# --- a secret the config references is not set: degraded
start_other() { # NAME CONFIG: orchd on $T/NAME.sock, its log in $T/NAME.log
  ORCH_STATE_DIR="$T/state-$1" "$ORCHD" --config "$2" --listen "unix:$T/$1.sock" >>"$T/$1.log" 2>&1 &
  T_PIDS+=("$!")
  eval "PID_$1=$!"
  local i
  for ((i = 0; i < 1200; i++)); do
    curl -s --unix-socket "$T/$1.sock" http://orchd/health >/dev/null 2>&1 && return 0
    alive "$!" || { cat "$T/$1.log" >&2; fail "orchd $1 exited at start"; }
    sleep 0.05
  done
  fail "orchd $1 did not answer"
}
get() { # NAME PATH [TOKEN]: status in $HTTP, body in $T/resp
  local args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$T/$1.sock")
  [ -n "${3:-}" ] && args+=(-H "Authorization: Bearer $3-token")
  HTTP=$(curl "${args[@]}" "http://orchd$2")
}
od_config "$T/nosecret.yaml" <<EOF
version: 1
server:
  tokens: [{name: reader, sha256: HASH_reader, role: read}]
worker: {tick: 100ms}
workflows:
  uses_secret:
    steps:
      - {id: a, uses: exec, with: {run: "echo \${{ secrets.NOT_SET_ANYWHERE }} >/dev/null"}}
EOF
unset ORCH_SECRET_NOT_SET_ANYWHERE
start_other nosecret "$T/nosecret.yaml"
get nosecret /health; expect_http 503 "degraded with a secret missing"
[ "$(resp "d")" = "{'status': 'degraded'}" ] || fail "/health when degraded: $(cat "$T/resp")"
get nosecret /v1/health reader; expect_http 503 "the document when degraded"
check "d['secrets'] == {'NOT_SET_ANYWHERE': False}" "the missing secret is false"
check "any('NOT_SET_ANYWHERE' in p for p in d['problems'])" "the problem names the secret"
openapi_valid "degraded by a secret"
ORCH_TOKEN=reader-token o --server "unix:$T/nosecret.sock" health
expect_rc 1 "orch health exits 1 when degraded"
expect_out "status     degraded" "the status line says degraded"
expect_out "NOT_SET_ANYWHERE NOT SET" "the secret line"
pass "a missing secret: /health 503 degraded, the document names it, orch health exits 1"

# --- a PostgreSQL store that becomes unreachable, then comes back
cat >"$T/proxy.py" <<'PY'
import socket, sys, threading
host, port, portfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
listen_port = int(sys.argv[4]) if len(sys.argv) > 4 else 0
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', listen_port))
s.listen(16)
open(portfile + '.tmp', 'w').write(str(s.getsockname()[1]))
import os; os.rename(portfile + '.tmp', portfile)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data: break
            b.sendall(data)
    except OSError: pass
    for x in (a, b):
        try: x.shutdown(socket.SHUT_RDWR)
        except OSError: pass
while True:
    c, _ = s.accept()
    u = socket.create_connection((host, port))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
PY
pg_hostport=$(python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p.hostname, p.port or 5432)' "$ORCH_PG_URL")
start_proxy() { # [PORT]
  rm -f "$T/proxy.port"
  python3 "$T/proxy.py" $pg_hostport "$T/proxy.port" ${1:-} &
  PROXY_PID=$!
  T_PIDS+=("$PROXY_PID")
  wait_file "$T/proxy.port"
}
start_proxy
proxy_port=$(cat "$T/proxy.port")
schema="t_health_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'touch "$T/release"; psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_PG_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p._replace(netloc=p.netloc.rsplit(":", 1)[0] + ":" + sys.argv[2]).geturl())' "$ORCH_PG_URL" "$proxy_port")
od_config "$T/pg.yaml" <<EOF
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema, reconnect_timeout: 1s, connect_timeout: 2s}
server:
  tokens: [{name: reader, sha256: HASH_reader, role: read}]
worker: {tick: 100ms}
workflows:
  hello:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF
start_other pg "$T/pg.yaml"
get pg /v1/health reader; expect_http 200 "the PostgreSQL daemon is ok"
check "d['store']['uses'] == 'postgres' and d['store']['reachable'] and d['store']['schema']['current']" "the postgres store"
kill -9 "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
health_is() { get pg /health && [ "$HTTP" = "$1" ]; }
wait_until "/health to turn 503 with PostgreSQL unreachable" health_is 503
[ "$(resp "d")" = "{'status': 'degraded'}" ] || fail "/health with the store gone: $(cat "$T/resp")"
get pg /v1/health reader; expect_http 503 "the document with the store gone"
check "d['store']['reachable'] is False and d['store']['error'] != ''" "the store is unreachable, with its error"
check "any(p.startswith('store: ') for p in d['problems'])" "the problem names the store"
openapi_valid "the store unreachable"
ORCH_TOKEN=reader-token o --server "unix:$T/pg.sock" health
expect_rc 1 "orch health exits 1 with the store gone"
expect_out "postgres: UNREACHABLE" "the store line"
alive "$PID_pg" || fail "orchd exited when its store went away"
start_proxy "$proxy_port"
wait_until "/health to be ok again once PostgreSQL is reachable" health_is 200
pass "PostgreSQL unreachable: degraded, the store's error named, orch health exits 1; ok again when it is back"
