# Bounded logs (docs/security.md, "Bounded logs"): a step that floods its
# output cannot fill the store, and reading a huge log cannot blow up
# orchd's memory, however many readers there are.
# - log_limit from defaults, workflow and step, each applied; bounds refused
#   with file:line:col; a log under its limit stored as it was written;
# - a step printing 200 MB through orchd keeps the default 64 MiB: the store
#   holds the head, a marker line with the exact count of bytes dropped, and
#   the tail; the attempt records it (API, orch runs show, the ledger);
# - four clients reading that log at once (two plain, two SSE) keep orchd's
#   peak RSS under 32 MB; orch runs logs (local and --server) streams too.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

MB=$((1024 * 1024))
RSS_BOUND_KB=$((32 * 1024))
# Under ASan, RSS also holds shadow memory and the allocator's quarantine
# of freed blocks; a small quarantine keeps the measure about live memory,
# and the bound is on the growth over the idle daemon instead.
ASAN_MODE=0
if [ "${ORCH_SANITIZE:-OFF}" = ON ]; then
  ASAN_MODE=1
  export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
fi

# --- log_limit: defaults, workflow and step; bounds
cat >"$T/limits.yaml" <<'EOF'
version: 1
defaults:
  log_limit: 8K
workflows:
  w:
    steps:
      - id: inherits
        uses: exec
        with: {run: "echo HEAD-A; seq 1 20000; echo TAIL-A"}
      - id: own
        uses: exec
        log_limit: 2K
        with: {run: "echo HEAD-B >&2; seq 1 20000 >&2; echo TAIL-B >&2"}
      - id: small
        uses: exec
        with: {run: "printf 'one\\ntwo\\n'; printf 'no newline'"}
  wide:
    log_limit: 16K
    steps:
      - id: wf
        uses: exec
        with: {run: "echo HEAD-C; seq 1 20000; echo TAIL-C"}
EOF
SEQ_BYTES=$(seq 1 20000 | wc -c)
TOTAL=$((7 + SEQ_BYTES + 7))  # HEAD-X\n ... TAIL-X\n

o run "$T/limits.yaml" w; expect_rc 0 "run w"
W=$(last_run_id)
o run "$T/limits.yaml" wide; expect_rc 0 "run wide"
WIDE=$(last_run_id)

