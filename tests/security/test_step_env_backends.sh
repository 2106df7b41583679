# Least privilege for step environments on every remote backend (docker,
# ssh, the Fly stand-in): the same probe as test_step_env.sh, so a step
# sees env_passthrough's names, the workflow's and its own env: in order
# and the secrets it names, never another ORCH_SECRET_*, a daemon-only
# variable or a backend's own credentials (the Fly token, the SSH key).
# docker also through orchd's API with a write token.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/step_env.sh"
env_remote_setup
env_setup
app="orch-env-$$"


for be in docker ssh fly; do
  {
    echo "version: 1"
    env_passthrough_yaml
    env_backends_yaml "$app"
    echo "workflows:"
    env_workflow_yaml "$be"
  } >"$T/$be.yaml"
  o run "$T/$be.yaml" probe
  expect_rc 0 "the probe on $be"
  env_check "$T/out" "orch run ($be)"
  expect_no_out "$ORCH_FLY_TOKEN" "$be: the Fly token"
  expect_no_out "OPENSSH PRIVATE KEY" "$be: the SSH key"
  pass "$be: base, passthrough, env layers, only the secrets the step names"
done

od_config "$T/orchd.yaml" <<EOF
version: 1
$(env_passthrough_yaml)
$(env_backends_yaml "$app")
$OD_SERVER
worker: {tick: 100ms, lease_ttl: 5s}
webhooks:
  build: {workflow: probe, secret: "\${{ secrets.HOOK_KEY }}"}
workflows:
$(env_workflow_yaml docker)
EOF
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"probe"}' writer
expect_http 201 "start the docker probe over the API"
R=$(resp "d['run']['id']")
od_wait_run "$R" succeeded 120
api GET "/v1/runs/$R/steps/show/logs" "" reader
expect_http 200 "the probe's log"
env_check "$T/resp" "orchd API (docker)"
od_stop
pass "docker through orchd's API: nothing of the daemon's environment"
