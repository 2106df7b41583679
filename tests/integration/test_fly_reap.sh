# Never two copies of a command on backend-fly-machines, against the
# Machines API stand-in (a machine is a container of a Debian image whose
# /bin/sh is dash): orch is killed with SIGKILL while a step's command runs
# on its machine, and the exec goes on there (as Fly's does when its
# client goes away); `orch resume` re-attaches the machine and must end
# that command, and confirm it gone, before the step runs again. Each copy
# takes a lock on the machine (flock -n, held by it and its children) and
# checks that no earlier copy lives; either failing prints OVERLAP and
# fails the step.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"
FLY_IMAGE=orch-base/debian:bookworm # made by scripts/services/docker-base.sh
: "${ORCH_FLY_URL:?the Fly stand-in is not running: run scripts/test.sh, which starts it}"
app="orch-fly-reap-$$"
export ORCH_SECRET_FLY_API_TOKEN="$ORCH_FLY_TOKEN"

# A shell script run in container $1 (the machine), its output.
in_machine() { # CONTAINER SCRIPT
  local id
  id=$(d_api -X POST -H 'Content-Type: application/json' "http://d/containers/$1/exec" \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"Cmd": ["sh", "-c", sys.argv[1]], "AttachStdout": True, "AttachStderr": True}))' "$2")" |
    jq_py "d['Id']")
  d_api -X POST -H 'Content-Type: application/json' "http://d/exec/$id/start" -d '{"Detach":false,"Tty":false}' |
    tr -cd '[:print:]\n'
}

cat >"$T/wf.yaml" <<EOF
version: 1
backends:
  fly:
    uses: fly-machines
    with:
      api_url: $ORCH_FLY_URL
      token: \${{ secrets.FLY_API_TOKEN }}
      app: $app
      create_app: true
      image: $FLY_IMAGE
      kill_grace: 1s
workflows:
  w:
    steps:
      - id: s
        uses: exec
        on_unknown: retry
        with:
          run: |
            mkdir -p /tmp/reap; cd /tmp/reap
            exec 9>>lock
            if ! flock -n 9; then echo "OVERLAP: the lock is held, pid \$\$"; exit 1; fi
            for p in \$(cat pids 2>/dev/null); do
              st=\$(sed 's/.*) //' /proc/\$p/stat 2>/dev/null | cut -c1)
              if [ -n "\$st" ] && [ "\$st" != Z ]; then echo "OVERLAP: copy \$p is alive"; exit 1; fi
            done
            echo \$\$ >>pids
            echo "copy \$(wc -l <pids) started"
            touch started.\$(wc -l <pids)
            if [ ! -e release ]; then sleep 600; fi
            echo "copy \$(wc -l <pids) ended"
EOF

setsid "$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
c=
for _ in $(seq 600); do
  c=$(d_containers "fly-app=$app")
  [ -n "$c" ] && [ "$(in_machine "$c" 'test -e /tmp/reap/started.1 && echo yes')" = yes ] && break
  kill -0 "$orch_pid" 2>/dev/null || { cat "$T/run.out" >&2; fail "the run ended before its step started"; }
  sleep 0.1
done
[ "$(in_machine "$c" 'test -e /tmp/reap/started.1 && echo yes')" = yes ] ||
  fail "the step never started on a machine of $app"
id=$(last_run_id)
kill -9 -- "-$orch_pid"
wait "$orch_pid" 2>/dev/null || true
first=$(in_machine "$c" 'head -1 /tmp/reap/pids')
out=$(in_machine "$c" "kill -0 $first && echo alive; cat /tmp/orch-x-*/rec")
case "$out" in *alive*) ;; *) fail "the killed orch took its command along (nothing to test): $out" ;; esac
case "$out" in *"$first "*) ;; *) fail "no record of the running command ($first) in its scratch dir: $out" ;; esac
in_machine "$c" 'touch /tmp/reap/release' >/dev/null
# The machine goes at the end of the run: the re-run itself looks for the
# first copy (an OVERLAP fails the step, and the resume).
o resume "$id"
expect_no_out "OVERLAP" "no copy ran beside another"
expect_rc 0 "resume finishes the run"
expect_out "copy 2 ended" "the second copy ran to its end"
o runs events "$id"
expect_out "instance.commands_reaped" "the ledger records the reap"
pass "fly: kill -9 orch, resume: the re-run found the first copy gone"

for _ in $(seq 600); do [ -z "$(d_containers "fly-app=$app")" ] && break; sleep 0.1; done
[ -z "$(d_containers "fly-app=$app")" ] || fail "a machine of $app outlived its run"
pass "fly: no machine left"
