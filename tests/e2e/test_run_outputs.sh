# A workflow's outputs: evaluated once when the run ends, kept with its
# run.finished, shown by orch run, orch runs show (plain and --json), the
# JSON progress stream and orchd's GET /v1/runs/{id}. A secret cannot be
# an output (validate refuses it with its place), and a secret value that
# reaches one through a step's output is masked. Hostile values (a
# newline, an escape sequence) stay on their line, quoted.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_SECRET_OUT_KEY="outputs-secret-$$-x7q"

cat >"$T/wf.yaml" <<'YAML'
version: 1
workflows:
  build:
    inputs:
      who: {default: world}
    outputs:
      version: "${{ steps.make.outputs.stdout }}"
      summary: "hello ${{ inputs.who }}: ${{ steps.make.result }}"
      unset: "${{ steps.skipped.outputs.stdout }}"
      leaked: "${{ steps.leak.outputs.stdout }}"
      hostile: "${{ steps.hostile.outputs.stdout }}"
    steps:
      - id: make
        uses: exec
        with: {run: "echo 1.2.3", capture: true}
      - id: skipped
        uses: exec
        if: "false"
        with: {run: "echo never", capture: true}
      - id: leak
        uses: exec
        env: {K: "${{ secrets.OUT_KEY }}"}
        with: {run: 'printf "key=%s" "$K"', capture: true}
      - id: hostile
        uses: exec
        with: {run: 'printf "a\nb\033[2Jc"', capture: true}
  failing:
    outputs:
      first: "${{ steps.one.outputs.stdout }}"
      second: "${{ steps.two.outputs.stdout }}"
    steps:
      - {id: one, uses: exec, with: {run: "echo made", capture: true}}
      - {id: two, uses: exec, needs: [one], with: {run: "exit 3", capture: true}}
YAML

o run "$T/wf.yaml" build --input who=orch
expect_rc 0 "the run"
expect_out 'output    version = "1.2.3"' "orch run prints the outputs at the end"
expect_out 'output    summary = "hello orch: success"' "inputs and results in an output"
expect_out 'output    unset = ""' "an output of a skipped step is empty"
expect_out 'output    leaked = "key=***"' "a secret value in an output is masked"
expect_out 'output    hostile = "a\nb\u001B[2Jc"' "a newline and an escape stay quoted"
expect_no_out "$ORCH_SECRET_OUT_KEY" "the secret never printed"
id=$(last_run_id)
o runs show "$id"
expect_out 'output    version = "1.2.3"' "runs show lists the outputs"
run_json "$id" >"$T/out"
[ "$(jq_py "d['outputs']['version']" <"$T/out")" = 1.2.3 ] || fail "--json runs show: $(cat "$T/out")"
[ "$(jq_py "d['outputs']['leaked']" <"$T/out")" = 'key=***' ] || fail "--json: the secret not masked"
expect_no_out "$ORCH_SECRET_OUT_KEY" "the store never holds the secret"
"$ORCH" --json run "$T/wf.yaml" build >"$T/out" 2>&1
grep '"event":"run.finished"' "$T/out" >"$T/fin" || fail "no run.finished in the JSON stream"
[ "$(jq_py "d['outputs']['summary']" <"$T/fin")" = "hello world: success" ] ||
  fail "the JSON stream's run.finished lacks the outputs: $(cat "$T/fin")"
pass "outputs through orch run, orch runs show and --json; secrets masked, hostile text quoted"

o run "$T/wf.yaml" failing
expect_rc 1 "a failing run"
expect_out 'output    first = "made"' "a failed run keeps the outputs its steps made"
expect_out 'output    second = ""' "and the failed step's is empty"
pass "a failed run has outputs too"

# A workflow without outputs: none shown, null in JSON.
printf 'version: 1\nworkflows:\n  plain:\n    steps:\n      - {id: a, uses: exec, with: {run: "true"}}\n' >"$T/plain.yaml"
o run "$T/plain.yaml" plain
expect_no_out "output " "no outputs declared, none printed"
[ "$(run_json "$(last_run_id)" | jq_py "d['outputs']")" = None ] || fail "outputs not null"
pass "no outputs: null"

# Refused by validate, each with its place: a secret, an unknown step, a
# syntax error, a reference of the wrong shape; a bad name, a value that
# is not text (found a pass earlier, with the file's shape).
cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows:
  w:
    outputs:
      key: "${{ secrets.OUT_KEY }}"
      ghost: "${{ steps.nope.outputs.x }}"
      broken: "${{ steps.a.outputs. }}"
      shape: "${{ steps.a.stdout }}"
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "bad outputs"
expect_out "bad.yaml:5:" "the secret's line"
expect_out "output key: cannot use secrets.OUT_KEY" "a secret refused"
expect_out "bad.yaml:6:" "the unknown step's line"
expect_out "steps.nope is not a step of workflow w" "an unknown step"
expect_out "bad.yaml:7:" "the syntax error's line"
expect_out "bad.yaml:8:" "the wrong shape's line"
expect_out "write steps.a.outputs.NAME" "a reference of the wrong shape"
printf 'version: 1\nworkflows:\n  w:\n    outputs:\n      9lives: x\n      nested: {a: b}\n    steps:\n      - {id: a, uses: exec, with: {run: "true"}}\n' >"$T/shape.yaml"
o validate "$T/shape.yaml"
expect_rc 2 "badly shaped outputs"
expect_out "shape.yaml:5:7: workflow w: output name '9lives'" "a bad name, with its place"
expect_out "shape.yaml:6:" "the mapping's line"
expect_out "output nested must be a string" "a mapping refused"
pass "validate refuses bad outputs, each with file:line"

# orchd's API: GET /v1/runs/{id} has the outputs; a write token cannot
# make a secret an output (the file is the operator's, the run takes no
# expression from the body).
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
$(sed 1d "$T/wf.yaml")
EOF
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow": "build", "inputs": {"who": "api"}}'
expect_http 201 "start"
rid=$(resp "d['run']['id']")
od_wait_run "$rid" succeeded
[ "$(resp "d['run']['outputs']['summary']")" = "hello api: success" ] ||
  fail "the API's run lacks its outputs: $(cat "$T/resp")"
[ "$(resp "d['run']['outputs']['leaked']")" = 'key=***' ] || fail "the API shows a secret"
api POST /v1/runs '{"workflow": "build", "inputs": {"who": "${{ secrets.OUT_KEY }}"}}'
expect_http 201 "an input that looks like an expression"
rid=$(resp "d['run']['id']")
od_wait_run "$rid" succeeded
[ "$(resp "d['run']['outputs']['summary']")" = 'hello ${{ secrets.OUT_KEY }}: success' ] ||
  fail "an input was evaluated as an expression: $(cat "$T/resp")"
grep -qF "$ORCH_SECRET_OUT_KEY" "$T/resp" && fail "the API showed the secret"
ORCH_TOKEN=reader-token "$ORCH" --server "unix:$OD_SOCK" runs show "$rid" >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "orch --server runs show"; }
expect_out 'output    version = "1.2.3"' "orch --server runs show lists the outputs"
od_stop
pass "orchd's run has its outputs; an input is data, never an expression"
