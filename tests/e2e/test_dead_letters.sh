# Dead letters are discarded for good, through the API, the CLI against a
# daemon and the CLI on the store: the run leaves GET /v1/dead-letters and
# the orch_dead_letters gauge, becomes cancelled with its failure's reason
# kept, and its ledger says who discarded it and why. Only a failed run can
# be discarded (409 naming its state), only with the write role, and a
# discarded run can still be re-queued.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
od_config "$T/orchd.yaml" <<'EOF2'
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
workflows:
  broken:
    steps:
      - {id: fail, uses: exec, with: {run: "echo attempt; exit 3"}}
  fine:
    steps:
      - {id: ok, uses: exec, with: {run: "true"}}
EOF2
od_start "$T/orchd.yaml"
start() {
  api POST /v1/runs "{\"workflow\": \"$1\"}"
  expect_http 201 "start $1"
  resp "d['run']['id']"
}
dead_count() {
  api GET /v1/dead-letters "" reader
  expect_http 200 "dead letters"
  resp "len(d['dead_letters'])"
}
gauge() { curl -s --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" http://orchd/metrics |
  sed -n 's/^orch_dead_letters \([0-9]*\)$/\1/p'; }

a=$(start broken)
b=$(start broken)
ok=$(start fine)
od_wait_run "$a" failed
od_wait_run "$b" failed
od_wait_run "$ok" succeeded
[ "$(dead_count)" = 2 ] || fail "two dead letters: $(cat "$T/resp")"
[ "$(gauge)" = 2 ] || fail "the gauge counts two: $(gauge)"
api GET "/v1/runs/$a" "" reader
why=$(resp "d['run']['error']")
[ -n "$why" ] && [ "$why" != None ] || fail "a dead letter has a reason: $(cat "$T/resp")"

# --- who may, and what
api DELETE "/v1/dead-letters/$a" "" reader
expect_http 403 "a reader cannot discard"
api DELETE "/v1/dead-letters/$a" "" ""
expect_http 401 "nor can anyone without a token"
api DELETE "/v1/dead-letters/$ok"
expect_http 409 "a succeeded run is no dead letter"
grep -q "succeeded" "$T/resp" || fail "the refusal names the state: $(cat "$T/resp")"
api DELETE "/v1/dead-letters/r-nope"
expect_http 404 "no such run"
api DELETE "/v1/dead-letters/$a?reason=%ff%fe"
expect_http 400 "a reason that is not UTF-8"
[ "$(dead_count)" = 2 ] || fail "refusals changed nothing"
pass "discard: write role only, failed runs only, valid reasons only"

# --- through the API
api DELETE "/v1/dead-letters/$a?reason=known%20flake%20%22quoted%22"
expect_http 200 "discard"
[ "$(resp "d['state']")" = cancelled ] || fail "the answer says cancelled: $(cat "$T/resp")"
[ "$(dead_count)" = 1 ] || fail "one dead letter left: $(cat "$T/resp")"
[ "$(gauge)" = 1 ] || fail "the gauge follows: $(gauge)"
api GET "/v1/runs/$a" "" reader
[ "$(resp "d['run']['state']")" = cancelled ] || fail "the run is cancelled"
[ "$(resp "d['run']['error']")" = "$why" ] || fail "its failure's reason is kept: $(cat "$T/resp")"
api GET "/v1/runs/$a/events" "" reader
python3 - "$T/resp" <<'PY' || fail "run.discarded names who and why: $(cat "$T/resp")"
import json, sys
evs = json.load(open(sys.argv[1]))["events"]
d = [e["data"] for e in evs if e["type"] == "run.discarded"]
assert len(d) == 1, d
assert d[0]["reason"] == 'known flake "quoted"', d
assert d[0]["by"] == "writer", d
assert d[0]["error"], d
PY
api DELETE "/v1/dead-letters/$a"
expect_http 409 "discarded twice"
pass "discarded through the API: out of the dead letters, reason and who in the ledger"

# --- the CLI against the daemon
printf 'writer-token\n' >"$T/tok"
srv=(--server "unix:$OD_SOCK" --token-file "$T/tok")
o "${srv[@]}" runs discard "$b" --reason=cli-remote
expect_rc 0 "orch --server runs discard"
expect_out "discarded" "says so"
[ "$(dead_count)" = 0 ] || fail "no dead letter left"
o "${srv[@]}" runs discard "$b"
expect_rc 1 "a second discard fails"
expect_out "cancelled" "naming the state"
pass "orch --server URL runs discard"

# --- a discarded run can still be re-queued; it fails again
api POST "/v1/runs/$a/resume"
expect_http 202 "requeue a discarded run"
od_wait_run "$a" failed
[ "$(dead_count)" = 1 ] || fail "it is a dead letter again"
od_stop

# --- the CLI on the store, no daemon
o -c "$T/orchd.yaml" runs discard "$a" --reason "local"
expect_rc 0 "orch runs discard on the store"
[ "$(run_state "$a")" = cancelled ] || fail "cancelled on the store: $(run_state "$a")"
o -c "$T/orchd.yaml" runs discard "$a" --bogus
expect_rc 2 "an unknown option is a usage error"
pass "orch runs discard on the store"
