# Shared artifact namespaces on the embedded store (artifact:ns/NS/NAME):
# each write is a new version with its own number, a read gets the latest
# or @N, the bytes checked against an independent sha256sum; the list
# names each version's writer run; two runs writing at once (released
# together by a barrier file) get two versions and lose neither; the
# conflict rule (read N, another run writes, then write) is an
# artifact.conflict event and a warning naming the other run, or with
# on_conflict: fail a failed step and no version; keep prunes oldest
# first; deleting a run (orch gc) leaves the versions it wrote; undeclared
# namespaces and hostile names are refused before any key is made.
. "$(dirname "$0")/../lib/common.sh"

DB="$ORCH_STATE_DIR/orch.db"
sql() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$DB" "$1"; }
run_id_of() { sed -n 's/^run \(r-[a-z0-9]*\) started.*/\1/p' "$1" | head -1; }

head -c 70000 /dev/urandom >"$T/a.bin"
head -c 50000 /dev/urandom >"$T/b.bin"
cat >"$T/ns.yaml" <<YAML
version: 1
defaults:
  host_paths: ["$T"]
artifacts:
  namespaces:
    cache: {}
    strict: {on_conflict: fail}
    small: {keep: 2}
workflows:
  put:
    inputs: {src: {type: string}, ns: {type: string, default: cache}, name: {type: string, default: x.bin}}
    steps:
      - {id: put, uses: file, with: {action: copy, from: "host:$T/\${{ inputs.src }}", to: "artifact:ns/\${{ inputs.ns }}/\${{ inputs.name }}"}}
  get:
    inputs: {ref: {type: string}, out: {type: string}}
    steps:
      - {id: get, uses: file, with: {action: copy, from: "artifact:ns/cache/\${{ inputs.ref }}", to: "host:$T/\${{ inputs.out }}"}}
  racer:
    inputs: {who: {type: string}}
    steps:
      - id: barrier
        uses: exec
        with: {run: "touch '$T/ready-\${{ inputs.who }}'; while [ ! -e '$T/go' ]; do sleep 0.02; done"}
      - {id: write, needs: [barrier], uses: file, with: {action: copy, from: "host:$T/race-\${{ inputs.who }}.bin", to: "artifact:ns/cache/race.bin"}}
  rmw:
    inputs: {ns: {type: string}}
    steps:
      - {id: read, uses: file, with: {action: copy, from: "artifact:ns/\${{ inputs.ns }}/k.txt", to: "host:$T/rmw-read-\${{ inputs.ns }}"}}
      - id: hold
        needs: [read]
        uses: exec
        with: {run: "touch '$T/read-done-\${{ inputs.ns }}'; while [ ! -e '$T/go-\${{ inputs.ns }}' ]; do sleep 0.02; done"}
      - {id: write, needs: [hold], uses: file, with: {action: write, path: "artifact:ns/\${{ inputs.ns }}/k.txt", content: "read-modify-write"}}
YAML
o validate "$T/ns.yaml"; expect_rc 0 "the file validates"

# --- versions: A writes v1, B v2; latest is B's bytes, @1 A's.
o run "$T/ns.yaml" put --input src="a.bin"; expect_rc 0 "run A writes"
RA=$(last_run_id)
o run "$T/ns.yaml" put --input src="b.bin"; expect_rc 0 "run B writes"
RB=$(last_run_id)
o run "$T/ns.yaml" get --input ref=x.bin --input out=latest.bin; expect_rc 0 "a run reads the latest"
o run "$T/ns.yaml" get --input ref=x.bin@1 --input out=v1.bin; expect_rc 0 "a run reads @1"
sha() { sha256sum "$1" | cut -d' ' -f1; }
[ "$(sha "$T/latest.bin")" = "$(sha "$T/b.bin")" ] || fail "the latest version is not B's bytes"
[ "$(sha "$T/v1.bin")" = "$(sha "$T/a.bin")" ] || fail "version 1 is not A's bytes"
pass "each write a new version: the latest is B's bytes, @1 A's (sha256sum)"

