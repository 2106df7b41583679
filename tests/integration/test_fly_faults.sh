# backend-fly-machines against the strict Machines API stand-in, under the
# faults a real API produces: an app-level 429 storm across 4 concurrent
# runs (every run finishes); a 5xx after the side effect on POST /apps, on
# the machine create, on create's `mkdir -p` exec and on DELETE (no
# duplicate app or machine, no leak: machines counted on the stand-in); a
# DELETE answered 412 because the machine is already being destroyed
# (a success); leases end to end (the 201 answer and its nonce; no leak);
# a machine deleted behind orch's back, then resume; a timed-out command
# on a Debian machine (/bin/sh is dash) really stopped; cpu_kind
# performance alone; bad sizes refused before any machine is made.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"
: "${ORCH_FLY_URL:?the Fly stand-in is not running: run scripts/test.sh, which starts it}"
FLY_IMAGE=orch-base/debian:bookworm # made by scripts/services/docker-base.sh
d_json "/images/$FLY_IMAGE/json" >/dev/null ||
  fail "$FLY_IMAGE is missing: scripts/services/fly-standin.sh start makes it"
app="orch-faults-$$"
export ORCH_SECRET_FLY_API_TOKEN="$ORCH_FLY_TOKEN"
fly_api() { curl -sf -H "Authorization: Bearer $ORCH_FLY_TOKEN" -H 'Content-Type: application/json' "$@"; }
ctl() { curl -sf -X POST "$ORCH_FLY_URL/_standin/$1" -H 'Content-Type: application/json' -d "$2" >/dev/null; }
fault() { # METHOD PATH-REGEX STATUS COUNT [after [BODY-REGEX]]
  ctl faults "{\"method\":\"$1\",\"path\":\"$2\",\"status\":$3,\"count\":$4,\"after\":${5:-false},\"body\":\"${6:-}\"}"
}
faults_served() { # WHAT
  local left
  left=$(curl -sf "$ORCH_FLY_URL/_standin/faults" |
    jq_py "len([f for f in d if '$app' in f['path'] + (f.get('body') or '')])")
  [ "$left" = 0 ] || fail "$left injected faults were never served ($1)"
}
machines() { # PYTHON-FILTER on m -> how many machines ever made match
  curl -sf "$ORCH_FLY_URL/_standin/machines" | jq_py "len([m for m in d if m['_app'] == '$app' and ($1)])"
}
make_machine() { # BODY -> id (creates are rate limited per app: a 429 is waited out)
  local i
  for ((i = 0; i < 60; i++)); do
    if fly_api -X POST "$ORCH_FLY_URL/v1/apps/$app/machines" -d "$1" >"$T/made.json"; then
      jq_py "d['id']" <"$T/made.json"
      return 0
    fi
    sleep 1 # the Retry-After the stand-in gives
  done
  return 1
}
made_for() { machines "(m['config'].get('metadata') or {}).get('orch_run') == '$1'"; }
# Machines not gone: a leak once every run has ended.
left_over() { machines "not m['_gone'] and m['state'] not in ('destroying', 'destroyed')"; }
expect_no_leak() { # WHAT
  local i n
  for ((i = 0; i < 600; i++)); do
    n=$(left_over)
    [ "$n" = 0 ] && return 0
    sleep 0.1
  done
  fail "$n machines of $app left behind ($1)"
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
      - {id: two, uses: exec, needs: [one], with: {run: "readlink -f /bin/sh; echo two"}}
  slow:
    steps:
      - {id: one, uses: exec, with: {run: "touch /tmp/slow; echo one"}}
      - id: two
        uses: exec
        needs: [one]
        on_unknown: retry
        with: {run: "if [ -e /tmp/slow ]; then sleep 300; fi; echo two done"}
  limited:
    steps:
      - {id: a, uses: exec, with: {run: "until [ -e /tmp/release-a ]; do sleep 0.1; done"}}
      - {id: b, uses: exec, needs: [a], timeout: 2s, with: {run: "echo ran-b"}}
  timeout:
    steps:
      - id: stuck
        uses: exec
        timeout: 3s
        retry: {attempts: 2, backoff: 100ms}
        # The first attempt starts a group (a shell and its sleep) that
        # outlives the timeout unless it is killed; the second looks for it.
        with:
          run: |
            if [ -e /tmp/first ]; then
              n=0
              for p in /proc/[0-9]*; do
                if tr '\0' ' ' <\$p/cmdline 2>/dev/null | grep -q '^sleep 3171'; then n=\$((n+1)); fi
              done
              echo "left from the first attempt: \$n"
              [ \$n = 0 ]
            else
              touch /tmp/first
              sh -c 'sleep 3171 & wait'
            fi
EOF
}
fly_config "$T/fly.yaml"

