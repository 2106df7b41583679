# A store read that fails decides nothing: `orch resume` stops with an
# error naming the store, the call and the run, and changes nothing (a
# failed attempt read used to re-run succeeded steps; a failed event read
# made a run started in proof mode continue for real). The store is
# store-faulty (tests/plugins): the real sqlite store behind a wrapper that
# fails one call on purpose.
. "$(dirname "$0")/../lib/common.sh"
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"
[ -e "$ORCH_TEST_PLUGIN_DIR/store-faulty.so" ] || fail "store-faulty.so is not built"

faulty() { # FILE SLOT [ROWS]
  cat >"$1" <<YAML
version: 1
store:
  uses: faulty
  migrate: on_start
  with:
    inner: $ORCH_PLUGIN_DIR/store-sqlite.so
    path: $T/state/orch.db
    fail: $2
    fail_rows: ${3:-0}
workflows:
  unused:
    steps: [{id: s, uses: exec, with: {run: "true"}}]
YAML
}
events_of() { "$ORCH" --json runs events "$1" | jq_py "len(d)"; }

cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: first
        uses: exec
        with:
          run: echo x >> $T/first.count
      - id: slow
        uses: exec
        needs: [first]
        with:
          run: echo \$\$ >> $T/slow.pids; touch $T/slow.started; [ -e $T/slow.release ] || sleep 600
YAML
"$ORCH" run "$T/wf.yaml" w >"$T/run1.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$T/slow.started" 60
id=$(last_run_id)
kill -9 "$orch_pid"
wait "$orch_pid" 2>/dev/null || true
for p in $(cat "$T/slow.pids"); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
touch "$T/slow.release"

before=$(events_of "$id")
for case in run_get:0 event_list:0 event_list:2 attempt_list:0 attempt_list:1 instance_list:0 flag_list:0; do
  slot=${case%:*} rows=${case#*:}
  faulty "$T/faulty.yaml" "$slot" "$rows"
  o --config "$T/faulty.yaml" resume "$id"
  expect_rc 2 "resume with $slot failing after $rows rows"
  expect_out "store-faulty: $slot of run $id failed: store-faulty: injected failure of $slot" \
    "the error names the store, the call and the run"
  [ "$(events_of "$id")" = "$before" ] || fail "resume with $slot failing wrote events"
  [ "$(run_state "$id")" = running ] || fail "resume with $slot failing moved the run to $(run_state "$id")"
  [ "$(wc -l <"$T/first.count")" -eq 1 ] || fail "first re-ran after a failed $slot"
done
pass "resume stops at a failed read of each kind, and changes nothing"

o resume "$id"
expect_rc 0 "resume with the store healthy again"
[ "$(wc -l <"$T/first.count")" -eq 1 ] || fail "first re-ran"
[ "$(run_state "$id")" = succeeded ] || fail "run is $(run_state "$id")"
pass "the run then resumes where it stopped"

# Proof mode survives a resume: a dry run whose second step is marked
# failed is resumed (rerun); with the event read failing it must not run
# for real.
cat >"$T/dry.yaml" <<YAML
version: 1
workflows:
  d:
    steps:
      - id: a
        uses: exec
        with:
          run: touch $T/real_a
      - id: b
        uses: exec
        needs: [a]
        with:
          run: touch $T/real_b
YAML
o run --dry-run "$T/dry.yaml" d
expect_rc 0 "the dry run"
dry=$(last_run_id)
python3 - "$T/state/orch.db" "$dry" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
assert c.execute("UPDATE runs SET state = 5 WHERE id = ?", (sys.argv[2],)).rowcount == 1
assert c.execute("UPDATE attempts SET state = 4 WHERE run_id = ? AND step_id = 'b'",
                 (sys.argv[2],)).rowcount == 1
c.commit()
PY
faulty "$T/faulty.yaml" event_list 0
o --config "$T/faulty.yaml" resume "$dry"
expect_rc 2 "resume of the dry run with the event read failing"
expect_out "event_list of run $dry failed" "names the call and the run"
[ ! -e "$T/real_b" ] && [ ! -e "$T/real_a" ] || fail "a step of the dry run ran for real"
o resume "$dry"
expect_rc 0 "resume of the dry run"
expect_out "would run" "b is planned again, not run"
[ ! -e "$T/real_b" ] && [ ! -e "$T/real_a" ] || fail "a step of the dry run ran for real"
pass "a dry run stays a dry run"
