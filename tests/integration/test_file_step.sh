# step-file on both backends: binary and large files through every pair of
# locations (host -> instance -> artifact -> instance -> host), checksums,
# read limits, and paths that try to leave the instance or the artifacts.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/docker.sh"

head -c 5000000 /dev/urandom >"$T/big.bin"
printf 'a\0b\377\n' >>"$T/big.bin"
sum=$(sha256sum "$T/big.bin" | cut -d' ' -f1)

for kind in local docker; do
  {
    echo "version: 1"
    echo "backends:"
    if [ $kind = local ]; then echo "  b: {uses: local}"; else echo "  b:"; d_backend; fi
    cat <<EOF
defaults:
  host_paths: ["$T"]
workflows:
  trip:
    steps:
      - {id: in, uses: file, with: {action: copy, from: "host:$T/big.bin", to: sub/dir/big.bin, mode: "0600"}}
      - {id: mode, uses: exec, needs: in, with: {run: "stat -c %a sub/dir/big.bin", capture: true}}
      - {id: keep, uses: file, needs: in, with: {action: copy, from: sub/dir/big.bin, to: "artifact:data/big.bin"}}
      - {id: back, uses: file, needs: keep, with: {action: copy, from: "artifact:data/big.bin", to: again.bin}}
      - {id: out, uses: file, needs: back, with: {action: copy, from: again.bin, to: "host:$T/got/big.bin"}}
      - {id: sum, uses: file, needs: back, with: {action: checksum, path: again.bin, expect: "$sum"}}
      - {id: note, uses: file, with: {action: write, path: note.txt, content: "hi \${{ inputs.who }}\n"}}
      - {id: read, uses: file, needs: note, with: {action: read, path: note.txt}}
    inputs: {who: {default: there}}
  toolarge:
    steps:
      - {id: w, uses: file, with: {action: write, path: f.txt, content: "0123456789"}}
      - {id: r, uses: file, needs: w, with: {action: read, path: f.txt, max_size: 4}}
  mismatch:
    steps:
      - {id: w, uses: file, with: {action: write, path: f.txt, content: "x"}}
      - {id: c, uses: file, needs: w, with: {action: checksum, path: f.txt, expect: "$(printf %064d 0)"}}
  link:
    steps:
      - {id: w, uses: file, with: {action: write, path: f.txt, content: "x"}}
      - {id: l, uses: exec, needs: w, with: {run: "ln -s f.txt link.txt"}}
      - {id: r, uses: file, needs: l, with: {action: read, path: link.txt}}
  missing:
    steps:
      - {id: r, uses: file, with: {action: copy, from: "artifact:nope.bin", to: x.bin}}
EOF
  } >"$T/$kind.yaml"
  o run "$T/$kind.yaml" trip
  expect_rc 0 "round trip on $kind"
  cmp -s "$T/big.bin" "$T/got/big.bin" || fail "$kind: the file came back different"
  run=$(last_run_id)
  j=$(run_json "$run")
  out() { echo "$j" | jq_py "[a for a in d['attempts'] if a['step']=='$1'][-1]['outputs']['$2']"; }
  [ "$(out in sha256)" = "$sum" ] || fail "$kind: sha256 output of copy in: $(out in sha256)"
  [ "$(out in size)" = "$(stat -c %s "$T/big.bin")" ] || fail "$kind: size output $(out in size)"
  [ "$(out mode stdout)" = 600 ] || fail "$kind: mode of the copied file is $(out mode stdout), want 600"
  [ "$(out keep path)" = "artifact:data/big.bin" ] || fail "$kind: path output $(out keep path)"
  [ "$(out read content)" = "hi there" ] || fail "$kind: read gave '$(out read content)'"
  pass "$kind: 5 MB binary file host -> instance -> artifact -> instance -> host, intact"

  o run "$T/$kind.yaml" toolarge
  expect_rc 1 "read over max_size"
  expect_out "larger than max_size (4 bytes)" "the limit is named"
  o run "$T/$kind.yaml" mismatch
  expect_rc 1 "checksum mismatch"
  expect_out "expected 0000" "both sums are named"
  o run "$T/$kind.yaml" link
  expect_rc 1 "reading through a symbolic link"
  expect_out "link.txt" "the link is named"
  expect_out "is a symbolic link: links are not followed" "and why it is refused"
  o run "$T/$kind.yaml" missing
  expect_rc 1 "missing artifact"
  expect_out "no artifact 'nope.bin'" "the artifact is named"
  pass "$kind: read limit, checksum mismatch, a symlink and a missing artifact fail clearly"
done

# Escapes are refused before anything runs, with the option named.
for bad in "path: ../outside.txt" "path: /etc/passwd" "path: a/../../x" \
           "path: artifact:../x" "path: \"artifact:/x\""; do
  cat >"$T/esc.yaml" <<EOF
version: 1
workflows:
  w:
    steps:
      - {id: s, uses: file, with: {action: write, content: x, $bad}}
EOF
  o run "$T/esc.yaml" w
  [ "$RC" -ne 0 ] || fail "'$bad' was accepted"
  expect_out "escapes the" "'$bad' refused"
done
cat >"$T/esc2.yaml" <<'EOF'
version: 1
workflows:
  w:
    inputs: {p: {default: x}}
    steps:
      - {id: s, uses: file, with: {action: copy, from: x.txt, to: "${{ inputs.p }}"}}
EOF
o run "$T/esc2.yaml" w --input p=../../etc/owned
expect_rc 1 "a templated escape"
expect_out "option 'to' (\"\${{ inputs.p }}\") refused: a templated path may not hold a '..' component" "rendered value checked"
pass "paths leaving the work dir or the artifacts are refused (literal and templated)"
