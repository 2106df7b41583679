# Run retention on the embedded SQLite store: runs of each state made old
# by short limits (waited for with a deadline), then orch gc --dry-run
# (the list, nothing removed), orch gc (exactly the old ended runs gone
# with their logs, events and artifact blobs; a young run, a waiting run
# and a run of a state with a long limit kept; the database file smaller
# after the incremental vacuum), artifacts: alone (the run stays, its
# artifact reads as expired), bad values as file:line:col errors, and
# orchd's sweep doing the same and counting it in /metrics.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
command -v sqlite3 >/dev/null || python3 -c 'import sqlite3' || fail "python3's sqlite3 is needed"
DB="$ORCH_STATE_DIR/orch.db"
head -c 200000 /dev/urandom >"$T/art.bin"
workflows='defaults:
  host_paths: ["'"$T"'"]
workflows:
  ok:
    steps:
      - {id: big, uses: exec, with: {run: "head -c 1500000 /dev/zero | tr \"\\\\0\" x"}}
      - {id: keep, uses: file, with: {action: copy, from: "host:'"$T"'/art.bin", to: "artifact:out/art.bin"}}
  bad:
    steps:
      - {id: no, uses: exec, with: {run: "echo failing; exit 3"}}
  gated:
    steps:
      - {id: gate, uses: approval, with: {message: "go?"}}'
printf 'version: 1\n%s\n' "$workflows" >"$T/wf.yaml"
ret_config() { # FILE RETENTION-FLOW-MAPPING
  printf 'version: 1\nretention: %s\n%s\n' "$2" "$workflows" >"$1"
}
sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join(map(str,r)) for r in c.execute(sys.argv[2])))' "$DB" "$1"; }
# The file's size once the WAL is in it: what the disk holds for the store.
db_size() {
  sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  stat -c %s "$DB"
}

# --- 1. Bad values are config errors at their place.
ret_config "$T/e1.yaml" "{succeeded: 0s}"
o validate "$T/e1.yaml"
expect_rc 2 "retention 0s"
expect_out "e1.yaml:2:" "the error's place"
expect_out "retention: succeeded: a duration greater than 0" "the message"
ret_config "$T/e2.yaml" "{failed: soon}"
o validate "$T/e2.yaml"
expect_rc 2 "retention not a duration"
expect_out "retention: failed: 'soon' is not a duration" "the message"
ret_config "$T/e3.yaml" "{succeded: 1d}"
o validate "$T/e3.yaml"
expect_rc 2 "an unknown key"
expect_out "did you mean 'succeeded'" "the suggestion"
pass "bad retention values are file:line:col errors"

# --- 2. Runs of each state.
o run "$T/wf.yaml" ok; expect_rc 0 "ok"
R_OK=$(last_run_id)
o run "$T/wf.yaml" bad; expect_rc 1 "bad"
R_BAD=$(last_run_id)
o run "$T/wf.yaml" gated; expect_rc 0 "gated parks"
R_CAN=$(last_run_id)
o runs cancel "$R_CAN"; expect_rc 0 "cancel"
o run "$T/wf.yaml" gated; expect_rc 0 "gated parks"
R_WAIT=$(last_run_id)
[ "$(run_state "$R_CAN")" = cancelled ] && [ "$(run_state "$R_WAIT")" = waiting ] ||
  fail "states: $(run_state "$R_CAN") $(run_state "$R_WAIT")"
[ "$(sql "PRAGMA auto_vacuum")" = 2 ] || fail "a new database is not auto_vacuum=INCREMENTAL"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'runs/$R_OK/%'")" = 1 ] || fail "no blob"

# The clock is the test's: T1, taken once the old runs ended and before
# the young one starts, plus a day is gc's --now, so with limits of a day
# the cutoff is T1 itself, whatever the machine's load makes of the time
# between the steps below. Cancelled runs keep 30 days.
T1=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
AT=$(python3 -c 'import sys,datetime as d; t=d.datetime.strptime(sys.argv[1][:26]+"Z","%Y-%m-%dT%H:%M:%S.%fZ")+d.timedelta(days=1); print(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))' "$T1")
ret_config "$T/gc.yaml" "{succeeded: 1d, failed: 1d, cancelled: 30d}"
# A young run of the same workflow, after T1.
o run "$T/wf.yaml" ok; expect_rc 0 "young ok"
R_YOUNG=$(last_run_id)
o gc --now "$AT"
expect_rc 2 "--now without a FILE"
o gc --now yesterday "$T/gc.yaml"
expect_rc 2 "--now not a time"
expect_out "--now wants a UTC time" "the message"

