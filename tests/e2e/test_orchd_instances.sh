# The instances API without a workflow, on the local backend, through
# curl and through `orch --server`: create, list with backend state, get,
# exec (synchronous with a timeout, asynchronous with poll, stream and
# cancel), destroy, idle reaping; and the client mode's runs and control
# commands. The Docker backend's turn is in
# tests/integration/test_orchd_docker_instances.sh.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<'OUTER'
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker:
  tick: 100ms
  reconcile_every: 500ms
  idle_instance_ttl: 30m  # idle reaping has its own daemon at the end, with a short ttl
backends:
  local:
    uses: local
  other:
    uses: local
workflows:
  hello:
    steps:
      - id: greet
        uses: exec
        with: {run: "echo hello-from-run; echo warn-line >&2"}
  gate:
    steps:
      - id: ok
        uses: approval
        with: {message: "go?"}
OUTER
od_start "$T/orchd.yaml"
WORK="$ORCH_STATE_DIR/work"

# --- create: validation, roles, backend names
api POST /v1/instances '{"backend":"local"}' reader
expect_http 403 "a reader cannot create"
api POST /v1/instances '{"backend":"nope"}'
expect_http 400 "unknown backend"
grep -q "local, other" "$T/resp" || fail "the error lists the configured backends"
api POST /v1/instances '{"backend":"local","colour":"red"}'
expect_http 400 "unknown field"
grep -q "colour" "$T/resp" || fail "the unknown field is named"
api POST /v1/instances '{"backend":"local","labels":{"orch.run":"x"}}'
expect_http 400 "orch. labels are reserved"
api POST /v1/instances '{"backend":"local","env":{"A":1}}'
expect_http 400 "env values are strings"
api POST /v1/instances '{"backend":"local","timeout":"soon"}'
expect_http 400 "bad timeout"
api GET /v1/instances "" reader
[ "$(resp "len(d['instances'])")" = 0 ] || fail "refused creates left ledger rows"

api POST /v1/instances '{"backend":"local","labels":{"team":"infra"},"env":{"GREETING":"hi"}}'
expect_http 201 "create"
I1=$(resp "d['instance']['id']")
[ "$(resp "d['instance']['state']")" = running ] || fail "created instance is running"
[ "$(resp "d['instance']['labels']['team']")" = infra ] || fail "labels kept"
[ "$(resp "'handle' in d['instance']")" = False ] || fail "the attach handle stays inside"
[ -d "$WORK/$I1" ] || fail "the local backend made the instance's directory"
pass "create validates its body and makes a running instance"

# --- list and get, with the backend's view
api GET /v1/instances "" reader
expect_http 200 "list"
[ "$(resp "[i['backend_state'] for i in d['instances'] if i['id']=='$I1'][0]")" = running ] ||
  fail "list carries the backend's state"
api GET "/v1/instances/$I1" "" reader
expect_http 200 "get"
[ "$(resp "d['instance']['backend_state']")" = running ] || fail "get asks the backend"
api GET /v1/instances/i-nope "" reader
expect_http 404 "unknown instance"
pass "list and get show the ledger with the backend's state"

# --- synchronous exec: output, exit code, env of the instance, cwd, stdin
api POST "/v1/instances/$I1/exec" \
  '{"command":"echo $GREETING; echo err-line >&2; cat; pwd; exit 3","stdin":"from-stdin\n"}'
expect_http 200 "sync exec"
[ "$(resp "d['execution']['state']")" = exited ] || fail "sync exec ended"
[ "$(resp "d['execution']['exit_code']")" = 3 ] || fail "exit code kept"
[ "$(resp "d['execution']['stdout'].split()[0:2]")" = "['hi', 'from-stdin']" ] ||
  fail "instance env and stdin reach the command: $(resp "d['execution']['stdout']")"
[ "$(resp "d['execution']['stderr'] == 'err-line\\n'")" = True ] || fail "stderr apart"
api POST "/v1/instances/$I1/exec" '{"argv":["printf","%s|","a b","c"]}'
[ "$(resp "d['execution']['stdout']")" = "a b|c|" ] || fail "argv is passed as is"
api POST "/v1/instances/$I1/exec" '{"argv":["sh","-c","printf \"\\377\\376ok\""]}'
expect_http 200 "binary output"
[ "$(resp "d['execution']['stdout'].endswith('ok')")" = True ] ||
  fail "invalid UTF-8 is replaced, not a failure"
api POST "/v1/instances/$I1/exec" '{"command":"x","argv":["y"]}'
expect_http 400 "command and argv together"
api POST "/v1/instances/$I1/exec" '{}'
expect_http 400 "no command"
api POST "/v1/instances/$I1/exec" '{"command":"true"}' reader
expect_http 403 "reader cannot exec"
pass "synchronous exec returns output and exit status"

# --- timeout: the command's process group is killed
api POST "/v1/instances/$I1/exec" \
  "{\"command\":\"echo started; sleep 30 & echo \$! >$T/bg.pid; wait\",\"timeout\":\"1s\"}"
