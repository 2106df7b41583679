# The tick ledger: orchd writes one row per tick to the store (not only the
# busy ones), with what the tick did; GET /v1/ticks and `orch ticks` read
# it newest first (since, limit, more); retention by count and by age
# holds; tick_ledger_keep: 0 writes none. Bad since/limit are 400s or
# usage errors that name the parameter. SQLite store here; the store side
# of PostgreSQL is the conformance case store/ticks.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cfg() { # FILE WORKER-EXTRA
  od_config "$1" <<EOF2
version: 1
$OD_SERVER
worker: {id: tick-test, tick: 100ms, lease_ttl: 10s$2}
workflows:
  two:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
      - {id: b, uses: exec, needs: [a], with: {run: "true"}}
EOF2
}
ticks() { api GET "/v1/ticks$1" "" reader; expect_http 200 "GET /v1/ticks$1"; }

# 1. Every tick is a row; the claims and dispatches of three runs add up.
cfg "$T/c.yaml" ""
od_start "$T/c.yaml"
for i in 1 2 3; do
  api POST /v1/runs '{"workflow": "two"}'
  expect_http 201 "start run $i"
  eval "run$i=$(resp "d['run']['id']")"
done
for r in "$run1" "$run2" "$run3"; do od_wait_run "$r" succeeded; done
od_wait_ticks 3 # the tick after the last dispatch has recorded it
ticks "?limit=10000"
resp "d['more']" | grepq -x False || fail "all ticks fit in 10000: more is $(resp "d['more']")"
n=$(resp "len(d['ticks'])")
[ "$n" -ge 10 ] || fail "idle ticks are rows too: only $n"
[ "$(resp "sum(t['claimed'] for t in d['ticks'])")" = 3 ] ||
  fail "three runs claimed once each: $(resp "[t['claimed'] for t in d['ticks'] if t['claimed']]")"
[ "$(resp "sum(t['dispatched'] for t in d['ticks'])")" = 6 ] ||
  fail "six steps dispatched: $(resp "[t['dispatched'] for t in d['ticks'] if t['dispatched']]")"
resp "all(t['owner'] == 'tick-test' and t['errors'] == 0 and t['duration_ns'] >= 0 for t in d['ticks'])" |
  grepq -x True || fail "every row names the worker, no errors: $(cat "$T/resp")"
resp "all(a['started'] >= b['started'] and a['seq'] > b['seq'] for a, b in zip(d['ticks'], d['ticks'][1:]))" |
  grepq -x True || fail "newest first"
resp "all(len(t['started']) == 30 and t['started'].endswith('Z') for t in d['ticks'])" |
  grepq -x True || fail "started is RFC 3339 to the nanosecond: $(resp "d['ticks'][0]['started']")"
pass "every tick is a row ($n); claimed 3 and dispatched 6 in all, newest first"

# 2. since and limit, and what is refused.
ticks "?limit=2"
[ "$(resp "len(d['ticks'])")" = 2 ] && resp "d['more']" | grepq -x True ||
  fail "limit 2: two ticks and more: $(cat "$T/resp")"
ticks "?since=1h&limit=10000"
[ "$(resp "len(d['ticks'])")" -ge "$n" ] || fail "since=1h holds every tick"
# A UTC time after the oldest tick's second leaves that tick out (25 ticks
# of 100ms later, that second is in the past).
od_wait_ticks 25
ticks "?limit=10000"
oldest=$(resp "d['ticks'][-1]['started'][:19]")
from=$(date -u -d "${oldest}Z + 1 second" +%Y-%m-%dT%H:%M:%SZ)
ticks "?limit=10000&since=$from"
resp "len(d['ticks']) > 0 and all(t['started'] >= '$from'[:19] for t in d['ticks'])" |
  grepq -x True || fail "since a UTC time: only the ticks from then on: $(cat "$T/resp")"
