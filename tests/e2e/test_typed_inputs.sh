# Typed inputs (docs/config.md, "Inputs"): each type's refusals by the CLI
# (exit 2) and the API (400 invalid), naming the input and why, with no
# run stored; a good run per type renders the value in a step's output; a
# bad default, pattern or options is a config error at file:line:col.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
WF='    inputs:
      s: {pattern: "[a-z]+", default: abc}
      n: {type: number, default: 3}
      b: {type: boolean, default: "false"}
      c: {type: choice, options: [red, green], default: red}
      j: {type: json, default: {a: [1, 2]}}
    steps:
      - id: x
        uses: exec
        with: {run: "printf %s\\\\n \"s=${{ inputs.s }} n=${{ inputs.n }} c=${{ inputs.c }}\" '"'"'j=${{ inputs.j }}'"'"'"}
      - id: y
        uses: exec
        if: ${{ inputs.b }}
        with: {run: echo b-was-true}'
printf 'version: 1\nworkflows:\n  t:\n%s\n' "$WF" >"$T/wf.yaml"
runs_count() { "$ORCH" --json runs list | jq_py "len(d)"; }

# --- good runs: defaults, then a value of each type
o validate "$T/wf.yaml"
expect_rc 0 "the workflow validates"
o run "$T/wf.yaml" t
expect_rc 0 "defaults"
expect_out "s=abc n=3 c=red" "the defaults rendered"
expect_out 'j={"a":[1,2]}' "a json default (written as YAML) rendered as compact JSON"
expect_no_out "b-was-true" "boolean false is false in an if:"
o run "$T/wf.yaml" t --input s=xyz --input n=-1.5e2 --input b=true --input c=green \
  --input 'j=[1, {"k": null}]'
expect_rc 0 "a value of each type"
expect_out "s=xyz n=-150.0 c=green" "string, number and choice rendered"
expect_out 'j=[1,{"k":null}]' "json rendered compact"
expect_out "b-was-true" "boolean true is true in an if:"
o run "$T/wf.yaml" t --input n=12345678901234567
expect_rc 0 "a large integer"
expect_out "n=12345678901234567 " "an integer keeps every digit"
pass "a good run per type, each value rendered in a step's output"

# --- CLI refusals: exit 2 naming the input and why, nothing stored
n0=$(runs_count)
refuse() { # ARG EXPECTED-TEXT
  o run "$T/wf.yaml" t --input "$1"
  expect_rc 2 "--input $1"
  expect_out "$2" "--input $1 says why"
}
refuse n=5x "input 'n' must be a number"
refuse n=0x10 "input 'n' must be a number"
refuse 'n= 5' "input 'n' must be a number"
refuse n=1e999 "input 'n' is a number out of range"
refuse n=99999999999999999999 "input 'n' is a number out of range"
refuse b=yes "input 'b' must be true or false"
refuse b=True "input 'b' must be true or false"
refuse c=blue "input 'c' must be one of red, green (got 'blue')"
refuse s=ABC "input 's' does not match the pattern '[a-z]+'"
refuse 's=abc def' "input 's' does not match the pattern"
refuse 'j={' "input 'j' is not JSON"
refuse 'j={"a":1,"a":2}' "input 'j' is not JSON: duplicate object key"
refuse s=$'ab\xffc' "input 's' is not valid UTF-8"
refuse zz=1 "workflow t has no input 'zz'"
[ "$(runs_count)" = "$n0" ] || fail "a refused input stored a run"
pass "CLI: each type's bad value is exit 2 naming the input and why; nothing stored"

# --- a catastrophic pattern is refused at load; a costly-looking one is fast
printf 'version: 1\nworkflows:\n  p:\n    inputs:\n      a: {pattern: "((a|aa)*)*b"}\n      r: {pattern: "(a*)\\\\1"}\n    steps: [{id: x, uses: exec, with: {run: "true"}}]\n' \
  >"$T/re.yaml"
o validate "$T/re.yaml"
expect_rc 2 "a back-reference"
expect_out "re.yaml:6:20: workflow p, input r: pattern '(a*)\\1': back-references" \
  "the back-reference refused at file:line:col"
sed -i '/  r: /d' "$T/re.yaml"
# Bounded: a backtracking matcher would take minutes here (the check runs
# before any step, so 60 s is a safety net, not a measure).
set +e
timeout 60 "$ORCH" run "$T/re.yaml" p --input "a=$(head -c 100000 /dev/zero | tr '\0' a)" >"$T/out" 2>&1
RC=$?
set -e
[ "$RC" != 124 ] || fail "the nested-star pattern took over 60 s"
expect_rc 2 "a nested-star pattern that does not match"
expect_out "input 'a' does not match the pattern" "matched (glibc's ERE does not backtrack)"
pass "pattern: back-references refused at load, nested stars match in linear time"

