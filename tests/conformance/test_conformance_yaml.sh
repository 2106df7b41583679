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
cat >"$T/sets.yaml" <<Y
setup: 'ORCH_CF_SETUP_MARK=$mark sleep 300 & echo up >"$T/setup.out"'
option_sets:
  - name: plain
    with: {name: world}
  - name: shouting
    with: {name: world, mode: shout, times: 5}
  - name: too-many
    with: {name: world, times: 9}
Y
op test "$TP/step-abi11.so" --config "$T/sets.yaml" --run 'run-and-outputs'
expect_rc 1 "orch-plugin with one bad option set"
[ "$(cat "$T/setup.out" 2>/dev/null)" = up ] || fail "the setup command did not run"
has "step-abi11[plain]: 1 passed, 0 failed"
has "step-abi11[shouting]: 1 passed, 0 failed"
has "step-abi11[too-many]: 0 passed, 1 failed"
has "times"
left=
for ((i = 0; i < 600; i++)); do
  left=$(grep -l "ORCH_CF_SETUP_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null || true)
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "what the setup left running survived the suite: $left"
pass "option sets each run under their name; setup ran and was cleaned up"

printf 'setup: "exit 3"\nwith: {name: x}\n' >"$T/badsetup.yaml"
op test "$TP/step-abi11.so" --config "$T/badsetup.yaml"
expect_rc 2 "orch-plugin with a failing setup"
has "setup 'exit 3' failed (exit 3)"

printf 'with: {name: x}\noption_sets:\n  - {name: a, with: {name: y}}\n' >"$T/both.yaml"
op test "$TP/step-abi11.so" --config "$T/both.yaml"
expect_rc 2 "orch-plugin with both with: and option_sets:"
has "both.yaml:1:7: with: and option_sets: exclude each other"
pass "a failing setup and a contradictory file are usage errors"
