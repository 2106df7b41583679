# backend-ssh: a command that times out is really stopped on the host,
# its whole process group, whatever the user's login shell: the kill runs
# under sh, which is dash on Debian and Ubuntu ("kill -TERM -- -PGID" is
# refused there, "Illegal number", and nothing was signalled). The test
# sshd runs on this host, so the command's processes are checked in /proc.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SSH_DIR:?the test sshd is not running: run scripts/test.sh, which starts it}"
port=${ORCH_SSH_PORT:-2222}
export ORCH_SECRET_SSH_KEY="$(cat "$ORCH_SSH_DIR/client_ed25519")"
[ "$(readlink -f /bin/sh)" = "$(readlink -f "$(command -v dash || echo none)")" ] ||
  fail "this test needs dash as /bin/sh on the host (as Debian has it), got $(readlink -f /bin/sh)"
cat >"$T/kill.yaml" <<EOF
version: 1
backends:
  host:
    uses: ssh
    with:
      host: 127.0.0.1
      port: $port
      private_key: \${{ secrets.SSH_KEY }}
      known_hosts: $ORCH_SSH_DIR/known_hosts
      root: $T/instances
      kill_grace: 1s
workflows:
  stuck:
    steps:
      - id: sleeper
        uses: exec
        timeout: 2s
        # A shell and a background child that ignores TERM: only the
        # group's KILL after the grace ends it.
        with: {run: "echo \$\$ >$T/leader; (trap '' TERM; exec sleep 300) & echo \$! >$T/child; wait"}
EOF
o run "$T/kill.yaml" stuck
expect_rc 1 "the step times out"
expect_out "timed out" "and says so"
[ -s "$T/leader" ] && [ -s "$T/child" ] || fail "the command never started"
expect_dead_pids "$T/leader" "the timed-out command's shell"
expect_dead_pids "$T/child" "its child, which ignored TERM"
[ -z "$(ls -A "$T/instances" 2>/dev/null)" ] || fail "instances left on the host: $(ls "$T/instances")"
pass "a timed-out command's whole process group is killed over ssh, under dash"
