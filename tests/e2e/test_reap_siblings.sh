# An executor killed in one step does not take the commands of the steps
# running beside it on the same instance: the reap of what the dead
# executor left (it kills every command the instance recorded) waits until
# those steps are done, then the killed step runs again, alone. (The chaos
# test found it: the reap killed a sibling with signal 9, which failed a run
# that should have succeeded.)
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    concurrency: 2
    steps:
      - id: a
        uses: exec
        retry: {attempts: 3, backoff: 0}
        with: {run: "echo \$\$ >> $T/a.pids; touch $T/a.started; if [ -e $T/a.release ]; then exit 0; fi; sleep 600"}
      - id: b
        uses: exec
        with: {run: "echo \$\$ > $T/b.pid; i=0; while [ ! -e $T/b.release ] && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i+1)); done; echo b done"}
YAML
"$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$T/a.started" 60
wait_file "$T/b.pid" 60
id=$(last_run_id)
a1=$(head -1 "$T/a.pids")
T_PIDS+=("$a1")
ex=$(ps -o ppid= -p "$a1" | tr -d ' ')
[ "$(cat "/proc/$ex/comm")" = orch-exec ] || fail "a's parent $ex is not an executor"
kill -9 "$ex"
# The crash is recorded and the retry (no backoff) is due at once: a reap
# that does not wait for b kills it now, before b can see its release.
retrying() { "$ORCH" --json runs events "$id" | jq_py "any(e['type']=='step.retrying' for e in d)" | grepq True; }
wait_until "a's retry after its executor died" retrying
alive "$(cat "$T/b.pid")" || fail "b's command was killed beside a's dead executor"
touch "$T/a.release" "$T/b.release"
wait "$orch_pid" || fail "the run failed: $(cat "$T/run.out")"
[ "$(run_state "$id")" = succeeded ] || fail "run state $(run_state "$id")"
[ "$(attempts_of "$id" b)" = 1 ] && [ "$(state_of "$id" b)" = succeeded ] || fail "b: $(run_json "$id")"
[ "$(attempts_of "$id" a)" = 2 ] || fail "a ran $(attempts_of "$id" a) times: $(run_json "$id")"
! alive "$a1" || fail "a's first copy ($a1) outlived the reap"
pass "a dead executor's reap waits for the steps beside it, then the step runs again alone"
