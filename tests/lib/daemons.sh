# Several orchd on one config ($T/orchd.yaml), daemon N on $T/dN.sock
# logging to $T/dN.log, for the scale-out tests. Source after common.sh.
PIDS=()
start_daemon() { # N
  "$ORCH_BIN/orchd" --config "$T/orchd.yaml" --listen "unix:$T/d$1.sock" >>"$T/d$1.log" 2>&1 &
  PIDS[$1]=$!
  T_PIDS+=("$!")
}
# api N METHOD PATH [BODY]: status in $HTTP, body in $T/resp; with
# DAEMONS_TOKEN set, sent as the bearer token (most of these configs have
# none). Replaces orchd.sh's api when sourced after it.
api() {
  local args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$T/d$1.sock" -X "$2")
  [ -n "${DAEMONS_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $DAEMONS_TOKEN")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  HTTP=$(curl "${args[@]}" "http://orchd$3")
}
resp() { jq_py "$1" <"$T/resp"; }
wait_health() { # N
  local i
  for ((i = 0; i < 1200; i++)); do
    curl -sf --unix-socket "$T/d$1.sock" http://orchd/health >/dev/null 2>&1 && return 0
    alive "${PIDS[$1]}" || { cat "$T/d$1.log"; fail "daemon $1 exited at start"; }
    sleep 0.05
  done
  fail "daemon $1 did not answer"
}
