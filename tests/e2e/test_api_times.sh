# Times leave orch as RFC 3339 strings to the nanosecond, named without a
# unit (docs/design.md, "Times in the API"), and `orch runs ...` shows one
# shape whether it reads the store or the daemon: the same run, attempt and
# events field for field both ways, the same text tables, the times
# printed from those strings, and no *_ns field left in any of it.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<'EOF'
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
backends:
  here: {uses: local}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "echo hi"}}
EOF
od_start "$T/orchd.yaml"
export ORCH_TOKEN=writer-token
SRV="unix:$OD_SOCK"

# both NAME ARGS...: `orch ARGS` from the store (the daemon's, shared by
# ORCH_STATE_DIR) into $T/NAME.local, and with --server into $T/NAME.remote.
both() {
  local name=$1
  shift
  "$ORCH" "$@" >"$T/$name.local" || fail "orch $* (from the store) exited $?"
  "$ORCH" --server "$SRV" "$@" >"$T/$name.remote" || fail "orch --server $* exited $?"
}
# check NAME PYTHON: PYTHON asserts about L and R, the two JSON outputs of
# NAME, with ns() and no_ns() (which fails on any key ending in _ns).
check() {
  python3 - "$T/$1.local" "$T/$1.remote" "$T_LIB" "$before" "$R" <<PY || fail "$1: $(cat "$T/$1.local" "$T/$1.remote")"
import json, sys
sys.path.insert(0, sys.argv[3])
from api_time import ns
L, R = (json.load(open(p)) for p in sys.argv[1:3])
before, run_id = int(sys.argv[4]), sys.argv[5]
def no_ns(j, where="\$"):
    if isinstance(j, dict):
        for k, v in j.items():
            assert not k.endswith("_ns"), f"{where}.{k}: a time left as integer ns"
            no_ns(v, f"{where}.{k}")
    elif isinstance(j, list):
        for i, v in enumerate(j):
            no_ns(v, f"{where}[{i}]")
no_ns(L); no_ns(R)
$2
PY
}

before=$(python3 -c 'import time; print(time.time_ns())')
api POST /v1/runs '{"workflow":"w"}'; expect_http 201 "start"
R=$(resp "d['run']['id']")
od_wait_run "$R" succeeded

both list --json runs list
check list '
l, = [r for r in L if r["id"] == run_id]
r, = [r for r in R if r["id"] == run_id]
assert l == r, ("the store and the daemon list the run differently", l, r)
assert ns(l["created"]) >= before, ("created before the POST", before, l)
assert ns(l["updated"]) >= ns(l["created"]), l'
pass "orch --json runs list: the same run from the store and the daemon, its times RFC 3339"

both show --json runs show "$R"
check show '
run = {k: v for k, v in L.items() if k not in ("attempts", "instances")}
assert run == {k: v for k, v in R.items() if k != "steps"}, (L, R)
flat = [dict(a, step=s["id"]) for s in R["steps"] for a in s["attempts"]]
assert L["attempts"] == flat, ("the attempts differ", L["attempts"], flat)
a = L["attempts"][0]
assert ns(L["created"]) <= ns(a["started"]) <= ns(a["finished"]), a
assert a["duration_ms"] == (ns(a["finished"]) - ns(a["started"])) // 1000000, a'
pass "orch --json runs show: the same run and attempts both ways, durations from the times"

both events --json runs events "$R"
check events '
assert L == R, "the store and the daemon give other events"
assert L and all(ns(e["ts"]) >= before for e in L), L'
# (The daemon serves a log as text: its lines have no JSON form there.)
"$ORCH" --json runs logs "$R" s >"$T/logs" || fail "orch --json runs logs exited $?"
[ "$(jq_py "len(d) > 0 and all(ns(l['ts']) >= $before and not [k for k in l if k.endswith('_ns')] for l in d)" <"$T/logs")" = True ] ||
  fail "orch --json runs logs: $(cat "$T/logs")"
pass "orch --json runs events and logs: ts as RFC 3339, one shape both ways"

# The text tables read the same strings: both ways print the same lines,
# the run's creation to the second.
created=$("$ORCH" --json runs show "$R" | jq_py "d['created'][:19] + 'Z'")
both tshow runs show "$R"
cmp -s "$T/tshow.local" "$T/tshow.remote" ||
  fail "runs show prints differently from the store and the daemon: $(diff "$T/tshow.local" "$T/tshow.remote")"
grepq "^created   $created\$" <"$T/tshow.local" || fail "runs show lacks 'created   $created': $(cat "$T/tshow.local")"
# s ran for more than nothing and less than a minute: ms or s, never "-".
grepq -E "^s +1 +succeeded +0 +[0-9.]+m?s " <"$T/tshow.local" ||
  fail "runs show lacks the attempt's duration: $(cat "$T/tshow.local")"
both tlist runs list
cmp -s "$T/tlist.local" "$T/tlist.remote" ||
  fail "runs list prints differently from the store and the daemon: $(diff "$T/tlist.local" "$T/tlist.remote")"
grepq "^$R .* $created\$" <"$T/tlist.local" || fail "runs list lacks $R created $created: $(cat "$T/tlist.local")"
pass "runs show and runs list print the same text from the store and the daemon"

# An instance's times, and the LAST USED column printed from them.
I=$("$ORCH" --server "$SRV" instances create here) || fail "instances create exited $?"
api GET "/v1/instances/$I" "" reader; expect_http 200 "the instance"
[ "$(resp "ns(d['instance']['created']) >= $before and ns(d['instance']['last_used']) >= ns(d['instance']['created']) and not [k for k in d['instance'] if k.endswith('_ns')]")" = True ] ||
  fail "the instance's times: $(cat "$T/resp")"
used=$(resp "d['instance']['last_used'][:19] + 'Z'")
"$ORCH" --server "$SRV" instances list >"$T/ilist" || fail "instances list exited $?"
grepq "^$I .* $used\$" <"$T/ilist" || fail "instances list lacks $I last used $used: $(cat "$T/ilist")"
"$ORCH" --server "$SRV" instances destroy "$I" >/dev/null || fail "instances destroy exited $?"
od_stop
pass "an instance's created, updated and last_used; instances list prints last_used"
