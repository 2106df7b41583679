# orchd's lifecycle: the OpenAPI document matches the routes; cron with a
# controllable clock (time zone, overlap skip, --once); kill -9 mid-run
# and restart (finished steps never re-run, every step completes); graceful
# stop hands runs back; the reconciler reaps a leaked instance.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"

# --- every route is documented, and every documented route exists
"$ORCHD" --routes >"$T/routes"
python3 - "$SRC/docs/api/openapi.yaml" "$T/routes" <<'PY' || fail "OpenAPI document and routes differ"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
documented = {(m.upper(), p) for p, ops in doc['paths'].items() for m in ops}
served = {tuple(l.split()) for l in open(sys.argv[2]) if l.strip()}
missing, extra = served - documented, documented - served
assert not missing, f'served but not documented: {sorted(missing)}'
assert not extra, f'documented but not served: {sorted(extra)}'
PY
pass "every route is in docs/api/openapi.yaml and back"

# --- cron with a controllable clock
od_config "$T/cron.yaml" <<'YAML'
version: 1
worker: {tick: 100ms}
schedules:
  tokyo-nine:
    workflow: note
    cron: "0 9 * * *"
    timezone: Asia/Tokyo
    inputs: {tag: tokyo}
  gated-hourly:
    workflow: gated
    cron: "@hourly"
workflows:
  note:
    inputs: {tag: {}}
    steps:
      - {id: n, uses: exec, with: {run: "echo ${{ inputs.tag }} >> STATE/cron-notes"}}
  gated:
    steps:
      - {id: g, uses: approval, with: {message: "ok?"}}
YAML
sed -i "s#STATE#$T#" "$T/cron.yaml"
cron_once() { "$ORCHD" --config "$T/cron.yaml" --listen "unix:$OD_SOCK" --once --now "$1" >>"$T/orchd.log" 2>&1 || fail "orchd --once failed"; }
cron_once 2026-03-01T23:58:00Z     # first sight: remembers the time, fires nothing
[ ! -e "$T/cron-notes" ] || fail "a schedule fired on first sight"
cron_once 2026-03-01T23:59:30Z     # 08:59:30 in Tokyo: not yet
[ ! -e "$T/cron-notes" ] || fail "fired before 09:00 Tokyo time"
cron_once 2026-03-02T00:00:20Z     # 09:00:20 in Tokyo: fires, and --once drives the run to its end
[ "$(cat "$T/cron-notes" 2>/dev/null)" = tokyo ] || fail "did not fire at 09:00 Asia/Tokyo"
cron_once 2026-03-02T00:00:40Z     # same slot: nothing new
[ "$(wc -l <"$T/cron-notes")" = 1 ] || fail "a slot fired twice"
o --json runs list --workflow gated
[ "$(jq_py "len(d)" <"$T/out")" = 1 ] || fail "hourly gated schedule did not fire once"
[ "$(jq_py "d[0]['state']" <"$T/out")" = waiting ] || fail "gated run not waiting"
cron_once 2026-03-02T01:00:30Z     # next hour: the previous gated run still waits: skipped
o --json runs list --workflow gated
[ "$(jq_py "len(d)" <"$T/out")" = 1 ] || fail "overlap: skip started another run"
python3 - "$ORCH_STATE_DIR/orch.db" <<'PY' || fail "no schedule.skipped event"
import sqlite3, sys
n = sqlite3.connect(sys.argv[1]).execute("select count(*) from events where type='schedule.skipped'").fetchone()[0]
assert n == 1, n
PY
sed 's/cron: "0 9 \* \* \*"/cron: "0 25 * * *"/' "$T/cron.yaml" >"$T/badcron.yaml"
o validate "$T/badcron.yaml"; expect_rc 2 "bad cron"
expect_out "badcron.yaml:6:11: schedule tokyo-nine: cron '0 25 * * *': bad hour field" "cron error names file:line:col"
pass "cron: time zone, once per slot, overlap skip, --once, bad cron named at file:line:col"

# --- cron mode serves no API: the configured port being taken (here by a
# listener of ours) does not stop a --max-ticks=N run; and the = form works.
python3 - "$T/busy.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
PY
T_PIDS+=($!)
for ((i = 0; i < 600; i++)); do [ -s "$T/busy.port" ] && break; sleep 0.1; done
[ -s "$T/busy.port" ] || fail "the port holder did not start"
sed "s/^worker: {tick: 100ms}/worker: {tick: 100ms}\nserver: {listen: \"127.0.0.1:$(cat "$T/busy.port")\"}/" \
  "$T/cron.yaml" >"$T/cron-port.yaml"
grep -q "listen: \"127.0.0.1:" "$T/cron-port.yaml" || fail "the test config lacks server.listen"
"$ORCHD" --config="$T/cron-port.yaml" --max-ticks=1 --now=2026-03-02T02:00:30Z >>"$T/orchd.log" 2>&1 ||
  { tail -5 "$T/orchd.log" >&2; fail "orchd --max-ticks=1 failed (it bound the API port)"; }
