# backend-fly-machines against the Machines API stand-in
# (scripts/services/fly-standin.sh): a bad token and a missing app named
# clearly without the token in sight; 429 and 5xx injected on the calls that
# may be repeated, retried to success; a create whose answer is lost after
# the machine was made does not make a second machine; a 5xx on exec (not
# repeatable) fails the step with Fly's status and request id; leases taken
# around destroy; and no machine outlives its run.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"
FLY_IMAGE=orch-base/debian:bookworm # /bin/sh is dash; made by scripts/services/docker-base.sh
: "${ORCH_FLY_URL:?the Fly stand-in is not running: run scripts/test.sh, which starts it}"
app="orch-fly-$$"
export ORCH_SECRET_FLY_API_TOKEN="$ORCH_FLY_TOKEN"
fly_api() { curl -sf -H "Authorization: Bearer $ORCH_FLY_TOKEN" -H 'Content-Type: application/json' "$@"; }
fault() { # METHOD PATH-REGEX STATUS COUNT [after [BODY-REGEX]]
  curl -sf -X POST "$ORCH_FLY_URL/_standin/faults" -H 'Content-Type: application/json' \
    -d "{\"method\":\"$1\",\"path\":\"$2\",\"status\":$3,\"count\":$4,\"after\":${5:-false},\"body\":\"${6:-}\"}" >/dev/null
}
# A faulted run proves nothing unless its faults were served.
faults_served() { # WHAT
  local left
  left=$(curl -sf "$ORCH_FLY_URL/_standin/faults" | jq_py "len([f for f in d if '/apps/$app' in f['path']])")
  [ "$left" = 0 ] || fail "$left injected faults were never served ($1)"
}
made_for() { # RUN -> machines ever made for that run
  curl -sf "$ORCH_FLY_URL/_standin/machines" |
    jq_py "len([m for m in d if (m['config'].get('metadata') or {}).get('orch_run') == '$1'])"
}

fly_config() { # FILE [extra with-lines]
  cat >"$1" <<EOF
version: 1
backends:
  fly:
    uses: fly-machines
    with:
      api_url: $ORCH_FLY_URL
      token: \${{ secrets.FLY_API_TOKEN }}
      app: $app
      create_app: true
      image: $FLY_IMAGE
      kill_grace: 1s
${2:-}
workflows:
  hello:
    steps:
      - {id: one, uses: exec, with: {run: "echo one on \$(hostname)", capture: true}}
      - {id: two, uses: exec, needs: [one], with: {run: "printf 'two\\\\n' >&2; echo two"}}
EOF
}
fly_config "$T/fly.yaml"

# --- a bad token, a missing app
ORCH_SECRET_FLY_API_TOKEN=not-the-token o run "$T/fly.yaml" hello
expect_rc 1 "a bad token fails the run"
expect_out "HTTP 401" "with the status"
expect_out "request id" "and Fly's request id"
expect_no_out "not-the-token" "never the token"
fly_config "$T/noapp.yaml"
sed -i "s/create_app: true/create_app: false/; s/app: $app/app: no-such-app-$$/" "$T/noapp.yaml"
o run "$T/noapp.yaml" hello
expect_rc 1 "a missing app"
expect_out "no-such-app-$$ does not exist" "is named"
expect_out "create_app" "with the way out"
pass "a bad token and a missing app are clear errors"

# --- a plain run, then 429s and 5xx on repeatable calls
o run "$T/fly.yaml" hello
expect_rc 0 "a run on a Fly machine"
expect_out "one on " "step one's output"
R=$(last_run_id)
[ "$(made_for "$R")" = 1 ] || fail "one machine for the run"
# Faults name this test's app: the stand-in serves other tests at once.
fault POST "/apps/$app/machines/[0-9a-f]*/exec\$" 429 3
fault GET "/apps/$app/machines/[0-9a-f]*/wait" 503 2
fault GET "/apps/$app\$" 502 1
o run "$T/fly.yaml" hello
expect_rc 0 "429 and 5xx are retried"
faults_served "429 and 5xx"
pass "429 (Retry-After) and 5xx on repeatable calls are waited out"

# --- a create whose answer is lost after the machine was made
fault POST "/apps/$app/machines\$" 503 1 true
o run "$T/fly.yaml" hello
expect_rc 0 "a lost create answer"
faults_served "the lost create answer"
R=$(last_run_id)
[ "$(made_for "$R")" = 1 ] || fail "the lost create did not make a second machine ($(made_for "$R"))"
fault POST "/apps/$app/machines\$" 503 2
o run "$T/fly.yaml" hello
expect_rc 0 "a create refused twice before doing anything"
faults_served "two refused creates"
R=$(last_run_id)
[ "$(made_for "$R")" = 1 ] || fail "one machine after two refused creates"
pass "creates are retried without duplicate machines"

# --- a 5xx on a step's exec is not repeated: the step fails, named (the
# backend's own execs that are safe twice, as create's mkdir -p, are; the
# fault matches the step's script by its exit status marker)
fault POST "/apps/$app/machines/[0-9a-f]*/exec\$" 500 1 false "orch-rc"
o run "$T/fly.yaml" hello
expect_rc 1 "a 500 on exec fails the step"
faults_served "the 500 on exec"
expect_out "HTTP 500" "with the status"
expect_out "request id" "and the request id"
pass "a 5xx on exec fails the step clearly"

# --- leases around destroy
fly_config "$T/lease.yaml" "      use_leases: true"
o run "$T/lease.yaml" hello
expect_rc 0 "with leases"
grep -q "POST /v1/apps/$app/machines/[0-9a-f]*/lease" "${ORCH_TEST_DIR:-/tmp/orch-test}/fly-standin.log" ||
  fail "a lease was taken"
pass "leases are taken around destroy"

# --- nothing left
machines_gone() {
  left=$(curl -sf "$ORCH_FLY_URL/_standin/machines" |
    jq_py "[m['id'] for m in d if not m['_gone'] and m['_app'] == '$app']" 2>/dev/null || echo "?")
  [ "$left" = "[]" ]
}
WAIT_S=120 wait_until "every machine of $app to be gone" machines_gone
# The stand-in removes a destroyed machine's container in the background.
no_containers() { [ -z "$(d_containers "fly-app=$app")" ]; }
WAIT_S=300 wait_until "the stand-in to remove the containers of $app" no_containers
if grep -rq "$ORCH_FLY_TOKEN" "$T"/out "$ORCH_STATE_DIR" 2>/dev/null; then fail "the token was written somewhere"; fi
pass "no machine outlives its run; the token is nowhere"
