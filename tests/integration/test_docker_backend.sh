# backend-docker through workflows against the real engine: every option
# reaches the container (checked with the engine's own inspect), pull
# policies, engine errors named clearly (no image, container stopped under
# a run, daemon down, socket permission), and no container outlives a run,
# including a run killed with SIGKILL and then resumed.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"

mkdir -p "$T/shared"
chmod 777 "$T/shared"
echo from-host >"$T/shared/in.txt"
vol="orch-test-vol-$$"
tag="t$$-$RANDOM"

cat >"$T/opts.yaml" <<EOF
version: 1
backends:
  b:
$(d_backend)
      cpus: 0.5
      memory: 64M
      env: {FOO: bar}
      binds: ["$T/shared:/shared", "$vol:/vol"]
      workdir: /srv/w
      user: "1000:1000"
      labels: {orch.test: "$tag"}
      remove_volumes: true
      stop_grace: 1s
      kill_grace: 1s
      api_timeout: 30s
workflows:
  opts:
    steps:
      - id: look
        uses: exec
        with: {run: 'echo "\$FOO \$(id -u):\$(id -g) \$(pwd)"; cat /shared/in.txt; test -d /vol && echo vol', capture: true}
      - id: hold
        uses: exec
        needs: look
        with: {run: 'touch /shared/ready; while [ ! -e /shared/go ]; do sleep 0.1; done'}
EOF
"$ORCH" run "$T/opts.yaml" opts >"$T/opts.out" 2>&1 &
T_PIDS+=($!)
orch_pid=$!
for _ in $(seq 600); do [ -e "$T/shared/ready" ] && break; kill -0 $orch_pid 2>/dev/null || break; sleep 0.1; done
[ -e "$T/shared/ready" ] || { cat "$T/opts.out" >&2; fail "the options run never reached its hold step"; }
names=$(d_containers "orch.test=$tag")
[ -n "$names" ] || fail "no container labelled orch.test=$tag while the run holds it"
d_json "/containers/$names/json" >"$T/inspect.json"
check() {
  got=$(jq_py "$1" <"$T/inspect.json")
  [ "$got" = "$2" ] || fail "container $names: $1 is '$got', want '$2'"
}
check "d['HostConfig']['NanoCpus']" 500000000
check "d['HostConfig']['Memory']" 67108864
check "d['HostConfig']['NetworkMode']" none
check "d['Config']['User']" 1000:1000
check "d['Config']['WorkingDir']" /srv/w
check "d['Config']['Image']" "$DOCKER_IMAGE"
check "'FOO=bar' in d['Config']['Env']" True
check "sorted(d['HostConfig']['Binds'])" "['$T/shared:/shared', '$vol:/vol']"
check "d['Config']['Labels']['orch.backend']" docker
check "d['Config']['Labels']['orch.run'].startswith('r-')" True
touch "$T/shared/go"
wait "$orch_pid" || { cat "$T/opts.out" >&2; fail "the options run failed"; }
grep -q "bar 1000:1000 /srv/w" "$T/opts.out" || { cat "$T/opts.out"; fail "env/user/workdir not seen by the command"; }
grep -q "from-host" "$T/opts.out" || fail "bind mount not seen"
grep -q "^\[look\] vol" "$T/opts.out" || fail "named volume not mounted"
[ -z "$(d_containers "orch.test=$tag")" ] || fail "the run left its container"
d_api -X DELETE "http://d/volumes/$vol" >/dev/null || fail "named volume $vol was not created"
pass "cpus, memory, env, binds, named volume, network, workdir, user, labels reach the container"

# Pull policies and engine errors.
mkcfg() { # $1 = file, rest = extra option lines
  local f=$1 l keys=x; shift
  for l in "$@"; do keys="$keys|${l%%:*}"; done
  { echo "version: 1"; echo "backends:"; echo "  b:"; d_backend | grep -vE "^      ($keys):"
    for l in "$@"; do echo "      $l"; done
    echo "workflows: {w: {steps: [{id: s, uses: exec, with: {run: 'echo ran'}}]}}"; } >"$f"
}
mkcfg "$T/never.yaml" "image: orch-test/absent:1"
o run "$T/never.yaml" w
expect_rc 1 "an absent image with pull: never"
expect_out "image orch-test/absent:1 is not present on the engine and pull is 'never'" "named"
mkcfg "$T/ifm.yaml" "image: orch-test/absent:1" "pull: if-missing"
o run "$T/ifm.yaml" w
expect_rc 1 "an absent image that cannot be pulled"
expect_out "orch-test/absent:1" "the image is named"
expect_out "pull" "the pull is named"
mkcfg "$T/always.yaml" "pull: always"
o run "$T/always.yaml" w
expect_rc 1 "pull: always with no registry reachable"
expect_out "pulling image $DOCKER_IMAGE" "the pull was attempted"
expect_no_out "[s] ran" "nothing ran"
pass "pull policies: never refuses, if-missing and always pull and report the engine's error"

