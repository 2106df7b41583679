# Concurrency groups across CLI runs on SQLite (docs/config.md,
# "Concurrency groups"): validate's refusals at file:line:col and an empty
# key refused before a run is stored; queue (the second run waits, no step
# of it starts, and the recorded start/end times of the two never overlap);
# FIFO in creation order; a waiting run cancelled; skip (ends at once,
# cancelled, naming the group and the holder);
# cancel_running (the holder is cancelled with the reason, the new run
# admitted once it ended); a holder killed -9 and resumed keeps its slot;
# one killed and left is stale once its lease expired, and the waiter is
# admitted then; a hostile key stays inside the flag namespace.
. "$(dirname "$0")/../lib/common.sh"
WAIT_S=120

# A workflow of group KEY (a template) with policy POLICY whose one step
# records its start, waits for the file named by input hold, and ends.
wf() { # NAME KEY LIMIT POLICY
  cat <<YAML
  $1:
    inputs:
      env: {default: prod}
      hold: {default: $T/never}
    concurrency_group:
      key: "$2"
      limit: $3
      on_conflict: $4
    steps:
      - id: work
        uses: exec
        env: {HOLD: "\${{ inputs.hold }}"}
        with:
          run: echo "\$HOLD" >> $T/started; while [ ! -e "\$HOLD" ]; do sleep 0.05; done
YAML
}
{
  printf 'version: 1\nworker:\n  lease_ttl: 3s\n  tick: 200ms\nworkflows:\n'
  wf deploy 'deploy-${{ inputs.env }}' 1 queue
  wf deploy_skip 'deploy-${{ inputs.env }}' 1 skip
  wf deploy_cancel 'deploy-${{ inputs.env }}' 1 cancel_running
} >"$T/wf.yaml"

o validate "$T/wf.yaml"
expect_rc 0 "the groups validate"

# --- validate: only inputs and literals, a known policy, file:line:col ----
cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows:
  w:
    concurrency_group:
      key: "deploy-${{ steps.a.outputs.x }}-${{ run.id }}"
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "a group key with other contexts is refused"
expect_out "bad.yaml:5:12: workflow w, concurrency_group.key: may use only inputs.NAME and literals (it is rendered before the run starts), not steps.a" "steps refused with its position"
expect_out "not run.id" "run refused too, in the same pass"
cat >"$T/bad2.yaml" <<'YAML'
version: 1
workflows:
  w:
    concurrency_group:
      key: deploy
      limit: 0
      on_conflict: later
      keys: 1
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
YAML
o validate "$T/bad2.yaml"
expect_rc 2 "a bad limit and policy are refused"
expect_out "bad2.yaml:6:14: workflow w: concurrency_group.limit must be" "limit 0 at its position"
expect_out "bad2.yaml:7:20: workflow w: concurrency_group: on_conflict must be queue, cancel_running or skip (not 'later')" "the policy"
expect_out "bad2.yaml:8:7: workflow w: concurrency_group: unknown key 'keys'; did you mean 'key'?" "an unknown key"

# --- an empty key is refused before anything is stored --------------------
cat >"$T/empty.yaml" <<'YAML'
version: 1
workflows:
  w:
    inputs: {env: {default: ""}}
    concurrency_group: {key: "${{ inputs.env }}"}
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
YAML
o validate "$T/empty.yaml"
expect_rc 0 "a key from an input validates"
o run "$T/empty.yaml" w
expect_rc 2 "a run whose key renders empty is refused as a bad input is"
expect_out "concurrency_group.key '\${{ inputs.env }}' renders empty" "the empty key named"
[ "$("$ORCH" --json runs list | jq_py 'len(d)')" = 0 ] || fail "a run was stored for an empty key"
pass "validate refuses other contexts at file:line:col; an empty key stores no run"

# A dry run names the group and takes no slot.
o run --dry-run "$T/wf.yaml" deploy
expect_rc 0 "a dry run"
expect_out "concurrency group deploy-prod (limit 1, on_conflict queue): a dry run takes no slot" "the plan names the group"
pass "a dry run names the group and takes no slot"

