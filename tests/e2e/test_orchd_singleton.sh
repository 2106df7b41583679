# worker.mode: singleton. Three orchd on one PostgreSQL schema: exactly one
# leads (the holder of the orchd.leader lease) and claims; the others stand
# by and serve the API. kill -9 of the leader: a standby takes over once
# the lease expires, and every run finishes with each step succeeding
# exactly once. Two orchd on one SQLite file (an embedded store, singleton
# whatever the mode says): never both drive, checked from the attempt
# records; a clean stop hands over at once.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_single_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_PG_URL="$ORCH_PG_URL"
wf='workflows:
  w:
    inputs: {n: {default: "0"}}
    steps:
      - {id: a, uses: exec, with: {run: "echo run${{ inputs.n }}-a"}}
      - {id: b, uses: exec, needs: [a], with: {run: "sleep 1; echo run${{ inputs.n }}-b"}}'
od_config "$T/pg.yaml" <<EOF2
version: 1
$OD_SERVER
worker: {mode: singleton, tick: 100ms, lease_ttl: 3s}
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema}
$wf
EOF2
declare -A PID
start_d() { # NAME CONFIG
  ORCH_LOG_LEVEL=info "$ORCHD" --config "$2" --listen "unix:$T/$1.sock" >>"$T/$1.log" 2>&1 &
  PID[$1]=$!
  T_PIDS+=("$!")
}
role_of() { # NAME: leader, standby, worker, or down
  curl -s --unix-socket "$T/$1.sock" -H "Authorization: Bearer reader-token" http://orchd/v1/health 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2>/dev/null || echo down
}
role_is() { [ "$(role_of "$1")" = "$2" ]; }
roles() { local n; for n in "$@"; do role_of "$n"; done | sort | tr '\n' ' '; }
leader_among() { local n; for n in "$@"; do [ "$(role_of "$n")" = leader ] && { echo "$n"; return 0; }; done; return 1; }
one_leader() { [ "$(roles "$@")" = "leader $(printf 'standby %.0s' $(seq 2 $#))" ]; }

for n in d1 d2 d3; do start_d "$n" "$T/pg.yaml"; done
wait_until "one leader and two standbys" one_leader d1 d2 d3
lead=$(leader_among d1 d2 d3)
grep -q "standby: .* holds the leader lease" "$T/d1.log" "$T/d2.log" "$T/d3.log" ||
  fail "a standby says who leads"
for i in $(seq 8); do
  curl -s -o "$T/resp" --unix-socket "$T/$lead.sock" -H "Authorization: Bearer writer-token" \
    -H 'Content-Type: application/json' --data-binary "{\"workflow\": \"w\", \"inputs\": {\"n\": \"$i\"}}" \
    http://orchd/v1/runs
  resp "d['run']['id']" >>"$T/runs"
done
owners() { psql_q "SELECT DISTINCT owner FROM $schema.attempts ORDER BY 1"; }
some_owner() { [ -n "$(owners)" ]; }
wait_until "the leader to start steps" some_owner
lead_owner=$(owners)
[ "$(owners | wc -l)" = 1 ] || fail "only the leader drove: $(owners)"
pass "three daemons in singleton mode: one leader drives, two stand by"

# --- kill -9 the leader mid-run
killed_ns=$(date +%s%N)
kill -9 "${PID[$lead]}"
others=()
for n in d1 d2 d3; do [ "$n" = "$lead" ] || others+=("$n"); done
wait_until "a standby to take over" one_leader "${others[@]}"
new=$(leader_among "${others[@]}")
while read -r r; do
  for ((i = 0; i < 1200; i++)); do
    s=$(psql_q "SELECT state FROM $schema.runs WHERE id = '$r'")
    [ "$s" = 4 ] && break
    sleep 0.1
  done
  [ "$s" = 4 ] || fail "run $r finished (state $s)"
