# The bounded chaos test (issue 19). CHAOS_RUNS runs (default 30) of a
# CHAOS_STEPS-step DAG (default 20; tests/chaos/chaos_wf.py) on the local
# backend and the embedded SQLite store, while kill -9 hits, at random
# moments: `orch run` / `orch resume` processes and their orch-exec
# executors (first two thirds of the runs), then orchd and its executors
# (the last third; orchd is restarted and must adopt its runs). A killed
# run is resumed by one, two or three `orch resume` at once: exactly one
# drives it, the others exit 2 naming it (tests/lib/resume.sh). Once every
# run is terminal: 0 runs lost or in an unexpected state, 0 steps re-run
# after a succeeded attempt, 0 moments with two live copies of one step's
# command (its flock, and its records), 0 instance directories and 0
# processes carrying the test's marker left (tests/chaos/chaos_check.py).
# The seed is printed at start; CHAOS_SEED=N replays it: the same workflow,
# fates and sequence of random choices (what a kill hits still depends on
# timing).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/resume.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

SEED=${CHAOS_SEED:-1919}
RUNS=${CHAOS_RUNS:-30}
STEPS=${CHAOS_STEPS:-20}
KILLS=${CHAOS_KILLS:-$RUNS}             # kill -9s in the CLI phase
OD_KILLS=${CHAOS_OD_KILLS:-3}           # orchd kill -9s (each one is followed by a restart)
OD_XKILLS=${CHAOS_OD_XKILLS:-$((RUNS / 5))} # executor kill -9s under orchd
DRIVERS=${CHAOS_DRIVERS:-5}             # `orch run`/`resume` processes at once
MAX_RUN_KILLS=3                         # kills of one run's drivers
MAX_STEP_KILLS=3                        # executor kills while one step of one run runs
DRAIN_S=${CHAOS_WAIT_S:-240}            # safety net of the waits for runs to end
echo "chaos: seed $SEED (CHAOS_SEED=$SEED replays it), $RUNS runs x $STEPS steps"
RANDOM=$SEED
MARK="orch-chaos-$SEED-$$-$RANDOM"
# Everything this test starts carries the marker (orch, orchd, orch-exec,
# the steps' commands through the workflow's env): the leak check looks for
# it. The test's own shell does not: its environ is what it was started with.
export CHAOS_MARK=$MARK
# Whatever carries the marker when the test ends, however it ends, goes:
# only this test's processes carry it.
chaos_cleanup() {
  local p
  for p in $(python3 "$HERE/chaos_marked.py" "$MARK" "$T" 2>/dev/null | cut -d' ' -f1); do
    kill -9 "$p" 2>/dev/null || true
  done
}
trap 'chaos_cleanup; t_cleanup' EXIT
mkdir -p "$T/rec" "$T/lock" "$T/out.d"
python3 "$HERE/chaos_wf.py" "$SEED" "$STEPS" "$T" "$MARK" >"$T/wf.yaml"
"$ORCH" validate "$T/wf.yaml" >/dev/null || fail "the generated workflow does not validate"
: >"$T/problems"
: >"$T/kills.log"

# A failure says how to replay it and what the chaos did.
fail() {
  echo "FAIL: $* (seed $SEED: CHAOS_SEED=$SEED CHAOS_RUNS=$RUNS CHAOS_STEPS=$STEPS replays it)" >&2
  if [ -s "$T/problems" ]; then echo "--- problems seen on the way:" >&2; cat "$T/problems" >&2; fi
  echo "--- last kills:" >&2
  tail -n 40 "$T/kills.log" >&2
  if [ -s "$T/leaked" ]; then echo "--- LEAKED processes:" >&2; cat "$T/leaked" >&2; fi
  if [ -s "$T/orchd.log" ]; then echo "--- last lines of orchd.log:" >&2; tail -n 40 "$T/orchd.log" >&2; fi
  exit 1
}
problem() { echo "$*" >>"$T/problems"; }
now_ns() { date +%s%N; }
kill_log() { echo "$(now_ns) $*" >>"$T/kills.log"; }
rnd() { R=$((RANDOM % $1)); } # R: 0..$1-1, from the seeded generator
chaos_pause() { # a random kill delay: 0.2 to 1.4 s
  rnd 13
  sleep "$(((R + 2) / 10)).$(((R + 2) % 10))"
}