expect_http 200 "timed-out exec answers"
[ "$(resp "d['execution']['state']")" = timed_out ] || fail "sync exec timed out"
[ "$(resp "d['execution']['stdout'] == 'started\\n'")" = True ] ||
  fail "output before the timeout is kept"
expect_dead_pids "$T/bg.pid"
pass "a synchronous exec past its timeout is killed with its children"

# --- asynchronous exec: poll, stream, cancel
api POST "/v1/instances/$I1/exec" \
  '{"command":"for i in 1 2 3; do echo line$i; sleep 0.3; done; echo done >&2","async":true}'
expect_http 202 "async exec"
X1=$(resp "d['execution']['id']")
[ "$(resp "d['execution']['state']")" = running ] || fail "async exec answers at once"
curl -sN --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" \
  "http://orchd/v1/instances/$I1/executions/$X1/output?follow=true" >"$T/sse"
grep -q '"data":"line1\\n"' "$T/sse" || { cat "$T/sse"; fail "stream has the first line"; }
grep -q '"stream":"stderr","data":"done\\n"' "$T/sse" || fail "stream has stderr"
tail -3 "$T/sse" | grepq '^event: end' || fail "stream ends with an end event"
grep -q '"exit_code":0' "$T/sse" || fail "end event has the exit code"
api GET "/v1/instances/$I1/executions/$X1" "" reader
[ "$(resp "d['execution']['stdout'] == 'line1\\nline2\\nline3\\n'")" = True ] ||
  fail "poll has the whole output"
api GET "/v1/instances/$I1/executions/$X1/output" "" reader
grep -q line3 "$T/resp" || fail "plain output"

api POST "/v1/instances/$I1/exec" \
  "{\"command\":\"sleep 30 & echo \$! >$T/bg2.pid; wait\",\"async\":true}"
X2=$(resp "d['execution']['id']")
wait_file "$T/bg2.pid"
api DELETE "/v1/instances/$I1/executions/$X2" "" reader
expect_http 403 "reader cannot cancel"
api DELETE "/v1/instances/$I1/executions/$X2"
expect_http 202 "cancel"
x2_cancelled() { api GET "/v1/instances/$I1/executions/$X2" "" reader; [ "$(resp "d['execution']['state']")" = cancelled ]; }
wait_until "execution $X2 to be cancelled" x2_cancelled
[ "$(resp "d['execution']['state']")" = cancelled ] || fail "cancelled execution"
expect_dead_pids "$T/bg2.pid"
api GET "/v1/instances/$I1/executions" "" reader
[ "$(resp "len(d['executions'])")" -ge 6 ] || fail "executions are listed"
api GET "/v1/instances/$I1/executions/x-nope" "" reader
expect_http 404 "unknown execution"
pass "asynchronous exec can be polled, streamed and cancelled"

# --- the client mode: orch --server
export ORCH_TOKEN=writer-token
OS=(--server "unix:$OD_SOCK")
o "${OS[@]}" instances create other --label k=v
expect_rc 0 "orch instances create"
I2=$(cat "$T/out")
[ -d "$WORK/$I2" ] || fail "CLI-created instance exists"
o "${OS[@]}" instances list
expect_out "$I1" "list shows the API instance"
expect_out "$I2" "list shows the CLI instance"
o "${OS[@]}" instances list --backend other
expect_no_out "$I1" "backend filter"
o "${OS[@]}" instances exec "$I2" -- sh -c 'echo out-line; echo err-line >&2; exit 5'
expect_rc 5 "exec exits with the command's status"
expect_out out-line "exec prints stdout"
expect_out err-line "exec prints stderr"
o "${OS[@]}" instances exec "$I2" --timeout 1s --shell 'sleep 10'
expect_rc 124 "a timed-out exec exits 124"
o "${OS[@]}" instances exec "$I2" --async --shell 'echo async-out; exit 2'
expect_rc 0 "async exec prints the id"
X3=$(cat "$T/out")
o "${OS[@]}" instances output "$I2" "$X3" --follow
expect_rc 2 "a followed output exits with the command's status"
expect_out async-out "followed output"
o "${OS[@]}" instances exec "$I2"
expect_rc 2 "exec without a command is a usage error"
o "${OS[@]}" instances destroy "$I2"
expect_rc 0 "destroy"
[ ! -d "$WORK/$I2" ] || fail "destroyed by the backend"
o "${OS[@]}" instances destroy "$I2"
expect_rc 0 "destroying twice is fine"
o "${OS[@]}" instances exec "$I2" --shell true
expect_rc 1 "exec on a destroyed instance fails"
expect_out "is destroyed" "and says why"
ORCH_TOKEN=wrong o "${OS[@]}" instances list
expect_rc 2 "a bad token is refused"
expect_out "not valid" "with the server's reason"
expect_no_out "wrong" "and never the token"
o instances list
expect_rc 2 "instances need a server"
pass "orch --server drives instances"

