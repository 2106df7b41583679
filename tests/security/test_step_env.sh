# Least privilege for step environments on the local backend, through
# `orch run` and through orchd's API with a write token: a step sees the
# base variables, env_passthrough's names, the workflow's and its own
# env: (step over workflow, with: env: over both, ${{ env.X }} seeing
# them) and the secrets it names; never another ORCH_SECRET_*, a variable
# only orchd has (a webhook secret) or anything else of orch's
# environment. env_passthrough refuses secret sources.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/step_env.sh"
env_setup

# --- the plainest step (a config any orch reads): its env shows nothing
cat >"$T/plain.yaml" <<'EOF'
version: 1
workflows:
  plain:
    steps:
      - {id: s, uses: exec, with: {run: 'env | sed "s/^/ENV /"'}}
EOF
o run "$T/plain.yaml" plain
expect_rc 0 "the plain run"
for v in unused-secret-7c41b2 hook-secret-93d0aa daemon-only-2b77c9 ORCH_PASS_ME ORCH_STATE_DIR; do
  expect_no_out "$v" "a step that names nothing sees nothing of orch's environment"
done
expect_out "ENV PATH=" "the base variables"
expect_out "ENV HOME=" "the base variables"

# --- orch run
{
  echo "version: 1"
  env_passthrough_yaml
  echo "workflows:"
  env_workflow_yaml
} >"$T/wf.yaml"
o run "$T/wf.yaml" probe
expect_rc 0 "the probe run"
env_check "$T/out" "orch run (local)"
id=$(last_run_id)
o runs logs "$id"
env_check "$T/out" "orch runs logs"
pass "local step through orch run: base, passthrough, env layers, only named secrets"

# --- orchd's API, a write token; the daemon also holds a webhook secret
od_config "$T/orchd.yaml" <<EOF
version: 1
$(env_passthrough_yaml)
$OD_SERVER
worker: {tick: 100ms, lease_ttl: 5s}
webhooks:
  build: {workflow: probe, secret: "\${{ secrets.HOOK_KEY }}"}
workflows:
$(env_workflow_yaml)
EOF
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"probe"}' writer
expect_http 201 "start the probe over the API"
R=$(resp "d['run']['id']")
od_wait_run "$R" succeeded 60
api GET "/v1/runs/$R/steps/show/logs" "" reader
expect_http 200 "the probe's log"
env_check "$T/resp" "orchd API (local)"
od_stop
pass "local step through orchd's API: nothing of the daemon's environment"

# --- env_passthrough cannot name a secret source; env: names are checked
cat >"$T/bad.yaml" <<'EOF'
version: 1
env_passthrough: [ORCH_SECRET_HOOK_KEY, ORCH_SECRETS_DIR, "1BAD"]
workflows:
  w:
    env: {"BAD-NAME": x}
    steps:
      - {id: s, uses: exec, env: {OK: [1]}, with: {run: "true"}}
EOF
o validate "$T/bad.yaml"
expect_rc 2 "a config passing secret sources through"
expect_out "bad.yaml:2:" "the position of the list"
expect_out "ORCH_SECRET_HOOK_KEY is a secret source" "a secret named"
expect_out "ORCH_SECRETS_DIR is a secret source" "the secrets dir named"
expect_out "'1BAD' is not a variable name" "a bad passthrough name"
expect_out "'BAD-NAME' is not a variable name" "a bad env: name"
expect_out "OK must be a string" "a non-scalar env: value"
# ${{ env.ORCH_SECRET_X }} would read a secret without masking it
cat >"$T/envsecret.yaml" <<'EOF'
version: 1
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "echo ${{ env.ORCH_SECRET_HOOK_KEY }}"}}
EOF
o run "$T/envsecret.yaml" w
expect_rc 1 "env.ORCH_SECRET_X refused"
expect_out "env.ORCH_SECRET_HOOK_KEY is a secret: write secrets.HOOK_KEY" "the way named"
expect_no_out "hook-secret-93d0aa" "the value never printed"
pass "secret sources refused in env_passthrough and as env.NAME; names and values checked"
