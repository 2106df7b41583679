# backend-ssh against the real sshd scripts/services/sshd.sh starts: a
# workflow that clones and pushes over ssh (git in the instance talking to
# the same sshd), the private key given as a secret, host keys checked
# strictly (a changed key refused, an unknown host refused unless
# trust_on_first_use, which records it), a key the server does not know
# refused, and sshd restarted between two steps of a run. Nothing is left
# on the host.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SSH_DIR:?the test sshd is not running: run scripts/test.sh, which starts it}"
port=${ORCH_SSH_PORT:-2222}
svc="$ORCH_SOURCE_DIR/scripts/services/sshd.sh"
export ORCH_SECRET_SSH_KEY="$(cat "$ORCH_SSH_DIR/client_ed25519")"
user=$(id -un)

ssh_config() { # FILE KNOWN_HOSTS [extra with-lines]
  cat >"$1" <<EOF
version: 1
backends:
  host:
    uses: ssh
    with:
      host: 127.0.0.1
      port: $port
      private_key: \${{ secrets.SSH_KEY }}
      known_hosts: $2
      root: $T/instances
${3:-}
workflows:
  git:
    steps:
      - id: clone
        uses: git
        with:
          action: clone
          url: "ssh://$user@127.0.0.1:$port$T/remote.git"
          dir: repo
          ssh_key: \${{ secrets.SSH_KEY }}
          known_hosts: "$(cat "$ORCH_SSH_DIR/known_hosts")"
      - id: change
        uses: exec
        needs: [clone]
        with: {run: "cd repo && git checkout -q -b orch/ssh && echo from-ssh > SSH && git add SSH && git -c user.name=o -c user.email=o@o commit -qm 'over ssh'"}
      - id: push
        uses: git
        needs: [change]
        with:
          action: push
          dir: repo
          ssh_key: \${{ secrets.SSH_KEY }}
          known_hosts: "$(cat "$ORCH_SSH_DIR/known_hosts")"
  probe:
    steps:
      - {id: who, uses: exec, with: {run: "echo on \$(hostname) as \$(id -un)", capture: true}}
  pause:
    steps:
      - {id: first, uses: exec, with: {run: "touch $T/first-done; while [ ! -e $T/go ]; do sleep 0.1; done"}}
      - {id: second, uses: exec, needs: [first], with: {run: "echo second ran > $T/second-done"}}
EOF
}

# --- git over ssh, on an ssh instance, with the key as a secret
git init -q --bare -b main "$T/remote.git"
git clone -q "$T/remote.git" "$T/seed" 2>/dev/null
echo hello >"$T/seed/README"
git -C "$T/seed" add README
git -C "$T/seed" -c user.name=t -c user.email=t@t commit -qm init
git -C "$T/seed" push -q origin main
ssh_config "$T/ok.yaml" "$ORCH_SSH_DIR/known_hosts"
o run "$T/ok.yaml" git
expect_rc 0 "clone, commit and push over ssh on an ssh instance"
[ "$(git -C "$T/remote.git" log -1 --format=%s orch/ssh)" = "over ssh" ] ||
  fail "the remote has the commit pushed over ssh"
expect_no_out "PRIVATE KEY" "the key is never printed"
pass "git over ssh on the ssh backend"

# --- host keys: changed, unknown, trusted on first use
other=$(ssh-keygen -q -t ed25519 -N '' -f "$T/fake_host" && cut -d' ' -f1,2 "$T/fake_host.pub")
echo "[127.0.0.1]:$port $other" >"$T/wrong_known_hosts"
ssh_config "$T/mismatch.yaml" "$T/wrong_known_hosts"
o run "$T/mismatch.yaml" probe
expect_rc 1 "a changed host key"
expect_out "does not match" "is refused and named"
: >"$T/empty_known_hosts"
ssh_config "$T/unknown.yaml" "$T/empty_known_hosts"
o run "$T/unknown.yaml" probe
expect_rc 1 "an unknown host"
expect_out "is not in $T/empty_known_hosts" "is refused, saying where to add it"
ssh_config "$T/tofu.yaml" "$T/empty_known_hosts" "      trust_on_first_use: true"
o run "$T/tofu.yaml" probe
expect_rc 0 "trust on first use"
grep -q "^\[127.0.0.1\]:$port ssh-ed25519 " "$T/empty_known_hosts" || fail "the key was recorded"
ssh_config "$T/tofu2.yaml" "$T/wrong_known_hosts" "      trust_on_first_use: true"
o run "$T/tofu2.yaml" probe
expect_rc 1 "trust on first use never overrides a changed key"
expect_out "does not match" "still refused"
pass "host keys: mismatch refused, unknown refused or trusted on first use when asked"

# --- a key the server does not know
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger"
ORCH_SECRET_SSH_KEY="$(cat "$T/stranger")" o run "$T/ok.yaml" probe
expect_rc 1 "an unknown key"
expect_out "refused the key" "is refused clearly"
expect_no_out "PRIVATE KEY" "without printing it"
pass "a wrong key is refused"

# --- sshd restarted while a run is between steps: the next step connects
# to the new server (each step's backend work opens its own session, and
# a session found dead is reopened before use). The restart is of a
# private sshd on a port of its own: the shared one serves the other SSH
# tests running beside this one, which a restart would fail with
# "connection refused".
own_port=$(free_port)
own_sshd() { ORCH_TEST_DIR="$T/own" ORCH_SSH_PORT=$own_port "$svc" "$@"; }
trap 'own_sshd stop; t_cleanup' EXIT
own_dir=$(own_sshd start)
port=$own_port ssh_config "$T/own.yaml" "$own_dir/known_hosts"
export ORCH_SECRET_SSH_KEY="$(cat "$own_dir/client_ed25519")"
"$ORCH" run "$T/own.yaml" pause >"$T/pause.out" 2>&1 &
run_pid=$!
T_PIDS+=("$run_pid")
wait_file "$T/first-done" 60
own_sshd stop
for i in $(seq 600); do own_sshd status >/dev/null 2>&1 || break; sleep 0.1; done
own_sshd status >/dev/null 2>&1 && fail "sshd did not stop"
# The old listener's port must be free before the new one binds it (a
# loaded machine may take a moment to close it).
port_free() { ! python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$own_port" 2>/dev/null; }
wait_until "the old sshd's port $own_port to be free" port_free
own_sshd start >/dev/null || fail "the private sshd did not start again (above)"
touch "$T/go"
wait "$run_pid" || { cat "$T/pause.out"; fail "the run did not survive the sshd restart"; }
[ -e "$T/second-done" ] || fail "the second step ran on the restarted sshd"
o run "$T/own.yaml" probe
expect_rc 0 "after the restart"
expect_out "as $user" "the probe ran on the host"
pass "sshd restarted between steps: the next step reconnected"

[ -z "$(ls -A "$T/instances" 2>/dev/null)" ] || fail "instances left on the host: $(ls "$T/instances")"
pass "nothing left on the host"