# --- a Debian machine: /bin/sh is dash
o run "$T/fly.yaml" hello
expect_rc 0 "a run on a Debian machine"
expect_out "/usr/bin/dash" "whose /bin/sh is dash"
R=$(last_run_id)
[ "$(made_for "$R")" = 1 ] || fail "one machine for the run"
pass "machines run $FLY_IMAGE, /bin/sh is dash"

# --- a timed-out command is stopped on dash (kill -TERM -- -PGID was
# refused there: "Illegal number", nothing signalled)
o run "$T/fly.yaml" timeout
expect_rc 0 "the retry found nothing left of the timed-out attempt"
expect_out "left from the first attempt: 0" "the group was killed"
pass "a timed-out command's process group is killed on a dash machine"

# --- an app-level 429 storm across 4 concurrent runs: nothing at all
# for 8 s, then 2 requests/s for the app for 20 s more. Each call waits
# the storm out (Retry-After, jittered, within rate_limit_wait) instead of
# giving up after a fixed count shared with 5xx.
ctl storm "{\"app\":\"$app\",\"phases\":[{\"seconds\":8,\"rate\":0},{\"seconds\":20,\"rate\":2,\"burst\":2}]}"
pids=()
for i in 1 2 3 4; do
  "$ORCH" run "$T/fly.yaml" hello >"$T/storm$i.out" 2>&1 &
  pids+=($!)
  T_PIDS+=($!)
done
for i in 1 2 3 4; do
  wait "${pids[i - 1]}" || { cat "$T/storm$i.out" >&2; fail "run $i failed under the 429 storm"; }
done
refused=$(curl -sf "$ORCH_FLY_URL/_standin/storm?app=$app" | jq_py "d['refused']")
[ "$refused" -ge 8 ] || fail "the storm refused only $refused requests"
ctl storm "{\"app\":\"$app\",\"phases\":[]}"
expect_no_leak "after the storm"
pass "4 concurrent runs all finish through an app-level 429 storm ($refused refused)"

# --- a 429 that would be waited out past a step's deadline: the deadline
# ended the step (timed_out), not the API (a failed step saying 429, as the
# loaded suite saw once). The storm starts while step a's exec is in
# flight (an accepted call is not refused); step a is then released from
# behind the API (a file made in the machine's container through Docker)
# and the storm lasts until step b ended, so step b's calls are the ones
# refused, however slow the machine is.
"$ORCH" run "$T/fly.yaml" limited >"$T/limited.out" 2>&1 &
lpid=$!
T_PIDS+=($lpid)
a_running() {
  "$ORCH" --json runs show "$(last_run_id)" 2>/dev/null |
    jq_py "any(a['step']=='a' and a['state']=='running' for a in d['attempts'])" | grepq True
}
wait_until "step a running on its machine" a_running
R=$(last_run_id)
ctl storm "{\"app\":\"$app\",\"phases\":[{\"seconds\":300,\"rate\":0}]}"
mid=$(curl -sf "$ORCH_FLY_URL/_standin/machines" |
  jq_py "[m['id'] for m in d if m['_app'] == '$app' and not m['_gone'] and (m['config'].get('metadata') or {}).get('orch_run') == '$R'][0]")
xid=$(d_api -X POST -H 'Content-Type: application/json' -d '{"Cmd": ["touch", "/tmp/release-a"]}' \
  "http://d/containers/flystandin-$mid/exec" | jq_py "d['Id']") || fail "no exec in machine $mid's container"
d_api -X POST -H 'Content-Type: application/json' -d '{"Detach": true}' "http://d/exec/$xid/start" >/dev/null ||
  fail "could not release step a in machine $mid"
b_ended() {
  "$ORCH" --json runs show "$R" 2>/dev/null |
    jq_py "any(a['step']=='b' and a['state'] not in ('running', 'waiting') for a in d['attempts'])" | grepq True
}
wait_until "step b to end under the storm" b_ended
ctl storm "{\"app\":\"$app\",\"phases\":[]}" # the teardown goes through
wait "$lpid" && fail "the run with a timed-out step succeeded: $(cat "$T/limited.out")"
"$ORCH" --json runs show "$R" >"$T/limited.json"
st=$(jq_py "[a for a in d['attempts'] if a['step']=='b'][-1]" <"$T/limited.json")
case "$st" in
*"'state': 'timed_out'"*"deadline came before the Machines API"*) ;;
*) fail "step b under a 429 past its deadline: $st" ;;
esac
if grep -q ran-b "$T/limited.out"; then fail "step b ran during the storm"; fi
expect_no_leak "after the deadline-cut 429"
pass "a 429 waited out past a step's deadline ends the step timed_out, not failed"