# Tags r00, r01, ...: every tenth run (7, 17, 27) is doomed to fail at its
# last step, the others must succeed.
declare -A FATE=()
: >"$T/tags"
for ((i = 0; i < RUNS; i++)); do
  tag=$(printf 'r%02d' "$i")
  FATE[$tag]=ok
  [ $((i % 10)) -eq 7 ] && FATE[$tag]=doom
  echo "$tag ${FATE[$tag]}" >>"$T/tags"
done
n_od=$((RUNS / 3))
n_cli=$((RUNS - n_od))

# The run of a tag (empty when its first driver died before creating it).
run_of() {
  "$ORCH" --json runs list --limit 100000 |
    jq_py "' '.join(r['id'] for r in d if (r.get('inputs') or {}).get('tag') == '$1')"
}
terminal() { case $1 in succeeded | failed | cancelled) return 0 ;; esac; return 1; }
want_rc() { [ "${FATE[$1]}" = ok ] && echo 0 || echo 1; }

# ---- the CLI phase --------------------------------------------------------
declare -A DRV=() KILLED=() DKILLS=() XKILLS=()
PENDING=()
AGAIN=()
for ((i = 0; i < n_cli; i++)); do PENDING+=("$(printf 'r%02d' "$i")"); done
n_starts=0

start_run() { # TAG
  local tag=$1
  n_starts=$((n_starts + 1))
  "$ORCH" run "$T/wf.yaml" chaos --input "tag=$tag" --input "fate=${FATE[$tag]}" \
    >"$T/out.d/run.$tag.$n_starts" 2>&1 &
  DRV[$!]=$tag
  T_PIDS+=($!)
}

# A driver that ended by itself ended the run, with the exit status its fate
# says; one we killed leaves its run to drive again.
driver_ended() { # PID RC
  local p=$1 rc=$2 tag=${DRV[$1]}
  unset "DRV[$p]"
  if [ -n "${KILLED[$p]:-}" ]; then
    AGAIN+=("$tag")
  elif [ "$rc" -ne "$(want_rc "$tag")" ]; then
    problem "driver $p of $tag exited $rc (its fate: ${FATE[$tag]}); its output: $(tail -n 20 "$T"/out.d/*."$tag".* 2>/dev/null | tr '\n' '|')"
  fi
}

reap_drivers() {
  local p rc
  for p in "${!DRV[@]}"; do
    alive "$p" && continue
    rc=0
    wait "$p" || rc=$?
    driver_ended "$p" "$rc"
  done
}
a_driver_ended() {
  local p
  for p in "${!DRV[@]}"; do alive "$p" || return 0; done
  return 1
}

# Drive a run whose driver we killed: 1, 2 or 3 resumes at once, exactly one
# of which drives it (resume_settle checks the others' refusals).
drive_again() { # TAG
  local tag=$1 id state n
  id=$(run_of "$tag")
  if [ -z "$id" ]; then
    start_run "$tag" # killed before the run existed
    return
  fi
  state=$(run_state "$id")
  terminal "$state" && return 0 # killed after its end was written
  rnd 3
  n=$((R + 1))
  n_starts=$((n_starts + 1))
  resume_together "$id" "$n" "$T/out.d/resume.$tag.$n_starts"
  resume_settle "$id" "$T/out.d/resume.$tag.$n_starts" finished-ok
  RESUMES[$n]=$((${RESUMES[$n]:-0} + 1))
  DRV[$RESUME_DRIVER]=$tag
  [ -z "$RESUME_DRIVER_RC" ] || driver_ended "$RESUME_DRIVER" "$RESUME_DRIVER_RC"
}
declare -A RESUMES=()

