# Inputs are data, never code (docs/security.md, "Inputs are data"): orch
# validate warns, with file:line:col, when an input or a step output is
# pasted into a shell script (step-exec's run), and not for the env: form;
# the shipped hello example, given inputs that are shell code, through the
# CLI and through orchd's API, runs none of it.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/orchd.sh"
ex="$ORCH_SOURCE_DIR/config/examples/hello.yaml"

# --- 1. the validate warning
cat >"$T/pasted.yaml" <<'EOF'
version: 1
workflows:
  w:
    inputs: {name: {default: x}}
    steps:
      - id: a
        uses: exec
        with: {run: "echo ${{ inputs.name }}", capture: true}
      - id: b
        uses: exec
        needs: a
        with:
          run: |
            echo hi
            echo '${{ steps.a.outputs.stdout }}'
EOF
o validate "$T/pasted.yaml"
expect_rc 0 "warnings alone do not change the exit status"
expect_out "$T/pasted.yaml:8:21: warning: step a: inputs.name is pasted into the shell script of 'run'" \
  "the input warning with file:line:col"
expect_out 'pass it through env: (with: env: {NAME: "${{ inputs.name }}"}) and write "$NAME" in the script' \
  "the env: form is suggested"
expect_out "$T/pasted.yaml:13:16: warning: step b: steps.a.outputs.stdout is pasted" \
  "the step-output warning with file:line:col"
cat >"$T/envform.yaml" <<'EOF'
version: 1
workflows:
  w:
    inputs: {name: {default: x}}
    steps:
      - id: a
        uses: exec
        with: {env: {NAME: "${{ inputs.name }}"}, run: 'echo "$NAME"', capture: true}
      - id: b
        uses: exec
        needs: a
        with: {env: {OUT: "${{ steps.a.outputs.stdout }}"}, run: 'echo "$OUT"'}
      - id: c
        uses: exec
        with: {run: "echo ${{ env.HOME }}"}
EOF
o validate "$T/envform.yaml"
expect_rc 0 "the env: form validates"
expect_no_out "warning" "no warning for the env: form (nor for env.X, the operator's own)"
sed 's/needs: a/needs: nope/' "$T/pasted.yaml" >"$T/both.yaml"
o validate "$T/both.yaml"
expect_rc 2 "an error still fails validation when there are warnings too"
expect_out "warning: step a: inputs.name is pasted" "the warning is printed beside the error"
pass "orch validate warns (file:line:col) for inputs and step outputs pasted into run:, not for env:"

# --- 2. the shipped hello example runs no input as code (CLI)
me=$(id -un)
o run "$ex" hello --input 'name=$(id -un)'
expect_rc 0 "hello with a command substitution as its name"
expect_out 'hello, $(id -un)' "the name is printed as given"
expect_no_out "hello, $me" "id did not run"
o run "$ex" hello --input "name=\$(touch $T/pwned-cli)\`touch $T/pwned-cli2\`'; touch $T/pwned-cli3; '\"; touch $T/pwned-cli4; \""
expect_rc 0 "hello with quotes and substitutions as its name"
for f in "$T"/pwned-cli*; do [ ! -e "$f" ] || fail "an input ran as a command: $f exists"; done
pass "CLI: the hello example treats inputs and step outputs as data"

# --- 3. the same through orchd's API with a write token
{
  cat <<'EOF'
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms, lease_ttl: 5s}
EOF
  sed -n '/^workflows:/,$p' "$ex"
} | od_config "$T/orchd.yaml"
o validate "$T/orchd.yaml"
expect_no_out "warning" "the example's workflows validate without warnings"
od_start "$T/orchd.yaml"
body=$(python3 -c 'import json,sys; print(json.dumps({"workflow": "hello", "inputs": {"name": sys.argv[1]}}))' \
  "\$(id -un) \$(touch $T/pwned-api)\`touch $T/pwned-api2\`'; touch $T/pwned-api3; '")
api POST /v1/runs "$body"
expect_http 201 "start hello with shell code as the name"
R=$(resp "d['run']['id']")
od_wait_run "$R" succeeded 60
api GET "/v1/runs/$R/steps/greet/logs" "" reader
grep -qF 'hello, $(id -un)' "$T/resp" || fail "the name was not printed as given: $(cat "$T/resp")"
if grep -qF "hello, $me" "$T/resp"; then fail "id ran: $(cat "$T/resp")"; fi
for f in "$T"/pwned-api*; do [ ! -e "$f" ] || fail "an API input ran as a command: $f exists"; done
od_stop
pass "API: the hello example treats inputs and step outputs as data"