# --- 5xx after the side effect: POST /apps, the machine create, create's
# mkdir -p, DELETE. Nothing doubles, nothing leaks.
app_before=$app
app="orch-faults-new-$$"
fly_config "$T/newapp.yaml"
fault POST "^/v1/apps\$" 503 1 true "$app"
fault POST "/apps/$app/machines\$" 502 1 true
fault POST "/apps/$app/machines/[0-9a-f]*/exec\$" 503 1 true
fault DELETE "/apps/$app/machines/[0-9a-f]*[?]force=true\$" 503 1 true
o run "$T/newapp.yaml" hello
expect_rc 0 "5xx after the side effect on POST /apps, create, mkdir and DELETE"
faults_served "5xx after the side effect"
expect_no_out "destroy instance" "the destroy was a success (412: already being destroyed)"
R=$(last_run_id)
[ "$(made_for "$R")" = 1 ] || fail "a lost create answer made $(made_for "$R") machines"
fly_api "$ORCH_FLY_URL/v1/apps/$app" >/dev/null || fail "the app was made"
expect_no_leak "after 5xx on create and destroy"
pass "5xx after the side effect on create and destroy: no duplicate, no leak"
# POST /apps refused before it did anything: tried again.
app="orch-faults-new2-$$"
fly_config "$T/newapp2.yaml"
fault POST "^/v1/apps\$" 500 2 false "$app"
o run "$T/newapp2.yaml" hello
expect_rc 0 "POST /apps refused twice"
fly_api "$ORCH_FLY_URL/v1/apps/$app" >/dev/null || fail "the app was made on the third try"
expect_no_leak "after POST /apps was refused"
pass "a 5xx on POST /apps is retried once a look shows no app"
app=$app_before

# --- 412 on a machine already being destroyed
m=$(make_machine "{\"config\":{\"image\":\"$FLY_IMAGE\"}}") || fail "the stand-in would not create a machine"
fly_api -X DELETE "$ORCH_FLY_URL/v1/apps/$app/machines/$m?force=true" >/dev/null
st=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $ORCH_FLY_TOKEN" \
  "$ORCH_FLY_URL/v1/apps/$app/machines/$m?force=true")
[ "$st" = 412 ] || [ "$st" = 404 ] || fail "a second DELETE answered $st"
pass "the stand-in answers a DELETE of a destroying machine with 412"

# --- leases end to end: the lease answer is 201, its nonce is used, the
# machine goes
fly_config "$T/lease.yaml" "      use_leases: true"
o run "$T/lease.yaml" hello
expect_rc 0 "with leases"
expect_no_out "destroy instance" "the destroy with the lease succeeded"
expect_no_leak "with leases"
# A lease held by someone else: the destroy fails (loudly), and once the
# lease expires the machine can be destroyed.
m=$(make_machine "{\"config\":{\"image\":\"$FLY_IMAGE\"}}") || fail "the stand-in would not create a machine"
st=$(curl -s -o "$T/lease.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ORCH_FLY_TOKEN" \
  -H 'Content-Type: application/json' -d '{"ttl": 2}' "$ORCH_FLY_URL/v1/apps/$app/machines/$m/lease")
[ "$st" = 201 ] || fail "a lease is 201 (got $st)"
st=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $ORCH_FLY_TOKEN" \
  "$ORCH_FLY_URL/v1/apps/$app/machines/$m?force=true")
[ "$st" = 409 ] || fail "a DELETE without the nonce of a held lease is 409 (got $st)"
nonce=$(jq_py "d['data']['nonce']" <"$T/lease.json")
fly_api -X DELETE -H "fly-machine-lease-nonce: $nonce" "$ORCH_FLY_URL/v1/apps/$app/machines/$m?force=true" >/dev/null ||
  fail "a DELETE with the nonce"
expect_no_leak "after the lease checks"
pass "leases: 201 with a nonce, used; a held lease is 409 without it; no machine left"

# --- a machine deleted behind orch's back, then resume
setsid "$ORCH" run "$T/fly.yaml" slow >"$T/slow.out" 2>&1 &
pid=$!
T_PIDS+=($pid)
R=""
for ((i = 0; i < 600; i++)); do
  R=$("$ORCH" --json runs list --limit 1 2>/dev/null | jq_py "d[0]['id'] if d and d[0]['workflow'] == 'slow' else ''" 2>/dev/null || true)
  if [ -n "$R" ] && [ "$(state_of "$R" two 2>/dev/null || true)" = running ]; then break; fi
  sleep 0.1
