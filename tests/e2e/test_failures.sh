# Retries with backoff, timeouts that kill the whole process group,
# continue_on_error, `if:` conditions and the exit status of a failed run.
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  retry:
    steps:
      - id: flaky
        uses: exec
        retry: {attempts: 3, backoff: 100ms, factor: 2}
        with:
          run: echo x >> $T/flaky.count; [ \$(wc -l < $T/flaky.count) -ge 3 ]
  timeout:
    steps:
      - id: hang
        uses: exec
        timeout: 1s
        with:
          run: sleep 300 & echo \$! >> $T/hang.pids; echo \$\$ >> $T/hang.pids; wait
  failing:
    steps:
      - id: bad
        uses: exec
        with: {run: "echo about to fail; exit 7"}
      - id: tolerated
        uses: exec
        continue_on_error: true
        with: {run: "exit 3"}
      - id: after_bad
        uses: exec
        needs: [bad]
        with: {run: "touch $T/after_bad.ran"}
      - id: cleanup
        uses: exec
        needs: [bad]
        if: \${{ always() }}
        with: {run: "touch $T/cleanup.ran"}
      - id: on_failure
        uses: exec
        needs: [bad]
        if: \${{ failure() }}
        with: {run: "touch $T/on_failure.ran"}
YAML
o run "$T/wf.yaml" retry
expect_rc 0 "flaky succeeds on its third attempt"
id=$(last_run_id)
[ "$(attempts_of "$id" flaky)" -eq 3 ] || fail "flaky attempts: $(attempts_of "$id" flaky)"
[ "$(wc -l <"$T/flaky.count")" -eq 3 ] || fail "flaky ran $(wc -l <"$T/flaky.count") times"

o run "$T/wf.yaml" timeout
expect_rc 1 "a timed-out step fails the run"
id=$(last_run_id)
[ "$(state_of "$id" hang)" = timed_out ] || fail "hang state: $(state_of "$id" hang)"
expect_dead_pids "$T/hang.pids" "timeout kills the process group"

o run "$T/wf.yaml" failing
expect_rc 1 "a failed step fails the run"
expect_out "status 7" "the failure names the exit status"
id=$(last_run_id)
[ "$(state_of "$id" bad)" = failed ] || fail "bad state"
[ "$(state_of "$id" tolerated)" = failed ] || fail "tolerated state"
[ ! -e "$T/after_bad.ran" ] || fail "a step needing a failed step ran"
[ -e "$T/cleanup.ran" ] || fail "always() step did not run"
[ -e "$T/on_failure.ran" ] || fail "failure() step did not run"
run_json "$id" | jq_py "d['error']" | grepq "bad" || fail "run error names the failed step"
pass "failures"

# A cwd that does not exist is reported as the cwd (it read "cannot run
# /bin/sh": the shell was blamed for a directory).
cat >"$T/cwd.yaml" <<'YAML'
version: 1
workflows:
  w:
    steps:
      - {id: a, uses: exec, with: {run: "true", cwd: nope/dir}}
YAML
o run "$T/cwd.yaml" w
expect_rc 1 "a missing cwd fails the step"
expect_out "cwd 'nope/dir': No such file or directory" "the error names the cwd"
expect_no_out "cannot run" "the shell is not blamed"
pass "a missing cwd is named"