# The children of PID that are orch-exec executors.
executors_of() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    [ "$(cat "/proc/$c/comm" 2>/dev/null)" = orch-exec ] && echo "$c"
  done
  return 0
}
# The value of variable $2 in the environment of process $1.
env_of() { tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | sed -n "s/^$2=//p"; }

# Kill -9 one executor of PID while it runs a step that has retries left to
# spend. Stopped first, so that what it runs cannot change between the look
# and the kill: a stopped executor whose command is still its child has
# not reported that job done, so no other job can be in it.
kill_executor_of() { # PID
  local e c tag step key
  for e in $(executors_of "$1" | shuf --random-source=<(yes "$SEED.$RANDOM")); do
    kill -STOP "$e" 2>/dev/null || continue
    for c in $(ps -o pid= --ppid "$e" 2>/dev/null); do
      [ "$(env_of "$c" CHAOS_MARK)" = "$MARK" ] && [ "$(env_of "$c" CHAOS_RETRY)" = 1 ] || continue
      tag=$(env_of "$c" CHAOS_TAG) step=$(env_of "$c" CHAOS_STEP)
      key="$tag.$step"
      [ "${XKILLS[$key]:-0}" -lt "$MAX_STEP_KILLS" ] || continue
      kill -9 "$e"
      kill -CONT "$e" 2>/dev/null || true
      XKILLS[$key]=$((${XKILLS[$key]:-0} + 1))
      kill_log "kill -9 orch-exec $e (of $1) running $tag/$step"
      return 0
    done
    kill -CONT "$e" 2>/dev/null || true
  done
  return 1
}

# Two in five kills hit an executor (of any driver) that runs a step with
# retries; the others, or when none does, a driver.
chaos_kill_cli() {
  local p victims=() tag
  rnd 5
  if [ "$R" -lt 2 ]; then
    for p in $(printf '%s\n' "${!DRV[@]}" | shuf --random-source=<(yes "$SEED.$RANDOM")); do
      alive "$p" && kill_executor_of "$p" && return 0
    done
  fi
  for p in "${!DRV[@]}"; do
    alive "$p" && [ "${DKILLS[${DRV[$p]}]:-0}" -lt "$MAX_RUN_KILLS" ] && victims+=("$p")
  done
  [ "${#victims[@]}" -gt 0 ] || return 1
  rnd "${#victims[@]}"
  p=${victims[$R]}
  tag=${DRV[$p]}
  kill -9 "$p" 2>/dev/null || return 1
  KILLED[$p]=1
  DKILLS[$tag]=$((${DKILLS[$tag]:-0} + 1))
  kill_log "kill -9 driver $p of $tag"
}

kills_left=$KILLS
while :; do
  reap_drivers
  again=("${AGAIN[@]}")
  AGAIN=()
  for tag in "${again[@]}"; do drive_again "$tag"; done
  while [ "${#DRV[@]}" -lt "$DRIVERS" ] && [ "${#PENDING[@]}" -gt 0 ]; do
    start_run "${PENDING[0]}"
    PENDING=("${PENDING[@]:1}")
  done
  [ "${#DRV[@]}" -gt 0 ] || [ "${#AGAIN[@]}" -gt 0 ] || break
  if [ "$kills_left" -gt 0 ]; then
    chaos_pause
    chaos_kill_cli && kills_left=$((kills_left - 1))
  else
    WAIT_S=$DRAIN_S wait_until "a driver to end" a_driver_ended
  fi
done
pass "CLI phase: $n_cli runs, $((KILLS - kills_left)) kill -9s ($(grep -c 'driver' "$T/kills.log" || true) of drivers), resume groups of 1/2/3: ${RESUMES[1]:-0}/${RESUMES[2]:-0}/${RESUMES[3]:-0}"

