# An instance whose ledger row says destroyed but that its backend still
# holds (here: a local instance directory re-created behind orch's back,
# found by list_owned through its orch labels) is destroyed and reported,
# by `orch gc` and by orchd's reconcile loop.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: a
        uses: exec
        with: {run: "touch $T/started; while [ ! -e $T/go ]; do sleep 0.1; done"}
YAML
work="$ORCH_STATE_DIR/work"
"$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$T/started" 60
inst=$(cd "$work" && ls -d i-* | head -1)
[ -n "$inst" ] && [ -f "$work/$inst/.orch-instance" ] || fail "no instance with a marker in $work"
cp -a "$work/$inst" "$T/saved"
touch "$T/go"
wait "$orch_pid" || { cat "$T/run.out" >&2; fail "the run failed"; }
id=$(last_run_id)
[ ! -e "$work/$inst" ] || fail "the run left its instance"
state_in_ledger() {
  python3 - "$ORCH_STATE_DIR/orch.db" "$inst" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select state from instances where id = ?", (sys.argv[2],)).fetchone()[0])
PY
}
[ "$(state_in_ledger)" = 4 ] || fail "the ledger row is $(state_in_ledger), not destroyed (4)"

# --- orch gc: nothing to do, then the re-created directory
o gc "$T/wf.yaml"
expect_rc 0 "gc with nothing left"
expect_out "0 leftover instances destroyed" "gc says it found nothing"
cp -a "$T/saved" "$work/$inst"
o gc "$T/wf.yaml"
expect_rc 0 "gc of a leftover"
expect_out "1 leftover instance destroyed" "gc reports what it destroyed"
expect_out "$inst" "gc names the instance"
[ ! -e "$work/$inst" ] || fail "orch gc left the re-created instance directory"
[ "$(state_in_ledger)" = 4 ] || fail "after gc the ledger row is $(state_in_ledger)"
o runs events "$id"
expect_out "instance.reaped" "the reap is in the run's ledger"
o --json gc "$T/wf.yaml" -c "$T/wf.yaml"
expect_rc 2 "gc given two configs"
o --json -c "$T/wf.yaml" gc
expect_rc 0 "gc, -c form, --json"
expect_out '"leftovers_reaped": 0' "the JSON count"
pass "orch gc destroys and reports an instance the ledger says is destroyed"

# --- orchd's reconcile loop
cp -a "$T/saved" "$work/$inst"
od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  tokens:
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms, reconcile_every: 200ms}
workflows:
  w:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF
od_start "$T/orchd.yaml"
gone() { [ ! -e "$work/$inst" ]; }
wait_until "orchd to destroy the re-created instance" gone
logged() { grep -q "instance $inst is destroyed in the ledger but backend local still has it" "$T/orchd.log"; }
wait_until "orchd to report the leftover" logged
od_stop
[ "$(state_in_ledger)" = 4 ] || fail "after reconcile the ledger row is $(state_in_ledger)"
pass "orchd's reconcile destroys and reports an instance the ledger says is destroyed"