done
[ "$(state_of "$R" two)" = running ] || fail "step two never started"
kill -9 -- "-$pid"
for ((i = 0; i < 100; i++)); do pgrep -g "$pid" >/dev/null || break; sleep 0.1; done
m=$(curl -sf "$ORCH_FLY_URL/_standin/machines" |
  jq_py "[x['id'] for x in d if (x['config'].get('metadata') or {}).get('orch_run') == '$R' and not x['_gone']][0]")
fly_api -X DELETE "$ORCH_FLY_URL/v1/apps/$app/machines/$m?force=true" >/dev/null
o resume "$R"
expect_rc 0 "the first resume copes with the vanished machine"
expect_out "is gone" "and says what happened"
[ "$(state_of "$R" two)" = succeeded ] || fail "step two succeeded on a new machine"
[ "$(made_for "$R")" = 2 ] || fail "one new machine for the resumed run ($(made_for "$R"))"
expect_no_leak "after the resume"
pass "a machine deleted behind orch's back: resume makes a new one and finishes"

# --- sizes: performance alone gets Fly's preset memory; bad sizes are
# config errors, named, before any machine is made
fly_config "$T/perf.yaml" "      cpu_kind: performance"
o run "$T/perf.yaml" hello
expect_rc 0 "cpu_kind performance without memory_mb"
R=$(last_run_id)
mem=$(curl -sf "$ORCH_FLY_URL/_standin/machines" |
  jq_py "[m['config']['guest']['memory_mb'] for m in d if (m['config'].get('metadata') or {}).get('orch_run') == '$R'][0]")
[ "$mem" = 2048 ] || fail "performance-1x has 2048 MB (got $mem)"
fly_config "$T/small.yaml" "      cpu_kind: performance
      memory_mb: 512"
before=$(machines True)
o run "$T/small.yaml" hello
expect_rc 1 "512 MB for a performance CPU"
expect_out "memory_mb 512" "names the value"
expect_out "2048 to 8192" "and the range"
fly_config "$T/cpus.yaml" "      cpus: 3"
o run "$T/cpus.yaml" hello
expect_rc 1 "3 CPUs"
expect_out "cpus must be" "is refused"
[ "$(machines True)" = "$before" ] || fail "a bad size made a machine"
pass "guest sizes follow Fly's presets and limits"

# --- the stand-in validates as the API does (422 with Fly's error shape)
bad() { # WHAT BODY (creates are rate limited per app: a 429 is waited out)
  local st i
  for ((i = 0; i < 60; i++)); do
    st=$(curl -s -o "$T/bad.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ORCH_FLY_TOKEN" \
      -H 'Content-Type: application/json' -d "$2" "$ORCH_FLY_URL/v1/apps/$app/machines")
    [ "$st" = 429 ] || break
    sleep 1 # the Retry-After the stand-in gives
  done
  [ "$st" = 422 ] || fail "$1: expected 422, got $st"
  jq_py "d['error']" <"$T/bad.json" >/dev/null || fail "$1: no {\"error\": ...} body"
}
bad "an unknown region" "{\"region\":\"xyz\",\"config\":{\"image\":\"$FLY_IMAGE\"}}"
bad "a bad env name" "{\"config\":{\"image\":\"$FLY_IMAGE\",\"env\":{\"A-B\":\"1\"}}}"
bad "too little memory" "{\"config\":{\"image\":\"$FLY_IMAGE\",\"guest\":{\"cpu_kind\":\"performance\",\"cpus\":1,\"memory_mb\":256}}}"
bad "a bad cpu kind" "{\"config\":{\"image\":\"$FLY_IMAGE\",\"guest\":{\"cpu_kind\":\"turbo\"}}}"
m=$(make_machine "{\"name\":\"dup-$$\",\"config\":{\"image\":\"$FLY_IMAGE\"}}") || fail "the stand-in would not create a machine"
bad "a duplicate machine name" "{\"name\":\"dup-$$\",\"config\":{\"image\":\"$FLY_IMAGE\"}}"
fly_api -X DELETE "$ORCH_FLY_URL/v1/apps/$app/machines/$m?force=true" >/dev/null
st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ORCH_FLY_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"Bad-Name","size_gb":1}' "$ORCH_FLY_URL/v1/apps/$app/volumes")
[ "$st" = 422 ] || fail "a bad volume name: expected 422, got $st"
expect_no_leak "at the end"
# A destroy removes its container in the background (on vfs, a copy of
# the image each): wait for that with a deadline fit for a loaded engine.
no_containers() { [ -z "$(d_containers "fly-app=$app")" ]; }
WAIT_S=300 wait_until "the stand-in to remove the containers of $app" no_containers
pass "the stand-in refuses what the API refuses; nothing left"
