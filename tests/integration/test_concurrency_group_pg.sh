# A concurrency group held across two orchd on one PostgreSQL (docs/config.md,
# "Concurrency groups"): six runs of one key with limit 2, submitted through
# both daemons' APIs with a write token, all succeed, are driven by both
# daemons, and the recorded start/end times of their steps never show more
# than two in flight (and two at some moment: the limit is used, not only
# respected). A waiting run shows its group in the API. A key that renders
# empty is a 400 storing nothing; a hostile key (/, .., control characters,
# 10 KB) gives flag and lease names of fixed shape and breaks nothing.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_cgroup_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_PG_URL="$ORCH_PG_URL"
WAIT_S=180
LIMIT=2

od_config "$T/orchd.yaml" <<YAML
version: 1
$OD_SERVER
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema}
worker: {tick: 200ms, lease_ttl: 5s, max_runs: 4, stop_grace: 1s}
workflows:
  deploy:
    inputs:
      env: {default: prod}
      n: {default: "0"}
      gate: {default: $T/release}
    concurrency_group:
      key: "deploy-\${{ inputs.env }}"
      limit: $LIMIT
    steps:
      # Held until the test releases them, then long enough that a third
      # run in flight would overlap two others in the recorded times if the
      # limit did not hold.
      - {id: work, uses: exec, with: {run: "echo \${{ inputs.n }} >> $T/ran; while [ ! -e \${{ inputs.gate }} ]; do sleep 0.05; done; sleep 1.5"}}
  nokey:
    inputs:
      env: {default: ""}
    concurrency_group: {key: "\${{ inputs.env }}"}
    steps:
      - {id: work, uses: exec, with: {run: "true"}}
YAML

# Both daemons' APIs with the write token (tests/lib/daemons.sh).
source "$(dirname "$0")/../lib/daemons.sh"
DAEMONS_TOKEN=writer-token
for n in 1 2; do start_daemon $n; done
for n in 1 2; do wait_health $n; done

# --- a key that renders empty: 400, nothing stored --------------------------
api 1 POST /v1/runs '{"workflow":"nokey"}'
[ "$HTTP" = 400 ] || { cat "$T/resp"; fail "an empty key: HTTP $HTTP, not 400"; }
grepq -F "concurrency_group.key" "$T/resp" || fail "the 400 does not name the key: $(cat "$T/resp")"
[ "$(psql_q "SELECT count(*) FROM $schema.runs")" = 0 ] || fail "a run was stored for an empty key"
pass "a key that renders empty: 400 naming it, no run stored"

# --- six runs of one key, limit 2, through both daemons ---------------------
ids=()
for n in 1 2 3 4 5 6; do
  api $((n % 2 + 1)) POST /v1/runs "{\"workflow\":\"deploy\",\"inputs\":{\"n\":\"$n\"}}"
  [ "$HTTP" = 201 ] || { cat "$T/resp"; fail "start run $n: HTTP $HTTP"; }
  ids+=("$(resp "d['run']['id']")")
done
# The first to be admitted hold their slots until released: meanwhile the
# others wait, and the API says why.
limit_started() { [ "$(grep -sc . "$T/ran")" -ge $LIMIT ]; }
wait_until "$LIMIT runs to start" limit_started
some_waiting() {
  local id
  for id in "${ids[@]}"; do
    api 1 GET "/v1/runs/$id"
    [ "$(resp "(d['run'].get('concurrency_group') or {}).get('state')")" = waiting ] && return 0
  done
  return 1
}
wait_until "a run shown waiting for its group" some_waiting
resp "d['run']['concurrency_group']" >"$T/cg"
grepq -F "'key': 'deploy-prod'" "$T/cg" && grepq -F "'limit': $LIMIT" "$T/cg" ||
  fail "the waiting run's group in the API: $(cat "$T/cg")"
