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

# --- orchd: says so at start, refuses each enqueue (400 naming the
# position and the variable, nothing stored) until the secret exists; a
# file under $ORCH_SECRETS_DIR may appear while it runs.
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_SECRETS_DIR="$T/secrets"
mkdir -p "$ORCH_SECRETS_DIR"
od_config "$T/orchd.yaml" <<EOF
$(sed -n '1,3p' "$T/wf.yaml")
  here: {uses: local}
$OD_SERVER
worker: {tick: 100ms, stop_grace: 1s}
workflows:
  w:
    steps:
      - {id: a, uses: exec, backend: fly, retry: {attempts: 1}, with: {run: "true"}}
  plain:
    steps:
      - {id: a, uses: exec, backend: here, with: {run: "true"}}
EOF
od_start "$T/orchd.yaml"
grep -q "workflow w cannot start.*orchd.yaml:3:.*ORCH_SECRET_NOPE_TOKEN" "$T/orchd.log" ||
  fail "orchd did not warn at start naming the position and variable: $(cat "$T/orchd.log")"
api POST /v1/runs '{"workflow":"w"}'
expect_http 400 "enqueue of a workflow whose backend secret is missing"
grep -q "orchd.yaml:3:" "$T/resp" || fail "the 400 lacks the position: $(cat "$T/resp")"
grep -q "ORCH_SECRET_NOPE_TOKEN" "$T/resp" || fail "the 400 lacks the variable: $(cat "$T/resp")"
api GET /v1/runs "" reader
[ "$(resp "len(d['runs'])")" = 0 ] || fail "a refused enqueue stored a run: $(cat "$T/resp")"
api POST /v1/runs '{"workflow":"plain"}'
expect_http 201 "a workflow without the backend still starts"
printf 'a-token-that-is-long-enough\n' >"$ORCH_SECRETS_DIR/NOPE_TOKEN"
api POST /v1/runs '{"workflow":"w"}'
expect_http 201 "the secret appeared: the enqueue is accepted"
od_stop
pass "orchd: a missing backend secret is warned at start and refused at enqueue (400, position, variable)"