# Helpers over `orch --json runs show/events`.
events_of() { "$ORCH" --json runs events "$1" | jq_py "[e['type'] for e in d if e['type'].startswith('concurrency.')]"; }
has_event() { "$ORCH" --json runs events "$1" 2>/dev/null | jq_py "any(e['type']=='$2' for e in d)" | grepq -x True; }
state_is() { [ "$(run_state "$1")" = "$2" ]; }
n_attempts() { run_json "$1" | jq_py "len([a for a in d['attempts'] if a['started']])"; }
# "ok" when run $1's recorded attempts all ended before any of run $2's began.
before() {
  python3 - "$1" "$2" "$ORCH" "$T_LIB" <<'PY'
import json, subprocess, sys
sys.path.insert(0, sys.argv[4])
from api_time import ns
def at(i):
    d = json.loads(subprocess.check_output([sys.argv[3], "--json", "runs", "show", i]))
    return [(ns(a["started"]), ns(a["finished"]) if a["finished"] else None) for a in d["attempts"] if a["started"]]
a, b = at(sys.argv[1]), at(sys.argv[2])
ok = a and b and all(e is not None for _, e in a) and max(e for _, e in a) <= min(s for s, _ in b)
print("ok" if ok else f"overlap: {a} vs {b}")
PY
}
# Starts `orch run` in the background: RID its run id (once its first
# line is out), LAST_PID its process.
start_run() { # OUT WF ARGS...
  local out=$1 wf=$2
  shift 2
  rm -f "$out" # never read a former run's first line
  "$ORCH" run "$T/wf.yaml" "$wf" "$@" >"$out" 2>&1 &
  LAST_PID=$!
  T_PIDS+=("$LAST_PID")
  wait_until "the run of $out to start" grep -sq '^run r-.* started' "$out"
  RID=$(sed -n 's/^run \(r-[^ ]*\) started.*/\1/p' "$out" | head -1)
}

# --- queue: the second waits until the first ended -------------------------
start_run "$T/a.out" deploy --input hold="$T/a.go"; a=$RID
wait_until "a's step to start" grep -sqx "$T/a.go" "$T/started"
start_run "$T/b.out" deploy --input hold="$T/b.go"; b=$RID
pid_b=$LAST_PID
wait_until "b to wait" grep -q "waiting for concurrency group deploy-prod (limit 1)" "$T/b.out"
has_event "$b" concurrency.waiting || fail "b's ledger lacks concurrency.waiting: $(events_of "$b")"
"$ORCH" --json runs events "$b" | jq_py "[e['data']['holders'] for e in d if e['type']=='concurrency.waiting']" >"$T/h"
[ "$(cat "$T/h")" = "[['$a']]" ] || fail "b's waiting event names the holders $(cat "$T/h"), not [$a]"
[ "$(n_attempts "$b")" = 0 ] || fail "a step of the waiting run b started"
"$ORCH" runs show "$b" >"$T/show"
grepq -F "group     deploy-prod (limit 1, on_conflict queue): waiting, held by $a" "$T/show" ||
  { cat "$T/show"; fail "orch runs show does not say why b waits"; }
run_json "$b" | jq_py "d['concurrency_group']['state']" | grepq -x waiting || fail "--json lacks the group's state"
# FIFO: c, created after b, waits behind it even when it asks first once
# the slot frees (c's back-off is the shorter one then).
start_run "$T/c.out" deploy --input hold="$T/c.go"; c=$RID
pid_c=$LAST_PID
wait_until "c to wait" grep -q "waiting for concurrency group" "$T/c.out"
"$ORCH" --json runs events "$c" | jq_py "[e['data']['ahead'] for e in d if e['type']=='concurrency.waiting']" >"$T/ahead"
[ "$(cat "$T/ahead")" = "[1]" ] || fail "c should wait behind b: ahead $(cat "$T/ahead")"
# A waiting run is cancelled like any other: x ends, no step of it ran.
start_run "$T/x.out" deploy --input hold="$T/x.go"; x=$RID
pid_x=$LAST_PID
wait_until "x to wait" grep -q "waiting for concurrency group" "$T/x.out"
o runs cancel "$x"
expect_rc 0 "cancelling a waiting run"
wait "$pid_x" && fail "the cancelled waiter x exited 0"
[ "$(run_state "$x")" = cancelled ] || fail "the cancelled waiter is $(run_state "$x")"
grep -sqx "$T/x.go" "$T/started" && fail "a step of the cancelled waiter ran"
# When a ends, b (created first) is admitted; had c taken the slot, b
# would wait for c, which is only released after b's admission.
touch "$T/a.go"
wait_until "b to be admitted" has_event "$b" concurrency.admitted
has_event "$c" concurrency.admitted && fail "c was admitted before or with b"
touch "$T/b.go" "$T/c.go"
wait "$pid_b" || fail "b exited $?: $(cat "$T/b.out")"
wait "$pid_c" || fail "c exited $?: $(cat "$T/c.out")"
r=$(before "$b" "$c"); [ "$r" = ok ] || fail "FIFO: b and c: $r"
wait_until "a to end" state_is "$a" succeeded
[ "$(run_state "$b")" = succeeded ] || fail "b is $(run_state "$b")"
r=$(before "$a" "$b"); [ "$r" = ok ] || fail "queue: a and b ran together: $r"
grepq "admitted to concurrency group deploy-prod after" "$T/b.out" || fail "b's admission not said: $(cat "$T/b.out")"
[ "$(events_of "$b")" = "['concurrency.waiting', 'concurrency.admitted']" ] || fail "b's events: $(events_of "$b")"
pass "queue: b waited for a (no overlap in the recorded times), c behind b in creation order; a waiting run cancelled"

