# Helpers for tests that run orchd: start it on a unix socket in $T, call
# its API with curl, wait for run states. Source after common.sh.
ORCHD="$ORCH_BIN/orchd"
OD_SOCK="$T/orchd.sock"
OD_PID=

# od_config FILE: write stdin to FILE with HASH_<name> replaced by the
# sha256 of the token "<name>-token".
od_config() {
  local text name h
  text=$(cat)
  for name in admin writer reader; do
    h=$(printf '%s-token\n' "$name" | "$ORCHD" --hash-token)
    text=${text//HASH_$name/$h}
  done
  printf '%s\n' "$text" >"$1"
}

# The server: section of most od_config files: a writer and a reader token.
OD_SERVER='server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}'

# od_start CONFIG [ARGS...]: start orchd, wait for /health.
od_start() {
  local cfg=$1 i
  shift
  "$ORCHD" --config "$cfg" --listen "unix:$OD_SOCK" "$@" >>"$T/orchd.log" 2>&1 &
  OD_PID=$!
  T_PIDS+=("$OD_PID")
  for ((i = 0; i < 1200; i++)); do
    if curl -s --unix-socket "$OD_SOCK" http://orchd/health >/dev/null 2>&1; then return 0; fi
    alive "$OD_PID" || { cat "$T/orchd.log" >&2; fail "orchd exited at start"; }
    sleep 0.05
  done
  fail "orchd did not answer /health"
}

od_stop() {
  [ -n "$OD_PID" ] || return 0
  kill -TERM "$OD_PID" 2>/dev/null || true
  wait "$OD_PID" 2>/dev/null || true
  OD_PID=
}

# api METHOD PATH [BODY] [TOKEN-NAME]: status in $HTTP, body in $T/resp.
api() {
  local tok=${4-writer} args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X "$1")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok-token")
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  HTTP=$(curl "${args[@]}" "http://orchd$2")
}

expect_http() {
  [ "$HTTP" = "$1" ] || { cat "$T/resp" >&2; echo >&2; fail "expected HTTP $1, got $HTTP ($2)"; }
}
resp() { jq_py "$1" <"$T/resp"; }

# od_wait_ticks N: wait until the daemon has finished N more scheduler
# ticks than it had when called (GET /v1/health's scheduler.ticks). What a
# test asserts did NOT happen (a paused daemon claimed nothing) is asserted
# after whole ticks that began later, never after a fixed sleep.
od_wait_ticks() {
  local base now end=$((SECONDS + 120))
  api GET /v1/health "" reader
  base=$(resp "d['scheduler']['ticks']")
  while :; do
    api GET /v1/health "" reader
    now=$(resp "d['scheduler']['ticks']")
    [ "$now" -ge $((base + $1)) ] && return 0
    [ "$SECONDS" -lt "$end" ] || fail "the daemon did not finish $1 ticks in 120 s"
    sleep 0.05
  done
}

# od_wait_run RUN STATE [SECONDS, default 60]
od_wait_run() {
  local i s=
  for ((i = 0; i < ${3:-60} * 10; i++)); do
    api GET "/v1/runs/$1" "" reader
    s=$(resp "d['run']['state']")
    [ "$s" = "$2" ] && return 0
    sleep 0.1
  done
  cat "$T/resp" >&2
  fail "run $1 is $s, not $2"
}
