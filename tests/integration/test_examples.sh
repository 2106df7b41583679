# The two shipped examples, end to end and unchanged but for their backend,
# on the local backend, on Docker, on the SSH backend (the test sshd) and on
# Fly Machines (the Machines API stand-in; the bare repository reaches the
# machine on a Fly volume):
# git-clone-push against a local bare repository, dev-env with the test
# variant's commands (the test image has no network and no package manager;
# it installs from what the image carries).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"
ex="$ORCH_SOURCE_DIR/config/examples"
mk="python3 $(dirname "$0")/../lib/example.py"

git init -q --bare -b main "$T/remote.git"
git clone -q "$T/remote.git" "$T/seed" 2>/dev/null
echo hello >"$T/seed/README"
git -C "$T/seed" add README
git -C "$T/seed" -c user.name=t -c user.email=t@t commit -qm init
git -C "$T/seed" push -q origin main

: "${ORCH_SSH_DIR:?the test sshd is not running: run scripts/test.sh, which starts it}"
: "${ORCH_FLY_URL:?the Fly stand-in is not running: run scripts/test.sh, which starts it}"
export T ORCH_SECRET_FLY_API_TOKEN="$ORCH_FLY_TOKEN"
fly_api() { curl -sf -H "Authorization: Bearer $ORCH_FLY_TOKEN" -H 'Content-Type: application/json' "$@"; }
# The Fly app and a volume holding the bare repository, at the same path
# inside the machine as on this host.
fly_api -X POST "$ORCH_FLY_URL/v1/apps" -d '{"name":"orch-examples","org_slug":"personal"}' >/dev/null ||
  fly_api "$ORCH_FLY_URL/v1/apps/orch-examples" >/dev/null
export ORCH_FLY_VOLUME="repo_$$" ORCH_FLY_VOLUME_PATH="$T"
vid=$(fly_api -X POST "$ORCH_FLY_URL/v1/apps/orch-examples/volumes" \
  -d "{\"name\":\"$ORCH_FLY_VOLUME\",\"size_gb\":1}" | jq_py "d['id']")
docker -H "unix://$ORCH_DOCKER_SOCKET" run --rm --network none -v "flystandin-$vid:/vol" \
  -v "$T:/src:ro" "$DOCKER_IMAGE" cp -a /src/remote.git /vol/ >/dev/null ||
  fail "could not put the bare repository on the Fly volume"
for kind in local docker ssh fly; do
  $mk "$ex/git-clone-push.yaml" "$T/gcp-$kind.yaml" $kind "/srv/git:/srv/git=$T:$T"
  o run "$T/gcp-$kind.yaml" clone-push --input "repo=file://$T/remote.git" \
    --input "branch=orch/$kind" --input "message=from $kind"
  expect_rc 0 "git-clone-push on $kind"
  expect_out "pushed " "the report step ran"
  expect_out "changed: UPDATED_BY_ORCH" "commit output changed_files"
  if [ $kind = fly ]; then # the machine pushed to the copy on its volume
    rm -rf "$T/remote.git"
    docker -H "unix://$ORCH_DOCKER_SOCKET" run --rm --network none -v "flystandin-$vid:/vol" \
      -v "$T:/dst" "$DOCKER_IMAGE" cp -a /vol/remote.git /dst/ >/dev/null
  fi
  [ "$(git -C "$T/remote.git" log -1 --format=%s "orch/$kind")" = "from $kind" ] ||
    fail "the remote has no commit 'from $kind' on orch/$kind"
  git -C "$T/remote.git" show "orch/$kind:UPDATED_BY_ORCH" | grepq "on main" ||
    fail "the pushed file lacks the templated content"
  pass "git-clone-push on $kind"

  vol="orch-dev-apt-$$"
  # The test variant's commands replace the example's own (they are the
  # file's text, not inputs: an input is data).
  $mk "$ex/dev-env.yaml" "$T/dev-$kind.yaml" $kind "orch-dev-apt=$vol" \
    "apt-get update -q=true" \
    'apt-get install -y -q --no-install-recommends $PACKAGES=sh -c '\''mkdir -p tools/bin && for t; do ln -sf "$(command -v "$t")" "tools/bin/$t"; done'\'' install $PACKAGES' \
    'git --version && make --version | head -n1 && curl --version | head -n1=echo "PATH=$PATH" && ls tools/bin && git --version'
  o run "$T/dev-$kind.yaml" dev-env --input 'packages=tar gzip sha256sum'
  expect_rc 0 "dev-env on $kind"
  run=$(last_run_id)
  out=$(run_json "$run" | jq_py "[a for a in d['attempts'] if a['step']=='check'][-1]['outputs']['content']")
  case "$out" in *"/tools/bin:"*sha256sum*tar*"git version"*) ;;
  *) fail "dev-env versions artifact on $kind: '$out'" ;; esac
  pass "dev-env on $kind (versions kept as an artifact and read back)"
  if [ $kind = docker ]; then
    d_json "/volumes/$vol" >/dev/null || fail "named volume $vol was not created"
    d_api -X DELETE "http://d/volumes/$vol" >/dev/null
  fi
done
fly_api -X DELETE "$ORCH_FLY_URL/v1/apps/orch-examples/volumes/$vid" >/dev/null || fail "the Fly volume could not be removed"