"$ORCH" --json runs artifacts --namespace cache >"$T/list.json" || fail "orch runs artifacts --namespace"
want="[('x.bin', 1, 'stored', 70000, '$(sha "$T/a.bin")', '$RA', 'put'), ('x.bin', 2, 'stored', 50000, '$(sha "$T/b.bin")', '$RB', 'put')]"
got=$(jq_py "[(v['name'], v['version'], v['state'], v['size'], v['sha256'], v['run'], v['step']) for v in d]" <"$T/list.json")
[ "$got" = "$want" ] || fail "the list: $got, want $want"
o runs artifacts --namespace cache
expect_out "x.bin                                 2  stored        50000  $(sha "$T/b.bin")  $RB  put" "the table"
"$ORCH" runs artifact --namespace cache x.bin@1 -o "$T/cli-v1.bin" || fail "orch runs artifact @1"
cmp -s "$T/cli-v1.bin" "$T/a.bin" || fail "the CLI's @1 differs from A's bytes"
[ "$("$ORCH" runs artifact --namespace cache x.bin | sha256sum | cut -d' ' -f1)" = "$(sha "$T/b.bin")" ] ||
  fail "the CLI's latest is not B's bytes"
[ "$(sql "SELECT count(*) FROM blobs WHERE key IN ('ns/cache/x.bin@1', 'ns/cache/x.bin@2')")" = 2 ] ||
  fail "the blobs are not under ns/cache/x.bin@N"
pass "the list names both versions with their writers; the CLI fetches latest and @1"

# --- a blob changed behind orch's back: the read says so, the file keeps its bytes
sqlite_blob_tamper "$DB" "ns/cache/x.bin@1"
echo old >"$T/keep"
o runs artifact --namespace cache x.bin@1 -o "$T/keep"
expect_rc 1 "a changed version"
expect_out "version 1 of 'x.bin' in namespace cache changed in its store: 8 bytes" "named"
[ "$(cat "$T/keep")" = old ] || fail "a bad fetch replaced the --output file"
o run "$T/ns.yaml" get --input ref=x.bin@1 --input out=bad.bin
expect_rc 1 "a step reading a changed version fails"
pass "a changed blob is caught by the CLI and by a step"

# --- two runs at once, released together by a barrier file: two versions.
# Each writes 8 MB, so the bytes of one are still on their way while the
# other decides its version: a version taken from what is in the store
# would be the same number twice, one write lost.
head -c 8000000 /dev/urandom >"$T/race-one.bin"
head -c 8000000 /dev/urandom >"$T/race-two.bin"
"$ORCH" run "$T/ns.yaml" racer --input who=one >"$T/one.out" 2>&1 &
P1=$!; T_PIDS+=("$P1")
"$ORCH" run "$T/ns.yaml" racer --input who=two >"$T/two.out" 2>&1 &
P2=$!; T_PIDS+=("$P2")
wait_file "$T/ready-one"
wait_file "$T/ready-two"
touch "$T/go"
wait "$P1" || { cat "$T/one.out" >&2; fail "racer one failed"; }
wait "$P2" || { cat "$T/two.out" >&2; fail "racer two failed"; }
R1=$(run_id_of "$T/one.out"); R2=$(run_id_of "$T/two.out")
"$ORCH" --json runs artifacts --namespace cache >"$T/race.json"
got=$(jq_py "sorted((v['version'], v['state'], v['run']) for v in d if v['name']=='race.bin')" <"$T/race.json")
vs=$(jq_py "sorted(v['version'] for v in d if v['name']=='race.bin')" <"$T/race.json")
[ "$vs" = "[1, 2]" ] || fail "two concurrent writes made versions $vs: $got"
for v in 1 2; do
  got_sha=$("$ORCH" runs artifact --namespace cache "race.bin@$v" | sha256sum | cut -d' ' -f1)
  run=$(jq_py "[x['run'] for x in d if x['name']=='race.bin' and x['version']==$v][0]" <"$T/race.json")
  if [ "$run" = "$R1" ]; then want_sha=$(sha "$T/race-one.bin"); else want_sha=$(sha "$T/race-two.bin"); fi
  [ "$got_sha" = "$want_sha" ] || fail "race.bin@$v does not hold the bytes of its writer $run (one: $R1, two: $R2)"
done
[ "$(jq_py "sorted(v['run'] for v in d if v['name']=='race.bin')" <"$T/race.json")" = "$(python3 -c "import sys; print(sorted(sys.argv[1:]))" "$R1" "$R2")" ] ||
  fail "the versions do not name both writers: $got"
pass "two runs writing at once: versions 1 and 2, each holding its own writer's bytes (sha256sum)"

