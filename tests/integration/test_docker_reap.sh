# Never two copies of a command on backend-docker: orch is killed with
# SIGKILL while a step's command runs in its container (the command goes
# on: the engine knows nothing of the caller's death); `orch resume`
# re-attaches the container and must end that command, and confirm it
# gone, before the step runs again. Each copy takes a lock inside the
# container (flock -n, held by it and its children) and checks that no
# earlier copy lives; either failing writes OVERLAP. A Debian image, whose
# /bin/sh is dash. A second case kills the executor running the step, and
# the step's retry must wait for the same reap.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"
IMAGE=orch-base/debian:bookworm # made by scripts/services/docker-base.sh
tag="reap$$-$RANDOM"
trap 'for c in $(d_containers "orch.test=$tag"); do d_api -X DELETE "http://d/containers/$c?force=1" >/dev/null || true; done; t_cleanup' EXIT

# case_dir NAME: a directory bound into the container as /shared, with the
# step's script.
case_dir() {
  D="$T/$1"
  mkdir -p "$D"
  chmod 777 "$D"
  cat >"$D/step.sh" <<'SH'
exec 9>>/tmp/reap.lock
if ! flock -n 9; then echo "OVERLAP: the lock is held, pid $$" >>/shared/overlap; exit 1; fi
for p in $(cat /shared/pids 2>/dev/null); do
  st=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -c1)
  if [ -n "$st" ] && [ "$st" != Z ]; then echo "OVERLAP: copy $p is alive" >>/shared/overlap; fi
done
[ ! -e /pwned ] && [ ! -e /tmp/.orch-exec/pwned ] || echo "a record's name was run" >>/shared/overlap
echo $$ >>/shared/pids
echo "$$ start" >>/shared/log
touch /shared/started.$(wc -l </shared/pids)
if [ ! -e /shared/release ]; then sleep 600; fi
echo "$$ end" >>/shared/log
SH
  cat >"$D/wf.yaml" <<YAML
version: 1
backends:
  b:
    uses: docker
    with:
      socket: $ORCH_DOCKER_SOCKET
      image: $IMAGE
      pull: never
      network: none
      binds: ["$D:/shared"]
      labels: {orch.test: "$tag"}
      kill_grace: 1s
workflows:
  w:
    steps:
      - {id: s, uses: exec, on_unknown: retry, ${2:-}with: {run: "sh /shared/step.sh"}}
YAML
}

# check_case WHAT: two copies started, one ended, no overlap.
check_case() {
  [ ! -e "$D/overlap" ] || fail "$1: $(cat "$D/overlap")"
  [ "$(grep -c ' start' "$D/log")" = 2 ] || fail "$1: expected two starts: $(cat "$D/log")"
  [ "$(grep -c ' end' "$D/log")" = 1 ] || fail "$1: expected one end: $(cat "$D/log")"
}

# The container of this case's run and whether pid $2 (of the container's
# namespace) lives in it, asked inside it.
in_container() { # CONTAINER SCRIPT
  local id
  id=$(d_api -X POST -H 'Content-Type: application/json' "http://d/containers/$1/exec" \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"Cmd": ["sh", "-c", sys.argv[1]], "AttachStdout": True, "AttachStderr": True}))' "$2")" |
    jq_py "d['Id']")
  d_api -X POST -H 'Content-Type: application/json' "http://d/exec/$id/start" -d '{"Detach":false,"Tty":false}' |
    tr -cd '[:print:]\n'
}

# --- kill -9 orch (and its executors) mid-step, then orch resume
case_dir resume
setsid "$ORCH" run "$D/wf.yaml" w >"$D/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$D/started.1" 60
id=$(last_run_id)
kill -9 -- "-$orch_pid"
wait "$orch_pid" 2>/dev/null || true
c=$(d_containers "orch.test=$tag")
[ -n "$c" ] || fail "resume: no container after the kill"
first=$(head -1 "$D/pids")
out=$(in_container "$c" "kill -0 $first && echo alive; ls /tmp/.orch-exec")
case "$out" in *alive*) ;; *) fail "resume: the killed orch took its command along (nothing to test): $out" ;; esac
case "$out" in *.*) ;; *) fail "resume: no record of the running command in /tmp/.orch-exec: $out" ;; esac
# Hostile records of a dead owner (the container's commands can write
# there): pid 1, a negative pid, garbage, a name the shell would run.
# The reap must leave the container's init alone (the re-run needs the
# container) and run no name.
in_container "$c" 'cd /tmp/.orch-exec && echo "1 0" >000000000000.1.1.aaaaaaaaaaaaaaaa &&
  echo "-1 5" >000000000000.1.1.bbbbbbbbbbbbbbbb && echo "x y" >000000000000.1.1.cccccccccccccccc &&
  touch "000000000000.1.1.d;touch pwned" && echo planted' | grepq planted || fail "resume: planting records failed"
touch "$D/release"
o resume "$id"
expect_rc 0 "resume finishes the run"
check_case resume
o runs events "$id"
expect_out "instance.commands_reaped" "the ledger records the reap"
pass "docker: kill -9 orch, resume: the left command was killed before the re-run, no overlap"

# --- kill -9 of the executor running the step: the retry waits for the reap
case_dir executor "retry: {attempts: 2, backoff: 10ms}, "
"$ORCH" run "$D/wf.yaml" w >"$D/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$D/started.1" 60
xpid=
for p in $(pgrep -P "$orch_pid"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = orch-exec ] && xpid="$xpid $p"; done
[ -n "$xpid" ] || fail "executor: no orch-exec under orch $orch_pid"
touch "$D/release" # the retry may finish; the first copy sleeps on
# Every executor: the one in the step's exec is among them.
kill -9 $xpid
set +e; wait "$orch_pid"; rc=$?; set -e
[ "$rc" = 0 ] || { cat "$D/run.out" >&2; fail "executor: the run did not succeed on its retry ($rc)"; }
check_case executor
pass "docker: kill -9 of the executor: the retry ran only after the first copy was gone"

[ -z "$(d_containers "orch.test=$tag")" ] || fail "a container outlived its run"
pass "docker: no container left"
