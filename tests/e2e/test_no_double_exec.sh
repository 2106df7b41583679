# Never two copies of a step's command: after kill -9 of orch (then `orch
# resume`), of the orch-exec executor running the step (then its retry), and
# of orchd (then a new orchd adopting the run), the command the killed
# process left running is killed and confirmed gone before the step runs
# again. Each copy takes a lock (flock -n) that it and its children hold
# until they are all gone, and checks that no earlier copy is alive: either
# failing writes OVERLAP.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

. "$(dirname "$0")/../lib/no_double.sh"
trap 'nd_kill_copies; t_cleanup' EXIT

# case_dir NAME: a fresh directory for one case, with the step's script.
case_dir() {
  D="$T/$1"
  nd_step_script "$D"
}
check_case() { nd_check "$D" "$1"; }

# The executor running pid $1: its nearest ancestor named orch-exec.
executor_of() {
  local p=$1 comm
  while [ "$p" -gt 1 ]; do
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || return 1
    [ "$comm" = orch-exec ] && { echo "$p"; return 0; }
    p=$(sed 's/.*) //' "/proc/$p/stat" | cut -d' ' -f2)
  done
  return 1
}

# run_then_kill_orch: a one-step run of the case's script, orch killed
# (-9) once the command has started; the run's id in $id.
run_then_kill_orch() {
  cat >"$D/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "sh $D/step.sh"}}
YAML
  nd_run_then_kill_orch "$D"
}

# --- kill -9 orch mid-step, then orch resume
case_dir resume
run_then_kill_orch
alive "$(head -1 "$D/pids")" || fail "resume: the killed orch took its command along (nothing to test)"
touch "$D/release"
o resume "$id"
expect_rc 0 "resume finishes the run"
check_case resume
o runs events "$id"
expect_out "instance.commands_reaped" "the ledger records the reap"
pass "kill -9 orch, resume: the left command was killed before the re-run, no overlap"

# --- a record of an earlier boot names nothing alive: after a reboot pids
# and start times repeat, and a reap must not kill what now has them.
case_dir boot
run_then_kill_orch
first=$(head -1 "$D/pids")
rec=$(find "$ORCH_STATE_DIR" -path '*/.orch-cmds/*' -type f ! -name '*.tmp')
[ "$(echo "$rec" | wc -w)" = 1 ] || fail "boot: expected one command record, found: $rec"
boot=$(cat /proc/sys/kernel/random/boot_id)
grepq " $boot\$" "$rec" || fail "boot: the record does not carry this boot's id: $(cat "$rec")"
sed -i "s/ $boot\$/ 00000000-0000-4000-8000-000000000000/" "$rec"
touch "$D/release"
o resume "$id"
alive "$first" || fail "boot: a record of another boot killed a live process"
g=$(sed 's/.*) //' "/proc/$first/stat" | cut -d' ' -f3)
kill -9 -- "-$g" 2>/dev/null || true
pass "a command record of an earlier boot is not reaped"

# --- kill -9 the executor running the step: the retry waits for the reap
case_dir executor
cat >"$D/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - {id: s, uses: exec, retry: {attempts: 2, backoff: 10ms}, with: {run: "sh $D/step.sh"}}
YAML
"$ORCH" run "$D/wf.yaml" w >"$D/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$D/started.1" 60
xpid=$(executor_of "$(head -1 "$D/pids")") || fail "executor: no orch-exec above the command"
touch "$D/release" # the retry may finish; the first copy sleeps on
kill -9 "$xpid"
set +e; wait "$orch_pid"; rc=$?; set -e
[ "$rc" = 0 ] || { cat "$D/run.out" >&2; fail "executor: the run did not succeed on its retry ($rc)"; }
check_case executor
pass "kill -9 of the executor: the retry ran only after the first copy was gone"

# --- kill -9 orchd mid-step; a new orchd adopts the run
case_dir orchd
rm -rf "$ORCH_STATE_DIR"
od_config "$D/od.yaml" <<YAML
version: 1
worker: {tick: 100ms, lease_ttl: 2s}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "sh $D/step.sh"}}
YAML
od_start "$D/od.yaml"
api POST /v1/runs '{"workflow":"w"}'
expect_http 201 "start the run"
id=$(resp "d['run']['id']")
wait_file "$D/started.1" 60
kill -9 "$OD_PID"
wait "$OD_PID" 2>/dev/null || true
alive "$(head -1 "$D/pids")" || fail "orchd: the killed orchd took its command along (nothing to test)"
touch "$D/release"
od_start "$D/od.yaml"
od_wait_run "$id" succeeded 60
od_stop
check_case orchd
pass "kill -9 orchd, adoption: the left command was killed before the re-run, no overlap"
