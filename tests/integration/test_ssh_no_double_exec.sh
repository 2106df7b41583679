# backend-ssh: never two copies of a step's command on the SSH host. After
# kill -9 of orch (then `orch resume`) and of the executor running the step
# (then its retry), the command left running on the host is killed and
# confirmed gone before the step runs again. Each copy takes a lock
# (flock -n) that it and its children hold until all are gone, and checks
# that no earlier copy is alive: either failing writes OVERLAP. The test
# sshd runs on this host (its /bin/sh is dash), so /proc shows the copies.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SSH_DIR:?the test sshd is not running: run scripts/test.sh, which starts it}"
port=${ORCH_SSH_PORT:-2222}
export ORCH_SECRET_SSH_KEY="$(cat "$ORCH_SSH_DIR/client_ed25519")"

. "$(dirname "$0")/../lib/no_double.sh"
trap 'nd_kill_copies; t_cleanup' EXIT

# case_dir NAME RETRY: a directory with the step's script and a workflow.
case_dir() {
  D="$T/$1"
  nd_step_script "$D"
  cat >"$D/wf.yaml" <<YAML
version: 1
backends:
  host:
    uses: ssh
    with:
      host: 127.0.0.1
      port: $port
      private_key: \${{ secrets.SSH_KEY }}
      known_hosts: $ORCH_SSH_DIR/known_hosts
      root: $D/instances
workflows:
  w:
    steps:
      - {id: s, uses: exec, $2 with: {run: "sh $D/step.sh"}}
YAML
}

check_case() {
  nd_check "$D" "$1"
  [ -z "$(ls -A "$D/instances" 2>/dev/null)" ] || fail "$1: instances left: $(ls "$D/instances")"
}

# --- kill -9 orch mid-step, then orch resume
case_dir resume ""
nd_run_then_kill_orch "$D"
alive "$(head -1 "$D/pids")" || fail "resume: the command died with orch (nothing to test)"
touch "$D/release"
o resume "$id"
expect_rc 0 "resume finishes the run"
check_case resume
pass "ssh: kill -9 orch, resume: the command left on the host was killed before the re-run"

# --- kill -9 the executors of orch mid-step: the retry waits for the reap
case_dir executor "retry: {attempts: 2, backoff: 10ms},"
"$ORCH" run "$D/wf.yaml" w >"$D/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$D/started.1" 60
touch "$D/release" # the retry may finish; the first copy sleeps on
xpids=$(pgrep -P "$orch_pid" -x orch-exec) || fail "executor: orch has no orch-exec child"
kill -9 $xpids
set +e; wait "$orch_pid"; rc=$?; set -e
[ "$rc" = 0 ] || { cat "$D/run.out" >&2; fail "executor: the run did not succeed on its retry ($rc)"; }
check_case executor
pass "ssh: kill -9 of the executor: the retry ran only after the first copy was gone"