# --- skip: ends at once, cancelled, naming the group and the holder ---------
rm -f "$T/started"
start_run "$T/a.out" deploy --input hold="$T/a2.go"; a=$RID
wait_until "a's step to start" grep -sqx "$T/a2.go" "$T/started"
o run "$T/wf.yaml" deploy_skip
expect_rc 1 "a skipped run exits as a cancelled one"
s=$(sed -n 's/^run \(r-[^ ]*\) started.*/\1/p' "$T/out" | head -1)
[ "$(run_state "$s")" = cancelled ] || fail "the skipped run is $(run_state "$s")"
run_json "$s" | jq_py "d['error']" >"$T/err"
grepq -F "skipped: concurrency group deploy-prod (limit 1) is full, held by $a (on_conflict: skip)" "$T/err" ||
  fail "the skipped run's reason: $(cat "$T/err")"
run_json "$s" | jq_py "all(a['state']=='cancelled' and 'before the step started' in a['error'] for a in d['attempts'])" |
  grepq -x True || fail "a step of the skipped run started: $(run_json "$s")"
grep -sqx "$T/never" "$T/started" && fail "the skipped run's command ran"
has_event "$s" concurrency.skipped || fail "no concurrency.skipped event: $(events_of "$s")"
pass "skip: ended at once, cancelled, naming the holder; no step ran"

# --- cancel_running: the holder is cancelled, then the new run goes ---------
start_run "$T/c.out" deploy_cancel --input hold="$T/c.go"; c=$RID
pid_c=$LAST_PID
wait_until "a to be cancelled" state_is "$a" cancelled
run_json "$a" | jq_py "d['error']" >"$T/err"
grepq -F "cancelled by run $c (concurrency group deploy-prod)" "$T/err" || fail "a's reason: $(cat "$T/err")"
wait_until "c's step to start" grep -sqx "$T/c.go" "$T/started"
touch "$T/c.go" "$T/a2.go"
wait "$pid_c" || fail "c exited $?: $(cat "$T/c.out")"
r=$(before "$a" "$c"); [ "$r" = ok ] || fail "cancel_running: a and c ran together: $r"
has_event "$c" concurrency.cancelling || fail "c's ledger lacks concurrency.cancelling: $(events_of "$c")"
pass "cancel_running: the holder was cancelled with the reason, then c ran"

# --- kill -9 of a holder: resumed, it keeps its slot ------------------------
rm -f "$T/started"
start_run "$T/k.out" deploy --input hold="$T/k.go"; k=$RID
pid_k=$LAST_PID
wait_until "k's step to start" grep -sqx "$T/k.go" "$T/started"
kill -9 "$pid_k"
wait "$pid_k" 2>/dev/null || true
"$ORCH" resume "$k" >"$T/kr.out" 2>&1 &
pid_kr=$!
T_PIDS+=("$pid_kr")
wait_until "k to be resumed" has_event "$k" run.resumed
start_run "$T/w.out" deploy --input hold="$T/w.go"; w=$RID
pid_w=$LAST_PID
wait_until "w to wait" grep -q "waiting for concurrency group" "$T/w.out"
"$ORCH" --json runs events "$w" | jq_py "[e['data']['holders'] for e in d if e['type']=='concurrency.waiting']" >"$T/h"
[ "$(cat "$T/h")" = "[['$k']]" ] || fail "w waits for $(cat "$T/h"), not the resumed holder $k"
# Past the killed process's lease (3 s): the resumed run still holds the
# slot, so w is still waiting.
started_twice() { [ "$(grep -scx "$T/k.go" "$T/started")" -ge 2 ]; }
wait_until "k's retried step to start" started_twice
sleep_past=$((SECONDS + 5)); while [ "$SECONDS" -lt "$sleep_past" ]; do has_event "$w" concurrency.admitted && fail "w was admitted while the resumed k held the slot"; sleep 0.2; done
[ "$(n_attempts "$w")" = 0 ] || fail "a step of w started while k held the slot"
touch "$T/k.go" "$T/w.go"
wait "$pid_kr" || fail "the resume of k exited $?: $(cat "$T/kr.out")"
wait "$pid_w" || fail "w exited $?: $(cat "$T/w.out")"
r=$(before "$k" "$w"); [ "$r" = ok ] || fail "the resumed k and w ran together: $r"
pass "kill -9 then resume: the resumed holder kept its slot; w ran after it"

