# A plugin that crashes or hangs fails its own step, never orch: the other
# steps of the run go on, and the error names the signal.
. "$(dirname "$0")/../lib/common.sh"
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: boom
        uses: crash
        with: {mode: segv}
      - id: hang
        uses: crash
        timeout: 1s
        with: {mode: hang}
      - id: fine
        uses: exec
        with: {run: "echo still fine"}
      - id: after_fine
        uses: exec
        needs: [fine]
        with: {run: "echo after fine"}
YAML
o run "$T/wf.yaml" w
expect_rc 1 "the run fails"
expect_out "SIGSEGV" "the crash names the signal"
expect_out "after fine" "independent steps still ran"
id=$(last_run_id)
[ "$(state_of "$id" boom)" = failed ] || fail "boom state $(state_of "$id" boom)"
[ "$(state_of "$id" hang)" = timed_out ] || fail "hang state $(state_of "$id" hang)"
[ "$(state_of "$id" after_fine)" = succeeded ] || fail "after_fine state"
pass "crash isolation"

# A backend that crashes is blamed, with its slot; not the step that called
# it (the message said "while running step-exec").
for slot in create exec; do
  cat >"$T/be.yaml" <<YAML
version: 1
backends:
  liar: {uses: liar, with: {root: "segv:$slot"}}
workflows:
  w:
    steps:
      - {id: a, uses: exec, backend: liar, with: {argv: ["true"]}}
YAML
  o run "$T/be.yaml" w
  expect_rc 1 "a crashing backend fails the run"
  expect_out "while running backend-liar's $slot slot" "the crash names the backend and its slot"
  expect_no_out "while running step-exec" "the step is not blamed"
done
pass "backend crashes name the backend and its slot"
