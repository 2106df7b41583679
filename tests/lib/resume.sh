# Shared by the tests that start several `orch resume` of one run at once
# (tests/e2e/test_concurrent_resume.sh, tests/chaos/test_chaos.sh): exactly
# one of them may drive the run, the others exit 2 naming it. Source after
# common.sh.

# The run's events of one type.
count_events() { "$ORCH" --json runs events "$1" | jq_py "len([e for e in d if e['type']=='$2'])"; }

# resume_together RUN N PREFIX: start N `orch resume RUN` at once, the i-th
# writing to PREFIX.i; their pids in RESUME_PIDS (and T_PIDS).
resume_together() {
  local i
  RESUME_PIDS=()
  for ((i = 0; i < $2; i++)); do
    "$ORCH" resume "$1" >"$3.$i" 2>&1 &
    RESUME_PIDS+=($!)
    T_PIDS+=($!)
  done
}

# Fewer than two of RESUME_PIDS alive.
resume_one_left() {
  local p n=0
  for p in "${RESUME_PIDS[@]}"; do alive "$p" && n=$((n + 1)); done
  [ "$n" -le 1 ]
}

# resume_settle RUN PREFIX [finished-ok]: wait until at most one of
# RESUME_PIDS is left, then check that exactly one drives or drove RUN and
# every other exited 2 with "run RUN is being driven by PID <that one> on
# HOST since T" (with finished-ok, "run RUN already <state>" is a refusal
# too: the driver may have finished before a late one looked). The driver's
# pid goes to RESUME_DRIVER, its exit status to RESUME_DRIVER_RC (empty
# while it still runs); the refused ones have been waited for.
resume_settle() {
  local run=$1 prefix=$2 finished_ok=${3:-} i p rc
  local -a exited=() rcs=()
  wait_until "all but one of ${#RESUME_PIDS[@]} resumes of $run to exit" resume_one_left
  RESUME_DRIVER= RESUME_DRIVER_RC=
  for i in "${!RESUME_PIDS[@]}"; do
    p=${RESUME_PIDS[$i]}
    if alive "$p"; then
      RESUME_DRIVER=$p
      continue
    fi
    rc=0
    wait "$p" || rc=$?
    rcs[$i]=$rc
    exited+=("$i")
  done
  for i in "${exited[@]}"; do
    if [ "${rcs[$i]}" -ne 2 ]; then
      [ -z "$RESUME_DRIVER" ] || { cat "$prefix.$i" >&2; fail "resume $i of $run exited ${rcs[$i]} while PID $RESUME_DRIVER drives it"; }
      RESUME_DRIVER=${RESUME_PIDS[$i]} RESUME_DRIVER_RC=${rcs[$i]}
    fi
  done
  [ -n "$RESUME_DRIVER" ] || fail "${#RESUME_PIDS[@]} resumes of $run: none drove it (all exited 2): $(cat "$prefix".*)"
  for i in "${exited[@]}"; do
    [ "${RESUME_PIDS[$i]}" = "$RESUME_DRIVER" ] && continue
    if grep -q "run $run is being driven by PID $RESUME_DRIVER on .* since " "$prefix.$i"; then
      continue
    fi
    if [ -n "$finished_ok" ] && grep -q "run $run already " "$prefix.$i"; then continue; fi
    cat "$prefix.$i" >&2
    fail "resume $i of $run exited 2 without naming the driver, PID $RESUME_DRIVER"
  done
}
