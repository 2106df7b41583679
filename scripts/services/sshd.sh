#!/usr/bin/env bash
# A private sshd for the tests: sshd.sh start|stop|status. Listens on
# 127.0.0.1:$ORCH_SSH_PORT (default 2222) with its own host key, keys only
# (no passwords, no PAM), SFTP built in. start makes, once, a client key
# pair allowed to log in as the current user and a known_hosts file with
# the server's key, all under $ORCH_TEST_DIR/sshd, and prints that
# directory. stop kills only the pid in our own pidfile.
set -euo pipefail
base=${ORCH_TEST_DIR:-/tmp/orch-test}
dir="$base/sshd"
port=${ORCH_SSH_PORT:-2222}
pidfile="$dir/sshd.pid"

up() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
  if up; then echo "$dir"; exit 0; fi
  [ -x /usr/sbin/sshd ] || { echo "sshd.sh: openssh-server is not installed" >&2; exit 1; }
  mkdir -p "$dir" /run/sshd
  chmod 700 "$dir"
  [ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
  [ -f "$dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C orch-test -f "$dir/client_ed25519"
  cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
  cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
AuthorizedKeysFile $dir/authorized_keys
PidFile $pidfile
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
ClientAliveInterval 5
MaxStartups 100:30:200
MaxSessions 50
CONF
  # sshd logs to the file, not stderr: say why when it does not start
  # (set -e would end the script without a word).
  if ! /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"; then
    echo "sshd.sh: sshd did not start on 127.0.0.1:$port:" >&2
    tail -20 "$dir/sshd.log" >&2
    exit 1
  fi
  # A generous deadline: on a loaded machine sshd's first accept can be slow.
  for _ in $(seq 1 600); do
    if up && ssh -q -o BatchMode=yes -o UserKnownHostsFile="$dir/known_hosts" \
         -i "$dir/client_ed25519" -p "$port" "$(id -un)@127.0.0.1" true 2>/dev/null; then
      echo "$dir"
      exit 0
    fi
    sleep 0.1
  done
  echo "sshd.sh: sshd did not accept the test key on 127.0.0.1:$port:" >&2
  tail -20 "$dir/sshd.log" >&2
  exit 1
  ;;
stop)
  up || exit 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  ;;
status)
  if up; then echo "running on 127.0.0.1:$port"; else echo "not running"; exit 1; fi
  ;;
*)
  echo "usage: sshd.sh start|stop|status" >&2
  exit 2
  ;;
esac
