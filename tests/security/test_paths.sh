# Inputs are data, never a path kind (docs/security.md, "Inputs are data"):
# a `host:` kind given by an input is refused through the CLI and through
# orchd's API with a write token, and no host file is read or written; host:
# paths are off without defaults.host_paths and confined to it (.., absolute
# and symlink escapes); exec cwd and the file step are confined to the
# instance on the local backend (symlink and hard-link escapes).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/orchd.sh"

# A host file outside every allowed directory, with a content no output
# can hold by chance, and the allowed directory.
mkdir -p "$T/outside" "$T/allowed/sub"
canary="canary-$$-$RANDOM-$RANDOM"
printf '%s\n' "$canary" >"$T/outside/secret.txt"
cp "$T/outside/secret.txt" "$T/outside/keep.txt"
echo "allowed data" >"$T/allowed/data.txt"
ln -s "$T/outside/secret.txt" "$T/allowed/link.txt"
ln -s "$T/outside" "$T/allowed/dirlink"
unchanged() { # the outside files are as they were, and nothing new appeared there
  cmp -s "$T/outside/secret.txt" "$T/outside/keep.txt" || fail "$1: $T/outside/secret.txt was written"
  [ "$(ls "$T/outside" | tr '\n' ' ')" = "keep.txt secret.txt " ] ||
    fail "$1: files appeared outside: $(ls "$T/outside")"
}
no_canary() { # nothing of the outside file in the output, the store or any log
  if grep -rqF "$canary" "$T/out" "$ORCH_STATE_DIR" "$T/resp" "$T/orchd.log" 2>/dev/null; then
    grep -rlF "$canary" "$T/out" "$ORCH_STATE_DIR" "$T/resp" "$T/orchd.log" 2>/dev/null >&2 || true
    fail "$1: the outside file's content leaked"
  fi
}
: >"$T/resp"
: >"$T/orchd.log"

# --- 1. the kind of a path comes from the file, never from an input
od_config "$T/kind.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms, lease_ttl: 5s}
defaults:
  host_paths: ["$T/allowed"]
workflows:
  read:
    inputs: {name: {default: x.txt}}
    steps:
      - {id: r, uses: file, with: {action: read, path: "\${{ inputs.name }}"}}
  write:
    inputs: {name: {default: x.txt}}
    steps:
      - {id: w, uses: file, with: {action: write, path: "\${{ inputs.name }}", content: owned}}
  copy:
    inputs: {src: {default: x.txt}, dst: {default: y.txt}}
    steps:
      - {id: w, uses: file, with: {action: write, path: x.txt, content: owned}}
      - {id: c, uses: file, needs: w, with: {action: copy, from: "\${{ inputs.src }}", to: "\${{ inputs.dst }}"}}
  art:
    inputs: {name: {default: a}}
    steps:
      - {id: r, uses: file, with: {action: read, path: "artifact:\${{ inputs.name }}"}}
EOF
for v in "host:/etc/hostname" "host:$T/outside/secret.txt" "host:$T/allowed/link.txt"; do
  o run "$T/kind.yaml" read --input "name=$v"
  expect_rc 1 "read of $v through an input"
  expect_out "option 'path' (\"\${{ inputs.name }}\") refused: a template made it a 'host:' path" \
    "the step, the option and why are named"
  no_canary "read $v"
done
o run "$T/kind.yaml" write --input "name=host:$T/outside/secret.txt"
expect_rc 1 "write to a host file through an input"
expect_out "step w: option 'path'" "the write is refused by step and option"
unchanged "CLI write"
o run "$T/kind.yaml" copy --input "src=host:$T/outside/secret.txt"
expect_rc 1 "copy from a host file through an input"
no_canary "CLI copy from"
o run "$T/kind.yaml" copy --input "dst=host:$T/outside/secret.txt"
expect_rc 1 "copy to a host file through an input"
expect_out "option 'to'" "the destination option is named"
unchanged "CLI copy to"
o run "$T/kind.yaml" art --input "name=host:$T/outside/secret.txt"
expect_rc 1 "an artifact: path an input turns into host:"
no_canary "artifact kind"
pass "CLI: an input cannot make a path host: (read, write, copy both ways)"

# Templated rests are cleaned and stay inside their kind.
for v in "../../outside/secret.txt" "a/../../x" "/etc/hostname" "$T/outside/secret.txt"; do
  o run "$T/kind.yaml" write --input "name=$v"
  expect_rc 1 "templated instance path $v"
  grep -qE "refused: a templated path may not hold a '..' component|refused: a template made it an absolute path" "$T/out" ||
    { cat "$T/out" >&2; fail "templated $v: not refused for '..' or being absolute"; }
