# Shared by the step-environment tests: a workflow whose step prints its
# whole environment, and the checks every backend must pass. Source after
# common.sh; call env_setup before writing configs.

# The operator's environment: secrets no step names, a daemon-only
# variable, one passed through and one not.
env_setup() {
  export ORCH_SECRET_UNUSED_TOKEN="unused-secret-7c41b2"
  export ORCH_SECRET_HOOK_KEY="hook-secret-93d0aa"
  export ORCH_SECRET_USED_TOKEN="used-secret-5e8f11"
  export ORCHD_WEBHOOK_SECRET="daemon-only-2b77c9"
  export ORCH_PASS_ME="passed-value-4410"
  export ORCH_KEEP_OUT="kept-out-value-8e3a"
}

# The config top: env_passthrough names ORCH_PASS_ME and one unset name.
env_passthrough_yaml() {
  echo "env_passthrough: [ORCH_PASS_ME, ORCH_PASS_UNSET]"
}

# The workflow `probe` (indented for workflows:), on backend $1 (or the
# default when empty).
env_workflow_yaml() {
  cat <<EOF
  probe:
    ${1:+backend: $1}
    env:
      WF_ONLY: wf-only
      LAYER_WS: from-workflow
      LAYER_WSW: from-workflow
      WF_INPUT: "in-\${{ inputs.who }}"
    inputs: {who: {default: world}}
    steps:
      - id: show
        uses: exec
        env:
          LAYER_WS: from-step
          LAYER_WSW: from-step
          SEES_WF: "\${{ env.WF_ONLY }}+\${{ env.LAYER_WS }}"
          TOKEN: "\${{ secrets.USED_TOKEN }}"
        with:
          env: {LAYER_WSW: from-with}
          run: 'echo "tmpl WF_ONLY=\${{ env.WF_ONLY }} LAYER_WS=\${{ env.LAYER_WS }}"; env | LC_ALL=C sort | sed "s/^/ENV /"'
