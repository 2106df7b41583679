# Twelve-factor configuration: orchd's listen address from --listen, then
# $ORCHD_LISTEN, then $PORT (0.0.0.0:$PORT), then server.listen; cron mode
# binds none of them (PORT wins over server.listen); a bad $PORT and an open address without tokens are
# refused naming where the address came from. DATABASE_URL is a secret:
# ${{ secrets.DATABASE_URL }} reads it (after ORCH_SECRET_DATABASE_URL and
# $ORCH_SECRETS_DIR/DATABASE_URL; orch and orchd alike),
# no step sees it, ${{ env.DATABASE_URL }} is refused, and the password
# in it is never printed.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
od_config "$T/tok.yaml" <<'EOF2'
version: 1
server:
  tokens:
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "true"}}
EOF2
grep -v "^server:\|tokens:\|name: reader" "$T/tok.yaml" >"$T/open.yaml"

# orchd in the background with the given environment; its pid in $bg.
bg_start() { # LOG ENV... -- ARGS...
  local log=$1
  shift
  env ORCH_LOG_LEVEL=info "$@" >"$log" 2>&1 &
  bg=$!
  T_PIDS+=("$bg")
}
health_at() { curl -s -o /dev/null -w '%{http_code}' "$@" 2>/dev/null || true; }
wait_health() { # CURL-ARGS...: until /health answers 200 or orchd died
  local i
  for ((i = 0; i < 1200; i++)); do
    [ "$(health_at "$@")" = 200 ] && return 0
    alive "$bg" || { cat "$T/bg.log" >&2; fail "orchd exited"; }
    sleep 0.05
  done
  fail "orchd did not answer on $*"
}
stop_bg() { kill -TERM "$bg" 2>/dev/null || true; wait "$bg" 2>/dev/null || true; }

# --- $ORCHD_LISTEN
bg_start "$T/bg.log" ORCHD_LISTEN="unix:$T/env.sock" "$ORCHD" --config "$T/tok.yaml"
wait_health --unix-socket "$T/env.sock" http://orchd/health
stop_bg
pass "ORCHD_LISTEN sets the address"

# --- $PORT: all interfaces; ORCHD_LISTEN wins over it, --listen over both
port=$(free_port)
bg_start "$T/bg.log" PORT="$port" "$ORCHD" --config "$T/tok.yaml"
wait_health "http://127.0.0.1:$port/health"
grep -q "listening on 0.0.0.0:$port" "$T/bg.log" || { cat "$T/bg.log"; fail "PORT means all interfaces"; }
stop_bg
bg_start "$T/bg.log" PORT="$port" ORCHD_LISTEN="unix:$T/env2.sock" "$ORCHD" --config "$T/tok.yaml"
wait_health --unix-socket "$T/env2.sock" http://orchd/health
[ "$(health_at "http://127.0.0.1:$port/health")" != 200 ] || fail "ORCHD_LISTEN wins over PORT"
stop_bg
bg_start "$T/bg.log" PORT="$port" ORCHD_LISTEN="unix:$T/env3.sock" "$ORCHD" --config "$T/tok.yaml" \
  --listen "unix:$T/flag.sock"
wait_health --unix-socket "$T/flag.sock" http://orchd/health
[ ! -e "$T/env3.sock" ] || fail "--listen wins over ORCHD_LISTEN"
stop_bg
# server.listen is the last word before the default; PORT wins over it.
sed 's|^server:|server:\n  listen: "unix:'"$T"'/cfg.sock"|' "$T/tok.yaml" >"$T/listen.yaml"
bg_start "$T/bg.log" "$ORCHD" --config "$T/listen.yaml"
wait_health --unix-socket "$T/cfg.sock" http://orchd/health
stop_bg
rm -f "$T/cfg.sock"
bg_start "$T/bg.log" PORT="$port" "$ORCHD" --config "$T/listen.yaml"
wait_health "http://127.0.0.1:$port/health"
[ ! -e "$T/cfg.sock" ] || fail "PORT wins over server.listen"
stop_bg
pass "PORT: 0.0.0.0:PORT; --listen > ORCHD_LISTEN > PORT > server.listen"

# --- refusals name the source
set +e
PORT=http "$ORCHD" --config "$T/tok.yaml" >"$T/bad.out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "PORT must be a TCP port (1-65535), not 'http'" "$T/bad.out" ||
  { cat "$T/bad.out"; fail "a bad PORT is refused ($rc)"; }
set +e
PORT="$port" "$ORCHD" --config "$T/open.yaml" >"$T/bad.out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "not a loopback address and no server.tokens.*(the address from \$PORT)" "$T/bad.out" ||
  { cat "$T/bad.out"; fail "an open PORT without tokens is refused, naming PORT ($rc)"; }
pass "a bad PORT, and PORT without tokens, refused naming PORT"

# --- cron mode serves nothing, whatever the environment says
ORCH_LOG_LEVEL=info PORT="$port" ORCHD_LISTEN="unix:$T/cron.sock" "$ORCHD" --config "$T/tok.yaml" --once >"$T/cron.out" 2>&1 ||
  { cat "$T/cron.out"; fail "orchd --once with PORT set"; }
[ ! -e "$T/cron.sock" ] || fail "--once bound ORCHD_LISTEN"
grep -q "listening on nothing (cron mode)" "$T/cron.out" || { cat "$T/cron.out"; fail "--once serves nothing"; }
pass "cron mode ignores PORT and ORCHD_LISTEN"

# --- DATABASE_URL as a secret
schema="t_env_$$_$RANDOM"
trap 'PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -qAtc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
cat >"$T/pg.yaml" <<EOF2
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.DATABASE_URL }}", schema: $schema}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "env > $T/step.env; echo ran"}}
EOF2
DATABASE_URL="$ORCH_PG_URL" o run "$T/pg.yaml" w
expect_rc 0 "a run on the store DATABASE_URL names"
[ "$(PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -qAtc "SELECT count(*) FROM $schema.runs")" = 1 ] ||
  fail "the run is in that database"