set +e; "$ORCHD" --config "$T/cron-port.yaml" --max-ticks=0 >"$T/mt.out" 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "positive number" "$T/mt.out" || fail "--max-ticks=0 accepted ($rc)"
set +e; "$ORCHD" --config "$T/cron-port.yaml" --once stray >"$T/mt.out" 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "unexpected argument 'stray'" "$T/mt.out" || fail "a stray argument accepted ($rc)"
pass "cron mode binds no port; --opt=value accepted"

# --- kill -9 mid-run, restart: nothing finished re-runs, everything completes
rm -rf "$ORCH_STATE_DIR"
od_config "$T/crash.yaml" <<'YAML'
version: 1
worker: {tick: 100ms, lease_ttl: 2s}
workflows:
  chain:
    steps:
      - {id: one, uses: exec, with: {run: "echo one >> STATE/count"}}
      - {id: two, uses: exec, needs: [one], with: {run: "echo two-start >> STATE/count; i=0; while [ ! -e STATE/release ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; echo two >> STATE/count"}}
      - {id: three, uses: exec, needs: [two], with: {run: "echo three >> STATE/count"}}
YAML
sed -i "s#STATE#$T#g" "$T/crash.yaml"
od_start "$T/crash.yaml"
for n in 1 2 3; do api POST /v1/runs '{"workflow":"chain"}'; expect_http 201 "start $n"; done
# Every run in step two (past step one, its success recorded; none can
# leave it before the release), so a re-run of one or three would be a bug,
# not a step killed mid-flight.
two_started() { [ "$(grep -c two-start "$T/count" 2>/dev/null)" -ge "$1" ]; }
wait_until "every run in step two" two_started 3
kill -9 "$OD_PID"; wait "$OD_PID" 2>/dev/null || true
touch "$T/release" # the orphaned commands of step two finish, as they would on a real host
od_start "$T/crash.yaml"
for id in $("$ORCH" --json runs list | jq_py "' '.join(r['id'] for r in d)"); do od_wait_run "$id" succeeded 60; done
[ "$(grep -c '^one$' "$T/count")" = 3 ] || fail "step one re-ran: $(cat "$T/count")"
[ "$(grep -c '^three$' "$T/count")" = 3 ] || fail "step three did not run exactly once per run: $(cat "$T/count")"
[ "$(grep -c '^two$' "$T/count")" -ge 3 ] || fail "step two did not complete for every run"
python3 - "$ORCH_STATE_DIR/orch.db" <<'PY' || fail "attempt rows"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# every run: one attempt of `one` and of `three`; a `two` left unknown was retried
for run, in db.execute("select id from runs"):
    rows = dict(((s, a), st) for s, a, st in db.execute(
        "select step_id, attempt, state from attempts where run_id=?", (run,)))
    assert rows[('one', 1)] == 3 and ('one', 2) not in rows, rows
    assert rows[('three', 1)] == 3 and ('three', 2) not in rows, rows
PY
od_stop
pass "kill -9 + restart: finished steps never re-ran, every run completed"

# --- graceful stop: in-flight steps marked unknown, runs back in the queue
rm -rf "$ORCH_STATE_DIR" "$T/count" "$T/release"
sed -i 's/lease_ttl: 2s}/lease_ttl: 2s, stop_grace: 300ms}/' "$T/crash.yaml"
od_start "$T/crash.yaml"
api POST /v1/runs '{"workflow":"chain"}'; C=$(resp "d['run']['id']")
wait_until "step two to start" grep -q two-start "$T/count"
od_stop
o --json runs show "$C"
[ "$(jq_py "d['state']" <"$T/out")" = queued ] || fail "run not handed back to the queue"
jq_py "[a['state'] for a in d['attempts'] if a['step']=='two']" <"$T/out" | grepq unknown || fail "in-flight step not marked unknown"
[ "$(jq_py "d['owner']" <"$T/out")" = None ] || fail "lease not released"
touch "$T/release"
od_start "$T/crash.yaml"
od_wait_run "$C" succeeded
od_stop
pass "graceful stop: unknown in-flight step, lease released, next daemon finishes the run"

# --- the reconciler reaps an instance no live run owns
WORK="$ORCH_STATE_DIR/work/i-leaked"
mkdir -p "$WORK/work"
python3 - "$ORCH_STATE_DIR/orch.db" "$C" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("select * from instances where run_id=?", (sys.argv[2],)).fetchone()
cols = [c[1] for c in db.execute("pragma table_info(instances)")]
rec = dict(zip(cols, row))
rec.update(id='i-leaked', state=2, backend_id='i-leaked', handle=None)
db.execute("insert into instances(%s) values(%s)" % (','.join(rec), ','.join('?' * len(rec))), list(rec.values()))
db.commit()
PY
od_start "$T/crash.yaml"
wait_until "the leaked instance to be reaped" test ! -d "$WORK"
[ ! -d "$WORK" ] && python3 - "$ORCH_STATE_DIR/orch.db" <<'PY' || fail "leaked instance not reaped"
import sqlite3, sys
st = sqlite3.connect(sys.argv[1]).execute("select state from instances where id='i-leaked'").fetchone()[0]
assert st == 4, st
PY
od_stop
pass "reconciler reaped a leaked instance of a finished run"
