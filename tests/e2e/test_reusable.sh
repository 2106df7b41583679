# Reusable workflows: a step `uses: workflow:NAME` (or ./FILE#NAME) runs
# that workflow as a child run, with: as its inputs, its outputs the
# step's. Tried here: outputs and typed inputs; the links both ways in
# orch runs show (plain, --json) and the API; a failing child; a step
# timeout stopping its child; proof mode reaching the child; a kill -9
# mid-child, then a resume that finds the child instead of making a
# second; an approval inside a child (parked, the hint naming the child,
# resumed from the parent's snapshot, which holds a workflows_dir file);
# orchd: a parent's cancel stopping its child, an approval decided over
# the API waking the parked parent; a hostile input refused by the
# child's declaration; and validate's refusals, each at file:line:col.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

mkdir -p "$T/lib"
cat >"$T/lib/gates.yaml" <<'YAML'
workflows:
  gate:
    inputs: {what: {type: string, default: deploy}}
    outputs: {said: "${{ steps.ok.outputs.approved }}"}
    steps:
      - id: ok
        uses: approval
        with: {message: "go ${{ inputs.what }}?"}
YAML
cat >"$T/wf.yaml" <<YAML
version: 1
workflows_dir: lib
workflows:
  build:
    inputs:
      target: {type: string, required: true}
      n: {type: number, default: 2}
    outputs:
      artifact: "\${{ steps.compile.outputs.stdout }}"
      twice: "\${{ inputs.n }}"
    steps:
      - id: compile
        uses: exec
        env: {TARGET: "\${{ inputs.target }}"}
        with: {run: 'printf "%s.bin" "\$TARGET"', capture: true}
  ci:
    inputs: {n: {type: string, default: "3"}}
    outputs:
      got: "\${{ steps.b.outputs.artifact }}"
    steps:
      - id: b
        uses: workflow:build
        with: {target: app, n: "\${{ inputs.n }}"}
      - id: after
        needs: [b]
        uses: exec
        env: {GOT: "\${{ steps.b.outputs.artifact }}", N: "\${{ steps.b.outputs.twice }}"}
        with: {run: 'echo "after got \$GOT n=\$N"'}
  slow:
    inputs: {marker: {type: string, required: true}}
    steps:
      - id: wait
        uses: exec
        env: {MARK: "\${{ inputs.marker }}"}
        with:
          run: |
            echo "\$\$" >>"\$MARK.pids"
            touch "\$MARK.started"
            while [ ! -e "\$MARK.go" ]; do sleep 0.1; done
            echo done
  parent:
    inputs: {marker: {type: string, required: true}}
    steps:
      - id: call
        uses: workflow:slow
        with: {marker: "\${{ inputs.marker }}"}
      - id: tail
        needs: [call]
        uses: exec
        with: {run: "echo tail-ran"}
  failing:
    steps:
      - {id: f, uses: exec, with: {run: "echo before; exit 3"}}
  callsfail:
    steps:
      - {id: c, uses: "workflow:failing"}
  timed:
    steps:
      - id: c
        uses: workflow:slow
        timeout: 1s
        with: {marker: "$T/never"}
  gated:
    steps:
      - {id: g, uses: "./lib/gates.yaml#gate", with: {what: prod}}
      - {id: after, needs: [g], uses: exec, with: {run: "echo after-gate"}}
YAML

# Outputs, typed inputs ("3" from a string input becomes the child's
# number), the links both ways.
o run "$T/wf.yaml" ci
expect_rc 0 "a run that calls a workflow"
expect_out "after got app.bin n=3" "the child's outputs reach the next step"
expect_out 'output    got = "app.bin"' "and the parent's outputs"
"$ORCH" --json runs list >"$T/list"
parent=$(jq_py "[r['id'] for r in d if r['workflow']=='ci'][0]" <"$T/list")
child=$(jq_py "[r['id'] for r in d if r['workflow']=='build'][0]" <"$T/list")
run_json "$parent" >"$T/p.json"
[ "$(jq_py "d['children'][0]['run']" <"$T/p.json")" = "$child" ] ||
  fail "the parent does not name its child: $(cat "$T/p.json")"
[ "$(jq_py "d['children'][0]['step']" <"$T/p.json")" = b ] || fail "the child's step"
run_json "$child" >"$T/c.json"
[ "$(jq_py "d['parent']['run']" <"$T/c.json")" = "$parent" ] ||
  fail "the child does not name its parent: $(cat "$T/c.json")"
[ "$(jq_py "d['inputs']['n']" <"$T/c.json")" = 3 ] || fail "the child's input n is not the number 3"
[ "$(jq_py "d['outputs']['artifact']" <"$T/c.json")" = app.bin ] || fail "the child's outputs"
o runs show "$parent"
expect_out "child     $child (step b, attempt 1, workflow build)" "runs show names the child"
o runs show "$child"
expect_out "parent    $parent (step b, attempt 1)" "runs show names the parent"
pass "a child run's outputs are the step's; linked both ways in the store and the CLI"

