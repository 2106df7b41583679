# Webhooks that read their payload: `inputs:` mapped from the delivery with
# `${{ event.FIELD }}` (and event.headers['NAME']), typed by the workflow's
# inputs; `events:` matched against X-GitHub-Event; a `filter:`; a GitHub
# `ping` or a filtered-out delivery answers with the reason and starts
# nothing. Payload values are data: an expression or a shell command in
# one is neither evaluated nor run. Bad mappings are refused by validate.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_SECRET_HOOK_KEY=hook-key-0123456789abcdef
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
webhooks:
  gh:
    workflow: build
    secret: "\${{ secrets.HOOK_KEY }}"
    events: [push]
    filter: "\${{ startsWith(event.ref, 'refs/heads/') && event.repository.private != true }}"
    inputs:
      ref: "\${{ event.ref }}"
      sha: "\${{ event.head_commit.id }}"
      size: "\${{ event.repository.size }}"
      agent: "\${{ event.headers['User-Agent'] }}"
      first: "\${{ event.commits['0'].message }}"
  plain:
    workflow: build
    secret: "\${{ secrets.HOOK_KEY }}"
workflows:
  build:
    inputs:
      ref: {required: true}
      sha: {default: none}
      size: {type: number, default: 0}
      agent: {default: none}
      first: {default: none}
    steps:
      - id: show
        uses: exec
        env: {REF: "\${{ inputs.ref }}", SHA: "\${{ inputs.sha }}", FIRST: "\${{ inputs.first }}"}
        with: {run: 'printf "%s|%s|%s" "\$REF" "\$SHA" "\$FIRST" > $T/seen-\$SHA'}
EOF
od_start "$T/orchd.yaml"