# A tick's own "started" as since, to the nanosecond: that tick and newer.
third=$(resp "d['ticks'][2]['started']")
ticks "?limit=10000&since=$third"
resp "len(d['ticks']) >= 3 and d['ticks'][-1]['started'] == '$third'" |
  grepq -x True || fail "since a tick's started selects it and newer: $(resp "d['ticks'][-1]")"
for bad in "since=tomorrow" "since=2099-01-01T00:00:00Z" "limit=0" "limit=10001" "limit=x"; do
  api GET "/v1/ticks?$bad" "" reader
  expect_http 400 "$bad"
  resp "d['error']['message']" | grepq "${bad%%=*} must be" || fail "$bad: the 400 names the parameter"
done
api GET /v1/ticks "" ""
[ "$HTTP" = 401 ] || fail "no token: $HTTP"
pass "since and limit honoured (more when cut); bad ones are 400 naming the parameter; a token is needed"

# 3. orch ticks, from the store and through the daemon, print the same rows.
o ticks --limit 5
expect_rc 0 "orch ticks"
[ "$(grep -c ' tick-test$' "$T/out")" = 5 ] || { cat "$T/out"; fail "orch ticks --limit 5: five rows"; }
expect_out "DISPATCHED" "the header"
o --json ticks --since 1h --limit 10000
expect_rc 0 "orch --json ticks"
[ "$(jq_py "sum(t['claimed'] for t in d['ticks'])" <"$T/out")" = 3 ] || fail "the CLI reads the same ledger"
o --server "unix:$OD_SOCK" --token-file <(echo reader-token) ticks --limit 3
expect_rc 0 "orch --server ticks"
[ "$(grep -c ' tick-test$' "$T/out")" = 3 ] || { cat "$T/out"; fail "orch --server ticks --limit 3"; }
o ticks --since 2099-01-01T00:00:00Z
expect_rc 2 "a future --since"
expect_out "--since must be" "named"
o ticks --limit 0
expect_rc 2 "--limit 0"
expect_out "--limit must be 1..10000" "named"
pass "orch ticks reads the ledger locally and through the daemon; bad options are usage errors"
od_stop

# 4. Retention by count: pruned every reconcile to tick_ledger_keep.
cfg "$T/keep.yaml" ", reconcile_every: 200ms, tick_ledger_keep: 5"
od_start "$T/keep.yaml"
od_wait_ticks 30
ticks "?limit=10000"
kept=$(resp "len(d['ticks'])")
# At most keep plus the ticks since the last prune (two at 200ms, with slack).
[ "$kept" -le 9 ] || fail "tick_ledger_keep 5 keeps $kept ticks after 30"
od_stop
pass "retention by count: $kept ticks kept of 30+"

# 5. Retention by age.
cfg "$T/age.yaml" ", reconcile_every: 200ms, tick_ledger_max_age: 1s"
od_start "$T/age.yaml"
od_wait_ticks 40
ticks "?limit=10000"
span_ms=$(resp "(lambda at: int((at(d['ticks'][0]['started'][:26]) - at(d['ticks'][-1]['started'][:26])).total_seconds() * 1000))(__import__('datetime').datetime.fromisoformat)")
# 1 s of age plus one reconcile period between prunes, with slack for a
# slow machine; without pruning it would be the whole 4 s and more.
[ "$span_ms" -le 2500 ] || fail "tick_ledger_max_age 1s: the ledger spans ${span_ms}ms"
od_stop
pass "retention by age: the ledger spans ${span_ms}ms with max_age 1s"

# 6. tick_ledger_keep: 0 writes none.
rm -rf "${ORCH_STATE_DIR:?}"
cfg "$T/off.yaml" ", tick_ledger_keep: 0"
od_start "$T/off.yaml"
od_wait_ticks 5
ticks ""
[ "$(resp "len(d['ticks'])")" = 0 ] || fail "tick_ledger_keep 0 writes no ticks: $(cat "$T/resp")"
od_stop
pass "tick_ledger_keep: 0 writes no ticks"

