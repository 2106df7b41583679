# Bounded logs on store-postgres (docs/security.md, "Bounded logs"): a step
# printing 100 MB is cut to the default 64 MiB, and serving that log (plain
# and SSE, at once) or printing it with orch runs logs keeps each process
# under 32 MB of RSS: store-postgres reads a log in pages, never as one
# result holding all of it.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_logs_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
port=${ORCH_PG_URL%/*}
port=${port##*:}
export ORCH_SECRET_PG_PW=orch-test-pw
if [ "${ORCH_SANITIZE:-OFF}" = ON ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
fi
RSS_BOUND_KB=$((32 * 1024))
MB=$((1024 * 1024))

od_config "$T/orchd.yaml" <<EOF
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {host: 127.0.0.1, port: $port, dbname: orch, user: orch, password: "\${{ secrets.PG_PW }}", schema: $schema}
$OD_SERVER
worker: {tick: 100ms}
workflows:
  big:
    steps:
      - id: flood
        uses: exec
        with: {run: "printf 'HEAD-MARK\\\\n'; head -c 100000000 /dev/zero | tr '\\\\0' b; printf '\\\\nTAIL-MARK\\\\n'"}
EOF
TOTAL=$((10 + 100000000 + 11))
LIMIT=$((64 * MB))
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"big"}'; expect_http 201 "start big"
B=$(resp "d['run']['id']")
od_wait_run "$B" succeeded 300
STORED=$(psql_q "SELECT coalesce(sum(length(data)), 0) FROM $schema.logs WHERE run_id = '$B'")
[ "$STORED" -ge "$LIMIT" ] && [ "$STORED" -le $((LIMIT + 512)) ] ||
  fail "postgres holds $STORED bytes of a log limited to $LIMIT"
api GET "/v1/runs/$B" "" reader
[ "$(resp "d['run']['steps'][0]['attempts'][0]['log_bytes_dropped']")" = $((TOTAL - LIMIT)) ] ||
  fail "the attempt does not record the dropped bytes: $(cat "$T/resp")"
pass "100 MB printed, $STORED bytes stored in postgres"

rss_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
LOGS="http://orchd/v1/runs/$B/steps/flood/logs"
CURL=(curl -sSf --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token")
IDLE=$(rss_of "$OD_PID" VmRSS)
echo 5 >"/proc/$OD_PID/clear_refs" 2>/dev/null && HWM_RESET=1 || HWM_RESET=0
"${CURL[@]}" -o "$T/plain.log" "$LOGS" &
R1=$!
"${CURL[@]}" -N "$LOGS?follow=true" | tail -c 300 >"$T/sse.tail" &
R2=$!
T_PIDS+=("$R1" "$R2")
PEAK=0
while alive "$R1" || alive "$R2"; do
  r=$(rss_of "$OD_PID" VmRSS)
  [ "${r:-0}" -gt "$PEAK" ] && PEAK=$r
  sleep 0.05
done
wait "$R1" || fail "plain reader failed"
wait "$R2" || fail "SSE reader failed"
[ "$HWM_RESET" = 1 ] && { h=$(rss_of "$OD_PID" VmHWM); [ "$h" -gt "$PEAK" ] && PEAK=$h; }
echo "orchd RSS: idle $IDLE kB, peak $PEAK kB while serving (VmHWM reset: $HWM_RESET)"
if [ "${ORCH_SANITIZE:-OFF}" = ON ]; then
  [ $((PEAK - IDLE)) -lt "$RSS_BOUND_KB" ] || fail "orchd's RSS grew by $((PEAK - IDLE)) kB serving the log"
else
  [ "$PEAK" -lt "$RSS_BOUND_KB" ] || fail "orchd's peak RSS was $PEAK kB serving a 64 MiB log from postgres"
fi
head -c 10 "$T/plain.log" | grepq HEAD-MARK || fail "the served log lost its head"
tail -c 10 "$T/plain.log" | grepq TAIL-MARK || fail "the served log lost its tail"
grep -aq "^\[orch\] log truncated: $((TOTAL - LIMIT)) bytes dropped here" "$T/plain.log" ||
  fail "no truncation marker in the served log"
grep -q '^event: end' "$T/sse.tail" || fail "the SSE stream did not end: $(cat "$T/sse.tail")"
pass "plain and SSE readers of the 64 MiB log on postgres: orchd peak RSS $PEAK kB (idle $IDLE kB)"

sed -n '/^store:/,/^server:/p' "$T/orchd.yaml" | sed '$d' >"$T/store.yaml"
printf 'version: 1\n%s\nworkflows: {x: {steps: [{id: a, uses: exec, with: {run: "true"}}]}}\n' \
  "$(cat "$T/store.yaml")" >"$T/cli.yaml"
CLI_RSS=$(python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out).returncode
if rc:
    sys.exit(rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$T/cli.log" "$ORCH" --config "$T/cli.yaml" runs logs "$B" flood) ||
  fail "orch runs logs on postgres failed"
cmp "$T/cli.log" "$T/plain.log" || fail "orch runs logs differs from the API's log"
[ "$CLI_RSS" -lt "$RSS_BOUND_KB" ] || fail "orch runs logs on postgres used $CLI_RSS kB for a 64 MiB log"
pass "orch runs logs on postgres streams the log (peak RSS $CLI_RSS kB)"
od_stop