o "${OS[@]}" runs start hello --idempotency-key cli-1
expect_rc 0 "runs start"
R=$("$ORCH" --server "unix:$OD_SOCK" --json runs list --workflow hello | jq_py "d[0]['id']")
od_wait_run "$R" succeeded
o "${OS[@]}" runs start hello --idempotency-key cli-1
expect_out "$R" "the same key gives the same run"
o "${OS[@]}" runs show "$R"
expect_out greet "show lists steps"
expect_out succeeded "show has states"
o "${OS[@]}" runs logs "$R" greet
expect_out hello-from-run "logs"
o "${OS[@]}" runs logs "$R" greet --follow
expect_rc 0 "followed log of a finished step"
expect_out warn-line "followed log has stderr"
o "${OS[@]}" runs show r-nope
expect_rc 1 "unknown run"
o "${OS[@]}" runs start gate
G=$("$ORCH" --server "unix:$OD_SOCK" --json runs list --workflow gate | jq_py "d[0]['id']")
od_wait_run "$G" waiting
o "${OS[@]}" runs approve "$G" ok --comment fine
expect_rc 0 "approve through the server"
od_wait_run "$G" succeeded
# Without --comment: the body has no comment (it sent "comment": null, a 400).
o "${OS[@]}" runs start gate
G2=$("$ORCH" --server "unix:$OD_SOCK" --json runs list --workflow gate | jq_py "[r['id'] for r in d if r['id'] != '$G'][0]")
od_wait_run "$G2" waiting
o "${OS[@]}" runs approve "$G2" ok
expect_rc 0 "approve through the server without a comment"
od_wait_run "$G2" succeeded
ORCH_SERVER="unix:$OD_SOCK" o runs list
expect_out "$G" "ORCH_SERVER selects the daemon"
o "${OS[@]}" run "$T/orchd.yaml" hello
expect_rc 2 "orch run with --server is a mistake"
pass "orch --server drives runs"

o "${OS[@]}" pause
expect_rc 2 "a writer cannot pause"
expect_out "needs admin" "and is told why"
export ORCH_TOKEN=admin-token
o "${OS[@]}" pause
expect_rc 0 "pause"
o "${OS[@]}" runs start hello
P=$("$ORCH" --server "unix:$OD_SOCK" --json runs list --workflow hello --state queued | jq_py "d[0]['id']")
od_wait_ticks 2
api GET "/v1/runs/$P" "" reader
[ "$(resp "d['run']['state']")" = queued ] || fail "a paused daemon claims nothing"
o "${OS[@]}" control
expect_out "paused    yes" "control shows the flag"
o "${OS[@]}" resume
expect_rc 0 "a bare resume un-pauses"
od_wait_run "$P" succeeded
pass "orch pause/resume through the server"

# The same flags straight in the store (no server): the daemon sharing it
# obeys them.
unset ORCH_SERVER
o pause
expect_rc 0 "pause in the store"
api POST /v1/runs '{"workflow":"hello"}'
P2=$(resp "d['run']['id']")
od_wait_ticks 2
api GET "/v1/runs/$P2" "" reader
[ "$(resp "d['run']['state']")" = queued ] || fail "paused through the store"
o control
expect_out "paused    yes" "the store has the flag"
o resume
od_wait_run "$P2" succeeded
o control proof maybe
expect_rc 2 "proof takes on or off"
pass "orch pause/resume in the store"

# --- destroy, and idle reaping of what is left
api DELETE "/v1/instances/$I1" "" reader
expect_http 403 "reader cannot destroy"
api DELETE "/v1/instances/$I1"
expect_http 200 "destroy"
[ "$(resp "d['instance']['state']")" = destroyed ] || fail "destroyed in the ledger"
[ ! -d "$WORK/$I1" ] || fail "destroyed on the backend"
# Idle reaping with a daemon whose ttl is short (the rest of the test runs
# with a long one, so a slow machine never reaps what a check still needs).
od_stop
sed 's/^  idle_instance_ttl: .*/  idle_instance_ttl: 6s/' "$T/orchd.yaml" >"$T/orchd-idle.yaml"
grep -q "idle_instance_ttl: 6s" "$T/orchd-idle.yaml" || fail "the idle config lacks its ttl"
od_start "$T/orchd-idle.yaml"
api POST /v1/instances '{"backend":"local"}'
expect_http 201 "create on the short-ttl daemon"
I3=$(resp "d['instance']['id']")
api POST "/v1/instances/$I3/exec" '{"command":"sleep 8","timeout":"60s"}'
expect_http 200 "an exec longer than the idle ttl"
[ -d "$WORK/$I3" ] || fail "an instance in use is not idle, though older than the ttl"
for ((i = 0; i < 600; i++)); do
  [ -d "$WORK/$I3" ] || break
  sleep 0.1
done
[ ! -d "$WORK/$I3" ] || fail "an idle instance is reaped after idle_instance_ttl"
api GET "/v1/instances?all=true" "" reader
[ "$(resp "[i['state'] for i in d['instances'] if i['id']=='$I3'][0]")" = destroyed ] ||
  fail "the reaped instance is destroyed in the ledger"
api GET /v1/instances "" reader
[ "$(resp "len(d['instances'])")" = 0 ] || fail "no live instance is left"
pass "destroy and idle reaping"

od_stop
grep -q "writer-token\|admin-token" "$T/orchd.log" && fail "a token reached the log"
pass "instances API"
