# The run and needs contexts and toJSON(): run.id and run.workflow are the
# run's; needs.ID reads a step this one needs directly (as steps.ID does);
# toJSON() gives a value as JSON text (quotes and backslashes escaped).
# Validate refuses needs.ID of a step that is not a direct need, run.X
# other than id and workflow, and toJSON with the wrong arguments.
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<'YAML'
version: 1
workflows:
  ctx:
    inputs:
      note: {default: 'say "hi" \ there'}
    steps:
      - {id: make, uses: exec, with: {run: "echo built-1", capture: true}}
      - id: use
        uses: exec
        needs: [make]
        env:
          RUN_ID: "${{ run.id }}"
          WF: "${{ run.workflow }}"
          MADE: "${{ needs.make.outputs.stdout }}"
          RESULT: "${{ needs.make.result }}"
          NOTE_JSON: "${{ toJSON(inputs.note) }}"
          NUM_JSON: "${{ toJSON(3) }}"
        with:
          run: 'printf "%s\n" "$RUN_ID" "$WF" "$MADE" "$RESULT" "$NOTE_JSON" "$NUM_JSON" > out.txt; cat out.txt'
YAML
o run "$T/wf.yaml" ctx
expect_rc 0 "the run"
id=$(last_run_id)
expect_out "[use] $id" "run.id is the run's id"
expect_out "[use] ctx" "run.workflow"
expect_out "[use] built-1" "needs.make.outputs.stdout"
expect_out "[use] success" "needs.make.result"
expect_out '[use] "say \"hi\" \\ there"' "toJSON escapes quotes and backslashes"
expect_out "[use] 3" "toJSON of a number"
pass "run.id, run.workflow, needs.ID and toJSON() in a step"

cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows:
  w:
    outputs: {o: "${{ needs.a.result }}"}
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
      - {id: b, uses: exec, needs: [a], with: {run: "true"}}
      - id: c
        uses: exec
        needs: [b]
        env: {X: "${{ needs.a.result }}", Y: "${{ run.number }}", Z: "${{ toJSON(1, 2) }}"}
        with: {run: "true"}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "bad references"
expect_out "step c: needs.a: not one of this step's needs" "a need of a need is not a need"
expect_out "step c: write run.id or run.workflow" "run.number"
expect_out "toJSON() takes 1 argument, not 2" "toJSON's arity"
expect_out "output o: needs.a: there are needs only in a step" "needs in an output"
pass "validate refuses needs beyond the direct ones, unknown run fields and a bad toJSON call"
