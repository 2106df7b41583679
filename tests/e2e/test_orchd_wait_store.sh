# orchd started before its PostgreSQL is up: it serves liveness at once,
# says it is not ready (and why) on readiness and every store route, retries
# with back-off and each attempt logged, and becomes ready once the server
# is up. --wait-for-store bounds the wait (0: fail at once), SIGTERM ends
# it, and a PostgreSQL restart under load loses no run and doubles no
# step. All on a private cluster: the shared one serves the tests beside.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
own_port=$(free_port)
own_pg() { ORCH_TEST_DIR="$T/pg" ORCH_PG_PORT=$own_port "$ORCH_SOURCE_DIR/scripts/services/postgres.sh" "$@"; }
chmod 711 "$T" # the cluster belongs to the postgres user, which must reach its data
trap 'own_pg stop; t_cleanup' EXIT
export ORCH_SECRET_PG_PW=orch-test-pw
od_config "$T/orchd.yaml" <<EOF2
version: 1
$OD_SERVER
worker: {tick: 100ms, lease_ttl: 5s}
store:
  uses: postgres
  migrate: on_start
  with: {host: 127.0.0.1, port: $own_port, dbname: orch, user: orch, password: "\${{ secrets.PG_PW }}", reconnect_timeout: 60s}
workflows:
  w:
    inputs: {n: {default: "0"}}
    steps:
      - {id: a, uses: exec, with: {run: "echo run\${{ inputs.n }}-a >> $T/ran"}}
      - {id: b, uses: exec, needs: [a], with: {run: "sleep 1; echo run\${{ inputs.n }}-b >> $T/ran"}}
EOF2
hcode() { curl -s -o "$T/h" -w '%{http_code}' --unix-socket "$OD_SOCK" "$@" || true; }
answers() { [ "$(hcode "http://orchd$1")" = "$2" ]; } # PATH CODE

# --- no server yet: alive, not ready, and saying why
ORCH_LOG_LEVEL=info "$ORCHD" --config "$T/orchd.yaml" --listen "unix:$OD_SOCK" --wait-for-store=300s \
  >"$T/orchd.log" 2>&1 &
OD_PID=$!
T_PIDS+=("$OD_PID")
wait_until "orchd to serve liveness" answers /health/live 200
wait_until "a second store attempt" grep -q "store: not reachable (attempt 2" "$T/orchd.log"
[ "$(hcode http://orchd/health/ready)" = 503 ] || fail "not ready without its store: $(cat "$T/h")"
grep -q "store not reachable yet (attempt" "$T/h" || fail "readiness says why: $(cat "$T/h")"
[ "$(hcode http://orchd/health)" = 503 ] || fail "/health is degraded: $(cat "$T/h")"
[ "$(hcode -H "Authorization: Bearer reader-token" http://orchd/v1/runs)" = 503 ] ||
  fail "a store route answers 503: $(cat "$T/h")"
grep -q '"starting"' "$T/h" || fail "with code starting: $(cat "$T/h")"
[ "$(hcode -H "Authorization: Bearer reader-token" http://orchd/v1/health)" = 503 ] ||
  fail "the health document too: $(cat "$T/h")"
[ "$(hcode http://orchd/v1/runs)" = 401 ] || fail "tokens are still checked while starting"
alive "$OD_PID" || fail "orchd gave up"
pass "before the store: live, not ready, 503 starting with the reason, attempts logged"

# --- the server comes up: orchd becomes ready and runs work
own_pg start >/dev/null
wait_until "orchd to be ready" answers /health/ready 200
grep -q "store: reachable after [0-9]* attempts" "$T/orchd.log" || fail "the log says when it connected"
for i in $(seq 6); do
  api POST /v1/runs "{\"workflow\": \"w\", \"inputs\": {\"n\": \"$i\"}}"
  expect_http 201 "start run $i"
  echo "$(resp "d['run']['id']")" >>"$T/runs"
done
pass "ready once PostgreSQL is up"

# --- PostgreSQL restarted under load: nothing lost, nothing doubled
wait_until "a first step to run" test -s "$T/ran"
own_pg stop
# While it is down: reconnects are logged with their count (the engine's
# writes wait for the server), and liveness stays 200: a supervisor must
# not restart a daemon that only waits for its database.
wait_until "a reconnect attempt logged" grepq -E "postgres: connection lost; reconnect attempt [0-9]+ failed" "$T/orchd.log"
wait_until "a second attempt logged" grepq -E "reconnect attempt [2-9][0-9]* failed" "$T/orchd.log"
[ "$(hcode -m 10 http://orchd/health/live)" = 200 ] || fail "liveness while the store is down: $(cat "$T/h")"
own_pg start >/dev/null
wait_until "the connection re-established" grepq -E "postgres: connection re-established \(attempt [0-9]+, after [0-9]+ ms\)" "$T/orchd.log"
while read -r r; do od_wait_run "$r" succeeded 180; done <"$T/runs"
[ "$(wc -l <"$T/ran")" = 12 ] || { cat "$T/ran"; fail "every step ran once: $(wc -l <"$T/ran") lines"; }
[ "$(sort "$T/ran" | uniq -d)" = "" ] || fail "a step ran twice: $(sort "$T/ran" | uniq -d)"
alive "$OD_PID" || fail "orchd died in the restart"
pass "PostgreSQL stopped and started under load: reconnects counted in the log, live meanwhile, 6 runs succeeded, each step once"
od_stop

# --- the bounds
own_pg stop
set +e
"$ORCHD" --config "$T/orchd.yaml" --once --wait-for-store=0 >"$T/w0.out" 2>&1
rc0=$?
"$ORCHD" --config "$T/orchd.yaml" --once --wait-for-store=1s >"$T/w1.out" 2>&1
rc1=$?
"$ORCHD" --config "$T/orchd.yaml" --once --wait-for-store=soon >"$T/wbad.out" 2>&1
rcbad=$?
set -e
[ "$rc0" = 2 ] && grep -q "cannot connect" "$T/w0.out" || { cat "$T/w0.out"; fail "--wait-for-store=0 fails at once ($rc0)"; }
grep -q "attempt 2" "$T/w0.out" && fail "--wait-for-store=0 retried"
[ "$rc1" = 2 ] && grep -q "gave up: --wait-for-store" "$T/w1.out" || { cat "$T/w1.out"; fail "--wait-for-store=1s gives up ($rc1)"; }
[ "$rcbad" = 2 ] && grep -q "wants a duration" "$T/wbad.out" || fail "a bad duration is refused ($rcbad)"
grep -q "orch-test-pw" "$T/w0.out" "$T/w1.out" "$T/orchd.log" && fail "the password was printed"
"$ORCHD" --config "$T/orchd.yaml" --listen "unix:$OD_SOCK" >"$T/term.out" 2>&1 &
OD_PID=$!
T_PIDS+=("$OD_PID")
wait_until "orchd to serve liveness" answers /health/live 200
kill -TERM "$OD_PID"
set +e
wait "$OD_PID"
rct=$?
set -e
OD_PID=
[ "$rct" = 0 ] || { cat "$T/term.out"; fail "SIGTERM while waiting exits 0, not $rct"; }
pass "--wait-for-store bounds the wait (0: at once), a bad value is refused, SIGTERM ends it"
