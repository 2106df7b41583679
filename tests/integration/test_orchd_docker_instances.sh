# The instances API on the Docker backend against the real engine: a
# container made without a workflow (its labels and env checked with the
# engine's inspect), commands through exec (sync, async streamed, timeout
# killing the command inside the container), the backend's view of a
# container removed behind orch's back, destroy, and idle reaping.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"
source "$(dirname "$0")/../lib/orchd.sh"

tag="t$$-$RANDOM"
od_config "$T/orchd.yaml" <<OUTER
version: 1
$OD_SERVER
worker:
  tick: 100ms
  reconcile_every: 500ms
  idle_instance_ttl: 30m   # idle reaping has its own daemon at the end, with a short ttl
backends:
  dock:
$(d_backend)
      labels: {orch.test: "$tag"}
workflows:
  noop:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
OUTER
od_start "$T/orchd.yaml"

api POST /v1/instances '{"backend":"dock","size":"large"}'
expect_http 400 "docker has no sizes"
grep -q "cpus and memory" "$T/resp" || fail "the refusal says what to use instead"
api POST /v1/instances '{"backend":"dock","image":"orch-test/absent:none"}'
expect_http 502 "an image the engine does not have"
grep -q "absent" "$T/resp" || fail "the error names the image"
api GET "/v1/instances?all=true" "" reader
[ "$(resp "[i['state'] for i in d['instances']]")" = "['failed', 'failed']" ] ||
  fail "a failed create is recorded as failed"

api POST /v1/instances '{"backend":"dock","env":{"GREETING":"hello-docker"},"labels":{"owner":"me"}}'
expect_http 201 "create a container"
I=$(resp "d['instance']['id']")
C=$(resp "d['instance']['backend_id']")
d_json "/containers/$C/json" >"$T/inspect.json"
[ "$(jq_py "d['State']['Running']" <"$T/inspect.json")" = True ] || fail "the container runs"
[ "$(jq_py "d['Config']['Labels']['orch.instance']" <"$T/inspect.json")" = "$I" ] ||
  fail "the container carries orch's instance label"
[ "$(jq_py "d['Config']['Labels']['owner']" <"$T/inspect.json")" = me ] || fail "user labels"
[ "$(jq_py "'GREETING=hello-docker' in d['Config']['Env']" <"$T/inspect.json")" = True ] ||
  fail "the create env is the container's"
pass "create makes a labelled container"

api POST "/v1/instances/$I/exec" '{"command":"echo $GREETING; cat /etc/os-release | head -1; exit 4"}'
expect_http 200 "sync exec in the container"
[ "$(resp "d['execution']['exit_code']")" = 4 ] || fail "exit code from the container"
[ "$(resp "d['execution']['stdout'].startswith('hello-docker\\n')")" = True ] ||
  fail "the command ran in the container: $(resp "d['execution']['stdout']")"

api POST "/v1/instances/$I/exec" '{"command":"sleep 30","timeout":"1s"}'
[ "$(resp "d['execution']['state']")" = timed_out ] || fail "timeout in the container"
sleep_gone() {
  d_json "/containers/$C/top" >"$T/top.json"
  [ "$(jq_py "any('sleep 30' in ' '.join(p) for p in d['Processes'])" <"$T/top.json")" = False ]
}
wait_until "the timed-out command to be gone from the container" sleep_gone

api POST "/v1/instances/$I/exec" '{"argv":["sh","-c","echo one; sleep 0.5; echo two >&2"],"async":true}'
expect_http 202 "async exec"
X=$(resp "d['execution']['id']")
curl -sN --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" \
  "http://orchd/v1/instances/$I/executions/$X/output?follow=true" >"$T/sse"
grep -q '"stream":"stdout","data":"one\\n"' "$T/sse" || { cat "$T/sse"; fail "streamed stdout"; }
grep -q '"stream":"stderr","data":"two\\n"' "$T/sse" || fail "streamed stderr"
grep -q '^event: end' "$T/sse" || fail "stream ends"
pass "exec in the container: sync, timeout, async stream"

# A second one, removed behind orch's back: the backend's view says so.
api POST /v1/instances '{"backend":"dock"}'
I2=$(resp "d['instance']['id']")
C2=$(resp "d['instance']['backend_id']")
d_api -X DELETE "http://d/containers/$C2?force=true" >/dev/null
api GET /v1/instances "" reader
[ "$(resp "[i['backend_state'] for i in d['instances'] if i['id']=='$I2'][0]")" = gone ] ||
  fail "a container removed outside orch shows as gone"
[ "$(resp "[i['backend_state'] for i in d['instances'] if i['id']=='$I'][0]")" = running ] ||
  fail "the other is running"
api GET "/v1/instances/$I2" "" reader
[ "$(resp "d['instance']['backend_state']")" = destroyed ] || fail "get says it is gone too"
api DELETE "/v1/instances/$I2"
expect_http 200 "destroying what the engine lost is fine"
pass "the backend's view of a container removed outside orch"

api DELETE "/v1/instances/$I"
expect_http 200 "destroy"
[ -z "$(d_containers "orch.instance=$I")" ] || fail "the container is removed"

# Idle reaping: a container nobody uses is destroyed after the ttl, by a
# daemon with a short one (the checks above run under a long ttl, so a slow
# machine never reaps a container they still use).
od_stop
sed 's/^  idle_instance_ttl: .*/  idle_instance_ttl: 6s/' "$T/orchd.yaml" >"$T/orchd-idle.yaml"
grep -q "idle_instance_ttl: 6s" "$T/orchd-idle.yaml" || fail "the idle config lacks its ttl"
od_start "$T/orchd-idle.yaml"
api POST /v1/instances '{"backend":"dock"}'
expect_http 201 "create on the short-ttl daemon"
I3=$(resp "d['instance']['id']")
[ -n "$(d_containers "orch.instance=$I3")" ] || fail "the third container exists"
no_container() { [ -z "$(d_containers "orch.instance=$1")" ]; }
wait_until "the idle container $I3 to be reaped" no_container "$I3"
od_stop
[ -z "$(d_containers "orch.test=$tag")" ] || fail "no container of this test is left"
pass "destroy and idle reaping on docker"