# --- the conflict rule: read N, another run writes N+1, then write.
conflict_case() { # NS: the rmw run's output in $T/rmw-NS.out, the other writer's id in $OTHER
  local ns=$1
  printf 'seed' >"$T/seed"
  o run "$T/ns.yaml" put --input src="seed" --input ns="$ns" --input name=k.txt
  expect_rc 0 "seeding $ns/k.txt"
  "$ORCH" run "$T/ns.yaml" rmw --input ns="$ns" >"$T/rmw-$ns.out" 2>&1 &
  local p=$!
  T_PIDS+=("$p")
  wait_file "$T/read-done-$ns"
  printf 'other' >"$T/other"
  o run "$T/ns.yaml" put --input src="other" --input ns="$ns" --input name=k.txt
  expect_rc 0 "the other writer"
  OTHER=$(last_run_id)
  touch "$T/go-$ns"
  set +e; wait "$p"; RMW_RC=$?; set -e
  RMW=$(run_id_of "$T/rmw-$ns.out")
}
conflict_case cache
[ "$RMW_RC" = 0 ] || { cat "$T/rmw-cache.out" >&2; fail "on_conflict warn: the writer failed"; }
grep -qF "artifact ns/cache/k.txt: this run read version 1, but run $OTHER (step put) wrote version 2 since" "$T/rmw-cache.out" ||
  { cat "$T/rmw-cache.out" >&2; fail "no warning line naming the other writer"; }
"$ORCH" --json runs events "$RMW" >"$T/ev.json"
c=$(jq_py "[(e['data']['read'], e['data']['latest'], e['data']['other_run'], e['data']['version'], e['data']['action']) for e in d if e['type']=='artifact.conflict']" <"$T/ev.json")
[ "$c" = "[(1, 2, '$OTHER', 3, 'written')]" ] || fail "the artifact.conflict event: $c"
"$ORCH" --json runs artifacts --namespace cache >"$T/k.json"
[ "$(jq_py "[(v['version'], v['run']) for v in d if v['name']=='k.txt']" <"$T/k.json")" = "[(1, '$(jq_py "[v['run'] for v in d if v['name']=='k.txt'][0]" <"$T/k.json")'), (2, '$OTHER'), (3, '$RMW')]" ] ||
  fail "versions of k.txt: $(cat "$T/k.json")"
pass "read 1, another run wrote 2, then write: version 3, an artifact.conflict event and a warning naming $OTHER"

conflict_case strict
[ "$RMW_RC" != 0 ] || { cat "$T/rmw-strict.out" >&2; fail "on_conflict fail: the run succeeded"; }
[ "$(state_of "$RMW" write)" = failed ] || fail "the write step is $(state_of "$RMW" write)"
grep -qF "this run read version 1, and run $OTHER wrote version 2 since (on_conflict: fail)" "$T/rmw-strict.out" ||
  { cat "$T/rmw-strict.out" >&2; fail "the failure does not name the other writer"; }
"$ORCH" --json runs events "$RMW" >"$T/ev.json"
[ "$(jq_py "[e['data']['action'] for e in d if e['type']=='artifact.conflict']" <"$T/ev.json")" = "['failed']" ] ||
  fail "no artifact.conflict event for the refused write"
"$ORCH" --json runs artifacts --namespace strict >"$T/k.json"
[ "$(jq_py "[v['version'] for v in d]" <"$T/k.json")" = "[1, 2]" ] || fail "the refused write made a version: $(cat "$T/k.json")"
pass "on_conflict: fail: the write step fails naming $OTHER, no version 3"

# A blind write (nothing read) never conflicts.
o run "$T/ns.yaml" put --input src="seed" --input ns=strict --input name=k.txt
expect_rc 0 "a blind write to strict"
pass "a write that read nothing is no conflict"

# --- keep: 2 prunes the oldest
for i in 1 2 3; do
  printf 'small %s' "$i" >"$T/s$i"
  o run "$T/ns.yaml" put --input src="s$i" --input ns=small --input name=s.txt; expect_rc 0 "small $i"
done
"$ORCH" --json runs artifacts --namespace small >"$T/small.json"
[ "$(jq_py "[(v['version'], v['state']) for v in d]" <"$T/small.json")" = "[(1, 'pruned'), (2, 'stored'), (3, 'stored')]" ] ||
  fail "keep 2: $(cat "$T/small.json")"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'ns/small/%'")" = 2 ] || fail "the pruned blob is still there"
o runs artifact --namespace small s.txt@1
expect_rc 1 "a pruned version"
expect_out "version 1 of 's.txt' in namespace small is pruned" "said so"
pass "keep 2: version 1 pruned (blob deleted), 2 and 3 kept"