# check_cut RUN STEP LIMIT HEAD TAIL: the stored log is the first LIMIT/2
# bytes, the marker with the dropped count, the last LIMIT/2 bytes.
check_cut() {
  "$ORCH" runs logs "$1" "$2" >"$T/log.$2"
  python3 - "$T/log.$2" "$3" "$TOTAL" "$4" "$5" <<'PY' || fail "the stored log of $2 is not head + marker + tail (above)"
import re, sys
data = open(sys.argv[1], 'rb').read()
limit, total, head, tail = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode(), sys.argv[5].encode()
m = re.search(rb'\n?\[orch\] log truncated: (\d+) bytes dropped here \(log_limit (\d+): kept the '
              rb'first (\d+) and the last (\d+) of (\d+) bytes\)\n', data)
if not m:
    sys.exit('no marker line in %d bytes' % len(data))
dropped, lim, h, t, tot = map(int, m.groups())
errs = []
if (lim, h, t, tot) != (limit, limit // 2, limit - limit // 2, total):
    errs.append('marker numbers %r, want %r' % ((lim, h, t, tot), (limit, limit // 2, limit - limit // 2, total)))
if dropped != total - limit:
    errs.append('dropped %d, want %d' % (dropped, total - limit))
if m.start() != limit // 2 or len(data) - m.end() != limit - limit // 2:
    errs.append('head %d and tail %d bytes around the marker' % (m.start(), len(data) - m.end()))
if not data.startswith(head + b'\n1\n2\n') or not data.endswith(b'\n20000\n' + tail + b'\n'):
    errs.append('head or tail lost: %r ... %r' % (data[:20], data[-20:]))
if errs:
    sys.exit('; '.join(errs))
PY
  [ "$("$ORCH" --json runs show "$1" | jq_py "[a['log_bytes_dropped'] for a in d['attempts'] if a['step']=='$2'][0]")" = $((TOTAL - $3)) ] ||
    fail "orch runs show: the attempt of $2 does not record the dropped bytes"
}
check_cut "$W" inherits 8192 HEAD-A TAIL-A
check_cut "$W" own 2048 HEAD-B TAIL-B
check_cut "$WIDE" wf 16384 HEAD-C TAIL-C
"$ORCH" runs logs "$W" small >"$T/log.small"
printf 'one\ntwo\nno newline' | cmp - "$T/log.small" || fail "a log under its limit changed"
o runs show "$W"
expect_out "note: the log of own (attempt 1) was cut at its log_limit of 2048 bytes: $((TOTAL - 2048)) bytes dropped" "runs show note"
expect_no_out "the log of small" "runs show: a log under its limit noted as cut"
"$ORCH" --json runs events "$W" | jq_py "[e['data'] for e in d if e['type']=='step.log_truncated']" >"$T/cuts"
grep -q "'step': 'own'.*'dropped': $((TOTAL - 2048))" "$T/cuts" || fail "no step.log_truncated event for own: $(cat "$T/cuts")"
[ "$(grep -o "'step'" "$T/cuts" | wc -l)" = 2 ] || fail "step.log_truncated events: $(cat "$T/cuts")"
pass "log_limit from defaults, workflow and step: head, marker with the dropped count, tail; recorded in the attempt"

bad_limit() {
  sed "s/log_limit: 2K/log_limit: $1/" "$T/limits.yaml" >"$T/bad.yaml"
  o validate "$T/bad.yaml"
  expect_rc 2 "log_limit $1"
  expect_out "bad.yaml:12:20" "log_limit $1: position"
  expect_out "is not a size from 1K to 1G" "log_limit $1: the bounds"
}
bad_limit 1000
bad_limit 2G
bad_limit lots
bad_limit -5
pass "log_limit below 1K, above 1G or not a size: refused with file:line:col"

# --- 200 MB through orchd
od_config "$T/orchd.yaml" <<'EOF'
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
workflows:
  big:
    steps:
      - id: flood
        uses: exec
        with: {run: "printf 'HEAD-MARK\\n'; head -c 200000000 /dev/zero | tr '\\0' a; printf '\\nTAIL-MARK\\n'"}
EOF
BIG_TOTAL=$((10 + 200000000 + 11))
LIMIT=$((64 * MB))
od_start "$T/orchd.yaml"
db_bytes() { cat "$ORCH_STATE_DIR"/orch.db* 2>/dev/null | wc -c; }
DB0=$(db_bytes)
api POST /v1/runs '{"workflow":"big"}'; expect_http 201 "start big"
B=$(resp "d['run']['id']")
od_wait_run "$B" succeeded 300
rss_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
RUN_HWM=$(rss_of "$OD_PID" VmHWM)

STORED=$(python3 - "$ORCH_STATE_DIR/orch.db" "$B" <<'PY'
import sqlite3, sys
db = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True)
print(db.execute('SELECT coalesce(sum(length(data)), 0) FROM logs WHERE run_id = ?', (sys.argv[2],)).fetchone()[0])
PY
)
[ "$STORED" -le $((LIMIT + 512)) ] || fail "the store holds $STORED bytes of a log limited to $LIMIT"
[ "$STORED" -ge "$LIMIT" ] || fail "the store holds $STORED bytes: the head or the tail is missing"
GROWTH=$(($(db_bytes) - DB0))
[ "$GROWTH" -le $((LIMIT + 8 * MB)) ] || fail "the database files grew by $GROWTH bytes for a log limited to $LIMIT"
api GET "/v1/runs/$B" "" reader
[ "$(resp "d['run']['steps'][0]['attempts'][0]['log_bytes_dropped']")" = $((BIG_TOTAL - LIMIT)) ] ||
  fail "the API's attempt does not record the dropped bytes: $(cat "$T/resp")"
[ "$(resp "d['run']['steps'][0]['attempts'][0]['log_limit']")" = "$LIMIT" ] || fail "the API's attempt lacks log_limit"
ORCH_TOKEN=reader-token o --server "unix:$OD_SOCK" runs show "$B"
expect_out "note: the log of flood (attempt 1) was cut at its log_limit of $LIMIT bytes: $((BIG_TOTAL - LIMIT)) bytes dropped" "orch --server runs show"
pass "200 MB printed, $STORED bytes stored (database files +$GROWTH), the attempt records $((BIG_TOTAL - LIMIT)) dropped"

# --- four readers at once: two plain, two SSE
LOGS="http://orchd/v1/runs/$B/steps/flood/logs"
CURL=(curl -sSf --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token")
IDLE=$(rss_of "$OD_PID" VmRSS)
# Peak RSS from here on: clear_refs 5 resets VmHWM (Linux >= 4.0); a poll of
# VmRSS as well, in case it cannot be reset.
echo 5 >"/proc/$OD_PID/clear_refs" 2>/dev/null && HWM_RESET=1 || HWM_RESET=0
"${CURL[@]}" -o "$T/plain.log" "$LOGS" &
R1=$!
"${CURL[@]}" "$LOGS" | wc -c >"$T/plain2.n" &
R2=$!
"${CURL[@]}" -N "$LOGS?follow=true" | tail -c 300 >"$T/sse1.tail" &
R3=$!
"${CURL[@]}" -N "$LOGS?follow=true" | wc -c >"$T/sse2.n" &
R4=$!
T_PIDS+=("$R1" "$R2" "$R3" "$R4")
PEAK=0
while alive "$R1" || alive "$R2" || alive "$R3" || alive "$R4"; do
  r=$(rss_of "$OD_PID" VmRSS)
  [ "${r:-0}" -gt "$PEAK" ] && PEAK=$r
  sleep 0.05
done
wait "$R1" || fail "plain reader 1 failed"
wait "$R2" || fail "plain reader 2 failed"
wait "$R3" || fail "SSE reader 1 failed"
wait "$R4" || fail "SSE reader 2 failed"
[ "$HWM_RESET" = 1 ] && { h=$(rss_of "$OD_PID" VmHWM); [ "$h" -gt "$PEAK" ] && PEAK=$h; }
echo "orchd RSS: idle ${IDLE} kB, peak ${PEAK} kB while serving (VmHWM reset: $HWM_RESET), ${RUN_HWM} kB peak before"
if [ "$ASAN_MODE" = 1 ]; then
  [ $((PEAK - IDLE)) -lt "$RSS_BOUND_KB" ] ||
    fail "orchd's RSS grew by $((PEAK - IDLE)) kB serving a 64 MiB log to 4 readers (ASan: bound on growth)"
else
  [ "$PEAK" -lt "$RSS_BOUND_KB" ] || fail "orchd's peak RSS was $PEAK kB serving a 64 MiB log to 4 readers"
  [ "$RUN_HWM" -lt "$RSS_BOUND_KB" ] || fail "orchd's peak RSS was $RUN_HWM kB while the step printed 200 MB"
fi

python3 - "$T/plain.log" "$BIG_TOTAL" "$LIMIT" <<'PY' || fail "the served log is not head + marker + tail (above)"
import re, sys
total, limit = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1], 'rb') as f:
    head = f.read(limit // 2)
    marker = f.readline() + f.readline()  # the head ends mid-line: "\n[orch] ...\n"
    tail = f.read()
want_marker = ('\n[orch] log truncated: %d bytes dropped here (log_limit %d: kept the first %d '
               'and the last %d of %d bytes)\n' % (total - limit, limit, limit // 2,
                                                   limit - limit // 2, total)).encode()
errs = []
if head != b'HEAD-MARK\n' + b'a' * (limit // 2 - 10):
    errs.append('head: %r...' % head[:20])
if marker != want_marker:
    errs.append('marker %r, want %r' % (marker[:200], want_marker))
if tail != b'a' * (limit - limit // 2 - 11) + b'\nTAIL-MARK\n':
    errs.append('tail: %d bytes ending %r' % (len(tail), tail[-20:]))
if errs:
    sys.exit('; '.join(errs))
PY
SERVED=$(wc -c <"$T/plain.log")
[ "$(cat "$T/plain2.n" | tr -d ' ')" = "$SERVED" ] || fail "plain reader 2 got $(cat "$T/plain2.n") bytes, not $SERVED"
grep -q '^event: end' "$T/sse1.tail" || fail "SSE reader 1 did not get the end event: $(cat "$T/sse1.tail")"
grep -q '"state":"succeeded"' "$T/sse1.tail" || fail "SSE end event: $(cat "$T/sse1.tail")"
[ "$(cat "$T/sse2.n" | tr -d ' ')" -gt "$SERVED" ] || fail "SSE reader 2 got only $(cat "$T/sse2.n") bytes"
pass "4 concurrent readers (2 plain, 2 SSE) of the 64 MiB log: orchd peak RSS $PEAK kB (idle $IDLE kB)"

# --- orch runs logs streams: local store and --server, bounded memory
maxrss_of() {
  python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out).returncode
if rc:
    sys.exit(rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
LOCAL_RSS=$(maxrss_of "$T/cli.log" "$ORCH" runs logs "$B" flood) || fail "orch runs logs failed"
cmp "$T/cli.log" "$T/plain.log" || fail "orch runs logs differs from the API's log"
rm -f "$T/cli.log"
REMOTE_RSS=$(ORCH_TOKEN=reader-token maxrss_of "$T/cli.log" "$ORCH" --server "unix:$OD_SOCK" runs logs "$B" flood) ||
  fail "orch --server runs logs failed"
cmp "$T/cli.log" "$T/plain.log" || fail "orch --server runs logs differs from the API's log"
echo "orch runs logs peak RSS: local ${LOCAL_RSS} kB, --server ${REMOTE_RSS} kB"
[ "$LOCAL_RSS" -lt "$RSS_BOUND_KB" ] || fail "orch runs logs used $LOCAL_RSS kB for a 64 MiB log"
[ "$REMOTE_RSS" -lt "$RSS_BOUND_KB" ] || fail "orch --server runs logs used $REMOTE_RSS kB for a 64 MiB log"
pass "orch runs logs, local and --server, stream the 64 MiB log (peak RSS $LOCAL_RSS / $REMOTE_RSS kB)"
od_stop
