# For tests that need the Docker engine scripts/test.sh starts. An unset
# socket fails the test: a needed service that is missing is an error.
: "${ORCH_DOCKER_SOCKET:?the Docker engine is not running: run scripts/test.sh, which starts it}"
DOCKER_IMAGE=orch-test/tools:2
# Debian with dash as /bin/sh (scripts/services/docker-base.sh, made when
# the Fly stand-in starts): what the Fly stand-in's machines run, since
# busybox takes shell that dash refuses.
DEBIAN_IMAGE=orch-base/debian:bookworm

d_api() { curl -sf --unix-socket "$ORCH_DOCKER_SOCKET" "$@"; }
d_json() { d_api "http://d$1"; }

# Names of the containers (running or not) carrying label $1 ("k=v").
d_containers() {
  d_api -G http://d/containers/json --data-urlencode all=1 \
    --data-urlencode "filters={\"label\":[\"$1\"]}" |
    jq_py "' '.join(sorted(c['Names'][0][1:] for c in d))"
}

# The backend block of a generated config, for the test image.
d_backend() {
  cat <<EOB
    uses: docker
    with:
      socket: $ORCH_DOCKER_SOCKET
      image: $DOCKER_IMAGE
      pull: never
      network: none
EOB
}
