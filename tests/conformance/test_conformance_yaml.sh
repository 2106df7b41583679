#!/bin/bash
# conformance.yaml's option_sets run the suite once per set, each reported
# under its name, and its setup command runs before the suite: a failing
# setup is a usage error, and what it leaves running is killed after.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_PLUGIN_TOOL:?}"
TP="$ORCH_TEST_PLUGIN_DIR"

op() {
  set +e
  "$ORCH_PLUGIN_TOOL" "$@" >"$T/out" 2>&1
  RC=$?
  set -e
}
has() { grep -qF -- "$1" "$T/out" || { cat "$T/out" >&2; fail "expected: $1"; }; }

mark="orch-cf-setup-$$-$RANDOM"
# The "server" stops cleanly on SIGTERM (it writes setup.stop), as a real
# test server would be given the chance to.
cat >"$T/sets.yaml" <<Y
setup: |
  ORCH_CF_SETUP_MARK=$mark sh -c 'trap "echo stopped >$T/setup.stop; exit 0" TERM
    while :; do sleep 1; done' &
  echo up >"$T/setup.out"
option_sets:
  - name: plain
    with: {name: world}
  - name: shouting
    with: {name: world, mode: shout, times: 5}
  - name: too-many
    with: {name: world, times: 9}
Y
op test "$TP/step-abi11.so" --config "$T/sets.yaml" --run 'run-and-outputs' \
  --tap "$T/sets.tap" --junit "$T/sets.xml"
expect_rc 1 "orch-plugin with one bad option set"
[ "$(cat "$T/setup.out" 2>/dev/null)" = up ] || fail "the setup command did not run"
has "step-abi11[plain]: 1 passed, 0 failed"
has "step-abi11[shouting]: 1 passed, 0 failed"
has "step-abi11[too-many]: 0 passed, 1 failed"
has "PASS  step/run-and-outputs [plain]"
has "FAIL  step/run-and-outputs [too-many]"
has "times"
# One TAP plan and one JUnit file for all the sets (each set used to
# overwrite the files of the one before).
grep -q '^1\.\.3$' "$T/sets.tap" || { cat "$T/sets.tap" >&2; fail "TAP plan is not 1..3"; }
grep -q '^ok 1 - step/run-and-outputs \[plain\]$' "$T/sets.tap" || fail "TAP lacks the plain set"
grep -q '^not ok 3 - step/run-and-outputs \[too-many\]$' "$T/sets.tap" || fail "TAP lacks the too-many set"
grep -q '<testsuites name="step-abi11" tests="3" failures="1"' "$T/sets.xml" ||
  { cat "$T/sets.xml" >&2; fail "JUnit lacks the total"; }
[ "$(grep -c '<testsuite name="step-abi11\[' "$T/sets.xml")" = 3 ] || fail "JUnit lacks a suite per set"
left=
for ((i = 0; i < 600; i++)); do
  left=$(grep -l "ORCH_CF_SETUP_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null || true)
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "what the setup left running survived the suite: $left"
[ "$(cat "$T/setup.stop" 2>/dev/null)" = stopped ] || fail "the setup's server was not stopped with SIGTERM"
pass "option sets each run under their name; setup ran and was cleaned up"

printf 'setup: "exit 3"\nwith: {name: x}\n' >"$T/badsetup.yaml"
op test "$TP/step-abi11.so" --config "$T/badsetup.yaml"
expect_rc 2 "orch-plugin with a failing setup"
has "setup 'exit 3' failed (exit 3)"

printf 'with: {name: x}\noption_sets:\n  - {name: a, with: {name: y}}\n' >"$T/both.yaml"
op test "$TP/step-abi11.so" --config "$T/both.yaml"
expect_rc 2 "orch-plugin with both with: and option_sets:"
has "both.yaml:1:7: with: and option_sets: exclude each other"

printf 'option_sets:\n  - {name: a, with: {name: x}}\n  - {name: a, with: {name: y}}\n' >"$T/dup.yaml"
op test "$TP/step-abi11.so" --config "$T/dup.yaml"
expect_rc 2 "orch-plugin with two sets of one name"
has "dup.yaml:3:12: option_sets: the name 'a' is used twice"
pass "a failing setup and a contradictory file are usage errors"