# --- 3. --dry-run: the list, nothing removed.
"$ORCH" --json gc --dry-run --now "$AT" "$T/gc.yaml" >"$T/dry.json" || fail "gc --dry-run --json"
o gc --dry-run --now="$AT" "$T/gc.yaml"
expect_rc 0 "gc --dry-run"
expect_out "gc: would delete run $R_OK (ok, succeeded" "the succeeded run listed"
expect_out "gc: would delete run $R_BAD (bad, failed" "the failed run listed"
expect_out "2 runs would be deleted" "the count"
expect_out "(dry run: nothing removed)" "said"
expect_no_out "$R_YOUNG" "the young run"
expect_no_out "$R_CAN" "the cancelled run (1d)"
expect_no_out "$R_WAIT" "the waiting run"
[ "$(jq_py "[r['blobs'] for r in d['retention']['list'] if r['run']=='$R_OK'][0]" <"$T/dry.json")" = 1 ] ||
  fail "the dry run does not count the run's blob: $(cat "$T/dry.json")"
[ "$(run_state "$R_OK")" = succeeded ] && [ "$(run_state "$R_BAD")" = failed ] ||
  fail "--dry-run removed a run"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'runs/$R_OK/%'")" = 1 ] ||
  fail "--dry-run removed a blob"
pass "gc --dry-run lists exactly the old ended runs and removes nothing"

# --- 4. gc: exactly those runs gone, with everything of theirs.
before=$(db_size)
logs_ok=$(sql "SELECT sum(length(data)) FROM logs WHERE run_id='$R_OK'")
[ "$logs_ok" -ge 1500000 ] || fail "the big step's log is $logs_ok bytes"
o --json gc --now "$AT" "$T/gc.yaml"
expect_rc 0 "gc"
cp "$T/out" "$T/gc.json"
after=$(db_size)
rep() { jq_py "d['retention']['$1']" <"$T/gc.json"; }
[ "$(rep runs)" = 2 ] && [ "$(rep blobs)" = 1 ] && [ "$(rep errors)" = 0 ] ||
  fail "gc report: $(cat "$T/gc.json")"
[ "$(rep log_bytes)" -ge "$logs_ok" ] || fail "log bytes: $(rep log_bytes) < $logs_ok"
[ "$(rep events)" -gt 4 ] && [ "$(rep attempts)" = 3 ] || fail "events/attempts: $(cat "$T/gc.json")"
[ "$(rep reclaimed_bytes)" -gt 1000000 ] || fail "reclaimed: $(rep reclaimed_bytes)"
for r in "$R_OK" "$R_BAD"; do
  for t in runs:id attempts:run_id events:run_id logs:run_id; do
    [ "$(sql "SELECT count(*) FROM ${t%%:*} WHERE ${t##*:}='$r'")" = 0 ] ||
      fail "run $r still has rows in ${t%%:*}"
  done
  [ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'runs/$r/%'")" = 0 ] || fail "blobs of $r left"
  o runs show "$r"
  [ "$RC" -ne 0 ] || fail "orch runs show finds the deleted run $r"
done
for r in "$R_YOUNG" "$R_CAN" "$R_WAIT"; do
  o runs show "$r"; expect_rc 0 "a kept run ($r)"
done
[ "$(run_state "$R_WAIT")" = waiting ] || fail "the waiting run changed"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'runs/$R_YOUNG/%'")" = 1 ] ||
  fail "the young run's blob went"
o runs logs "$R_YOUNG" big; expect_rc 0 "the young run's logs"
[ "$after" -lt "$((before - 1000000))" ] ||
  fail "the database did not shrink: $before bytes before, $after after"
echo "database: $before bytes before gc, $after after (reclaimed $(rep reclaimed_bytes))"
pass "gc deletes exactly the old ended runs with their rows and blobs; the file shrank $before -> $after"

# --- 5. artifacts: the blobs go, the run stays, the artifact reads as expired.
ret_config "$T/art.yaml" "{artifacts: 1d}"
AT2=$(python3 -c 'import sys,datetime as d; t=d.datetime.strptime(sys.argv[1],"%Y-%m-%dT%H:%M:%S.%fZ")+d.timedelta(days=1); print(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))' "$AT")
# At AT the young run is younger than a day: its artifacts stay.
"$ORCH" --json gc --dry-run --now "$AT" "$T/art.yaml" >"$T/adry.json" || fail "gc --dry-run artifacts"
jq_py "any(r['run']=='$R_YOUNG' for r in d['retention']['list'])" <"$T/adry.json" | grepq False ||
  fail "the young run's artifacts expire before their time: $(cat "$T/adry.json")"
"$ORCH" --json gc --dry-run --now "$AT2" "$T/art.yaml" >"$T/adry.json" || fail "gc --dry-run artifacts"
jq_py "any(r['run']=='$R_YOUNG' and r['action']=='expire_artifacts' for r in d['retention']['list'])" <"$T/adry.json" | grepq True ||
  fail "the young run's artifacts are not listed: $(cat "$T/adry.json")"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'runs/$R_YOUNG/%'")" = 1 ] ||
  fail "--dry-run expired an artifact"