# ---- the orchd phase ------------------------------------------------------
od_start "$T/wf.yaml"
OD_IDS=()
for ((i = n_cli; i < RUNS; i++)); do
  tag=$(printf 'r%02d' "$i")
  api POST /v1/runs "{\"workflow\":\"chaos\",\"inputs\":{\"tag\":\"$tag\",\"fate\":\"${FATE[$tag]}\"}}"
  expect_http 201 "start $tag"
  OD_IDS+=("$(resp "d['run']['id']")")
done
od_all_ended() {
  "$ORCH" --json runs list --limit 100000 | python3 -c '
import json, sys
want = set(sys.argv[1:])
states = {r["id"]: r["state"] for r in json.load(sys.stdin)}
sys.exit(0 if all(states.get(i) in ("succeeded", "failed", "cancelled") for i in want) else 1)' "${OD_IDS[@]}"
}
# orchd dying by itself is a crash to report; it is restarted either way.
od_check_alive() {
  alive "$OD_PID" && return 0
  local rc=0
  wait "$OD_PID" || rc=$?
  problem "orchd $OD_PID exited $rc by itself"
  od_start "$T/wf.yaml"
}
kill_log "orchd phase: ${#OD_IDS[@]} runs queued: ${OD_IDS[*]}"
od_kills_left=$OD_KILLS od_xkills_left=$OD_XKILLS od_rounds=0
# The first round goes whatever the state: on a slow machine the runs may
# be far along by the time all are queued.
while [ $((od_kills_left + od_xkills_left)) -gt 0 ] && { [ "$od_rounds" -eq 0 ] || ! od_all_ended; }; do
  od_rounds=$((od_rounds + 1))
  chaos_pause
  od_check_alive
  rnd $((od_kills_left + od_xkills_left))
  if [ "$R" -lt "$od_kills_left" ]; then
    kill -9 "$OD_PID"
    wait "$OD_PID" 2>/dev/null || true
    kill_log "kill -9 orchd $OD_PID"
    od_kills_left=$((od_kills_left - 1))
    od_start "$T/wf.yaml"
  elif kill_executor_of "$OD_PID"; then
    od_xkills_left=$((od_xkills_left - 1))
  fi
done
kill_log "orchd phase: $od_rounds rounds of chaos; $od_kills_left + $od_xkills_left kills left"
WAIT_S=$DRAIN_S wait_until "every orchd run to end" od_all_ended
od_check_alive
od_stop
pass "orchd phase: $n_od runs, $od_rounds rounds, $((OD_KILLS - od_kills_left)) orchd kill -9s, $((OD_XKILLS - od_xkills_left)) executor kill -9s"

# ---- the verdict ----------------------------------------------------------
verdict=0
python3 "$HERE/chaos_check.py" "$T" "$ORCH" "$T/tags" || verdict=1

# A sanitizer's report anywhere (a driver, orchd, an executor writing to
# either) is a bug even when the run it hit ended as expected.
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/out.d/* "$T/orchd.log" 2>/dev/null >"$T/asan.files"; then
  problem "SANITIZER reports in: $(tr '\n' ' ' <"$T/asan.files")"
  grep -h -A 30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $(cat "$T/asan.files") | head -n 80 >&2
  verdict=1
fi

# Leaks: instance directories under the local backend's root, and any
# process carrying the marker (given a moment to finish dying: a process
# killed just now may not have exited yet; a leaked command lingers 30 s).
left=$(ls -A "$ORCH_STATE_DIR/work" 2>/dev/null || true)
[ -z "$left" ] || { problem "LEAKED instance directories: $left"; verdict=1; }
[ "$verdict" -eq 0 ] || problem "the store or the records show problems (above)"
none_marked() {
  python3 "$HERE/chaos_marked.py" "$MARK" "$T" >"$T/leaked"
  [ ! -s "$T/leaked" ]
}
WAIT_S=3 wait_until "no process carrying the test's marker (LEAKED: see below)" none_marked
[ "$verdict" -eq 0 ] && [ ! -s "$T/problems" ] || fail "the chaos found problems (above)"
pass "chaos: $RUNS runs terminal as expected, no re-run after success, no overlap, no leak (seed $SEED)"