done <"$T/runs"
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE state = 3")" = 16 ] ||
  fail "each step succeeded once: $(psql_q "SELECT run_id, step_id, attempt, state FROM $schema.attempts ORDER BY 1, 2, 3")"
[ -z "$(psql_q "SELECT run_id, step_id FROM $schema.attempts WHERE state = 3 GROUP BY 1, 2 HAVING count(*) > 1")" ] ||
  fail "a step succeeded twice"
# Every attempt another daemon started began after the leader died. (The
# leader's attempts in flight are recorded unknown by its successor, which
# writes its own name on them: those rows keep the leader's start.)
early=$(psql_q "SELECT step_id, attempt, state, owner FROM $schema.attempts WHERE owner <> '$lead_owner' AND state <> 8 AND started_ns < $killed_ns")
[ -z "$early" ] || fail "a standby started a step while the leader still drove: $early"
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE state = 8")" -le 8 ] || fail "more unknowns than runs"
# The takeover waits for the lease, not for anything longer (a default
# TTL, a reconnect timeout): the first attempt the new leader started
# came within the 3 s TTL of the kill, plus a slack for a loaded machine
# (ticks of 100 ms that may run late), read from the daemons' own records.
first_ns=$(psql_q "SELECT min(started_ns) FROM $schema.attempts WHERE owner <> '$lead_owner' AND started_ns >= $killed_ns")
[ -n "$first_ns" ] || fail "the new leader started no attempt"
took_ms=$(((first_ns - killed_ns) / 1000000))
[ "$took_ms" -le 15000 ] || fail "the takeover took ${took_ms} ms against a 3 s lease"
pass "kill -9 of the leader: $new took over, 8 runs succeeded, each step once"
for n in "${others[@]}"; do kill -TERM "${PID[$n]}"; done
for n in "${others[@]}"; do wait "${PID[$n]}" 2>/dev/null || true; done

# --- two orchd on one SQLite file
od_config "$T/lite.yaml" <<EOF2
version: 1
$OD_SERVER
worker: {tick: 100ms, lease_ttl: 3s}
$wf
EOF2
rm -f "$T/runs"
start_d s1 "$T/lite.yaml"
wait_until "s1 to lead" role_is s1 leader
start_d s2 "$T/lite.yaml"
wait_until "s2 to stand by" role_is s2 standby
grep -q "is embedded: one daemon drives it at a time" "$T/s2.log" || fail "the embedded store's rule is said"
for i in $(seq 6); do
  curl -s -o "$T/resp" --unix-socket "$T/s2.sock" -H "Authorization: Bearer writer-token" \
    -H 'Content-Type: application/json' --data-binary "{\"workflow\": \"w\", \"inputs\": {\"n\": \"$i\"}}" \
    http://orchd/v1/runs
  resp "d['run']['id']" >>"$T/runs"
done
db="$ORCH_STATE_DIR/orch.db"
done_runs() { [ "$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE state = 4")" = 6 ]; }
wait_until "the six runs to finish" done_runs
[ "$(sqlite3 "$db" "SELECT count(DISTINCT owner) FROM attempts")" = 1 ] ||
  fail "one daemon drove: $(sqlite3 "$db" "SELECT DISTINCT owner FROM attempts")"
pass "two orchd on one SQLite file: one drives, the other stands by (a standby serves the API)"

# --- a clean stop hands over at once
kill -TERM "${PID[s1]}"
wait "${PID[s1]}" 2>/dev/null || true
wait_until "s2 to lead after s1 stopped" role_is s2 leader
curl -s -o "$T/resp" --unix-socket "$T/s2.sock" -H "Authorization: Bearer writer-token" \
  -H 'Content-Type: application/json' --data-binary '{"workflow": "w"}' http://orchd/v1/runs
r=$(resp "d['run']['id']")
run_done() { [ "$(sqlite3 "$db" "SELECT state FROM runs WHERE id = '$1'")" = 4 ]; }
wait_until "the run after the handover" run_done "$r"
pass "a stopped leader hands over: the standby leads and drives"
