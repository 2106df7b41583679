#!/bin/bash
# Inside a fresh Debian 12 container (test_deb.sh starts it; never on a
# host): install the previous release, run workflows through its daemon,
# upgrade to the packages in /debs/new, check that config, state, user and
# runs survived and the schema is current, run again, then remove and
# purge, then install the new packages on the clean system. orchd runs as
# the unit would (its user, environment, working directory, ExecStartPre
# and ExecStart read from the installed unit), but
# on a unix socket: the container shares the host's network and port 8080
# may be anyone's. Prints "ok: ..." per stage, "FAIL: ..." and exits 1.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
fail() { echo "FAIL: $*"; [ -s /tmp/orchd.log ] && tail -20 /tmp/orchd.log; exit 1; }
pass() { echo "ok: $*"; }
. "$(dirname "$0")/grepq.sh" # copied beside it by test_deb.sh
prev_deb=$(ls /debs/prev/orch_*.deb)
sock=/var/lib/orch/orchd.sock
ORCH=(orch --server "unix:$sock")
apt_get() { apt-get -q -y "$@" >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; fail "apt-get $*"; }; }

unit() { ls /lib/systemd/system/orchd.service /usr/lib/systemd/system/orchd.service 2>/dev/null | head -1; }
unit_val() { sed -n "s/^$1=//p" "$(unit)"; }
as_orch() {  # exec's COMMAND as the unit runs it: call in a subshell or with &
  cd "$(unit_val WorkingDirectory)"
  exec setpriv --reuid="$(unit_val User)" --regid="$(unit_val Group)" --init-groups \
    env -i PATH=/usr/bin:/bin $(unit_val Environment) "$@"
}
orchd_pid=
start_orchd() {
  # shellcheck disable=SC2046
  (as_orch $(unit_val ExecStartPre)) >/tmp/pre.log 2>&1 || { cat /tmp/pre.log; fail "ExecStartPre"; }
  # shellcheck disable=SC2046
  as_orch $(unit_val ExecStart) --listen "unix:$sock" >/tmp/orchd.log 2>&1 &
  orchd_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do
    "${ORCH[@]}" control show >/dev/null 2>&1 && return 0
    kill -0 "$orchd_pid" 2>/dev/null || fail "orchd exited at start"
    sleep 0.1
  done
  fail "orchd did not answer on $sock within 60 s"
}
stop_orchd() {
  kill -TERM "$orchd_pid"
  wait "$orchd_pid" || fail "orchd did not stop cleanly on SIGTERM"
  orchd_pid=
}
run_state() { "${ORCH[@]}" --json runs show "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run", d)["state"])'; }
wait_state() { # RUN STATE
  local i s=
  for ((i = 0; i < 600; i++)); do
    s=$(run_state "$1" 2>/dev/null || true)
    [ "$s" = "$2" ] && return 0
    sleep 0.1
  done
  fail "run $1 is '$s', not $2, after 60 s"
}
start_run() { # NAME -> run id
  "${ORCH[@]}" --json runs start hello --input "name=$1" >/tmp/start.json 2>&1 || { cat /tmp/start.json; fail "runs start"; }
  python3 -c 'import json,sys; print(json.load(open("/tmp/start.json"))["run"]["id"])'
}

apt_get update
apt_get install python3   # for reading the CLI's JSON here
# --- the previous release
apt_get install "$prev_deb"
getent passwd orch >/dev/null || fail "the previous release made no orch user"
uid=$(id -u orch)
start_orchd
r1=$(start_run before-one)
r2=$(start_run before-two)
wait_state "$r1" succeeded
wait_state "$r2" succeeded
"${ORCH[@]}" control pause >/dev/null
rq=$(start_run queued-across-the-upgrade)
[ "$(run_state "$rq")" = queued ] || fail "the run started while paused is not queued"
stop_orchd
echo "# edited before the upgrade" >>/etc/orch/orchd.yaml
echo "ORCH_SECRET_KEPT=across-upgrades" >/etc/orch/orchd.env
pass "previous release $(dpkg-query -W -f='${Version}' orch): two runs succeeded, one queued, config edited"

# --- the upgrade: the split packages together, as an operator upgrading
# from the single package does
apt_get install /debs/new/orch_*.deb /debs/new/orchd_*.deb /debs/new/orch-plugin-dev_*.deb
for p in orch orchd orch-plugin-dev; do
  dpkg-query -W -f='${Status} ${Version}\n' "$p" | grepq "install ok installed $(cat /debs/new/version)" ||
    fail "$p is not installed at $(cat /debs/new/version)"
done
[ "$(dpkg -S /usr/bin/orchd | cut -d: -f1)" = orchd ] || fail "/usr/bin/orchd does not belong to orchd"
# The unit moved from orch to orchd: on a merged-/usr system a move between
# /lib and /usr/lib paths would make dpkg delete it (DEP 17).
[ -n "$(unit)" ] && dpkg -S "$(unit)" | grepq '^orchd:' || fail "no unit of orchd after the upgrade"

