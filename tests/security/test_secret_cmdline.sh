# A secret used in a shell `run:` string never appears in any process's
# command line (/proc/PID/cmdline, readable by every user of the machine)
# while the step runs: orch passes it in an environment variable of the
# step and puts a reference to the variable in the script. The command
# still gets the value: plain, inside single quotes, inside double quotes
# and $( ), and through a compound expression (checked by hash). On every
# backend: local, docker, ssh (the test sshd) and the Fly stand-in, whose
# processes are all in this machine's /proc (the remote backends' own
# command variables included: they travel in a file, not a command line).
# A quoted here-document, which cannot expand a variable, is refused.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/step_env.sh"
env_remote_setup
export SCAN_SECRET="cmdline-secret-$$-$RANDOM-q8v"
export ORCH_SECRET_CMDLINE_KEY="$SCAN_SECRET"
want=$(printf %s "$SCAN_SECRET" | sha256sum | cut -d' ' -f1)
want_fmt=$(printf %s "[$SCAN_SECRET]" | sha256sum | cut -d' ' -f1)

wf() { # BACKEND MARKER GO-FILE
  cat <<EOF
version: 1
$(env_backends_yaml "orch-cmdline-$$")
workflows:
  hold:
    steps:
      - id: hold
        uses: exec
        backend: $1
        env: {FROM_ENV: "\${{ secrets.CMDLINE_KEY }}"}
        with:
          env: {FROM_WITH: "\${{ secrets.CMDLINE_KEY }}"}
          run: |
            echo "env=\$(printf %s "\$FROM_ENV" | sha256sum | cut -d' ' -f1)"
            echo "with=\$(printf %s "\$FROM_WITH" | sha256sum | cut -d' ' -f1)"
            echo "plain=\$(printf %s \${{ secrets.CMDLINE_KEY }} | sha256sum | cut -d' ' -f1)"
            s='\${{ secrets.CMDLINE_KEY }}'
            echo "single=\$(printf %s "\$s" | sha256sum | cut -d' ' -f1)"
            echo "double=\$(printf %s "\$(echo "\${{ secrets.CMDLINE_KEY }}")" | sha256sum | cut -d' ' -f1)"
            echo "compound=\$(printf %s "\${{ format('[{0}]', secrets.CMDLINE_KEY) }}" | sha256sum | cut -d' ' -f1)"
            echo "echo=\${{ secrets.CMDLINE_KEY }}"
            sh -c 'while [ ! -e "\$1" ]; do sleep 0.1; done' $2 $3
EOF
}

# The step waits for a file: on this host (local, ssh), or in the run's
# container (docker: labelled with the run; the stand-in's machine:
# container flystandin-ID).
release() { # BACKEND FILE RUN-OUTPUT
  touch "$2"
  local rid c
  rid=$(grep -o 'run r-[0-9a-z]*' "$3" | head -1 | cut -d' ' -f2 || true)
  case $1 in
  docker) c=$(docker -H "unix://$ORCH_DOCKER_SOCKET" ps -q --filter "label=orch.run=$rid") ;;
  fly) c=$(curl -sf "$ORCH_FLY_URL/_standin/machines" | jq_py "' '.join('flystandin-' + m['id'] for m in d if (m['config'].get('metadata') or {}).get('orch_run') == '$rid' and not m['_gone'])") ;;
  *) return 0 ;;
  esac
  [ -n "$c" ] || fail "$1: no container of run $rid to release"
  docker -H "unix://$ORCH_DOCKER_SOCKET" exec "$c" touch "$2"
}

for be in local docker ssh fly; do
  marker="orch-cmdline-probe-$be-$$"
  wf "$be" "$marker" "/tmp/orch-go-$be-$$" >"$T/$be.yaml"
  "$ORCH" run "$T/$be.yaml" hold >"$T/run-$be.out" 2>&1 &
  pid=$!
  T_PIDS+=("$pid")
  set +e
  SCAN_MARKER="$marker" python3 "$(dirname "$0")/../lib/cmdline_scan.py" >"$T/scan-$be.out" 2>&1
  scan=$?
  set -e
  release "$be" "/tmp/orch-go-$be-$$" "$T/run-$be.out"
  set +e
  wait "$pid"
  rc=$?
  set -e
  cat "$T/scan-$be.out"
  [ "$scan" = 0 ] || { cat "$T/run-$be.out" >&2; fail "$be: $(cat "$T/scan-$be.out")"; }
  [ "$rc" = 0 ] || { cat "$T/run-$be.out" >&2; fail "$be: the run failed"; }
  cp "$T/run-$be.out" "$T/out"
  rm -f "/tmp/orch-go-$be-$$"
  for form in plain single double env with; do
    expect_out "$form=$want" "$be: the command got the value ($form)"
  done
  expect_out "compound=$want_fmt" "$be: a compound expression's value"
  expect_out "echo=***" "$be: the value masked in output"
  expect_no_out "$SCAN_SECRET" "$be: the value never printed"
  o run "$T/$be.yaml" hold --dry-run
  expect_out '${ORCH_SECRET_CMDLINE_KEY}' "$be: the plan shows the reference"
  expect_no_out "$SCAN_SECRET" "$be: the plan never the value"
  pass "$be: a secret in run: stays off every command line and reaches the command"
done

cat >"$T/heredoc.yaml" <<'EOF'
version: 1
workflows:
  w:
    steps:
      - id: s
        uses: exec
        with:
          run: |
            cat <<'DOC'
            key=${{ secrets.CMDLINE_KEY }}
            DOC
EOF
o run "$T/heredoc.yaml" w
expect_rc 1 "a secret in a quoted here-document"
expect_out "quoted here-document" "the reason named"
expect_no_out "$SCAN_SECRET" "never printed"
pass "a secret in a quoted here-document refused"
