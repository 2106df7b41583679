# step-exec's shells on every remote backend (docker, ssh, the Fly
# stand-in, whose Debian image's /bin/sh is dash): the bootstrap that hands
# the script over as a file works there, sh -e stops at a failing line,
# bash has pipefail, a {0} line takes its options, and no file of the
# script is left in the instance's temporary directory, also after a
# kill by timeout. The local backend is tests/e2e/test_shell.sh.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/step_env.sh"
env_remote_setup
DOCKER_IMAGE=$DEBIAN_IMAGE # bash is in it: the docker backend's containers run it too

for be in docker ssh fly; do
  tmp="/tmp/orch-shell-$$-$be"
  {
    echo "version: 1"
    env_backends_yaml "orch-shell-$$"
    cat <<YAML
workflows:
  shells:
    backend: $be
    env: {TMPDIR: $tmp}
    steps:
      - id: mk
        uses: exec
        with: {capture: true, argv: [sh, -c, 'mkdir -p "\$TMPDIR"; readlink -f /bin/sh']}
      - id: stops
        uses: exec
        needs: [mk]
        continue_on_error: true
        with:
          run: |
            echo before-false
            false
            echo after-false
      - id: pipe
        uses: exec
        needs: [stops]
        continue_on_error: true
        with:
          shell: bash
          run: |
            echo "in-bash=\${BASH_VERSION%%.*}"
            false | true
            echo after-pipe
      - id: words
        uses: exec
        needs: [pipe]
        with:
          shell: "sh -u {0}"
          capture: true
          run: 'echo "dollar0=\$0 script-var=\${ORCH_RUN_SCRIPT:-unset}"'
      - id: killed
        uses: exec
        needs: [words]
        timeout: 2s
        continue_on_error: true
        with: {run: 'exec sleep 300'}
      - id: left
        uses: exec
        needs: [killed]
        with: {capture: true, argv: [sh, -c, 'ls -A "\$TMPDIR" | grep -c orch-run || true']}
YAML
  } >"$T/$be.yaml"
  o run "$T/$be.yaml" shells
  expect_rc 0 "the shells on $be"
  id=$(last_run_id)
  run_json "$id" >"$T/json"
  expect_out "before-false" "$be: the script ran"
  expect_no_out "after-false" "$be: a line after a failing one (no sh -e)"
  expect_no_out "after-pipe" "$be: a line after a failed pipeline under bash (no pipefail)"
  [ "$(state_of "$id" stops)" = failed ] || fail "$be: sh -e step is $(state_of "$id" stops)"
  [ "$(state_of "$id" pipe)" = failed ] || fail "$be: bash pipefail step is $(state_of "$id" pipe)"
  expect_out "in-bash=5" "$be: shell: bash ran bash"
  rc=$(jq_py "[a for a in d['attempts'] if a['step']=='pipe'][-1]['exit_code']" <"$T/json")
  [ "$rc" = 1 ] || fail "$be: bash's failed pipeline exit $rc, want 1"
  [ "$(state_of "$id" killed)" = timed_out ] ||
    fail "$be: the timed-out step is $(state_of "$id" killed): $(jq_py "[a for a in d['attempts'] if a['step']=='killed']" <"$T/json")"
  w=$(jq_py "[a for a in d['attempts'] if a['step']=='words'][-1]['outputs']['stdout']" <"$T/json")
  [ "$w" = "dollar0=/dev/fd/9 script-var=unset" ] || fail "$be: the script's file and variable: '$w'"
  n=$(jq_py "[a for a in d['attempts'] if a['step']=='left'][-1]['outputs']['stdout']" <"$T/json")
  [ "$n" = 0 ] || fail "$be: $n script files left in the instance's TMPDIR"
  sh=$(jq_py "[a for a in d['attempts'] if a['step']=='mk'][-1]['outputs']['stdout']" <"$T/json")
  [ "$be" != fly ] || [ "$sh" = /usr/bin/dash ] || fail "fly: the machine's /bin/sh is $sh, not dash"
  pass "$be: sh -e, bash pipefail, a {0} line; the script a nameless file; none left after a kill"
done