# --- bad declarations: config errors at file:line:col
cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows:
  t:
    inputs:
      a: {type: number, default: five}
      b: {pattern: "(", default: x}
      c: {type: choice}
      d: {type: boolean, options: [x]}
      e: {type: number, pattern: "x"}
      f: {type: text}
      h: {type: choice, options: [x, y], default: z}
      i: {type: json, default: "{bad"}
      k: {pattern: "[0-9]+", default: v1}
    steps:
      - {id: x, uses: exec, with: {run: "true"}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "bad declarations"
expect_out "bad.yaml:5:34: workflow t, input a: the default must be a number" "a bad number default"
expect_out "bad.yaml:6:20: workflow t, input b: pattern '(': is not a POSIX extended" "a bad regex"
expect_out "bad.yaml:7:10: workflow t, input c: type choice needs options" "choice without options"
expect_out "bad.yaml:8:26: workflow t, input d: options are for type: choice only" "options elsewhere"
expect_out "bad.yaml:9:25: workflow t, input e: pattern is for type: string only" "pattern elsewhere"
expect_out "bad.yaml:10:17: workflow t, input f: type must be string, number, boolean" "unknown type"
expect_out "bad.yaml:11:51: workflow t, input h: the default must be one of x, y (got 'z')" \
  "a choice default not among the options"
expect_out "bad.yaml:12:32: workflow t, input i: the default is not JSON" "a bad json default"
expect_out "bad.yaml:13:39: workflow t, input k: the default does not match the pattern" \
  "a default against its own pattern"
pass "bad default, pattern, options and type: config errors at file:line:col"

# --- the API: JSON values, strictly typed; 400 invalid naming the input
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
workflows:
  t:
$WF
EOF
export ORCH_STATE_DIR="$T/state-d"
od_start "$T/orchd.yaml"
api_refuse() { # INPUTS-JSON EXPECTED-TEXT
  api POST /v1/runs "{\"workflow\":\"t\",\"inputs\":$1}"
  expect_http 400 "inputs $1"
  [ "$(resp "d['error']['code']")" = invalid ] || fail "inputs $1: not 'invalid': $(cat "$T/resp")"
  grepq -F -- "$2" "$T/resp" || fail "inputs $1: the answer lacks '$2': $(cat "$T/resp")"
}
api_refuse '{"n":"5"}' "input 'n' must be a number, not a string"
api_refuse '{"n":true}' "input 'n' must be a number, not a boolean"
api_refuse '{"b":"true"}' "input 'b' must be a boolean, not a string"
api_refuse '{"b":1}' "input 'b' must be a boolean, not a number"
api_refuse '{"c":"blue"}' "input 'c' must be one of red, green"
api_refuse '{"c":{"x":1}}' "input 'c' must be a choice, not an object"
api_refuse '{"s":"A1"}' "input 's' does not match the pattern"
api_refuse '{"s":[1]}' "input 's' must be a string, not an array"
# A body from a file (curl's @FILE): too long for one argument.
printf '{"workflow":"t","inputs":{"j":["%s"]}}' "$(head -c 270000 /dev/zero | tr '\0' a)" \
  >"$T/big.json"
api POST /v1/runs "@$T/big.json"
expect_http 400 "a json input past the limit"
grepq -F "input 'j' is 270004 bytes as JSON; the limit is 262144" "$T/resp" \
  || fail "the size refusal: $(head -c 300 "$T/resp")"
printf '{"workflow":"t","inputs":{"s":"%s"}}' "$(head -c 270000 /dev/zero | tr '\0' a)" \
  >"$T/big.json"
api POST /v1/runs "@$T/big.json"
expect_http 400 "a string input past the limit"
grepq -F "input 's' is 270000 bytes; the limit is 262144" "$T/resp" \
  || fail "the size refusal: $(head -c 300 "$T/resp")"
# A NUL in a JSON string: the body itself is refused (jansson's default).
api POST /v1/runs '{"workflow":"t","inputs":{"s":"a\u0000b"}}'
expect_http 400 "a NUL byte"
[ "$(resp "d['error']['code']")" = bad_json ] || fail "a NUL byte: $(cat "$T/resp")"
api_refuse '{"zz":1}' "workflow t has no input 'zz'"
api GET /v1/runs "" reader
[ "$(resp "len(d['runs'])")" = 0 ] || fail "a refused input stored a run: $(cat "$T/resp")"
pass "API: each type's bad value is 400 invalid naming the input and why; nothing stored"

api POST /v1/runs '{"workflow":"t","inputs":{"s":"q","n":7,"b":true,"c":"green","j":{"z":[true]}}}'
expect_http 201 "typed values"
R=$(resp "d['run']['id']")
[ "$(resp "d['run']['inputs']")" = "{'s': 'q', 'n': 7, 'b': True, 'c': 'green', 'j': {'z': [True]}}" ] \
  || fail "stored inputs are not the typed values: $(cat "$T/resp")"
od_wait_run "$R" succeeded
api GET "/v1/runs/$R/steps/x/logs" "" reader
grepq -F 's=q n=7 c=green' "$T/resp" || fail "the API run's values not rendered: $(cat "$T/resp")"
grepq -F 'j={"z":[true]}' "$T/resp" || fail "the API run's json not rendered: $(cat "$T/resp")"
od_stop
pass "API: a run with a value of each type stores and renders them typed"