# 7. Bad retention values are config errors at their place.
cfg "$T/bad.yaml" ", tick_ledger_keep: -1"
o validate "$T/bad.yaml"
expect_rc 2 "tick_ledger_keep -1"
expect_out "bad.yaml:6:" "at its place"
expect_out "tick_ledger_keep" "named"
cfg "$T/bad2.yaml" ", tick_ledger_max_age: soon"
o validate "$T/bad2.yaml"
expect_rc 2 "tick_ledger_max_age soon"
expect_out "tick_ledger_max_age" "named"
pass "bad tick ledger settings are config errors at file:line:col"

# 7b. A failure the tick meets is counted in its row: a schedule whose
# inputs its workflow refuses (a number input given "many") fails to
# enqueue when it fires.
rm -rf "${ORCH_STATE_DIR:?}"
cat >"$T/err.yaml" <<'EOF2'
version: 1
worker: {id: tick-test, tick: 100ms, lease_ttl: 10s}
schedules:
  bad-inputs: {workflow: counted, cron: "@hourly", inputs: {n: many}}
workflows:
  counted:
    inputs: {n: {type: number}}
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF2
for at in 2026-03-01T23:58:00Z 2026-03-02T00:00:20Z; do # first sight, then the slot
  "$ORCHD" --config "$T/err.yaml" --once --now "$at" >>"$T/err.log" 2>&1 || fail "orchd --once at $at"
done
grepq "schedule bad-inputs" "$T/err.log" || { cat "$T/err.log"; fail "the failed enqueue is logged"; }
o --json ticks --limit 100
expect_rc 0 "orch ticks after the failed schedule"
[ "$(jq_py "sum(t['errors'] for t in d['ticks'])" <"$T/out")" = 1 ] ||
  { cat "$T/out"; fail "the tick that met the failed enqueue counts one error"; }
[ "$(jq_py "sum(t['fired'] for t in d['ticks'])" <"$T/out")" = 0 ] || fail "nothing fired"
pass "a failure the tick met is counted in its row (and logged)"

# 8. A store without a tick ledger (store-faulty declares no ticks
# capability, as an ABI 1.1 store): GET /v1/ticks is a 501 that says so,
# orch ticks a usage error, and a busy tick is still a `tick` event.
[ -e "$ORCH_TEST_PLUGIN_DIR/store-faulty.so" ] || fail "store-faulty.so is not built"
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"
rm -rf "${ORCH_STATE_DIR:?}" && mkdir -p "$ORCH_STATE_DIR"
od_config "$T/old.yaml" <<EOF2
version: 1
store:
  uses: faulty
  migrate: on_start
  with: {inner: $ORCH_PLUGIN_DIR/store-sqlite.so, path: $ORCH_STATE_DIR/orch.db}
$OD_SERVER
worker: {id: tick-test, tick: 100ms, lease_ttl: 10s}
workflows:
  one:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF2
od_start "$T/old.yaml"
api POST /v1/runs '{"workflow": "one"}'
expect_http 201 "start a run on the old store"
od_wait_run "$(resp "d['run']['id']")" succeeded
api GET /v1/ticks "" reader
expect_http 501 "GET /v1/ticks without a ledger"
resp "d['error']['code'] + ': ' + d['error']['message']" | grepq "^unsupported: store faulty keeps no tick ledger" ||
  fail "the 501 names the store: $(cat "$T/resp")"
od_stop
o -c "$T/old.yaml" ticks
expect_rc 2 "orch ticks without a ledger"
expect_out "keeps no tick ledger" "said"
python3 - "$ORCH_STATE_DIR/orch.db" <<'PY' || fail "the busy tick is a tick event on a store without a ledger"
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("select data_json from events where type='tick'").fetchall()
assert sum(json.loads(d)["claimed"] for (d,) in rows) == 1, rows
PY
pass "a store without a tick ledger: 501 unsupported, orch ticks says so, busy ticks stay events"