mkcfg "$T/down.yaml" "socket: $T/no-engine.sock"
o run "$T/down.yaml" w
expect_rc 1 "engine down"
expect_out "no engine socket at $T/no-engine.sock (is dockerd running?" "daemon down named"
chmod 755 "$T"
mkdir -m 777 "$T/nobody"
set +e
ORCH_STATE_DIR="$T/nobody/state" setpriv --reuid 65534 --regid 65534 --clear-groups \
  "$ORCH" run "$T/always.yaml" w >"$T/out" 2>&1
RC=$?
set -e
expect_rc 1 "socket permission"
expect_out "permission denied on the engine socket $ORCH_DOCKER_SOCKET" "socket permission named"
pass "engine down and socket permission give clear errors"

# A container stopped under a run: the next command says so, by name.
cat >"$T/stop.yaml" <<EOF
version: 1
backends:
  b:
$(d_backend)
      binds: ["$T/shared:/shared"]
      labels: {orch.test: "$tag-stop"}
workflows:
  w:
    steps:
      - {id: a, uses: exec, with: {run: 'touch /shared/ready2; sleep 2'}}
      - {id: b, uses: exec, needs: a, with: {run: 'echo never'}}
EOF
"$ORCH" run "$T/stop.yaml" w >"$T/stop.out" 2>&1 &
T_PIDS+=($!)
pid=$!
wait_file "$T/shared/ready2" 60
c=$(d_containers "orch.test=$tag-stop")
d_api -X POST "http://d/containers/$c/stop?t=0" >/dev/null
set +e; wait "$pid"; RC=$?; set -e
[ "$RC" -ne 0 ] || fail "the run went on after its container was stopped"
grep -q "$c" "$T/stop.out" || { cat "$T/stop.out"; fail "the error does not name container $c"; }
grep -q "stopped while the command ran" "$T/stop.out" || { cat "$T/stop.out"; fail "the cause is missing"; }
[ -z "$(d_containers "orch.test=$tag-stop")" ] || fail "the stopped container was not removed"
pass "a container stopped under a run: the failure names it and why; it is removed"

# SIGKILL the run mid-step, then resume: the instance is re-attached, the
# run finishes, and nothing is left.
cat >"$T/kill.yaml.in" <<EOF
version: 1
backends:
  b:
$(d_backend)
      binds: ["$T/shared:/shared"]
      labels: {orch.test: "@LABEL@"}
workflows:
  w:
    steps:
      - id: a
        uses: exec
        on_unknown: retry
        with: {run: 'if [ -e /shared/resumed ]; then echo again; exit 0; fi; touch /shared/ready3; sleep 300'}
EOF
# Runs the workflow with label $1, SIGKILLs orch and its executors while the
# step runs, and sets $c to the container the kill stranded.
kill_midstep() {
  rm -f "$T/shared/ready3" "$T/shared/resumed"
  sed "s/@LABEL@/$1/" "$T/kill.yaml.in" >"$T/kill.yaml"
  setsid "$ORCH" run "$T/kill.yaml" w >"$T/kill.out" 2>&1 &
  T_PIDS+=($!)
  local pid=$!
  wait_file "$T/shared/ready3" 60
  kill -9 -- "-$pid"
  sleep 0.5
  c=$(d_containers "orch.test=$1")
  [ -n "$c" ] || fail "no container after the kill (the test expects the kill to strand it)"
}
kill_midstep "$tag-kill"
touch "$T/shared/resumed"
run=$(last_run_id)
o resume "$run"
expect_rc 0 "resume after SIGKILL"
expect_out "again" "the step ran again in the same container"
[ -z "$(d_containers "orch.test=$tag-kill")" ] || fail "container $c outlived the resumed run"
pass "a SIGKILLed run's container is re-attached by resume and removed at the end"

# A run killed while its container was being created leaves a ledger row in
# CREATING with no container id. Simulated here: kill mid-step, then set
# the row back to CREATING (state 1) and forget the id. Resume must find
# the container by its orch.instance label and remove it.
kill_midstep "$tag-reap"
run=$(last_run_id)
python3 - "$ORCH_STATE_DIR/orch.db" "$run" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE instances SET state=1, backend_id=NULL, handle=NULL WHERE run_id=?",
               (sys.argv[2],)).rowcount
db.commit()
assert n == 1, n
EOF
touch "$T/shared/resumed"
o resume "$run"
expect_rc 0 "resume with an instance left in CREATING"
expect_out "again" "the step ran again (in a fresh container)"
[ -z "$(d_containers "orch.test=$tag-reap")" ] ||
  fail "the container of the CREATING row ($c) was not reaped: $(d_containers "orch.test=$tag-reap")"
pass "an instance left in CREATING is reaped by label when the run is resumed"
