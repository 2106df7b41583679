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

kill_copies() {
  local p g
  for p in $(cat "$T"/*/pids 2>/dev/null); do
    g=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f3) || continue
    [ -n "$g" ] && [ "$g" -gt 1 ] && kill -9 -- "-$g" 2>/dev/null || true
    kill -9 "$p" 2>/dev/null || true
  done
}
trap 'kill_copies; t_cleanup' EXIT

# case_dir NAME RETRY: a directory with the step's script and a workflow.
case_dir() {
  D="$T/$1"
  mkdir -p "$D"
  cat >"$D/step.sh" <<SH
exec 9>>"$D/lock"
if ! flock -n 9; then echo "OVERLAP: the lock is held, pid \$\$" >>"$D/overlap"; exit 1; fi
for p in \$(cat "$D/pids" 2>/dev/null); do
  st=\$(sed 's/.*) //' /proc/\$p/stat 2>/dev/null | cut -c1)
  if [ -n "\$st" ] && [ "\$st" != Z ]; then echo "OVERLAP: copy \$p is alive" >>"$D/overlap"; fi
done
echo \$\$ >>"$D/pids"
echo "\$\$ start" >>"$D/log"
n=\$(wc -l <"$D/pids")
touch "$D/started.\$n"
# The first copy sleeps until killed; a later one ends once released.
# (Deciding by the release file alone raced: a release touched just after
# started.1 let the first copy end on its own.)
if [ "\$n" = 1 ] || [ ! -e "$D/release" ]; then sleep 600; fi
echo "\$\$ end" >>"$D/log"
SH
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
  [ ! -e "$D/overlap" ] || fail "$1: $(cat "$D/overlap")"
  [ "$(grep -c ' start' "$D/log")" = 2 ] || fail "$1: expected two starts: $(cat "$D/log")"
  [ "$(grep -c ' end' "$D/log")" = 1 ] || fail "$1: expected one end: $(cat "$D/log")"
  first=$(head -1 "$D/pids")
  ! alive "$first" || fail "$1: the first copy ($first) is still running"
  [ -z "$(ls -A "$D/instances" 2>/dev/null)" ] || fail "$1: instances left: $(ls "$D/instances")"
}

# --- kill -9 orch mid-step, then orch resume
case_dir resume ""
"$ORCH" run "$D/wf.yaml" w >"$D/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$D/started.1" 60
id=$(last_run_id)
kill -9 "$orch_pid"
wait "$orch_pid" 2>/dev/null || true
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
