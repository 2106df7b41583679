# When orchd stops with a step still running, its log names the attempt
# being interrupted (the one the store marks unknown), not the next attempt
# number, and does not call it cancelled.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_LOG_LEVEL=info
od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  log_format: json
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms, stop_grace: 1s}
workflows:
  slow:
    steps:
      - id: wait
        uses: exec
        retry: {attempts: 3, backoff: 10ms}
        # attempt 1 fails, attempt 2 runs until orchd stops
        with: {run: "if [ -e $T/once ]; then sleep 60; else touch $T/once; exit 3; fi"}
EOF
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"slow"}'
expect_http 201 "start"
R=$(resp "d['run']['id']")
attempt2_running() {
  api GET "/v1/runs/$R" "" reader
  [ "$(resp "[a['state'] for s in d['run']['steps'] for a in s['attempts'] if a['attempt']==2] == ['running']")" = True ]
}
wait_until "attempt 2 running" attempt2_running
od_stop
python3 - "$T/orchd.log" "$R" <<'PY' || fail "the shutdown log does not name attempt 2 alone (see orchd.log)"
import json, sys
lines = []
for l in open(sys.argv[1]):
    try:
        j = json.loads(l)
    except ValueError:
        continue
    if j.get('run_id') == sys.argv[2] and j.get('step_id') == 'wait':
        lines.append(j)
cut = [j for j in lines if 'interrupted' in j['msg']]
assert len(cut) == 1 and cut[0]['attempt'] == 2 and 'attempt 2' in cut[0]['msg'], cut
late = [j for j in lines if j.get('attempt', 0) > 2 or 'cancelled' in j['msg']]
assert not late, late
PY
# the store agrees: attempt 2 unknown, no attempt 3
o --json runs show "$R"
python3 -c "
import json,sys; d=json.load(open('$T/out'))
a={x['attempt']: x['state'] for x in d['attempts'] if x['step']=='wait'}
assert a == {1: 'failed', 2: 'unknown'}, a" || fail "store: $(cat "$T/out")"
pass "the shutdown log names the interrupted attempt (2), none after it"
