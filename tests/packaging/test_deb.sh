#!/bin/bash
# The Debian package as a user meets it: build it with CPack, install it
# with apt (dependencies resolved from the archive), check the unit with
# systemd-analyze, run orchd exactly as the unit would (packaged user,
# packaged config, state dir) until /health/ready passes and a workflow
# has run through it, then purge and check that nothing is left.
# Needs root; changes the machine (installs, then purges, package "orch").
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
[ "$(id -u)" = 0 ] || fail "the package test needs root (it installs a package)"
export DEBIAN_FRONTEND=noninteractive
installed() { dpkg-query -W -f='${Status}' orch 2>/dev/null | grep -q "install ok installed"; }
orchd_pid=
finish() {
  [ -n "$orchd_pid" ] && kill -9 "$orchd_pid" 2>/dev/null || true
  if installed; then apt-get purge -y -q orch >/dev/null 2>&1 || true; fi
  t_cleanup
}
trap finish EXIT
# A package left by an aborted earlier run is purged first (idempotent).
if installed || dpkg-query -W orch >/dev/null 2>&1; then
  apt-get purge -y -q orch >"$T/purge0.log" 2>&1 || { cat "$T/purge0.log"; fail "purging an old orch"; }
fi

deb=$("$ORCH_SOURCE_DIR/scripts/package.sh" "${ORCH_PKG_BUILD_DIR:-$ORCH_SOURCE_DIR/build-pkg}" 2>"$T/build.log") ||
  { tail -30 "$T/build.log"; fail "building the package"; }
[ -f "$deb" ] || fail "scripts/package.sh printed no .deb ($deb)"
dpkg-deb -f "$deb" Depends >"$T/out"
for lib in libcurl4 libjansson4 libpq5 libsqlite3-0 libssh2-1 libyaml-0-2 libmicrohttpd12 adduser; do
  expect_out "$lib" "the package depends on $lib"
done
pass "package built: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

apt-get install -y -q "$deb" >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "apt-get install $deb"; }
installed || fail "orch is not installed after apt-get install"
getent passwd orch >"$T/out" || fail "postinst made no orch user"
expect_out ":/var/lib/orch:/usr/sbin/nologin" "the orch user's home and shell"
[ "$(stat -c '%U:%G %a' /var/lib/orch)" = "orch:orch 750" ] ||
  fail "state dir is $(stat -c '%U:%G %a' /var/lib/orch), expected orch:orch 750"
dpkg-query -W -f='${Conffiles}\n' orch >"$T/out"
expect_out "/etc/orch/orchd.yaml" "the config is a conffile"
for f in /usr/bin/orch /usr/bin/orchd /usr/bin/orch-plugin /usr/libexec/orch/orch-exec \
         /usr/include/orch/orch.h /usr/share/orch/examples/hello.yaml \
         /usr/share/orch/schema/orch.schema.json /usr/share/doc/orch/getting-started.md; do
  [ -e "$f" ] || fail "the package lacks $f"
done
for page in orch orchd orch-plugin orch.yaml; do
  man -w "$page" >/dev/null 2>&1 || fail "man $page finds no page"
done
/usr/bin/orchd --version >"$T/out"
expect_out "plugin ABI" "orchd --version"
expect_out "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/orch/plugins/backend-docker.so" \
  "orchd --version lists the packaged plugins"
expect_no_out "unloadable" "every packaged plugin loads"
pass "installed: user, state dir, conffile, binaries, man pages, plugins"

unit=/usr/lib/systemd/system/orchd.service
[ -f "$unit" ] || fail "no $unit"
systemd-analyze verify "$unit" >"$T/out" 2>&1 || { cat "$T/out"; fail "systemd-analyze verify $unit"; }
expect_no_out "orchd.service" "systemd-analyze verify says nothing about the unit"
for opt in User=orch NoNewPrivileges=yes ProtectSystem=strict StateDirectory=orch; do
  grep -qx "$opt" "$unit" || fail "the unit lacks $opt"
done
pass "systemd-analyze verify: clean"

