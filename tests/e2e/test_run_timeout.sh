# A workflow's timeout: ends the whole run: the step in flight is killed,
# the steps after it never start, the instance is torn down, the run fails
# with the reason recorded. Its clock belongs to the run, not to the
# process: a resume after a kill -9 keeps it (a run past its deadline
# fails at once, re-running nothing), the time parked waiting for a
# decision does not count, and a re-run (orch resume of a failed run)
# starts it again.
. "$(dirname "$0")/../lib/common.sh"

# ms since the epoch
now_ms() { date +%s%3N; }
# past_ms MS: true once the clock is past MS
past_ms() { [ "$(now_ms)" -gt "$1" ]; }
# lines FILE: how many lines FILE has (0 when it does not exist)
lines() { [ -e "$1" ] && wc -l <"$1" || echo 0; }

cat >"$T/slow.yaml" <<YAML
version: 1
workflows:
  slow:
    timeout: 3s
    steps:
      - id: a
        uses: exec
        with:
          # Sleeps unless told not to (the re-run below).
          run: |
            echo "\$\$" >> $T/a.starts
            [ -e $T/quick ] || { sleep 300 & echo \$! >> $T/pids; echo \$\$ >> $T/pids; wait; }
      - id: b
        uses: exec
        needs: [a]
        with: {run: "touch $T/b.ran"}
YAML

# 1. The timeout ends a run whose step would run for 5 minutes.
o run "$T/slow.yaml" slow
expect_rc 1 "a run past its timeout fails"
expect_out "run timed out: workflow slow's timeout of 3s passed" "the reason, in the run's end"
expect_out "b cancelled: run timed out before the step started" "the step after it, said why"
id=$(last_run_id)
[ "$(run_state "$id")" = failed ] || fail "run state $(run_state "$id"), want failed"
run_json "$id" >"$T/out"
expect_out "run timed out: workflow slow" "the reason stored with the run"
[ "$(state_of "$id" a)" = cancelled ] || fail "step a is $(state_of "$id" a), want cancelled"
expect_dead_pids "$T/pids" "the step's command killed"
[ ! -e "$T/b.ran" ] || fail "the step after the timed-out one ran"
[ -z "$(ls -A "$ORCH_STATE_DIR/work" 2>/dev/null)" ] || fail "an instance left after the timeout"
"$ORCH" runs events "$id" >"$T/out"
expect_out "run.timed_out" "the ledger says the run timed out"
pass "the workflow's timeout fails the run, kills its step, tears the instance down"

# 2. A re-run starts the clock again: a new 3 s, in which it succeeds.
touch "$T/quick"
o resume "$id"
expect_rc 0 "a re-run of the timed-out run"
[ "$(run_state "$id")" = succeeded ] || fail "re-run state $(run_state "$id")"
[ -e "$T/b.ran" ] || fail "the re-run did not reach b"
pass "a re-run of a timed-out run has a timeout of its own"
rm -f "$T/quick" "$T/pids" "$T/a.starts" "$T/b.ran"

# 3. kill -9 of the process driving it: the resume keeps the run's clock.
# Resumed after the deadline, the run fails at once: its step is not run
# again and the command the dead process left is stopped.
start=$(now_ms)
"$ORCH" run "$T/slow.yaml" slow >"$T/run.out" 2>&1 &
pid=$!
T_PIDS+=("$pid")
wait_file "$T/pids" 60
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
id=$(last_run_id)
# The clock began at the run's start, before `start` was read plus the
# time to reach the step: past start + 3 s + a margin, it has passed.
wait_until "the run's deadline to pass" past_ms $((start + 4000))
o resume "$id"
expect_rc 1 "resumed past its deadline"
expect_out "run timed out" "the resume says why"
[ "$(lines "$T/a.starts")" = 1 ] || fail "step a ran $(lines "$T/a.starts") times: a resume past the deadline re-ran it"
[ "$(run_state "$id")" = failed ] || fail "state $(run_state "$id")"
expect_dead_pids "$T/pids" "the command left by the killed process is stopped"
pass "a resume after kill -9 keeps the run's clock: past its deadline it ends, re-running nothing"

# 4. Parked for a decision longer than the timeout: the wait does not
# count. The run drives for well under its 8 s, waits 9 s, then goes on.
cat >"$T/gate.yaml" <<YAML
version: 1
workflows:
  gated:
    timeout: 8s
    steps:
      - {id: gate, uses: approval, with: {message: "go?"}}
      - {id: after, uses: exec, needs: [gate], with: {run: "touch $T/after.ran"}}
YAML
start=$(now_ms)
o run "$T/gate.yaml" gated
expect_rc 0 "a run parks at its approval"
id=$(last_run_id)
[ "$(run_state "$id")" = waiting ] || fail "state $(run_state "$id"), want waiting"
wait_until "longer than the timeout to pass" past_ms $((start + 9000))
o runs approve "$id" gate --comment ok
expect_rc 0 "approve"
o resume "$id"
expect_rc 0 "resumed after the decision"
[ "$(run_state "$id")" = succeeded ] || { cat "$T/out"; fail "state $(run_state "$id"): the parked time counted"; }
[ -e "$T/after.ran" ] || fail "the step after the gate did not run"
pass "time parked waiting for a decision does not count against the run's timeout"

# 5. Bad values are refused by validate, with the place.
printf 'version: 1\nworkflows:\n  w:\n    timeout: soon\n    steps:\n      - {id: a, uses: exec, with: {run: "true"}}\n' >"$T/bad.yaml"
o validate "$T/bad.yaml"
expect_rc 2 "a timeout that is not a duration"
expect_out "bad.yaml:4:" "names the line"
expect_out "timeout" "names the key"
pass "a timeout that is not a duration is refused with its place"
