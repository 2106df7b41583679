# A local instance whose create was killed part-way is never leaked: the
# backend builds it under a staging name and renames it into place when
# whole, list_owned reports a staging directory by the id in its name, and
# resume reaps it by its orch.instance label. (The marker was written
# through buffered stdio after the directory: a kill in between left a
# directory that nothing found again.)
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: a
        uses: exec
        with: {run: "if [ -e $T/release ]; then exit 0; fi; echo \$\$ >$T/cmd.pid; touch $T/started; exec sleep 299"}
YAML
"$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$T/started" 60
id=$(last_run_id)
work="$ORCH_STATE_DIR/work"
inst=$(cd "$work" && ls -d i-* | head -1)
[ -n "$inst" ] && [ -f "$work/$inst/.orch-instance" ] || fail "no instance with a marker in $work"
kill -9 "$orch_pid"
wait "$orch_pid" 2>/dev/null || true
# The command outlives the killed engine today (another issue); end it here.
kill -9 "$(cat "$T/cmd.pid")" 2>/dev/null || true
# Put the instance back into the state a create killed mid-way leaves: the
# staging directory without a whole marker, the ledger row still creating.
mv "$work/$inst" "$work/.$inst.creating"
: >"$work/.$inst.creating/.orch-instance"
python3 - "$ORCH_STATE_DIR/orch.db" "$inst" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("update instances set state = 1, backend_id = null where id = ?", (sys.argv[2],))
db.commit()
PY
touch "$T/release"
o resume "$id"
expect_rc 0 "resume finishes the run"
[ "$(run_state "$id")" = succeeded ] || fail "run state $(run_state "$id")"
left=$(ls -A "$work")
[ -z "$left" ] || fail "instance directories left behind: $left"
"$ORCH" runs events "$id" >"$T/ev"
grep -q "instance.reaped\|instance.destroyed\|reap" "$T/ev" || { cat "$T/ev" >&2; fail "no reap recorded"; }
pass "a create killed part-way leaves nothing behind"
