# worker.max_claims_per_tick and worker.max_tick bound one scheduler tick:
# a tick claims at most that many runs, stops claiming once it has run for
# max_tick (after at least one claim, so a slow tick still makes progress),
# and a tick over max_tick is logged and counted. Both are checked with --once (one
# tick) against a queue filled while the daemons were paused; bad values
# are config errors with file:line:col.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cfg() { # FILE WORKER-LINE CONTROL-PAUSED
  od_config "$1" <<EOF2
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
worker: {tick: 100ms, lease_ttl: 10s$2}
control: {paused: $3}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "true"}}
EOF2
}
count() { "$ORCH" --json runs list --state "$1" --limit 1000 | jq_py "len(d)"; }

cfg "$T/fill.yaml" "" true
od_start "$T/fill.yaml"
for i in $(seq 30); do
  api POST /v1/runs '{"workflow": "w"}'
  expect_http 201 "queue run $i"
done
od_stop
[ "$(count queued)" = 30 ] || fail "30 runs queued while paused: $(count queued)"

cfg "$T/claims.yaml" ", max_claims_per_tick: 2" false
"$ORCHD" --config "$T/claims.yaml" --once >>"$T/orchd.log" 2>&1 || fail "orchd --once failed"
[ "$(count succeeded)" = 2 ] || fail "one tick claimed max_claims_per_tick runs: $(count succeeded)"
[ "$(count queued)" = 28 ] || fail "the others wait: $(count queued)"
pass "worker.max_claims_per_tick: one tick claims at most that many"

cfg "$T/short.yaml" ", max_tick: 1ms" false
"$ORCHD" --config "$T/short.yaml" --once >"$T/short.log" 2>&1 || { cat "$T/short.log"; fail "orchd --once failed"; }
done_n=$(count succeeded)
[ "$done_n" -gt 2 ] || fail "a tick over max_tick still claims once: $done_n"
[ "$done_n" -lt 30 ] || fail "a tick stops claiming after max_tick: all 28 claimed in 1 ms"
grep -q "over worker.max_tick (1ms)" "$T/short.log" || { cat "$T/short.log"; fail "the overrun is logged"; }
pass "worker.max_tick: the tick stopped claiming after it ($((done_n - 2)) of 28) and said so"

# The overrun is counted too: /metrics and the health document of a
# daemon whose ticks claim from a queue of 28 with max_tick 1ms.
cfg "$T/count.yaml" ", max_tick: 1ms" false
od_start "$T/count.yaml"
overruns() {
  api GET /metrics
  [ "$HTTP" = 200 ] || return 1
  awk '$1 == "orch_scheduler_tick_overruns_total" {print $2}' "$T/resp"
}
counted() { local n; n=$(overruns) && [ -n "$n" ] && [ "$n" -gt 0 ]; }
wait_until "an overrun counted in /metrics" counted
api GET /v1/health
expect_http 200 "the health document"
[ "$(resp "d['scheduler']['tick_overruns'] > 0")" = True ] ||
  fail "the health document counts no overrun: $(resp "d['scheduler']")"
od_stop
pass "worker.max_tick: each overrun is counted (orch_scheduler_tick_overruns_total, health scheduler.tick_overruns)"

cfg "$T/bad.yaml" ", max_tick: 6s" false
o validate "$T/bad.yaml"
expect_rc 2 "max_tick over half the lease"
expect_out "bad.yaml:5:" "at its place"
expect_out "worker.max_tick must be" "named"
cfg "$T/bad2.yaml" ", max_claims_per_tick: 0" false
o validate "$T/bad2.yaml"
expect_rc 2 "max_claims_per_tick 0"
expect_out "max_claims_per_tick" "named"
pass "bad tick limits are config errors at file:line:col"
