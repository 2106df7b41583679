# A backend option's secret that is not set is a config error when the run
# starts, naming file:line:col and where to give it; no run is created (it
# failed the first step later, at "config:0:0", without naming the variable).
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<'YAML'
version: 1
backends:
  fly: {uses: fly-machines, with: {app: a, token: "${{ secrets.NOPE_TOKEN }}", api_url: "http://127.0.0.1:9"}}
workflows:
  w:
    steps:
      - {id: a, uses: exec, backend: fly, with: {run: "true"}}
YAML
unset ORCH_SECRET_NOPE_TOKEN
o run "$T/wf.yaml" w
expect_rc 2 "a missing backend secret is a config error"
expect_out "wf.yaml:3:" "the error has the option's position"
expect_out 'ORCH_SECRET_NOPE_TOKEN' "the error names the variable"
expect_no_out "config:0:0" "no position-less error"
"$ORCH" --json runs list >"$T/runs"
[ "$(jq_py "len(d)" <"$T/runs")" = 0 ] || fail "a run was created: $(cat "$T/runs")"
pass "a missing backend secret is refused at start, with its position and variable"