done
unchanged "templated escapes"
pass "CLI: '..' and absolute paths from a template are refused"

# The same through orchd, with a write token.
od_start "$T/kind.yaml"
api POST /v1/runs "{\"workflow\":\"read\",\"inputs\":{\"name\":\"host:/etc/hostname\"}}"
expect_http 201 "the run starts (its step is refused)"
R=$(resp "d['run']['id']")
od_wait_run "$R" failed 60
api GET "/v1/runs/$R" "" reader
grep -qF "a template made it a 'host:' path" "$T/resp" || fail "the API run's error does not say why: $(cat "$T/resp")"
hn=$(cat /etc/hostname)
for v in "host:$T/outside/secret.txt" "host:$T/allowed/link.txt"; do
  api POST /v1/runs "{\"workflow\":\"read\",\"inputs\":{\"name\":\"$v\"}}"
  expect_http 201 "start read $v"
  R=$(resp "d['run']['id']")
  od_wait_run "$R" failed 60
  api GET "/v1/runs/$R" "" reader
  no_canary "API read $v"
  api GET "/v1/runs/$R/steps/r/logs" "" reader
  no_canary "API log of read $v"
done
api POST /v1/runs "{\"workflow\":\"write\",\"inputs\":{\"name\":\"host:$T/outside/secret.txt\"}}"
expect_http 201 "start write"
R=$(resp "d['run']['id']")
od_wait_run "$R" failed 60
unchanged "API write"
api POST /v1/runs "{\"workflow\":\"copy\",\"inputs\":{\"dst\":\"host:$T/outside/secret.txt\"}}"
expect_http 201 "start copy"
R=$(resp "d['run']['id']")
od_wait_run "$R" failed 60
unchanged "API copy to"
od_stop
no_canary "orchd's log and store"
[ "$(cat /etc/hostname)" = "$hn" ] || fail "/etc/hostname changed"
pass "API (write token): an input cannot make a path host:; no host file read or written"

# --- 2. host: paths are off unless allowed, and confined to the allowed directories
cat >"$T/off.yaml" <<EOF
version: 1
workflows:
  w:
    steps:
      - {id: r, uses: file, with: {action: read, path: "host:$T/allowed/data.txt"}}
EOF
o validate "$T/off.yaml"
expect_rc 2 "host: without defaults.host_paths"
expect_out "off.yaml:5:" "file:line:col of the option"
expect_out "host: paths are off: list the directories steps may use under defaults.host_paths" "why"
cat >"$T/host.yaml" <<EOF
version: 1
defaults:
  host_paths: ["$T/allowed"]
workflows:
  inside:
    steps:
      - {id: r, uses: file, with: {action: read, path: "host:$T/allowed/data.txt"}}
      - {id: w, uses: file, with: {action: write, path: "host:$T/allowed/sub/new.txt", content: fine}}
  sub:
    inputs: {f: {default: data.txt}}
    steps:
      - {id: r, uses: file, with: {action: read, path: "host:$T/allowed/\${{ inputs.f }}"}}
  put:
    inputs: {f: {default: out.txt}}
    steps:
      - {id: w, uses: file, with: {action: write, path: "host:$T/allowed/\${{ inputs.f }}", content: owned}}
EOF
o run "$T/host.yaml" inside
expect_rc 0 "host: paths inside the allowed directory"
[ "$(run_json "$(last_run_id)" | jq_py "[a for a in d['attempts'] if a['step']=='r'][-1]['outputs']['content']")" = "allowed data" ] ||
  fail "the allowed file was not read"
[ "$(cat "$T/allowed/sub/new.txt")" = fine ] || fail "the allowed file was not written"
o run "$T/host.yaml" sub --input f=sub/new.txt
expect_rc 0 "a templated rest inside the allowed directory"
pass "host: paths inside defaults.host_paths work (literal and templated rest)"

cat >"$T/out.yaml" <<EOF
version: 1
defaults:
  host_paths: ["$T/allowed"]
workflows:
  w:
    steps:
      - {id: r, uses: file, with: {action: read, path: "host:$T/outside/secret.txt"}}
EOF
o validate "$T/out.yaml"
expect_rc 2 "a literal host: path outside the allowlist"
expect_out "is outside every directory of defaults.host_paths" "why"
for f in link.txt dirlink/secret.txt; do
  o run "$T/host.yaml" sub --input "f=$f"
  expect_rc 1 "symlink $f out of the allowed directory"
  expect_out "a symbolic link on the way leads out of its allowed directory" "$f refused"
  no_canary "symlink $f"
