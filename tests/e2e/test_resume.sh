# Kill -9 orch in the middle of a run; `orch resume` re-runs exactly the
# steps that did not succeed, keeps the outputs of those that did, and a
# second resume while a driver is alive is refused.
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: first
        uses: exec
        with:
          run: echo x >> $T/first.count; echo one
          capture: true
      - id: slow
        uses: exec
        needs: [first]
        with:
          run: echo \$\$ >> $T/slow.pids; echo x >> $T/slow.count; touch $T/slow.started; [ -e $T/slow.release ] || sleep 600; echo slow done
      - id: last
        uses: exec
        needs: [slow]
        with:
          run: echo x >> $T/last.count; echo 'got \${{ steps.first.outputs.stdout }}'
YAML
"$ORCH" run "$T/wf.yaml" w >"$T/run1.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$T/slow.started" 60
id=$(last_run_id)

o resume "$id"
expect_rc 2 "resume refused while the first orch drives the run"
expect_out "is being driven by PID $orch_pid on" "the refusal names the driver"

kill -9 "$orch_pid"
wait "$orch_pid" 2>/dev/null || true
# The command of the killed attempt may outlive orch; stop it so the test
# sees only what resume does.
for p in $(cat "$T/slow.pids"); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done

touch "$T/slow.release"
o resume "$id"
expect_rc 0 "resume finishes the run"
expect_out "got one" "last saw first's output kept from before the crash"
[ "$(wc -l <"$T/first.count")" -eq 1 ] || fail "first re-ran after resume"
[ "$(wc -l <"$T/slow.count")" -eq 2 ] || fail "slow should run exactly twice, ran $(wc -l <"$T/slow.count")"
[ "$(wc -l <"$T/last.count")" -eq 1 ] || fail "last should run once"
[ "$(run_state "$id")" = succeeded ] || fail "run state after resume"
# The interrupted attempt is recorded as unknown, the new one as succeeded.
run_json "$id" | jq_py "[a['state'] for a in d['attempts'] if a['step']=='slow']" >"$T/slow.states"
grep -q "'unknown', 'succeeded'" "$T/slow.states" || fail "slow attempts: $(cat "$T/slow.states")"

o resume "$id"
expect_rc 2 "resuming a succeeded run is refused"
expect_out "already succeeded" "and says so"
pass "resume"