# --- a run's deletion leaves the namespace versions it wrote
cat >"$T/gc.yaml" <<YAML
version: 1
retention: {succeeded: 1d, failed: 1d}
workflows:
  w: {steps: [{id: s, uses: exec, with: {run: "true"}}]}
YAML
AT=$(python3 -c 'import datetime as d; print((d.datetime.utcnow()+d.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))')
o gc --now "$AT" "$T/gc.yaml"; expect_rc 0 "gc"
o runs show "$RA"; expect_rc 1 "run A is gone"
"$ORCH" runs artifact --namespace cache x.bin@2 -o "$T/after-gc.bin" || fail "version 2 after gc"
cmp -s "$T/after-gc.bin" "$T/b.bin" || fail "version 2 changed after gc"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'ns/%'")" -ge 8 ] || fail "gc removed namespace blobs"
pass "orch gc deleted the runs; the versions they wrote stay"

# --- orch admin backup/restore keeps the namespaces (ledger and blobs)
"$ORCH" admin backup "$T/bk.json" >/dev/null || fail "backup"
ORCH_STATE_DIR="$T/restored" "$ORCH" admin restore "$T/bk.json" >/dev/null || fail "restore"
ORCH_STATE_DIR="$T/restored" "$ORCH" --json runs artifacts --namespace cache >"$T/restored.json" ||
  fail "listing the restored namespace"
cmp -s "$T/restored.json" <("$ORCH" --json runs artifacts --namespace cache) || fail "the restored list differs"
ORCH_STATE_DIR="$T/restored" "$ORCH" runs artifact --namespace cache x.bin@2 -o "$T/restored.bin" ||
  fail "reading a restored version"
cmp -s "$T/restored.bin" "$T/b.bin" || fail "the restored version 2 differs"
pass "orch admin backup and restore keep the namespace's versions and bytes"

# --- refusals
cat >"$T/bad.yaml" <<'YAML'
version: 1
artifacts: {namespaces: {cache: {}}}
workflows:
  w:
    steps:
      - {id: a, uses: file, with: {action: write, path: "artifact:ns/nope/x", content: "x"}}
      - {id: b, uses: file, with: {action: write, path: "artifact:ns/Cache/x", content: "x"}}
      - {id: c, uses: file, with: {action: write, path: "artifact:ns/cache/x@0", content: "x"}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "undeclared and bad namespaces"
expect_out "bad.yaml:6:57: step a: option 'path': artifact namespace 'nope' is not declared" "undeclared, at file:line:col"
expect_out "bad.yaml:7:57: step b: option 'path': 'Cache' is not a namespace name" "a bad name"
expect_out "bad.yaml:8:57: step c: option 'path': '@0' is not a version" "a bad version"
printf 'artifacts: {namespaces: {"../x": {}}}\nversion: 1\nworkflows: {w: {steps: [{id: a, uses: exec, with: {run: "true"}}]}}\n' >"$T/bad2.yaml"
o validate "$T/bad2.yaml"
expect_rc 2 "a namespace that is a path"
expect_out "'../x' is not a namespace name" "said so"

for name in "nope/x.bin" "cache/a@1" $'cache/a\nb' "cache/.hidden/../../x"; do
  o run "$T/ns.yaml" put --input src="seed" --input ns="${name%%/*}" --input name="${name#*/}"
  expect_rc 1 "a templated write to $name"
done
o run "$T/ns.yaml" put --input src="seed" --input ns=nope
expect_out "namespace 'nope' is not declared in the workflow file" "templated undeclared, at run time"
o run "$T/ns.yaml" put --input src="seed" --input name=a@1
expect_out "a write gets the next version of the name" "no @ on a write"
long=$(head -c 600 /dev/zero | tr '\0' a)
o run "$T/ns.yaml" put --input src="seed" --input name="$long"
expect_rc 1 "a huge name"
o runs artifact --namespace cache "$(printf 'x\001y')"
expect_rc 2 "a control character"
o runs artifacts --namespace "a/b"
expect_rc 2 "a namespace that is a path, from the CLI"
[ "$(sql "SELECT count(*) FROM blobs WHERE key LIKE 'ns/nope%' OR key LIKE '%a@1@%' OR key NOT LIKE 'ns/%' AND key NOT LIKE 'runs/%'")" = 0 ] ||
  fail "a refused name reached a key"
pass "undeclared namespaces, bad names and versions refused (validate at file:line:col, the step, the CLI)"