done
for f in ../outside/secret.txt sub/../../outside/secret.txt; do
  o run "$T/host.yaml" sub --input "f=$f"
  expect_rc 1 "'..' in $f"
  no_canary "$f"
done
o run "$T/host.yaml" sub --input "f=/$T/outside/secret.txt"
expect_rc 1 "an absolute rest stays under the allowed directory"
no_canary "absolute rest"
for f in dirlink/new.txt link.txt ../outside/secret.txt; do
  o run "$T/host.yaml" put --input "f=$f"
  [ "$f" != link.txt ] || { expect_rc 0 "a link at the target is replaced"; continue; }
  expect_rc 1 "write to $f"
done
[ ! -L "$T/allowed/link.txt" ] || fail "the link at the target was written through, not replaced"
unchanged "host writes"
pass "host: outside the allowlist, '..', absolute and symlink escapes are refused"

# --- 3. exec cwd and the file step stay inside the instance (local backend)
cat >"$T/inst.yaml" <<EOF
version: 1
workflows:
  cwd:
    steps:
      - {id: l, uses: exec, with: {run: "ln -s $T/outside out"}}
      - {id: c, uses: exec, needs: l, with: {cwd: out, run: "cat secret.txt"}}
  cwdabs:
    steps:
      - {id: c, uses: exec, with: {cwd: "$T/outside", run: "cat secret.txt"}}
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
      - {id: c, uses: file, needs: l, with: {action: copy, from: "artifact:none", to: d/other.txt}}
  hard:
    steps:
      - {id: l, uses: exec, with: {run: "ln $T/outside/secret.txt hard.txt"}}
      - {id: r, uses: file, needs: l, with: {action: read, path: hard.txt}}
  hardcopy:
    steps:
      - {id: l, uses: exec, with: {run: "ln $T/outside/secret.txt hard.txt"}}
      - {id: c, uses: file, needs: l, with: {action: copy, from: hard.txt, to: "artifact:x"}}
  hardwrite:
    steps:
      - {id: l, uses: exec, with: {run: "ln $T/outside/secret.txt hard.txt"}}
      - {id: w, uses: file, needs: l, with: {action: write, path: hard.txt, content: owned}}
  planted:
    steps:
      - {id: l, uses: exec, with: {run: "ln $T/outside/secret.txt .t.txt.orch-tmp"}}
      - {id: w, uses: file, needs: l, with: {action: write, path: t.txt, content: owned}}
EOF
o run "$T/inst.yaml" cwd
expect_rc 1 "cwd through a symlink out of the instance"
expect_out "'out': a symbolic link or not a directory" "the cwd is refused, and why"
no_canary "cwd symlink"
o run "$T/inst.yaml" cwdabs
expect_rc 1 "an absolute cwd"
no_canary "absolute cwd"
o run "$T/inst.yaml" read
expect_rc 1 "file read through a symlink"
expect_out "is a symbolic link: links are not followed" "why"
o run "$T/inst.yaml" copyfrom
expect_rc 1 "copy from a directory symlink"
expect_out "a component is a symlink" "why"
no_canary "symlinks"
o run "$T/inst.yaml" writeto
expect_rc 1 "write and copy into a directory symlink"
unchanged "writes through a directory symlink"
o run "$T/inst.yaml" hard
expect_rc 1 "read of a hard link to a file outside"
expect_out "hard.txt has 2 hard links" "why"
o run "$T/inst.yaml" hardcopy
expect_rc 1 "copy of a hard link to a file outside"
no_canary "hard links"
o run "$T/inst.yaml" hardwrite
expect_rc 0 "a write replaces the hard link"
unchanged "write over a hard link"
o run "$T/inst.yaml" planted
expect_rc 0 "a write beside planted temporary names"
unchanged "write with planted temporaries"
pass "local backend: cwd and file read/write/copy refuse symlink and hard-link escapes"

# The same cwd escape through orchd's instances API, with a write token.
od_start "$T/kind.yaml"
api POST /v1/instances '{"backend":"local"}'
expect_http 201 "create an instance"
I=$(resp "d['instance']['id']")
api POST "/v1/instances/$I/exec" "{\"command\":\"ln -s $T/outside out\"}"
expect_http 200 "make a symlink out of the instance"
api POST "/v1/instances/$I/exec" '{"command":"cat secret.txt","cwd":"out"}'
if [ "$HTTP" = 200 ] && [ "$(resp "d['execution']['state']")" = exited ]; then
  fail "the API ran a command in a cwd through a symlink: $(cat "$T/resp")"
fi
no_canary "API cwd through a symlink"
api DELETE "/v1/instances/$I"
od_stop
pass "API: an instance exec's cwd cannot follow a symlink out"