[ "$(resp "len(d['run']['concurrency_group']['holders'])")" -ge 1 ] || fail "no holders named: $(cat "$T/cg")"
touch "$T/release"
all_done() {
  local id s
  for id in "${ids[@]}"; do
    api 2 GET "/v1/runs/$id"
    s=$(resp "d['run']['state']")
    case $s in succeeded) ;; failed | cancelled) fail "run $id $s: $(cat "$T/resp")" ;; *) return 1 ;; esac
  done
}
wait_until "the six runs to succeed" all_done
[ "$(grep -c . "$T/ran")" = 6 ] || fail "six executions, not $(grep -c . "$T/ran")"
# Both daemons drove some (the attempts record their writer).
drivers=$(psql_q "SELECT count(DISTINCT owner) FROM $schema.attempts")
[ "$drivers" -ge 2 ] || fail "one daemon drove every run ($drivers writer(s)): the group was not tested across daemons"
# The most steps in flight at once, from the recorded times (API form).
for id in "${ids[@]}"; do api 1 GET "/v1/runs/$id"; cp "$T/resp" "$T/run-$id.json"; done
peak=$(python3 - "$T" "$T_LIB" "${ids[@]}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from api_time import ns
iv = []
for i in sys.argv[3:]:
    d = json.load(open(f"{sys.argv[1]}/run-{i}.json"))
    for step in d["run"]["steps"] if isinstance(d["run"].get("steps"), list) else d["steps"]:
        for a in step["attempts"]:
            iv.append((ns(a["started"]), ns(a["finished"])))
print(max(sum(1 for s, e in iv if s <= t < e) for t, _ in iv))
PY
) || fail "cannot read the recorded times"
[ "$peak" -le $LIMIT ] || fail "limit $LIMIT, but $peak runs of the group were in flight at once"
[ "$peak" = $LIMIT ] || fail "at most $peak in flight: the limit of $LIMIT was never used"
[ "$(psql_q "SELECT count(*) FROM $schema.flags WHERE name LIKE 'cgroup/%'")" = 0 ] || fail "slots left held after every run ended"
pass "six runs through two daemons on one PostgreSQL: all succeeded, at most $LIMIT in flight (measured)"

# --- a hostile key -------------------------------------------------------------
hostile=$(python3 -c 'import json; print(json.dumps("../../x/\x01\x1b[31m\n" + "/.." * 10 + "k" * 10000))')
api 2 POST /v1/runs "{\"workflow\":\"deploy\",\"inputs\":{\"env\":$hostile,\"n\":\"h\",\"gate\":\"$T/h.go\"}}"
[ "$HTTP" = 201 ] || { cat "$T/resp"; fail "a hostile key: HTTP $HTTP"; }
h=$(resp "d['run']['id']")
hostile_started() { grep -sqx h "$T/ran"; }
wait_until "the hostile key's run to start" hostile_started
psql_q "SELECT name FROM $schema.flags WHERE name LIKE 'cgroup%' UNION ALL SELECT name FROM $schema.leases WHERE name LIKE 'cgroup%'" >"$T/names"
[ -s "$T/names" ] || fail "no flag for the hostile key's run"
if grep -Evx "cgroup/[0-9a-f]{64}(/$h)?" "$T/names"; then fail "a name outside the namespace's shape (above)"; fi
touch "$T/h.go"
hostile_done() { api 1 GET "/v1/runs/$h"; [ "$(resp "d['run']['state']")" = succeeded ]; }
wait_until "the hostile key's run to succeed" hostile_done
resp "d['run']['concurrency_group']['key']" >"$T/key"
python3 - "$T/key" <<'PY' || fail "the key as the API shows it: $(head -c 300 "$T/key")"
import sys
k = open(sys.argv[1]).read().rstrip("\n")
assert k.startswith("deploy-../../x/\\x01\\x1b[31m\\x0a/.."), k[:60]
assert k.endswith("... (10052 bytes)") and len(k) < 200, (len(k), k[-30:])
PY
for n in 1 2; do alive "${PIDS[$n]}" || fail "daemon $n died"; done
pass "a hostile key: names of fixed shape, shown escaped and cut short, the daemons unharmed"

for n in 1 2; do kill -TERM "${PIDS[$n]}"; done
for n in 1 2; do wait "${PIDS[$n]}" 2>/dev/null || true; done
pass "concurrency groups on PostgreSQL across two daemons"
