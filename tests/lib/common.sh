# Shared by the shell tests: a private state dir per test, assertions that
# say what they expected, and cleanup of every process a test started.
set -euo pipefail

: "${ORCH_BIN:?run through ctest (ORCH_BIN unset)}"
ORCH="$ORCH_BIN/orch"
T=$(mktemp -d "${TMPDIR:-/tmp}/orch-test.XXXXXX")
export ORCH_STATE_DIR="$T/state"
export ORCH_LOG_LEVEL="${ORCH_LOG_LEVEL:-warn}"
T_PIDS=()

t_cleanup() {
  local p
  for p in "${T_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap t_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  # A daemon's own account of what happened, for failures seen only in CI.
  if [ -s "$T/orchd.log" ]; then echo "--- last lines of orchd.log:" >&2; tail -n 40 "$T/orchd.log" >&2; fi
  exit 1
}
pass() { echo "ok: $*"; }

. "$(dirname "${BASH_SOURCE[0]}")/grepq.sh"

# Run orch; stdout+stderr go to $T/out, the exit status to $RC.
o() {
  set +e
  "$ORCH" "$@" >"$T/out" 2>&1
  RC=$?
  set -e
}

expect_rc() {
  [ "$RC" -eq "$1" ] || { cat "$T/out" >&2; fail "expected exit $1, got $RC ($2)"; }
}
expect_out() {
  grep -qF -- "$1" "$T/out" || { cat "$T/out" >&2; fail "output lacks '$1' ($2)"; }
}
expect_no_out() {
  if grep -qF -- "$1" "$T/out"; then cat "$T/out" >&2; fail "output has '$1' ($2)"; fi
}

# wait_until DESCRIPTION COMMAND...: run COMMAND every 0.1 s until it
# succeeds; fail naming DESCRIPTION after $WAIT_S seconds (default 60). The
# deadline is a safety net for a busy machine, never the expected path.
wait_until() {
  local desc=$1 end=$((SECONDS + ${WAIT_S:-60}))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out after ${WAIT_S:-60} s waiting for $desc"
    sleep 0.1
  done
}

# Wait up to $2 seconds (default 60) for file $1 to exist.
wait_file() {
  local i
  for ((i = 0; i < ${2:-60} * 20; i++)); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  fail "timed out waiting for $1"
}

# A TCP port on 127.0.0.1 that nothing listens on now, for a private
# server (one a test restarts must not be the shared one the tests beside
# it use).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# JSON field of a `orch --json runs show` document.
run_json() { "$ORCH" --json runs show "$1"; }
# jq_py EXPR: EXPR evaluated with d the JSON of stdin, and ns(TIME) the
# nanoseconds of a time of the API (tests/lib/api_time.py).
T_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jq_py() {
  python3 -c "import json,sys; sys.path.insert(0, sys.argv[2]); from api_time import ns
d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1" "$T_LIB"
}

# The attempt count of a step in a run (from the store).
attempts_of() {
  run_json "$1" | jq_py "len([a for a in d['attempts'] if a['step']=='$2'])"
}
state_of() {
  run_json "$1" | jq_py "[a for a in d['attempts'] if a['step']=='$2'][-1]['state']"
}
run_state() { run_json "$1" | jq_py "d['state']"; }
last_run_id() { "$ORCH" --json runs list --limit 1 | jq_py "d[0]['id']"; }

# Whether pid $1 is a live process (a zombie is dead: it only waits for
# its parent, possibly init, to reap it).
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Fail if any pid listed in file $1 is still alive 30 seconds later.
expect_dead_pids() {
  local p i
  for p in $(cat "$1"); do
    for ((i = 0; i < 300; i++)); do alive "$p" || break; sleep 0.1; done
    if alive "$p"; then
      kill -9 "$p" 2>/dev/null || true
      fail "process $p survived ($2)"
    fi
  done
}

# Under AddressSanitizer a SIGSEGV is turned into an abort; tests that check
# how a crash is reported want the real signal.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"

# The ABI the headers declare ("1.2"), for messages that name it.
orch_abi() {
  sed -n 's/^#define ORCH_ABI_MAJOR \([0-9]*\)$/\1/p; s/^#define ORCH_ABI_MINOR \([0-9]*\)$/\1/p' \
    "$ORCH_SOURCE_DIR/sdk/include/orch/abi.h" | paste -sd.
}

# sqlite_blob_tamper DB KEY: replace the bytes of blob KEY in the embedded
# store's database DB with "tampered" (8 bytes), behind orch's back; fails
# the test unless exactly that one row changed.
sqlite_blob_tamper() {
  python3 - "$1" "$2" <<'PY' || fail "could not change the blob $2 in $1"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = [r[1] for r in db.execute("PRAGMA table_info(blobs)")]
data = [c for c in cols if c not in ("key",)][0]
n = db.execute(f"UPDATE blobs SET {data} = ? WHERE key = ?", (b"tampered", sys.argv[2])).rowcount
db.commit()
sys.exit(0 if n == 1 else 1)
PY
}
