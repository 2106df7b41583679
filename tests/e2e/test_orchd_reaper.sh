# orchd reaps orphans. A step's command double-forks a child (as a daemon
# it starts would) and exits; the orphan is re-parented to orchd, which is
# a child subreaper, or PID 1 as in the shipped image. When it exits it
# must not stay a zombie. Tried as PID 1 of a new PID namespace (unshare)
# and as a plain daemon (where the orphan must come to orchd at all).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

# A copy of sh with a name of its own, to find the orphan by; it waits
# until released.
cp "$(command -v sh)" "$T/orchorphan"
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker:
  tick: 200ms
workflows:
  orphan:
    steps:
      - id: s
        uses: exec
        with:
          run: ( setsid $T/orchorphan -c 'while [ ! -e $T/orphan.release ]; do sleep 0.1; done' & ) ; touch $T/orphaned
EOF

# "PID PPID STATE" of each orphan process, as the host sees it.
orphans() {
  python3 - <<'PY'
import os
for p in os.listdir('/proc'):
    if not p.isdigit():
        continue
    try:
        line = open(f'/proc/{p}/stat').read()
    except OSError:
        continue
    name, rest = line[line.index('(') + 1:line.rindex(')')], line[line.rindex(')') + 2:].split()
    if name == 'orchorphan':
        print(p, rest[1], rest[0])
PY
}
wait_orphan_seen() { # PARENT-PID: until an orphan has that parent
  local i
  for ((i = 0; i < 600; i++)); do
    orphans | awk -v p="$1" '$2 == p {f=1} END {exit !f}' && return 0
    sleep 0.1
  done
  orphans >&2
  fail "no orphan re-parented to orchd (pid $1) appeared"
}
wait_orphans_gone() { # WHAT
  local i
  for ((i = 0; i < 600; i++)); do
    [ -z "$(orphans)" ] && return 0
    sleep 0.1
  done
  fail "$1: an orphan stays: $(orphans) (pid ppid state)"
}

run_orphan() {
  rm -f "$T/orphaned" "$T/orphan.release"
  api POST /v1/runs '{"workflow":"orphan"}'; expect_http 201 "start the orphan run"
  local id
  id=$(resp "d['run']['id']")
  od_wait_run "$id" succeeded 60
  wait_file "$T/orphaned" 60
}

# As PID 1 of its own PID namespace.
if unshare --pid --fork --mount-proc true 2>/dev/null; then
  REAL_ORCHD=$ORCHD
  printf '#!/bin/sh\nexec unshare --pid --fork --mount-proc --kill-child "%s" "$@"\n' \
    "$REAL_ORCHD" >"$T/orchd-pid1"
  chmod +x "$T/orchd-pid1"
  ORCHD=$T/orchd-pid1
  od_start "$T/orchd.yaml"
  ns_orchd=$(pgrep -P "$OD_PID" -f "$REAL_ORCHD" | head -1)
  [ -n "$ns_orchd" ] || fail "orchd under unshare not found"
  grep -q '^NSpid:.*[[:space:]]1$' "/proc/$ns_orchd/status" || fail "orchd is not PID 1 of its namespace"
  run_orphan
  wait_orphan_seen "$ns_orchd"
  touch "$T/orphan.release"
  wait_orphans_gone "orchd as PID 1"
  # unshare does not pass SIGTERM on: stop orchd itself.
  kill -TERM "$ns_orchd"
  wait "$OD_PID" 2>/dev/null || true
  OD_PID=
  ORCHD=$REAL_ORCHD
  pass "orchd as PID 1 reaps an orphan"
else
  echo "note: unshare --pid is not permitted here; orchd as PID 1 is not tried" >&2
fi

# As a plain daemon: the orphan comes to orchd (a child subreaper), not to
# the host's init, and is reaped.
od_start "$T/orchd.yaml"
run_orphan
wait_orphan_seen "$OD_PID"
touch "$T/orphan.release"
wait_orphans_gone "orchd as subreaper"
od_stop
pass "orchd is a child subreaper and reaps an orphan"