o gc --now "$AT2" "$T/art.yaml"
expect_rc 0 "gc artifacts"
expect_out "gc: expired 1 artifacts of run $R_YOUNG" "listed"
[ "$(run_state "$R_YOUNG")" = succeeded ] || fail "the run went with its artifacts"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'runs/$R_YOUNG/%'")" = 0 ] || fail "the blob stayed"
o runs artifact "$R_YOUNG" out/art.bin --output "$T/got.bin"
[ "$RC" -ne 0 ] || fail "an expired artifact was served"
expect_out "expired at" "the answer says it expired"
expect_no_out "changed in its store" "not a changed blob"
"$ORCH" --json runs artifacts "$R_YOUNG" | jq_py "d[0]['expired']" | grepq "Z" ||
  fail "the list does not mark the artifact expired"
o --json gc --now "$AT2" "$T/art.yaml"
[ "$(jq_py "d['retention']['artifact_runs']" <"$T/out")" = 0 ] || fail "expired twice: $(cat "$T/out")"
pass "artifacts: removes the blobs only, the ledger says expired, once"

# --- 5b. A store without the retention capability (store-faulty declares
# none, as an ABI 1.2 store): gc says so and removes nothing.
[ -e "$ORCH_TEST_PLUGIN_DIR/store-faulty.so" ] || fail "store-faulty.so is not built"
printf 'version: 1\nstore:\n  uses: faulty\n  with: {inner: %s, path: %s}\nretention: {succeeded: 1s}\n%s\n' \
  "$ORCH_PLUGIN_DIR/store-sqlite.so" "$DB" "$workflows" >"$T/old.yaml"
runs_before=$(sql "SELECT count(*) FROM runs")
ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR" o gc --now "$AT2" "$T/old.yaml"
expect_rc 1 "gc on a store without retention"
expect_out "store faulty cannot delete runs (ABI 1.3 capability retention)" "the store named"
[ "$(sql "SELECT count(*) FROM runs")" = "$runs_before" ] || fail "a store without retention lost runs"
pass "a store without the retention capability: gc says which and removes nothing"

# --- 6. orchd sweeps: at start (retention_every), logs and counts it.
o run "$T/wf.yaml" bad; expect_rc 1 "bad for orchd"
R_BAD2=$(last_run_id)
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms, retention_every: 1s}
retention: {failed: 1s, cancelled: 1d}
$workflows
EOF
# common.sh quiets info lines; the sweep's report is one.
ORCH_LOG_LEVEL=warn,retention=info od_start "$T/orchd.yaml"
gone() { [ "$(sql "SELECT count(*) FROM runs WHERE id='$R_BAD2'")" = 0 ]; }
wait_until "orchd's sweep to delete the failed run" gone
logged() { grep "\"component\":\"retention\"" "$T/orchd.log" | grepq "\"msg\":\"removed 1 runs (1 attempts"; }
wait_until "orchd to log what its sweep removed" logged
api GET /metrics "" reader
expect_http 200 "metrics"
cp "$T/resp" "$T/metrics"
grep -q '^# TYPE orch_retention_runs_deleted_total counter' "$T/metrics" || fail "no TYPE line"
grep -q '^# HELP orch_retention_runs_deleted_total ' "$T/metrics" || fail "no HELP line"
n=$(sed -n 's/^orch_retention_runs_deleted_total \([0-9]*\)$/\1/p' "$T/metrics")
[ "${n:-0}" -ge 1 ] || fail "orch_retention_runs_deleted_total is '$n'"
for r in "$R_YOUNG" "$R_CAN" "$R_WAIT"; do
  [ "$(sql "SELECT count(*) FROM runs WHERE id='$r'")" = 1 ] || fail "orchd deleted $r"
done
od_stop
pass "orchd's sweep deletes the old failed run and counts it in /metrics"
