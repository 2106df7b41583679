# Each attempt records the exit status of its step's last command (it was
# always -1): 0 for a success, the code of a failing command, and the
# signal's -1 for a command killed at its timeout.
. "$(dirname "$0")/../lib/common.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: ok
        uses: exec
        with: {run: "true"}
      - id: three
        uses: exec
        with: {run: "exit 3"}
      - id: tolerated
        uses: exec
        with: {run: "exit 5", allow_failure: true}
      - id: killed
        uses: exec
        timeout: 1s
        with: {run: "sleep 30"}
YAML
o run "$T/wf.yaml" w
expect_rc 1 "a failing step fails the run"
id=$(last_run_id)
code() { run_json "$id" | jq_py "[a.get('exit_code', 'none') for a in d['attempts'] if a['step']=='$1'][-1]"; }
[ "$(code ok)" = 0 ] || fail "ok: exit_code $(code ok)"
[ "$(code three)" = 3 ] || fail "three: exit_code $(code three)"
[ "$(code tolerated)" = 5 ] || fail "tolerated: exit_code $(code tolerated)"
[ "$(code killed)" = none ] || fail "killed: exit_code $(code killed) (killed by a signal: none)"
pass "attempts record their command's exit code"
