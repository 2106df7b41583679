#!/bin/bash
# packaging/compose/compose.yaml as an operator uses it, with Debian's
# docker-compose against the test engine: the three images built from
# Debian's archive, `up` waits for PostgreSQL and S3 to turn healthy
# before orchd starts, then over the published loopback port a token-
# authenticated run goes through PostgreSQL (runs, events) and S3 (the
# artifact it writes, read back from the S3 server with an independent
# client), orchd's HEALTHCHECK turns healthy, `down` stops everything and
# a second `up` on the same volumes still has the run.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}" "${ORCH_DOCKER_SOCKET:?}"
command -v docker-compose >/dev/null || fail "docker-compose is not installed (scripts/deps.sh --test installs it)"
export DOCKER_HOST="unix://$ORCH_DOCKER_SOCKET" DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
project="orch-compose-$$"
dc() { docker-compose -p "$project" -f "$ORCH_SOURCE_DIR/packaging/compose/compose.yaml" "$@"; }
finish() {
  # A failure (fail exits) shows what the services said before they go.
  [ $? -eq 0 ] || { echo "--- docker-compose logs:" >&2; dc logs --no-color 2>&1 | tail -80 >&2 || true; }
  dc down -v --remove-orphans >"$T/down.log" 2>&1 || cat "$T/down.log" >&2
  t_cleanup
}
trap finish EXIT
"$ORCH_SOURCE_DIR/scripts/services/docker-base.sh" "$ORCH_DOCKER_SOCKET" || fail "making the base image"

token="tok-$RANDOM$RANDOM"
export ORCH_BASE=orch-base/debian:bookworm ORCH_PG_PASSWORD="pw-$RANDOM$RANDOM"
export ORCH_ADMIN_TOKEN_SHA256=$(printf %s "$token" | "$ORCH_BIN/orchd" --hash-token)
# This machine reaches the npm registry through a TLS-intercepting proxy
# whose CA is installed locally: the s3 image's build gets it (an operator
# behind such a proxy does the same, docs/operations.md).
ORCH_BUILD_CA_PEM=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
export ORCH_BUILD_CA_PEM
export ORCHD_PORT=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$ORCHD_PORT"

dc build --force-rm >"$T/build.log" 2>&1 || { tail -40 "$T/build.log"; fail "docker-compose build"; }
pass "compose build: postgres, s3 and orchd images from Debian's archive"
dc up -d >"$T/up.log" 2>&1 || { cat "$T/up.log"; fail "docker-compose up"; }

health_of() { docker inspect -f '{{.State.Health.Status}}' "$(dc ps -q "$1")" 2>/dev/null; }
orchd_healthy() { [ "$(health_of orchd)" = healthy ]; }
WAIT_S=240 wait_until "orchd's HEALTHCHECK to report healthy" orchd_healthy
for s in postgres s3; do
  [ "$(health_of $s)" = healthy ] || fail "$s is $(health_of $s), but orchd started (depends_on: service_healthy)"
done
pass "up: postgres and s3 healthy first, then orchd healthy"

api() { curl -sS -H "Authorization: Bearer $token" "$@"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/runs")
[ "$code" = 401 ] || fail "the API without a token answered $code, not 401"
api -f -H 'Content-Type: application/json' -d '{"workflow":"hello","inputs":{"name":"compose"}}' \
  "$url/v1/runs" >"$T/run.json" || fail "POST /v1/runs"
rid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$T/run.json")
run_state() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["state"])' "$1"; }
done_ok() {
  api -f "$url/v1/runs/$rid" >"$T/state.json" 2>/dev/null &&
    case "$(run_state "$T/state.json")" in succeeded | failed | cancelled) true ;; *) false ;; esac
}
WAIT_S=120 wait_until "run $rid to finish" done_ok
[ "$(run_state "$T/state.json")" = succeeded ] || { cat "$T/state.json"; fail "run $rid did not succeed"; }

# The run is in PostgreSQL: read it there, not through orchd.
dc exec -T -e PGPASSWORD="$ORCH_PG_PASSWORD" postgres psql -h 127.0.0.1 -U orch -d orch -Atc "SELECT state FROM orch.runs WHERE id = '$rid'" >"$T/pg.out" 2>&1 ||
  { cat "$T/pg.out"; fail "psql in the postgres container"; }
[ -s "$T/pg.out" ] || fail "run $rid is not in PostgreSQL's orch.runs"
pass "a run through the API on the published loopback port succeeded; its row is in PostgreSQL"

# The artifact is an object in the S3 server: GET it by its key with an
# independent client (curl's SigV4) from inside the compose network.
key="runs/$rid/artifacts/greeting.txt"
dc exec -T s3 curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  "http://localhost:4569/orch-artifacts/$key" >"$T/artifact" 2>&1 ||
  { cat "$T/artifact"; fail "GET $key from the S3 server"; }
grep -q "hello, compose" "$T/artifact" || { cat "$T/artifact"; fail "the artifact in S3 does not hold the step's output"; }
pass "the run's artifact is an object in the S3 server's bucket, with the step's output"

# down keeps the volumes (no -v): a new up has the run.
dc down >"$T/down1.log" 2>&1 || { cat "$T/down1.log"; fail "docker-compose down"; }
dc up -d >"$T/up2.log" 2>&1 || { cat "$T/up2.log"; fail "the second docker-compose up"; }
WAIT_S=240 wait_until "orchd to be healthy again after the second up" orchd_healthy
api -f "$url/v1/runs/$rid" >"$T/again.json" || fail "run $rid gone after down/up"
[ "$(run_state "$T/again.json")" = succeeded ] || fail "run $rid changed after down/up"
pass "down and up again: the run is still there (named volumes)"