[ "$(dpkg -S /usr/include/orch/orch.h | cut -d: -f1)" = orch-plugin-dev ] || fail "the headers are not in orch-plugin-dev"
dpkg-query -W -f='${Conffiles}\n' orchd | grepq /etc/orch/orchd.yaml || fail "orchd.yaml is not a conffile of orchd"
dpkg-query -W -f='${Conffiles}\n' orch | grep -v obsolete | grepq . && fail "orch still owns a conffile"
grep -q "# edited before the upgrade" /etc/orch/orchd.yaml || fail "the upgrade lost the edited config"
[ ! -e /etc/orch/orchd.yaml.dpkg-new ] && [ ! -e /etc/orch/orchd.yaml.dpkg-dist ] || fail "the upgrade left a .dpkg-new/.dpkg-dist config"
grep -q "ORCH_SECRET_KEPT" /etc/orch/orchd.env || fail "the upgrade lost orchd.env"
[ "$(id -u orch)" = "$uid" ] || fail "the orch user changed"
[ "$(stat -c '%U:%G %a' /var/lib/orch)" = "orch:orch 750" ] || fail "the state dir is $(stat -c '%U:%G %a' /var/lib/orch)"
pass "upgraded: files moved to orchd and orch-plugin-dev, edited conffile, env file, user and state kept"

start_orchd
for r in "$r1" "$r2"; do
  [ "$(run_state "$r")" = succeeded ] || fail "run $r from before the upgrade is gone or changed"
done
"${ORCH[@]}" runs logs "$r1" greet >/tmp/logs 2>&1
grep -q "hello, before-one" /tmp/logs || fail "the log of a run from before the upgrade"
"${ORCH[@]}" --json health >/tmp/health.json || { cat /tmp/health.json; fail "orch health after the upgrade"; }
python3 - <<'PY' || fail "the health document after the upgrade: $(cat /tmp/health.json)"
import json
d = json.load(open("/tmp/health.json"))
s = d["store"]["schema"]
assert d["status"] == "ok" and s["current"] and s["version"] == s["supported"], d
assert d["control"]["paused"] is True and d["queue"]["depth"] == 1, d
PY
(as_orch orch migrate --dry-run) >/tmp/migrate.log 2>&1 || { cat /tmp/migrate.log; fail "orch migrate --dry-run"; }
"${ORCH[@]}" control resume >/dev/null
wait_state "$rq" succeeded
r3=$(start_run after)
wait_state "$r3" succeeded
"${ORCH[@]}" runs logs "$r3" greet >/tmp/logs 2>&1
grep -q "hello, after" /tmp/logs || fail "a run after the upgrade"
orch-plugin --help >/dev/null 2>&1 || fail "orch-plugin does not start (liborch-conformance not found without an RPATH?)"
stop_orchd
pass "after the upgrade: old runs and logs there, schema current ($(tr '\n' ' ' </tmp/migrate.log)), the queued run and a new one succeeded"

apt_get install --no-install-recommends systemd man-db   # man-db: verify checks Documentation=man:orchd(8)
systemd-analyze verify "$(unit)" >/tmp/verify.log 2>&1 || { cat /tmp/verify.log; fail "systemd-analyze verify"; }
grep -q orchd.service /tmp/verify.log && { cat /tmp/verify.log; fail "systemd-analyze verify complains about the unit"; }
for opt in User=orch NoNewPrivileges=yes ProtectSystem=strict StateDirectory=orch; do
  grep -qx "$opt" "$(unit)" || fail "the unit lacks $opt"
done
pass "systemd-analyze verify: the unit is clean"

# --- remove keeps config, state and user; purge takes them
apt_get remove orchd
[ ! -e /usr/bin/orchd ] || fail "remove left /usr/bin/orchd"
[ -d /var/lib/orch ] && getent passwd orch >/dev/null && grep -q "# edited" /etc/orch/orchd.yaml ||
  fail "remove took the state, the user or the edited config"
apt_get install /debs/new/orchd_*.deb
grep -q "# edited" /etc/orch/orchd.yaml || fail "the reinstall overwrote the edited config"
start_orchd
[ "$(run_state "$r3")" = succeeded ] || fail "the reinstall lost the state"
stop_orchd
pass "remove keeps config, state and user; a reinstall finds them"

dpkg -L orch orchd orch-plugin-dev | sort -u >/tmp/files
apt_get purge orchd orch-plugin-dev orch
for p in orch orchd orch-plugin-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grepq installed && fail "$p still installed after purge"
done
for d in /etc/orch /var/lib/orch /etc/systemd/system/multi-user.target.wants/orchd.service; do
  { [ -e "$d" ] || [ -L "$d" ]; } && fail "$d is left after purge"
done
while read -r f; do
  [ -f "$f" ] && fail "$f is left after purge"
done </tmp/files
getent passwd orch >/dev/null && fail "the orch user is left after purge"
getent group orch >/dev/null && fail "the orch group is left after purge"
pass "purged: no file, config, state, user or group left"

# --- a fresh install of the new packages on the clean system: postinst's
# branch that creates the user and the state directory (every stage above
# ran with the user the previous release had made)
apt_get install /debs/new/orch_*.deb /debs/new/orchd_*.deb
getent passwd orch >/dev/null || fail "a fresh install made no orch user"
[ "$(getent passwd orch | cut -d: -f7)" = /usr/sbin/nologin ] || fail "the orch user has a login shell: $(getent passwd orch)"
[ "$(stat -c '%U:%G %a' /var/lib/orch)" = "orch:orch 750" ] || fail "fresh: the state dir is $(stat -c '%U:%G %a' /var/lib/orch)"
[ -f /etc/orch/orchd.yaml ] || fail "fresh: no /etc/orch/orchd.yaml"
start_orchd
r4=$(start_run fresh)
wait_state "$r4" succeeded
stop_orchd
pass "fresh install: a system user without a shell, state dir orch:orch 750, the config, a run through the unit's daemon"
