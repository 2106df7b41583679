# A step whose process died mid-attempt (kill -9 of orch) is unknown on
# resume and follows its on_unknown policy: `ask` parks the run until a
# decision (approve: it runs again; reject: it fails; a cancel ends it
# cancelled), `fail` fails it at once. Each outcome is an attempt row of
# its own after the unknown one.
. "$(dirname "$0")/../lib/common.sh"

# "STATE STATE ..." of every attempt of step $2 in run $1, in order
attempt_states() {
  run_json "$1" | jq_py "' '.join(a['state'] for a in sorted(d['attempts'], key=lambda a: a['attempt']) if a['step']=='$2')"
}

# killed_run POLICY NAME: a run of step `slow` under on_unknown POLICY in
# $T/NAME, orch killed -9 while slow runs; prints the run id.
killed_run() {
  local dir="$T/$2" pid p
  mkdir -p "$dir"
  cat >"$dir/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: slow
        uses: exec
        on_unknown: $1
        with:
          run: echo \$\$ >> $dir/slow.pids; echo x >> $dir/slow.count; touch $dir/slow.started; [ -e $dir/slow.release ] || sleep 600; echo slow done
      - {id: after, uses: exec, needs: [slow], with: {run: "touch $dir/after-ran"}}
YAML
  "$ORCH" run "$dir/wf.yaml" w >"$dir/run1.out" 2>&1 &
  pid=$!
  wait_file "$dir/slow.started" 60
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  # The killed attempt's command outlives orch: stop it, so that only what
  # resume does is seen.
  for p in $(cat "$dir/slow.pids"); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  last_run_id
}

# The run parks at the question: waiting, one unknown row, the question asked.
expect_asking() {
  o resume "$1"
  expect_rc 0 "$2: resume parks the run at the question"
  [ "$(run_state "$1")" = waiting ] || fail "$2: run is $(run_state "$1"), not waiting"
  [ "$(attempt_states "$1" slow)" = unknown ] || fail "$2: slow attempts: $(attempt_states "$1" slow)"
  "$ORCH" --json runs events "$1" | grepq '"kind": *"unknown"' ||
    fail "$2: no approval.waiting of kind unknown in the ledger"
}

# --- ask, approved: the step runs again
R=$(killed_run ask approve)
expect_asking "$R" approve
o runs approve "$R" slow --comment="run it again"
expect_rc 0 "approve the unknown step"
touch "$T/approve/slow.release"
o resume "$R"
expect_rc 0 "resume after approval finishes the run"
[ "$(run_state "$R")" = succeeded ] || fail "approved: run is $(run_state "$R")"
[ "$(attempt_states "$R" slow)" = "unknown succeeded" ] ||
  fail "approved: slow attempts: $(attempt_states "$R" slow)"
[ "$(wc -l <"$T/approve/slow.count")" -eq 2 ] ||
  fail "approved: slow ran $(wc -l <"$T/approve/slow.count") times, not twice"
[ -e "$T/approve/after-ran" ] || fail "approved: the step after did not run"
pass "on_unknown ask, approved: the step runs again"

# --- ask, rejected: the step fails, saying why; nothing runs again
R=$(killed_run ask reject)
expect_asking "$R" reject
o runs reject "$R" slow --comment="no"
expect_rc 0 "reject the unknown step"
o resume "$R"
[ "$(run_state "$R")" = failed ] || fail "rejected: run is $(run_state "$R")"
[ "$(attempt_states "$R" slow)" = "unknown failed" ] ||
  fail "rejected: slow attempts: $(attempt_states "$R" slow)"
run_json "$R" | grepq "retry rejected" || fail "rejected: the failed attempt does not say why"
[ "$(wc -l <"$T/reject/slow.count")" -eq 1 ] || fail "rejected: slow ran again"
[ ! -e "$T/reject/after-ran" ] || fail "rejected: the step after ran"
pass "on_unknown ask, rejected: the step fails"

# --- ask, cancelled while it asks: a new row, cancelled
R=$(killed_run ask cancel)
expect_asking "$R" cancel
o runs cancel "$R"
expect_rc 0 "cancel of a run that asks"
[ "$(run_state "$R")" = cancelled ] || fail "cancelled: run is $(run_state "$R")"
[ "$(attempt_states "$R" slow)" = "unknown cancelled" ] ||
  fail "cancelled: slow attempts: $(attempt_states "$R" slow)"
[ "$(wc -l <"$T/cancel/slow.count")" -eq 1 ] || fail "cancelled: slow ran again"
pass "on_unknown ask, cancelled while asking: one cancelled row after the unknown one"

# --- fail: no question, the step fails at once
R=$(killed_run fail fail)
o resume "$R"
[ "$(run_state "$R")" = failed ] || fail "fail: run is $(run_state "$R")"
[ "$(attempt_states "$R" slow)" = "unknown failed" ] ||
  fail "fail: slow attempts: $(attempt_states "$R" slow)"
run_json "$R" | grepq "on_unknown: fail" || fail "fail: the failed attempt does not say why"
[ "$(wc -l <"$T/fail/slow.count")" -eq 1 ] || fail "fail: slow ran again"
pass "on_unknown fail: the step fails without running again"
