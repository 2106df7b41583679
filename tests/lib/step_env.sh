# Shared by the step-environment tests (tests/security/test_step_env*.sh):
# the operator's environment, a workflow whose step prints its whole
# environment, and the checks every backend must pass. Source after
# common.sh.

# Secrets no step names, a daemon-only variable, one variable passed
# through and one not.
env_setup() {
  export ORCH_SECRET_UNUSED_TOKEN="unused-secret-7c41b2"
  export ORCH_SECRET_HOOK_KEY="hook-secret-93d0aa"
  export ORCH_SECRET_USED_TOKEN="used-secret-5e8f11"
  export ORCHD_WEBHOOK_SECRET="daemon-only-2b77c9"
  export ORCH_PASS_ME="passed-value-4410"
  export ORCH_KEEP_OUT="kept-out-value-8e3a"
}

# The config's env_passthrough: ORCH_PASS_ME and a name that is not set.
env_passthrough_yaml() {
  echo "env_passthrough: [ORCH_PASS_ME, ORCH_PASS_UNSET]"
}

# The workflow `probe` (indented for workflows:), on backend $1 (the
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
EOF
}

# Assertions on file $1 (a step log or orch's output); $2 says whence.
env_check() {
  local f=$1 w=$2 v
  grep -q "ENV PATH=" "$f" || { cat "$f" >&2; fail "$w: no environment printed"; }
  for v in unused-secret-7c41b2 hook-secret-93d0aa used-secret-5e8f11 daemon-only-2b77c9 \
    kept-out-value-8e3a ORCH_SECRET_UNUSED_TOKEN ORCH_SECRET_HOOK_KEY ORCHD_WEBHOOK_SECRET \
    ORCH_KEEP_OUT ORCH_PASS_UNSET ORCH_STATE_DIR; do
    if grep -qF -- "$v" "$f"; then cat "$f" >&2; fail "$w: the step's environment shows $v"; fi
  done
  grep -q "ENV ORCH_PASS_ME=passed-value-4410" "$f" || { cat "$f" >&2; fail "$w: env_passthrough did not pass ORCH_PASS_ME"; }
  grep -q "ENV WF_ONLY=wf-only" "$f" || { cat "$f" >&2; fail "$w: the workflow's env: is missing"; }
  grep -q "ENV WF_INPUT=in-world" "$f" || { cat "$f" >&2; fail "$w: a templated workflow env: value"; }
  grep -q "ENV LAYER_WS=from-step" "$f" || { cat "$f" >&2; fail "$w: the step's env: does not override the workflow's"; }
  grep -q "ENV LAYER_WSW=from-with" "$f" || { cat "$f" >&2; fail "$w: with: env: does not override the step's env:"; }
  grep -q "ENV SEES_WF=wf-only+from-workflow" "$f" || { cat "$f" >&2; fail "$w: \${{ env.X }} in the step's env: does not see the workflow's"; }
  grep -q "tmpl WF_ONLY=wf-only LAYER_WS=from-step" "$f" || { cat "$f" >&2; fail "$w: \${{ env.X }} in with: does not see the step's env"; }
  grep -q 'ENV TOKEN=\*\*\*' "$f" || { cat "$f" >&2; fail "$w: the secret the step names is not in its env (masked)"; }
  if grep -q 'ENV ORCH_SECRET_' "$f"; then cat "$f" >&2; fail "$w: a secret variable the script does not use"; fi
}

# For a test of the remote backends (after docker.sh): the services they
# need are running, the secrets env_backends_yaml names are set, and
# $T/instances (the ssh backend's root) exists.
env_remote_setup() {
  : "${ORCH_SSH_DIR:?the test sshd is not running: run scripts/test.sh, which starts it}"
  : "${ORCH_FLY_URL:?the Fly stand-in is not running: run scripts/test.sh, which starts it}"
  export ORCH_SECRET_SSH_KEY="$(cat "$ORCH_SSH_DIR/client_ed25519")"
  export ORCH_SECRET_FLY_API_TOKEN="$ORCH_FLY_TOKEN"
  mkdir -p "$T/instances"
}

# backends: local, docker, ssh (the test sshd, instances under $T/instances) and
# fly (the stand-in, app $1); needs ORCH_SECRET_SSH_KEY and
# ORCH_SECRET_FLY_API_TOKEN set and docker.sh sourced.
env_backends_yaml() {
  cat <<EOF
backends:
  local: {uses: local}
  docker:
$(d_backend)
  ssh:
    uses: ssh
    with:
      host: 127.0.0.1
      port: ${ORCH_SSH_PORT:-2222}
      private_key: \${{ secrets.SSH_KEY }}
      known_hosts: $ORCH_SSH_DIR/known_hosts
      root: $T/instances
  fly:
    uses: fly-machines
    with:
      api_url: $ORCH_FLY_URL
      token: \${{ secrets.FLY_API_TOKEN }}
      app: $1
      create_app: true
      image: $DEBIAN_IMAGE
      kill_grace: 1s
EOF
}
