# hashFiles(patterns...) in a step's with: and env:, over the files of its
# instance's work dir, read where the step runs. Checked against an
# independent computation of GitHub Actions' algorithm (python hashlib):
# `**` across directories and dot files, `!` exclusions, no match giving
# "", a symbolic link (to a file outside) neither followed nor hashed, the
# hash changing with a file's bytes. Refused: a pattern leaving the work
# dir (at run time, the step failing with why), hashFiles outside a run
# step's with:/env: (validate, at file:line:col). A value that looks like
# the engine's placeholder is never replaced (its nonce is unguessable);
# proof mode reads nothing.
. "$(dirname "$0")/../lib/common.sh"

cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  h:
    inputs: {forged: {type: string, default: ""}, body: {type: string, default: one}}
    steps:
      - id: mk
        uses: exec
        env: {BODY: "\${{ inputs.body }}"}
        with:
          run: |
            mkdir -p src/a/b .hid node
            printf '%s' "\$BODY" > src/x.c; printf two > src/a/b/y.c; printf skip > src/skip.c
            printf hid > .hid/z.c; printf n > node/q.c; printf txt > src/r.txt
            ln -s $T/outside.c src/link.c
      - id: use
        needs: [mk]
        uses: exec
        env:
          SRC: "\${{ hashFiles('src/**/*.c', '!src/skip.c') }}"
          ALL: "\${{ hashFiles('**/*.c') }}"
          NONE: "\${{ hashFiles('nothing/*') }}"
          FORGED: "\${{ inputs.forged }}"
        with:
          run: 'echo "SRC=\$SRC ALL=\$ALL NONE=[\$NONE] TXT=\${{ hashFiles(''src/*.txt'') }} FORGED=\$FORGED"'
  escape:
    steps:
      - id: e
        uses: exec
        env: {X: "\${{ hashFiles('src/../../x') }}"}
        with: {run: "echo never"}
YAML
printf 'outside' >"$T/outside.c"

expect_hash() { # CONTENT... (in path order) -> GitHub's hashFiles
  python3 -c '
import hashlib, sys
a = hashlib.sha256()
for c in sys.argv[1:]:
    a.update(hashlib.sha256(c.encode()).digest())
print(a.hexdigest() if len(sys.argv) > 1 else "")' "$@"
}

o run "$T/wf.yaml" h --input forged='@@orch-hashFiles-0000000000000000000-0@@'
expect_rc 0 "a run using hashFiles"
# src/**/*.c without skip.c, in path order: src/a/b/y.c, src/x.c (the link
# to $T/outside.c is not a file of the work dir).
expect_out "SRC=$(expect_hash two one)" "** across directories, ! excluding, links skipped"
# **/*.c: .hid/z.c, node/q.c, src/a/b/y.c, src/skip.c, src/x.c
expect_out "ALL=$(expect_hash hid n two skip one)" "dot files matched, every .c file"
expect_out "NONE=[]" "no match is the empty string"
expect_out "TXT=$(expect_hash txt)" "in a with: script too"
expect_out "FORGED=@@orch-hashFiles-0000000000000000000-0@@" "a forged token stays text"
o run "$T/wf.yaml" h --input body=changed
expect_out "SRC=$(expect_hash two changed)" "the hash follows a file's bytes"
pass "hashFiles reads the instance's files as GitHub Actions hashes them"

o run "$T/wf.yaml" escape
expect_rc 1 "a pattern that leaves the work dir"
expect_out "hashFiles(): 'src/../../x': a pattern cannot leave the step's work dir" "refused, saying why"
expect_no_out "never" "the step did not run"
pass "a pattern out of the work dir is refused"

o run --dry-run "$T/wf.yaml" h
expect_rc 0 "a dry run"
expect_out 'hashFiles["src/*.txt"]' "proof mode names what it would read"
pass "proof mode reads no file"

cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows:
  child:
    inputs: {k: {type: string, default: ""}}
    steps: [{id: s, uses: exec, with: {run: "true"}}]
  w:
    outputs: {o: "${{ hashFiles('a') }}"}
    env: {W: "${{ hashFiles('a') }}"}
    steps:
      - {id: i, uses: exec, if: "hashFiles('a') != ''", with: {run: "true"}}
      - {id: ap, uses: approval, with: {message: "${{ hashFiles('a') }}"}}
      - {id: c, uses: "workflow:child", with: {k: "${{ hashFiles('a') }}"}}
      - {id: m, uses: exec, strategy: {matrix: {x: "${{ hashFiles('a') }}"}}, with: {run: "true"}}
      - {id: ok, uses: exec, env: {H: "${{ hashFiles('a') }}"}, with: {run: "true"}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "hashFiles out of place"
for at in "bad.yaml:7:" "bad.yaml:8:" "bad.yaml:10:" "bad.yaml:11:" "bad.yaml:12:" "bad.yaml:13:"; do
  grep -F "$at" "$T/out" | grepq "hashFiles() reads the files of the step's instance" ||
    { cat "$T/out"; fail "no refusal at $at"; }
done
expect_no_out "bad.yaml:14:" "a run step's env: may use it"
pass "validate refuses hashFiles outside a run step's with: and env:, at file:line:col"
