# orch runs artifacts RUN and orch runs artifact RUN NAME [--output FILE]
# on the embedded store: the list (name, size, sha256, step) from the
# run's ledger, the bytes checked by sha256 on the way out; a name the run
# did not store (.. included) is refused without being made into a key, a
# changed blob is caught and never takes the --output name. A later run
# reads an earlier run's artifact by runs/RUN/NAME, read-only, and its
# ledger records which bytes it read.
. "$(dirname "$0")/../lib/common.sh"

head -c 200000 /dev/urandom >"$T/bin.dat"
cat >"$T/art.yaml" <<YAML
version: 1
defaults:
  host_paths: ["$T"]
workflows:
  store:
    steps:
      - {id: text, uses: file, with: {action: write, path: "artifact:reports/r.txt", content: "hello artifact\n"}}
      - {id: bin, uses: file, with: {action: copy, from: "host:$T/bin.dat", to: "artifact:bin.dat"}}
YAML
o run "$T/art.yaml" store
expect_rc 0 "a run storing two artifacts"
R=$(last_run_id)

o --json runs artifacts "$R"
expect_rc 0 "orch runs artifacts"
want="[('bin.dat', 200000, '$(sha256sum "$T/bin.dat" | cut -d' ' -f1)', 'bin'), ('reports/r.txt', 15, '$(printf 'hello artifact\n' | sha256sum | cut -d' ' -f1)', 'text')]"
[ "$(jq_py "[(a['name'], a['size'], a['sha256'], a['step']) for a in d]" <"$T/out")" = "$want" ] ||
  fail "the list: $(cat "$T/out")"
o runs artifacts "$R"
expect_out "reports/r.txt                                    15  " "the table"
pass "the list: names in order, sizes, sha256 and steps"

"$ORCH" runs artifact "$R" bin.dat --output "$T/bin.got" || fail "fetching bin.dat"
cmp -s "$T/bin.dat" "$T/bin.got" || fail "the fetched artifact differs"
[ "$("$ORCH" runs artifact "$R" reports/r.txt)" = "hello artifact" ] || fail "to standard output"
pass "fetched to a file and to standard output, byte for byte"

o runs artifact "$R" ../../etc/passwd
expect_rc 1 "a name the run did not store"
expect_out "run $R has no artifact '../../etc/passwd'" "said so"
o runs artifact "$R" nope.txt --output "$T/nope"
expect_rc 1 "an unknown name"
[ ! -e "$T/nope" ] || fail "a refused fetch created its --output file"
o runs artifacts r-no-such-run
expect_rc 1 "the artifacts of no run"
expect_out "no run r-no-such-run" "said so"
o runs artifact "$R"
expect_rc 2 "no name"
pass "refusals: a name not stored (.. included), no run, bad usage"

# A blob changed behind orch's back: caught, and FILE keeps its old bytes.
sqlite_blob_tamper "$ORCH_STATE_DIR/orch.db" "runs/$R/artifacts/bin.dat"
echo old >"$T/keep"
o runs artifact "$R" bin.dat --output "$T/keep"
expect_rc 1 "a changed blob"
expect_out "artifact 'bin.dat' of run $R changed in its store: 8 bytes" "the change named"
[ "$(cat "$T/keep")" = old ] || fail "a bad fetch replaced the --output file"
[ -z "$(ls "$T" | grep '^keep.orch-')" ] || fail "the temporary file of a refused fetch is left"
pass "a blob changed in the store is caught; --output keeps its old bytes"

# --- a later run reads an earlier one's artifacts: runs/RUN/NAME, read-only
cat >"$T/later.yaml" <<YAML
version: 1
defaults:
  host_paths: ["$T"]
workflows:
  later:
    inputs: {previous: {type: string}}
    steps:
      - {id: get, uses: file, with: {action: copy, from: "artifact:runs/\${{ inputs.previous }}/reports/r.txt", to: "host:$T/later.txt"}}
  overwrite:
    inputs: {previous: {type: string}}
    steps:
      - {id: put, uses: file, with: {action: write, path: "artifact:runs/\${{ inputs.previous }}/reports/r.txt", content: "not yours"}}
  odd:
    inputs: {name: {type: string}}
    steps:
      - {id: get, uses: file, with: {action: copy, from: "artifact:\${{ inputs.name }}", to: "host:$T/odd.txt"}}
YAML
o run "$T/later.yaml" later --input previous="$R"
expect_rc 0 "a later run reading the first run's artifact"
[ "$(cat "$T/later.txt")" = "hello artifact" ] || fail "the bytes read: $(cat "$T/later.txt")"
L=$(last_run_id)
o --json runs events "$L"
[ "$(jq_py "[(e['data']['run'], e['data']['name'], e['data']['size'], e['data']['sha256'], e['data']['step']) for e in d if e['type'] == 'artifact.read']" <"$T/out")" = \
  "[('$R', 'reports/r.txt', 15, '$(printf 'hello artifact\n' | sha256sum | cut -d' ' -f1)', 'get')]" ] ||
  fail "the artifact.read event: $(cat "$T/out")"
o --json runs artifacts "$L"
[ "$(jq_py "len(d)" <"$T/out")" = 0 ] || fail "a read is not an artifact of the reader: $(cat "$T/out")"
pass "a later run reads runs/RUN/NAME; its ledger records the run, name, size and sha256 it read"

o run "$T/later.yaml" overwrite --input previous="$R"
expect_rc 1 "writing another run's artifact"
expect_out "runs/RUN/NAME is another run's artifact, which is read-only" "said so"
[ "$("$ORCH" runs artifact "$R" reports/r.txt)" = "hello artifact" ] || fail "the first run's artifact changed"
o run "$T/later.yaml" later --input previous=r-no-such-run
expect_rc 1 "a run that does not exist"
expect_out "no artifact 'reports/r.txt' in run r-no-such-run" "said so"
o run "$T/later.yaml" odd --input name="runs/../etc/passwd"
expect_rc 1 "the name 'runs/../etc/passwd'"
expect_out "may not hold a '..' component" "refused before it reaches the executor"
for bad in "runs/a b/x" "runs/$R/" "runs/$R" "runs//x"; do
  o run "$T/later.yaml" odd --input name="$bad"
  expect_rc 1 "the name '$bad'"
  expect_out "must be relative, without '.' or '..' parts" "'$bad' refused"
done
[ ! -e "$T/odd.txt" ] || fail "a refused name was read"
pass "runs/RUN/NAME is read-only; a missing run, '..', a bad run id and no name are refused"
