# SIGINT cancels a run: the step's whole process group is killed, the run
# is recorded as cancelled, orch exits 130 (128 + SIGINT, as shells expect
# of an interrupted command), and no instance is left behind.
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: long
        uses: exec
        with:
          run: sleep 300 & echo \$! >> $T/pids; echo \$\$ >> $T/pids; touch $T/started; wait
      - id: never
        uses: exec
        needs: [long]
        with: {run: "touch $T/never.ran"}
YAML
"$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 &
pid=$!
T_PIDS+=("$pid")
wait_file "$T/started" 60
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 130 ] || { cat "$T/run.out"; fail "orch exited $rc after SIGINT, expected 130"; }
expect_dead_pids "$T/pids" "cancel kills the step's processes"
[ ! -e "$T/never.ran" ] || fail "a step after the cancelled one ran"
id=$(last_run_id)
[ "$(run_state "$id")" = cancelled ] || fail "run state $(run_state "$id")"
[ -z "$(ls -A "$ORCH_STATE_DIR/work" 2>/dev/null)" ] || fail "instance dir left after cancel"
pass "cancel"
