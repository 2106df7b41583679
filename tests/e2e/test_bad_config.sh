# Bad workflow files: each error names file:line:col and what is wrong, the
# exit status is 2, and nothing runs or is stored.
. "$(dirname "$0")/../lib/common.sh"
cd "$T"
check() { # file expected-fragment...
  local f=$1; shift
  o validate "$f"
  expect_rc 2 "validate $f"
  local frag
  for frag in "$@"; do expect_out "$frag" "validate $f"; done
  o run "$f" w
  expect_rc 2 "run $f"
}
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        with: {run: "true", rnu: x}\n' >typo.yaml
check typo.yaml "typo.yaml:7:" "rnu" "did you mean"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exce\n' >plugin.yaml
check plugin.yaml "plugin.yaml:6:" "exce"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        needs: [b]\n        with: {run: "true"}\n      - id: b\n        uses: exec\n        needs: [a]\n        with: {run: "true"}\n' >cycle.yaml
check cycle.yaml "cycle.yaml:" "cycle"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        with: {run: "echo ${{ steps.zz.outputs.x }}"}\n' >ref.yaml
check ref.yaml "ref.yaml:7:" "zz"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        with: {run: [unclosed\n' >syntax.yaml
check syntax.yaml "syntax.yaml:"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        timeout: soon\n        with: {run: "true"}\n' >dur.yaml
check dur.yaml "dur.yaml:7:" "timeout"
# orchd's sections (tools/orchd/config) are checked by the CLI too, in the
# same pass as the core's own: a bad size, a lease shorter than two ticks,
# a webhook naming no workflow and a bad step timeout, each at its place.
printf 'version: 1\nserver:\n  max_body: 10\nworker:\n  tick: 1s\n  lease_ttl: 1s\nwebhooks:\n  h: {workflow: nope, secret: "${{ secrets.K }}"}\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        timeout: soon\n        with: {run: "true"}\n' >daemon.yaml
check daemon.yaml "daemon.yaml:3:13: server.max_body" "daemon.yaml:6:14: worker.lease_ttl must be" \
  "daemon.yaml:8:6: webhook h: no workflow 'nope'" "daemon.yaml:14:18:" "4 errors in daemon.yaml"
printf 'version: 1\nsever: {listen: "127.0.0.1:1"}\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        with: {run: "true"}\n' >daemonkey.yaml
check daemonkey.yaml "daemonkey.yaml:2:1:" "did you mean 'server'?"
o validate missing.yaml
expect_rc 2 "missing file"
expect_out "missing.yaml" "names the missing file"
# Nothing was recorded by any of the refused runs.
o --json runs list
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")" -eq 0 ] ||
  fail "a refused config created a run"
# An unknown workflow name suggests the closest one.
printf 'version: 1\nworkflows:\n  build:\n    steps:\n      - id: a\n        uses: exec\n        with: {run: "true"}\n' >ok.yaml
o run ok.yaml biuld
expect_rc 2 "unknown workflow"
expect_out "did you mean 'build'" "suggests the workflow"
# A missing required input.
printf 'version: 1\nworkflows:\n  w:\n    inputs: {who: {required: true}}\n    steps:\n      - id: a\n        uses: exec\n        with: {run: "echo ${{ inputs.who }}"}\n' >input.yaml
o run input.yaml w
expect_rc 2 "missing required input"
expect_out "who" "names the input"
o run ok.yaml build --input nope=1
expect_rc 2 "undeclared input"
expect_out "nope" "names the undeclared input"
pass "bad config"

# One pass reports every error of a file: the shape's (a bad limit, a bad
# duration) and the references' (an unknown step, an unknown plugin), which
# only validation finds, together; a run of such a file is refused alike.
cat >twopass.yaml <<'YAML'
version: 1
workflows:
  w:
    concurrency_group: {key: x, limit: 0}
    steps:
      - {id: a, uses: exec, with: {run: "echo ${{ steps.nope.outputs.x }}"}}
      - {id: b, uses: nosuchplugin}
      - {id: c, uses: exec, timeout: banana, with: {run: "true"}}
YAML
o validate twopass.yaml
expect_rc 2 "a file with shape and reference errors"
expect_out "twopass.yaml:4:40: workflow w: concurrency_group.limit" "the shape error"
expect_out "twopass.yaml:8:38: step c: timeout: 'banana' is not a duration" "another shape error"
expect_out "twopass.yaml:6:41: step a: steps.nope is not a step of workflow w" "a reference error, same pass"
expect_out "twopass.yaml:7:23: step b: step plugin 'nosuchplugin'" "an unknown plugin, same pass"
expect_out "orch: 4 errors in twopass.yaml" "all four counted"
o run twopass.yaml w
expect_rc 2 "a run of it"
expect_out "steps.nope is not a step of workflow w" "refused with every error"
pass "every error of a file in one pass"
