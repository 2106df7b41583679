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