grep -q "DATABASE_URL\|orch-test-pw" "$T/step.env" && fail "the step saw DATABASE_URL"
expect_no_out "orch-test-pw" "the password is never printed"
ORCH_SECRET_DATABASE_URL="${ORCH_PG_URL/orch-test-pw/wrong-pw-123}" DATABASE_URL="$ORCH_PG_URL" o run "$T/pg.yaml" w
expect_rc 2 "ORCH_SECRET_DATABASE_URL comes first"
expect_out "password authentication failed" "the wrong one was used"
expect_no_out "wrong-pw-123" "and its password not shown"
cat >"$T/pg-env.yaml" <<'EOF2'
version: 1
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "echo ${{ env.DATABASE_URL }}"}}
EOF2
DATABASE_URL="$ORCH_PG_URL" o run "$T/pg-env.yaml" w
expect_rc 1 "env.DATABASE_URL fails the step"
expect_out "secrets.DATABASE_URL" "is refused, pointing to secrets."
expect_no_out "orch-test-pw" "without the password"
# $ORCH_SECRETS_DIR/DATABASE_URL comes between the two.
mkdir -p "$T/secrets"
printf '%s' "${ORCH_PG_URL/orch-test-pw/wrong-pw-456}" >"$T/secrets/DATABASE_URL"
ORCH_SECRETS_DIR="$T/secrets" DATABASE_URL="$ORCH_PG_URL" o run "$T/pg.yaml" w
expect_rc 2 "the secrets dir's DATABASE_URL comes before DATABASE_URL"
expect_out "password authentication failed" "the file's was used"
expect_no_out "wrong-pw-456" "and its password not shown"
ORCH_SECRETS_DIR="$T/secrets" ORCH_SECRET_DATABASE_URL="$ORCH_PG_URL" o run "$T/pg.yaml" w
expect_rc 0 "ORCH_SECRET_DATABASE_URL comes before the secrets dir"
# orchd takes its store the same way.
bg_start "$T/bg.log" DATABASE_URL="$ORCH_PG_URL" "$ORCHD" --config "$T/pg.yaml" --listen "unix:$T/pg.sock"
wait_health --unix-socket "$T/pg.sock" http://orchd/health
curl -s --unix-socket "$T/pg.sock" -o "$T/resp" -H 'Content-Type: application/json' \
  --data-binary '{"workflow": "w"}' "http://orchd/v1/runs?wait=60s"
[ "$(resp "d['run']['state']")" = succeeded ] || fail "orchd's run on DATABASE_URL's store: $(cat "$T/resp")"
stop_bg
[ "$(PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -qAtc "SELECT count(*) FROM $schema.runs WHERE state = 4")" = 3 ] ||
  fail "orchd's run is in DATABASE_URL's database"
grep -q "orch-test-pw" "$T/bg.log" && fail "orchd printed the password"
pass "DATABASE_URL: read as a secret (ORCH_SECRET_ > the secrets dir > DATABASE_URL, by orch and orchd), never seen by steps"