# A failing child fails the step with its reason.
o run "$T/wf.yaml" callsfail
expect_rc 1 "a failing child"
expect_out "c failed" "the call step failed"
expect_out "(workflow failing) failed: step f failed: command exited with status 3" \
  "with the child's reason"
pass "a failed child fails its step, saying why"

# The step's timeout stops the child (cancelled), the step times out.
o run "$T/wf.yaml" timed
expect_rc 1 "a call step past its timeout"
expect_out "c timed_out" "the step timed out"
expect_out "step timeout of 1s passed: child run" "naming the child"
slow=$("$ORCH" --json runs list --workflow slow --limit 1 | jq_py "d[0]['id']")
[ "$(run_state "$slow")" = cancelled ] || fail "the timed-out step's child is $(run_state "$slow")"
pass "a step timeout stops its child run"

# Proof mode reaches the child: its steps plan, nothing runs.
o run --dry-run "$T/wf.yaml" parent --input marker="$T/dry"
expect_rc 0 "a dry run of a parent"
expect_out "would run with sh -e {0}" "the child's step planned"
[ ! -e "$T/dry.started" ] || fail "a dry run ran the child's command"
dry_child=$("$ORCH" --json runs list --workflow slow --limit 1 | jq_py "d[0]['id']")
"$ORCH" --json runs events "$dry_child" | grepq '"dry_run": *true' ||
  fail "the child run is not a dry run: $("$ORCH" --json runs events "$dry_child")"
pass "proof mode propagates to the child run"

# kill -9 while the child's command runs; the resume of the parent finds
# the child (one child run for the attempt, never two) and drives both.
before=$("$ORCH" --json runs list --workflow slow | jq_py "len(d)")
"$ORCH" run "$T/wf.yaml" parent --input marker="$T/k" >"$T/k.log" 2>&1 &
kpid=$!
T_PIDS+=("$kpid")
wait_file "$T/k.started"
kill -9 "$kpid"
wait "$kpid" 2>/dev/null || true
kparent=$("$ORCH" --json runs list --workflow parent --limit 1 | jq_py "d[0]['id']")
touch "$T/k.go"
wait_until "the killed parent's driver to be gone" sh -c "! kill -0 $kpid 2>/dev/null"
o resume "$kparent"
expect_rc 0 "the resume of the parent"
expect_out "tail-ran" "the parent went on after its child"
[ "$(run_state "$kparent")" = succeeded ] || fail "the resumed parent is $(run_state "$kparent")"
after=$("$ORCH" --json runs list --workflow slow | jq_py "len(d)")
[ "$after" -eq $((before + 1)) ] || fail "$((after - before)) child runs for one attempt"
kchild=$(run_json "$kparent" | jq_py "d['children'][0]['run']")
[ "$(run_state "$kchild")" = succeeded ] || fail "the child is $(run_state "$kchild")"
[ "$(run_json "$kparent" | jq_py "len(d['children'])")" = 1 ] || fail "the parent made two children"
pass "kill -9 mid-child: the resume drives the same child to its end, no second child"

# An approval in a child (a workflows_dir file's): both park, the hint
# names the child, the parent's resume (from its snapshot) drives both.
o run "$T/wf.yaml" gated
expect_rc 0 "a parked parent"
gparent=$("$ORCH" --json runs list --workflow gated --limit 1 | jq_py "d[0]['id']")
gchild=$("$ORCH" --json runs list --workflow gate --limit 1 | jq_py "d[0]['id']")
expect_out "run $gparent waits for its child run $gchild, which waits for a decision: orch runs approve $gchild" \
  "the hint names the child to decide"
[ "$(run_state "$gparent")" = waiting ] || fail "the parent is $(run_state "$gparent")"
[ "$(run_state "$gchild")" = waiting ] || fail "the child is $(run_state "$gchild")"
o runs approve "$gchild" ok
expect_rc 0 "approve the child"
o resume "$gparent"
expect_rc 0 "resume the parent"
expect_out "after-gate" "the parent went on"
[ "$(run_state "$gchild")" = succeeded ] || fail "the approved child is $(run_state "$gchild")"
[ "$(run_json "$gparent" | jq_py "[a for a in d['attempts'] if a['step']=='g'][-1]['outputs']['said']")" = true ] ||
  fail "the decision did not reach the parent's step outputs"
pass "an approval inside a child run parks both; the parent's resume continues both"

# Refused by validate, each with its place.
cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows_dir: lib
workflows:
  a:
    steps:
      - {id: s1, uses: "workflow:b"}
  b:
    steps:
      - {id: s2, uses: "workflow:a"}
  c:
    inputs: {n: {type: number, required: true}}
    steps:
      - {id: s3, uses: exec, with: {run: "true"}}
  d:
    steps:
      - {id: u1, uses: "workflow:nope"}
      - {id: u2, uses: "workflow:c", with: {n: abc}}
      - {id: u3, uses: "workflow:c", with: {zz: 1}}
      - {id: u4, uses: "workflow:c", with: {n: "${{ secrets.TOKEN }}"}}
      - {id: u5, uses: "workflow:c", backend: local, with: {n: 1}}
      - {id: u6, uses: "./lib/gates.yaml#gate"}
      - {id: u7, uses: "./lib/other.yaml#gate"}
      - {id: u8, uses: "./lib/gates.yaml#nothere"}
      - {id: u9, uses: "../../etc/passwd#x"}
      - {id: u10, uses: workflow}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "bad calls"
