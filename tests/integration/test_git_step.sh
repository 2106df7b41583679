# step-git failures and credentials: no such ref, a rejected push, push
# with --force-with-lease, and an https token that reaches the server only
# through GIT_ASKPASS and never shows in output, the ledger or the store.
source "$(dirname "$0")/../lib/common.sh"

git init -q --bare -b main "$T/remote.git"
git clone -q "$T/remote.git" "$T/seed" 2>/dev/null
echo one >"$T/seed/README"
git -C "$T/seed" add README
git -C "$T/seed" -c user.name=t -c user.email=t@t commit -qm init
git -C "$T/seed" push -q origin main
url="file://$T/remote.git"

cat >"$T/g.yaml" <<EOF
version: 1
workflows:
  badref:
    steps:
      - {id: c, uses: git, with: {action: clone, url: "$url", ref: no-such-branch}}
  feature:
    inputs: {text: {default: a}, lease: {default: "false"}, base: {default: main}}
    steps:
      - {id: clone, uses: git, with: {action: clone, url: "$url", ref: "\${{ inputs.base }}"}}
      - {id: co, uses: git, needs: clone, with: {action: checkout, branch: feature, ref: origin/main}}
      - {id: edit, uses: file, needs: co, with: {action: write, path: repo/f.txt, content: "\${{ inputs.text }}"}}
      - {id: commit, uses: git, needs: edit, with: {action: commit, message: "\${{ inputs.text }}"}}
      - {id: push, uses: git, needs: commit, with: {action: push, force_with_lease: "\${{ inputs.lease }}"}}
  empty:
    steps:
      - {id: clone, uses: git, with: {action: clone, url: "$url"}}
      - {id: commit, uses: git, needs: clone, with: {action: commit, message: nothing}}
EOF
o run "$T/g.yaml" badref
expect_rc 1 "clone of a missing ref"
expect_out "no such ref" "the cause"
expect_out "no-such-branch" "git's words name the ref"
pass "clone of a missing ref fails with git's message and the cause"

o run "$T/g.yaml" feature --input text=first
expect_rc 0 "first push of feature"
first=$(git -C "$T/remote.git" rev-parse feature)
# Someone else moves feature; a second run based on main cannot fast-forward.
git -C "$T/seed" checkout -q -b feature
echo other >"$T/seed/g.txt"
git -C "$T/seed" add g.txt
git -C "$T/seed" -c user.name=t -c user.email=t@t commit -qm other
git -C "$T/seed" push -q -f origin feature
o run "$T/g.yaml" feature --input text=second
expect_rc 1 "a non-fast-forward push"
expect_out "push rejected" "the cause"
expect_out "[rejected]" "git's words"
# With the lease and a fresh view of the remote (clone sees the new
# feature), overwriting is allowed.
o run "$T/g.yaml" feature --input text=third --input lease=true --input base=feature
expect_rc 0 "push with force_with_lease"
[ "$(git -C "$T/remote.git" log -1 --format=%s feature)" = third ] || fail "feature is not 'third'"
[ "$(git -C "$T/remote.git" rev-parse feature~1)" = "$(git -C "$T/remote.git" rev-parse main)" ] ||
  fail "force_with_lease did not reset feature onto main"
pass "rejected push reported; --force-with-lease overwrites"

o run "$T/g.yaml" empty
expect_rc 1 "commit with nothing changed"
expect_out "nothing to commit" "the cause"
pass "an empty commit is refused unless allow_empty"

# https with a token, through a server that demands it.
token="tok-$RANDOM-s3cr3t-$RANDOM"
git -C "$T/remote.git" update-server-info
GIT_TEST_TOKEN=$token python3 "$(dirname "$0")/../lib/git_http.py" "$T" "$T/port" "$T/auth.log" &
T_PIDS+=($!)
wait_file "$T/port" 10
port=$(cat "$T/port")
cat >"$T/h.yaml" <<EOF
version: 1
workflows:
  https:
    steps:
      - {id: c, uses: git, with: {action: clone, url: "http://127.0.0.1:$port/remote.git", token: "\${{ secrets.GIT_TOKEN }}"}}
      - {id: ls, uses: exec, needs: c, with: {run: "ls repo"}}
EOF
ORCH_SECRET_GIT_TOKEN=wrong-token o run "$T/h.yaml" https
expect_rc 1 "clone with a wrong token"
expect_out "authentication failed" "the cause"
expect_no_out "wrong-token" "the token is not printed"
ORCH_SECRET_GIT_TOKEN=$token o run "$T/h.yaml" https
expect_rc 0 "clone with the token"
expect_out "README" "the clone has the files"
grep -q "Basic $(printf 'x-access-token:%s' "$token" | base64 -w0)" "$T/auth.log" ||
  fail "the server never saw the token as Basic auth"
run=$(last_run_id)
expect_no_out "$token" "the token is not in the run's output"
"$ORCH" --json runs show "$run" >"$T/show.json"
! grep -qF "$token" "$T/show.json" || fail "the token is in runs show"
! grep -rqaF "$token" "$ORCH_STATE_DIR" || fail "the token is stored somewhere in the state dir"
left=$(compgen -G '/tmp/tmp.*/askpass' || true)
[ -z "$left" ] || fail "credential files left behind: $left"
pass "https token: sent by GIT_ASKPASS, refused when wrong, never printed or stored, files removed"