# Run orchd the way the unit does: its user, environment, working
# directory, ExecStartPre and ExecStart, read from the installed unit.
unit_val() { sed -n "s/^$1=//p" "$unit"; }
as_orch() {  # exec's COMMAND as the unit would; call in a subshell
  cd "$(unit_val WorkingDirectory)"
  exec setpriv --reuid="$(unit_val User)" --regid="$(unit_val Group)" --init-groups \
    env -i PATH=/usr/bin:/bin $(unit_val Environment) $1
}
(as_orch "$(unit_val ExecStartPre)") >"$T/out" 2>&1 || { cat "$T/out"; fail "ExecStartPre failed"; }
listen=$(sed -n 's/^ *listen: *\([^ #]*\).*/\1/p' /etc/orch/orchd.yaml)
url="http://$listen"
curl -s -o /dev/null "$url/health" && fail "something already listens on $listen"
as_orch "$(unit_val ExecStart)" >"$T/orchd.log" 2>&1 &
orchd_pid=$!
for ((i = 0; i < 200; i++)); do
  curl -sf "$url/health/ready" >/dev/null && break
  kill -0 "$orchd_pid" 2>/dev/null || { cat "$T/orchd.log"; fail "orchd exited at start"; }
  sleep 0.1
done
curl -sf "$url/health/ready" >/dev/null || { cat "$T/orchd.log"; fail "/health/ready never passed"; }
[ "$(ps -o user=,comm= -p "$orchd_pid" | tr -s ' ')" = "orch orchd" ] ||
  fail "orchd does not run as the orch user"
pass "orchd as the packaged user with the packaged config: /health/ready"

/usr/bin/orch --server "$url" --json runs start hello --input name=package >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "starting hello through the packaged daemon"; }
run_state() {
  python3 -c 'import json,sys
try: d = json.load(open(sys.argv[1]))
except ValueError: sys.exit(0)
print(d.get("run", d).get("state", ""))' "$1"
}
run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$T/out")
for ((i = 0; i < 200; i++)); do
  /usr/bin/orch --server "$url" --json runs show "$run" >"$T/show" 2>&1 || true
  state=$(run_state "$T/show")
  [ "$state" = succeeded ] && break
  sleep 0.1
done
[ "$state" = succeeded ] || { cat "$T/show" "$T/orchd.log"; fail "run $run did not succeed"; }
/usr/bin/orch --server "$url" runs logs "$run" greet >"$T/out" 2>&1
expect_out "hello, package" "the step's output"
find /var/lib/orch -newer "$deb" -type f | head -1 | grep -q . || fail "no state written to /var/lib/orch"
[ -z "$(find /var/lib/orch ! -user orch | head -1)" ] || fail "files in /var/lib/orch not owned by orch"
kill -TERM "$orchd_pid"
wait "$orchd_pid" || fail "orchd did not stop cleanly on SIGTERM"
orchd_pid=
pass "a workflow ran through the packaged daemon; state in /var/lib/orch owned by orch"

# remove keeps what purge takes (config, state, user), and a reinstall
# finds the unit usable again (remove masks it, as dh_installsystemd does).
echo "# edited" >>/etc/orch/orchd.yaml
apt-get remove -y -q orch >"$T/remove.log" 2>&1 || { cat "$T/remove.log"; fail "apt-get remove orch"; }
[ -d /var/lib/orch ] && getent passwd orch >/dev/null && grep -q "# edited" /etc/orch/orchd.yaml ||
  fail "remove took the state, the user or the edited config"
apt-get install -y -q "$deb" >"$T/install2.log" 2>&1 || { cat "$T/install2.log"; fail "reinstall"; }
[ "$(readlink /etc/systemd/system/orchd.service 2>/dev/null)" != /dev/null ] ||
  fail "the unit is still masked after a reinstall"
grep -q "# edited" /etc/orch/orchd.yaml || fail "the reinstall overwrote the edited config"
[ -n "$(find /var/lib/orch -name 'orch.db*' | head -1)" ] || fail "the reinstall lost the state"
pass "remove keeps config, state and user; a reinstall keeps the edits and unmasks the unit"

dpkg-query -W -f='${Package}\n' orch >/dev/null
dpkg -L orch | grep -v '^/\.$' >"$T/files"
apt-get purge -y -q orch >"$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "apt-get purge orch"; }
dpkg-query -W -f='${Status}' orch 2>/dev/null | grep -q installed && fail "orch still installed after purge"
for d in /etc/orch /var/lib/orch /usr/lib/systemd/system/orchd.service \
         /etc/systemd/system/orchd.service /etc/systemd/system/multi-user.target.wants/orchd.service; do
  { [ -e "$d" ] || [ -L "$d" ]; } && fail "$d is left after purge"
done
while read -r f; do
  [ -f "$f" ] && fail "$f is left after purge"
done <"$T/files"
getent passwd orch >/dev/null && fail "the orch user is left after purge"
pass "purged: no file, state dir, config dir or user left"
