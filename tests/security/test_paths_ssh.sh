# Confinement to the instance on backend-ssh (docs/security.md, "Inputs
# are data"): a cwd through a symlink out of the work dir, an absolute or
# '..' cwd, a file read, copy or write through a symlink out of it are
# refused on the remote host (the test sshd), and the file outside is
# neither read nor written.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SSH_DIR:?the test sshd is not running: eval "$(/work/svc.sh)" or scripts/test.sh starts it}"
port=${ORCH_SSH_PORT:-2222}

mkdir -p "$T/outside"
canary="canary-$$-$RANDOM-$RANDOM"
printf '%s\n' "$canary" >"$T/outside/secret.txt"
cp "$T/outside/secret.txt" "$T/outside/keep.txt"
unchanged() {
  cmp -s "$T/outside/secret.txt" "$T/outside/keep.txt" || fail "$1: the outside file was written"
  [ "$(ls "$T/outside" | tr '\n' ' ')" = "keep.txt secret.txt " ] ||
    fail "$1: files appeared outside: $(ls "$T/outside")"
}
no_canary() {
  if grep -rqF "$canary" "$T/out" "$ORCH_STATE_DIR"; then fail "$1: the outside file's content leaked"; fi
}
cat >"$T/ssh.yaml" <<EOF
version: 1
backends:
  remote:
    uses: ssh
    with:
      host: 127.0.0.1
      port: $port
      private_key_file: $ORCH_SSH_DIR/client_ed25519
      known_hosts: $ORCH_SSH_DIR/known_hosts
      root: $T/instances
workflows:
  cwd:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside out"}}
      - {id: c, uses: exec, needs: l, with: {cwd: out, run: "cat secret.txt"}}
  cwdin:
    steps:
      - {id: l, uses: exec, with: {run: "mkdir -p real/sub && ln -s real inner"}}
      - {id: c, uses: exec, needs: l, with: {cwd: inner/sub, run: "echo inside"}}
  cwdabs:
    steps:
      - {id: c, uses: exec, with: {cwd: "$T/outside", run: "cat secret.txt"}}
  cwdup:
    steps:
      - {id: c, uses: exec, with: {cwd: "../..", run: "ls"}}
  read:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside/secret.txt link.txt"}}
      - {id: r, uses: file, needs: l, with: {action: read, path: link.txt}}
  copyfrom:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside d"}}
      - {id: c, uses: file, needs: l, with: {action: copy, from: d/secret.txt, to: "artifact:x"}}
  writeto:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside d"}}
      - {id: w, uses: file, needs: l, with: {action: write, path: d/new.txt, content: owned}}
  writedeep:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside d"}}
      - {id: w, uses: file, needs: l, with: {action: write, path: d/made/new.txt, content: owned}}
  writelink:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside/secret.txt f.txt"}}
      - {id: w, uses: file, needs: l, with: {action: write, path: f.txt, content: owned}}
  hardwrite:
    steps:
      - {id: l, uses: exec, with: {run: "ln $T/outside/secret.txt hard.txt"}}
      - {id: w, uses: file, needs: l, with: {action: write, path: hard.txt, content: owned}}
EOF
o run "$T/ssh.yaml" cwd
expect_rc 1 "ssh: cwd through a symlink out of the work dir"
expect_out "orch: cwd leads out of the instance work dir (a symbolic link): refused" "why"
no_canary "ssh cwd"
o run "$T/ssh.yaml" cwdin
expect_rc 0 "ssh: a cwd through a symlink that stays inside"
expect_out "inside" "the command ran there"
for w in cwdabs cwdup; do
  o run "$T/ssh.yaml" $w
  expect_rc 1 "ssh: $w"
  expect_out "leaves the instance (absolute or '..')" "$w refused before anything runs"
  no_canary "ssh $w"
done
pass "ssh: cwd confined to the work dir (symlink, absolute, '..')"

o run "$T/ssh.yaml" read
expect_rc 1 "ssh: read through a symlink"
expect_out "is a symbolic link: links are not followed" "why"
o run "$T/ssh.yaml" copyfrom
expect_rc 1 "ssh: copy from a directory symlink out"
expect_out "leads out of the instance's work dir through a symbolic link" "why"
no_canary "ssh reads"
for w in writeto writedeep; do
  o run "$T/ssh.yaml" $w
  expect_rc 1 "ssh: $w through a directory symlink out"
  expect_out "leads out of the instance's work dir through a symbolic link" "$w refused"
  unchanged "ssh $w"
done
for w in writelink hardwrite; do
  o run "$T/ssh.yaml" $w
  expect_rc 0 "ssh: $w replaces the link"
  unchanged "ssh $w"
done
pass "ssh: file read, copy and write refuse symlinks out; links at the target are replaced"