sign() { python3 -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$ORCH_SECRET_HOOK_KEY" "$1"; }
# deliver HOOK EVENT BODY [DELIVERY-ID]: status in $HTTP, body in $T/resp
deliver() {
  local args=(-s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST
    -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=$(sign "$3")"
    -H 'User-Agent: GitHub-Hookshot/abc123' --data-binary "$3")
  [ -n "$2" ] && args+=(-H "X-GitHub-Event: $2")
  [ -n "${4:-}" ] && args+=(-H "X-GitHub-Delivery: $4")
  HTTP=$(curl "${args[@]}" "http://orchd/v1/hooks/$1")
}
runs_count() { api GET /v1/runs "" reader; resp "len(d['runs'])"; }
push='{"ref": "refs/heads/main", "head_commit": {"id": "abc123"}, "repository": {"size": 42, "private": false}, "commits": [{"message": "first one"}, {"message": "second"}]}'

deliver gh push "$push" d-1
expect_http 201 "a push"
rid=$(resp "d['run_id']")
od_wait_run "$rid" succeeded
python3 - "$T/resp" <<'PY' || fail "the mapped inputs: $(cat "$T/resp")"
import json, sys
i = json.load(open(sys.argv[1]))["run"]["inputs"]
assert i == {"ref": "refs/heads/main", "sha": "abc123", "size": 42,
             "agent": "GitHub-Hookshot/abc123", "first": "first one"}, i
PY
[ "$(cat "$T/seen-abc123")" = "refs/heads/main|abc123|first one" ] || fail "the step saw: $(cat "$T/seen-abc123")"
pass "inputs mapped from the payload and a header, typed by the workflow (size is a number)"

before=$(runs_count)
deliver gh ping '{"zen": "Keep it logically awesome.", "hook_id": 1}'
expect_http 200 "a ping"
[ "$(resp "d['accepted']")" = False ] && grep -qF ping "$T/resp" || fail "the ping's answer: $(cat "$T/resp")"
deliver gh pull_request "$push"
expect_http 202 "an event the hook does not take"
grep -qF "'pull_request' is not one" "$T/resp" || fail "the reason: $(cat "$T/resp")"
deliver gh "" "$push"
expect_http 202 "no event header, on a hook that takes only some events"
deliver gh push '{"ref": "refs/tags/v1", "head_commit": {"id": "t1"}, "repository": {"size": 1}}'
expect_http 202 "a push of a tag, filtered out"
grep -qF "filter is false" "$T/resp" || fail "the reason: $(cat "$T/resp")"
deliver gh push '{"ref": "refs/heads/x", "head_commit": {"id": "p1"}, "repository": {"size": 1, "private": true}}'
expect_http 202 "a private repository, filtered out"
[ "$(runs_count)" = "$before" ] || fail "a ping or a filtered delivery started a run"
pass "a ping, another event, no event header and a filtered-out delivery start nothing, each said why"

deliver gh push '{"ref": "refs/heads/main", "head_commit": {"id": "n1"}, "repository": {"size": "big"}}'
expect_http 400 "a payload value that does not fit its input's type"
grep -qF "size" "$T/resp" || fail "the 400 does not name the input: $(cat "$T/resp")"
[ "$(runs_count)" = "$before" ] || fail "a bad value started a run"
pass "a payload value of the wrong type is a 400 naming the input, and starts nothing"

# Payload values are data: an expression stays text, a command is not run.
evil='{"ref": "refs/heads/${{ secrets.HOOK_KEY }}", "head_commit": {"id": "evil1"}, "repository": {"size": 3}, "commits": [{"message": "$(touch '"$T"'/pwned)`touch '"$T"'/pwned2`"}]}'
deliver gh push "$evil" d-evil
expect_http 201 "a hostile payload is still a delivery"
rid=$(resp "d['run_id']")
od_wait_run "$rid" succeeded
[ "$(resp "d['run']['inputs']['ref']")" = 'refs/heads/${{ secrets.HOOK_KEY }}' ] || fail "an expression in the payload was evaluated: $(cat "$T/resp")"
grep -qF "$ORCH_SECRET_HOOK_KEY" "$T/resp" && fail "the secret reached the run's inputs"
[ ! -e "$T/pwned" ] && [ ! -e "$T/pwned2" ] || fail "a command in the payload ran"
grep -qF 'refs/heads/${{ secrets.HOOK_KEY }}|evil1|$(touch' "$T/seen-evil1" || fail "the step saw: $(cat "$T/seen-evil1")"
pass "an expression or a command in the payload stays text: not evaluated, not run"

# A hook without inputs: keeps the body's {"inputs": {...}}.
deliver plain "" '{"inputs": {"ref": "from-body", "sha": "b1"}}'
expect_http 201 "a hook without a mapping"
od_wait_run "$(resp "d['run_id']")" succeeded
[ "$(cat "$T/seen-b1")" = "from-body|b1|none" ] || fail "the body's inputs: $(cat "$T/seen-b1")"
pass "a hook without inputs: takes the body's inputs as before"
od_stop

# Refused by validate, with the place.
cat >"$T/bad.yaml" <<'EOF'
version: 1
webhooks:
  gh:
    workflow: build
    secret: "${{ secrets.HOOK_KEY }}"
    inputs:
      ref: "${{ secrets.HOOK_KEY }}"
      nope: "${{ event.x }}"
      sha: "${{ steps.a.outputs.x }}"
    filter: "${{ nosuch(event.ref) }}"
workflows:
  build:
    inputs: {ref: {}, sha: {}}
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF
o validate "$T/bad.yaml"
expect_rc 2 "bad webhook mappings"
expect_out "bad.yaml:7:" "a secret in a mapping, its line"
expect_out "webhook gh, input ref: cannot use secrets" "a secret refused"
expect_out "webhook gh, input nope: workflow build has no input nope" "an undeclared input"
expect_out "webhook gh, input sha: cannot use steps" "steps refused"
expect_out "webhook gh, filter: in" "the filter's error"
expect_out "unknown function 'nosuch'" "an unknown function in the filter"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - {id: a, uses: exec, env: {X: "${{ event.ref }}"}, with: {run: "true"}}\n' >"$T/ev.yaml"
o validate "$T/ev.yaml"
expect_rc 2 "event in a step"
expect_out "ev.yaml:5:" "its line"
expect_out "step a: event.ref is a webhook delivery's" "event outside a webhook"
pass "validate refuses secrets, steps, undeclared inputs and unknown functions in webhooks, and event elsewhere"
