#!/bin/bash
# The container image as a user meets it: build packaging/docker/Dockerfile
# (multi-stage) on the local engine from a base made from Debian's archive,
# then run orchd from it: non-root, state on a volume, the token hash from
# the environment, /health/ready, a workflow run, a clean stop on SIGTERM,
# and the state still there for the next container.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}" "${ORCH_DOCKER_SOCKET:?}"
export DOCKER_HOST="unix://$ORCH_DOCKER_SOCKET" DOCKER_BUILDKIT=0
image=orch/orchd:test
vol="orch-test-state-$$"
names=()
finish() {
  local n
  for n in "${names[@]:-}"; do [ -n "$n" ] && docker rm -f -v "$n" >/dev/null 2>&1; done
  docker volume rm -f "$vol" >/dev/null 2>&1 || true
  t_cleanup
}
trap finish EXIT
"$ORCH_SOURCE_DIR/scripts/services/docker-base.sh" "$ORCH_DOCKER_SOCKET" || fail "making the base image"
# The engine has no bridge network: the build reaches Debian's archive
# through the host's network.
docker build --network host --build-arg BASE=orch-base/debian:bookworm \
  -f "$ORCH_SOURCE_DIR/packaging/docker/Dockerfile" -t "$image" "$ORCH_SOURCE_DIR" >"$T/build.log" 2>&1 ||
  { tail -40 "$T/build.log"; fail "docker build"; }
docker image inspect "$image" --format '{{.Config.User}} {{json .Config.Volumes}} {{.Size}}' >"$T/out"
expect_out 'orch:orch {"/var/lib/orch":{}}' "non-root user and the state volume"
size=$(cut -d' ' -f3 "$T/out")
docker image inspect "$image" --format '{{json .Config.Healthcheck.Test}}' >"$T/out"
expect_out '"/usr/bin/orch","health","--public"' "the HEALTHCHECK asks GET /health through orch health --public"

base=$(docker image inspect orch-base/debian:bookworm --format '{{.Size}}')
pass "image built: $((size / 1048576)) MiB (the Debian base alone: $((base / 1048576)) MiB)"
# One container for the look inside (each one costs a full copy on vfs).
docker run --rm --entrypoint /bin/sh "$image" -c \
  'orchd --version; for f in /usr/include/orch /usr/bin/orch-plugin /usr/share/doc/orch; do
     [ ! -e $f ] || echo "build-time file: $f"; done' >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "orchd --version in the image"; }
for p in docker fly-machines ssh postgres s3; do
  grep -q "^  [a-z]* *$p .*/usr/lib/.*/orch/plugins/" "$T/out" || { cat "$T/out"; fail "plugin $p not found in the image"; }
done
expect_no_out "unloadable" "every plugin loads in the image (its libraries are there)"
expect_no_out "build-time file" "the runtime image carries no SDK, docs or orch-plugin"
pass "orchd --version in the image lists every plugin; no build-time files"

# Without the token hash orchd refuses to listen on every address, clearly.
names+=(orch-test-notoken-$$)
docker run --name "orch-test-notoken-$$" "$image" >/dev/null 2>&1 && fail "orchd started without a token"
docker logs "orch-test-notoken-$$" >"$T/out" 2>&1
expect_out "orchd.yaml:" "the error names the config file"
expect_out "sha256" "the error names the token hash"
pass "no token: orchd exits, saying which setting is missing"

token="tok-$RANDOM$RANDOM"
printf %s "$token" >"$T/token"
hash=$(printf %s "$token" | "$ORCH_BIN/orchd" --hash-token)
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
start_daemon() {  # name
  names+=("$1")
  docker run -d --name "$1" --network host -v "$vol:/var/lib/orch" \
    -e ORCH_ADMIN_TOKEN_SHA256="$hash" -e ORCH_SERVER="$url" "$image" \
    --config /etc/orch/orchd.yaml --listen "127.0.0.1:$port" >/dev/null || fail "docker run $1"
  for ((i = 0; i < 200; i++)); do
    curl -sf "$url/health/ready" >/dev/null && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] ||
      { docker logs "$1"; fail "orchd exited in container $1"; }
    sleep 0.1
  done
  docker logs "$1"; fail "/health/ready never passed in $1"
}
start_daemon "orch-test-a-$$"
[ "$(docker exec "orch-test-a-$$" id -u)" = 999 ] || fail "orchd does not run as uid 999"
# The engine runs the HEALTHCHECK itself: the container turns healthy.
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "orch-test-a-$$")" = healthy ]; }
WAIT_S=120 wait_until "the container's HEALTHCHECK to report healthy" healthy
docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}' "orch-test-a-$$" >"$T/out"
expect_out "0 ok" "the health check's own output"
cli() { "$ORCH_BIN/orch" --server "$url" --token-file "$T/token" "$@"; }
o --server "$url" runs list
expect_rc 2 "no token: refused"
expect_out "401" "the refusal is a 401"
cli --json runs start hello --input name=container >"$T/out" 2>&1 || { cat "$T/out"; fail "runs start"; }
run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$T/out")
for ((i = 0; i < 200; i++)); do
  cli runs show "$run" >"$T/out" 2>&1 || true
  grep -q "succeeded" "$T/out" && break
  sleep 0.1
done
cli runs logs "$run" greet >"$T/out" 2>&1 || true
expect_out "hello, container" "the step ran in the container"
pass "orchd in the container: /health/ready, token required, a workflow ran"

docker stop -t 20 "orch-test-a-$$" >/dev/null
[ "$(docker inspect -f '{{.State.ExitCode}}' "orch-test-a-$$")" = 0 ] ||
  { docker logs "orch-test-a-$$" | tail; fail "orchd did not exit 0 on SIGTERM"; }
start_daemon "orch-test-b-$$"
cli runs show "$run" >"$T/out" 2>&1 || { cat "$T/out"; fail "the run is gone after a new container"; }
expect_out "succeeded" "the run's state survived on the volume"
pass "SIGTERM: clean exit; a new container on the volume still has the run"