# --- kill -9 of a holder left dead: stale once its lease expired ------------
rm -f "$T/started"
start_run "$T/k.out" deploy --input hold="$T/k2.go"; k=$RID
pid_k=$LAST_PID
wait_until "k's step to start" grep -sqx "$T/k2.go" "$T/started"
kill -9 "$pid_k"
wait "$pid_k" 2>/dev/null || true
killed_ns=$(date +%s%N)
start_run "$T/w.out" deploy --input hold="$T/w2.go"; w=$RID
pid_w=$LAST_PID
wait_until "w to be admitted once k's lease expired" has_event "$w" concurrency.admitted
"$ORCH" --json runs events "$w" | jq_py "[ns(e['ts']) for e in d if e['type']=='concurrency.admitted'][0]" >"$T/adm"
[ $(( $(cat "$T/adm") - killed_ns )) -ge 2500000000 ] || fail "w was admitted $(( ($(cat "$T/adm") - killed_ns) / 1000000 )) ms after the kill, before k's 3 s lease could expire"
touch "$T/w2.go"
wait "$pid_w" || fail "w exited $?: $(cat "$T/w.out")"
[ "$(run_state "$k")" = running ] || fail "the dead k is $(run_state "$k") (nobody should have touched it)"
touch "$T/k2.go" # its orphaned command ends
pass "kill -9 left dead: its slot was stale once its lease expired, and w ran"

# --- a hostile key: /, .., control characters, 10 KB -------------------------
# The store names a group by the key's sha256: the flag of a member is
# cgroup/<64 hex>/<run id> whatever the key holds, and what people see of
# it is escaped and cut at 120 bytes.
rm -f "$T/started"
hostile=$(python3 -c 'import sys; sys.stdout.write("../../x/\x01\x1b[31m" + "/.." * 10 + "k" * 10000)')
start_run "$T/x.out" deploy --input env="$hostile" --input hold="$T/x.go"; x=$RID
pid_x=$LAST_PID
wait_until "x's step to start" grep -sqx "$T/x.go" "$T/started"
python3 - "$ORCH_STATE_DIR/orch.db" "$x" <<'PY' || fail "hostile key: see above"
import re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [n for (n,) in db.execute("SELECT name FROM flags WHERE name LIKE 'cgroup%'")]
assert names and all(re.fullmatch(r"cgroup/[0-9a-f]{64}/r-[0-9a-z]+", n) for n in names), names
assert any(n.endswith("/" + sys.argv[2]) for n in names), names
PY
"$ORCH" --json runs events "$x" | jq_py "[e['data']['key'] for e in d if e['type']=='concurrency.admitted'][0]" >"$T/key"
python3 - "$T/key" <<'PY' || fail "the key as shown: $(head -c 300 "$T/key")"
import sys
k = open(sys.argv[1]).read().rstrip("\n")
assert k.startswith("deploy-../../x/\\x01\\x1b[31m/.."), k[:60]
assert k.endswith("... (10051 bytes)") and len(k) < 200, (len(k), k[-30:])
assert not any(ord(c) < 0x20 for c in k), "a control character is shown"
PY
touch "$T/x.go"
wait "$pid_x" || fail "x exited $?: $(cat "$T/x.out")"
python3 - "$ORCH_STATE_DIR/orch.db" <<'PY' || fail "flags left after every run ended"
import sqlite3, sys
left = [n for (n,) in sqlite3.connect(sys.argv[1]).execute("SELECT name FROM flags WHERE name LIKE 'cgroup%'")]
# The dead k's was cleared as stale by w's admission; the others released.
assert left == [], left
PY
pass "hostile key: one flag of fixed shape, shown escaped and cut short, released at the end"
