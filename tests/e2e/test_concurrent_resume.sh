# One driver per run. A run killed -9 mid-way, then two and three
# `orch resume` of it started together, many times over: exactly one
# drives it, the others exit 2 naming the driver; run.finished is written
# once; no step runs again after it succeeded and no two executions of a
# step overlap (each step logs its pid, start and end). Then: the lease is
# renewed while a run is driven (a resume after the lease's TTL is still
# refused), and a lease held by a process of another host is taken over
# only once it expired.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/resume.sh"
ROUNDS=${ROUNDS:-10}

# Each step: a start line, its work, an end line. gate blocks the first
# run (where orch is killed) until released; tail keeps the resumes busy
# long enough to overlap.
step() { # ID WORK
  cat <<YAML
      - id: $1
        uses: exec
        needs: [$3]
        with:
          run: echo "$1 start \$\$ \$(date +%s%N)" >> $T/steps.log; $2; echo "$1 end \$\$ \$(date +%s%N)" >> $T/steps.log
YAML
}
{
  printf 'version: 1\nworker:\n  lease_ttl: 2s\n  tick: 200ms\nworkflows:\n  w:\n    steps:\n'
  cat <<YAML
      - id: first
        uses: exec
        with:
          run: echo "first start \$\$ \$(date +%s%N)" >> $T/steps.log; echo "first end \$\$ \$(date +%s%N)" >> $T/steps.log
YAML
  step gate "echo \$\$ >> $T/gate.pids; touch $T/gate.started; [ -e $T/gate.release ] || sleep 600" first
  step tail "sleep 2" gate
  step last "true" tail
} >"$T/wf.yaml"

# No step ended twice, none overlaps another execution of itself, and
# every step ended once.
check_steps_log() {
  python3 "$(dirname "$0")/../lib/steps_log.py" "$T/steps.log" --ended-once --require first,gate,tail,last ||
    fail "steps log: see above"
}

one_round() { # N: resumes at once
  local n=$1 id
  rm -f "$T/steps.log" "$T/gate.pids" "$T/gate.started" "$T/gate.release"
  "$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 &
  local orch_pid=$!
  T_PIDS+=("$orch_pid")
  wait_file "$T/gate.started" 60
  id=$(last_run_id)
  kill -9 "$orch_pid" 2>/dev/null || fail "orch run $id ended before it was killed: $(cat "$T/run.out")"
  wait "$orch_pid" 2>/dev/null || true
  # The killed attempt's command outlives orch (its own issue); stop it so
  # that only what the resumes do is seen.
  for p in $(cat "$T/gate.pids"); do
    pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
    echo "gate killed $p $(date +%s%N)" >>"$T/steps.log"
  done
  touch "$T/gate.release"
  resume_together "$id" "$n" "$T/resume"
  resume_settle "$id" "$T/resume"
  local rc=${RESUME_DRIVER_RC:-0}
  [ -n "$RESUME_DRIVER_RC" ] || wait "$RESUME_DRIVER" || rc=$?
  [ "$rc" -eq 0 ] || fail "the resume that drove $id exited $rc"
  [ "$(run_state "$id")" = succeeded ] || fail "run $id is $(run_state "$id") after the resumes"
  [ "$(count_events "$id" run.finished)" = 1 ] || fail "run $id: run.finished written $(count_events "$id" run.finished) times"
  check_steps_log
  # Every step's last attempt succeeded; gate's killed one is unknown.
  run_json "$id" | jq_py "sorted(set((a['step'], a['state']) for a in d['attempts']))" >"$T/att"
  grep -q "('gate', 'unknown')" "$T/att" || fail "gate's killed attempt: $(cat "$T/att")"
  [ "$(run_json "$id" | jq_py "len([a for a in d['attempts'] if a['state']=='succeeded'])")" = 4 ] ||
    fail "succeeded attempts of $id: $(cat "$T/att")"
  # A later resume changes nothing.
  o resume "$id"
  expect_rc 2 "resuming the finished run"
  expect_out "already succeeded" "a finished run is not driven again"
  check_steps_log
}

for ((r = 0; r < ROUNDS; r++)); do
  one_round 2
  one_round 3
done
pass "$((ROUNDS * 2)) rounds of concurrent resumes: one driver each, run.finished once, no step re-run"

# The lease is renewed while the run is driven: a resume once the TTL (2s)
# has passed is still refused.
cat >"$T/long.yaml" <<YAML
version: 1
worker:
  lease_ttl: 2s
  tick: 200ms
workflows:
  long:
    steps:
      - id: s
        uses: exec
        with:
          run: echo \$\$ >> $T/long.pids; sleep 3; touch $T/long.mid; for i in \$(seq 6000); do [ -e $T/long.release ] && break; sleep 0.1; done
YAML
"$ORCH" run "$T/long.yaml" long >"$T/long.out" 2>&1 &
long_pid=$!
T_PIDS+=("$long_pid")
wait_file "$T/long.mid" 60
id=$(last_run_id)
o resume "$id"
expect_rc 2 "resume while the driver renews its lease"
expect_out "is being driven by PID $long_pid on" "the refusal names the live driver"
touch "$T/long.release"
wait "$long_pid" || fail "the long run failed: $(cat "$T/long.out")"
[ "$(run_state "$id")" = succeeded ] || fail "long run is $(run_state "$id")"
pass "the lease is renewed while driving"

# A lease held on another host: refused while it lasts, taken once expired.
rm -f "$T/long.mid" "$T/long.release"
"$ORCH" run "$T/long.yaml" long >"$T/long.out" 2>&1 &
long_pid=$!
T_PIDS+=("$long_pid")
wait_file "$T/long.mid" 60
id=$(last_run_id)
kill -9 "$long_pid"
wait "$long_pid" 2>/dev/null || true
for p in $(cat "$T/long.pids"); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
db=$(find "$T/state" -name '*.db' | head -1)
lease_set() { # EXPIRES_NS
  python3 - "$db" "run/$id" "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
n = c.execute("UPDATE leases SET owner = 'orch:elsewhere:4242:1:1700000000:feed', expires_ns = ? WHERE name = ?",
              (int(sys.argv[3]), sys.argv[2])).rowcount
c.commit()
assert n == 1, "no lease row for " + sys.argv[2]
PY
}
lease_set $(( $(date +%s) * 1000000000 + 3600 * 1000000000 ))
o resume "$id"
expect_rc 2 "resume while another host's lease lasts"
expect_out "is being driven by PID 4242 on elsewhere since 2023-11-14T22:13:20Z" "the refusal names the other host's driver"
lease_set 1
touch "$T/long.release"
o resume "$id"
expect_rc 0 "resume takes over an expired lease"
[ "$(run_state "$id")" = succeeded ] || fail "taken-over run is $(run_state "$id")"
[ "$(count_events "$id" run.finished)" = 1 ] || fail "run.finished of the taken-over run"
pass "an expired lease is taken over; a live one on another host is not"