expect_out "bad.yaml:16:24: step u1: uses: workflow:nope: no workflow of that name" "an unknown workflow"
expect_out "bad.yaml:17:48: step u2: with.n: must be a number" "a literal of the wrong type"
expect_out "bad.yaml:18:45: step u3: with.zz: workflow c has no input 'zz'" "an unknown input"
expect_out "bad.yaml:18:9: step u3: workflow c needs its input 'n'" "a missing required input"
expect_out "bad.yaml:19:48: step u4: cannot pass secrets.TOKEN to a child run" "a secret as an input"
expect_out "bad.yaml:20:47: step u5: a call step has no backend" "a backend on a call"
expect_out "bad.yaml:22:24: step u7: uses: ./lib/other.yaml#gate: ./lib/other.yaml is not a file of this config" \
  "a file the config does not read"
expect_out "./lib/gates.yaml defines no workflow 'nothere'" "a name the file lacks"
expect_out "step u9: uses: ../../etc/passwd#x: ../../etc/passwd is not a file of this config" \
  "a path out of the config is never read"
expect_out "bad.yaml:25:25: step u10: uses: workflow needs the workflow to run" "the bare step type"
expect_out "bad.yaml:9:9: step s2 of workflow b: uses: workflow:a makes a cycle of calls" "a cycle"
expect_no_out "step u6" "a call into a workflows_dir file is fine"
{
  printf 'version: 1\nworkflows:\n'
  for i in 0 1 2 3 4 5 6 7 8 9; do printf '  w%d: {steps: [{id: s, uses: "workflow:w%d"}]}\n' "$i" $((i + 1)); done
  printf '  w10: {steps: [{id: s, uses: exec, with: {run: "true"}}]}\n'
} >"$T/deep.yaml"
o validate "$T/deep.yaml"
expect_rc 2 "calls nested too deep"
expect_out "deep.yaml:4:3: workflow w1: its calls nest more than 8 deep" "the depth limit, at its place"
pass "validate refuses unknown, cyclic, too deep and mistyped calls at file:line:col"

# orchd, with a write token: a parent's cancel stops its child; a child's
# approval decided over the API wakes the parked parent; a hostile input
# is refused by the child's declaration, not pasted anywhere.
cat >>"$T/wf.yaml" <<'YAML'
  typed:
    inputs: {n: {type: string, required: true}}
    steps:
      - {id: c, uses: "workflow:build", with: {target: x, n: "${{ inputs.n }}"}}
YAML
od_config "$T/orchd.yaml" <<EOF
$(cat "$T/wf.yaml")
$OD_SERVER
EOF
sed -i "s|^workflows_dir: lib|workflows_dir: $T/lib|" "$T/orchd.yaml"
od_start "$T/orchd.yaml"
api POST /v1/runs "{\"workflow\": \"parent\", \"inputs\": {\"marker\": \"$T/api\"}}"
expect_http 201 "start a parent"
ap=$(resp "d['run']['id']")
wait_file "$T/api.started"
api GET "/v1/runs/$ap" "" reader
ac=$(resp "d['run']['children'][0]['run']")
[ -n "$ac" ] || fail "the API's parent names no child"
api GET "/v1/runs/$ac" "" reader
[ "$(resp "d['run']['parent']['run']")" = "$ap" ] || fail "the API's child does not name its parent"
api POST "/v1/runs/$ap/cancel" ""
expect_http 202 "cancel the parent"
od_wait_run "$ap" cancelled
od_wait_run "$ac" cancelled
expect_dead_pids "$T/api.pids" "the child's command after the parent's cancel"
pass "orchd: a parent's cancel stops its child run and its command"

api POST /v1/runs '{"workflow": "gated"}'
expect_http 201 "start a gated parent"
gp=$(resp "d['run']['id']")
od_wait_run "$gp" waiting
api GET "/v1/runs/$gp" "" reader
gc=$(resp "d['run']['children'][0]['run']")
od_wait_run "$gc" waiting
api POST "/v1/runs/$gc/steps/ok/approve" '{}'
expect_http 202 "approve the child over the API"
od_wait_run "$gp" succeeded 120
od_wait_run "$gc" succeeded
pass "orchd: a decision on a child run wakes its parked parent, which ends"

api POST /v1/runs '{"workflow": "typed", "inputs": {"n": "$(id)"}}'
expect_http 201 "a parent whose input the child cannot take"
tp=$(resp "d['run']['id']")
od_wait_run "$tp" failed
api GET "/v1/runs/$tp" "" reader
grep -qF "child run of workflow build: workflow build: input 'n' must be a number" "$T/resp" ||
  fail "the refusal does not name the child's input: $(cat "$T/resp")"
od_stop
pass "a value a child's declaration refuses fails the step, naming the input"
