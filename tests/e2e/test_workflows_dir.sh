# workflows_dir: workflows added as files. orch validate and orch run see
# the main file's workflows and the directory's as one config, with every
# error at its file:line:col; a run keeps its workflow's file in its
# snapshot, so `orch resume` after the file changed or the directory went
# runs the steps it was started with. orchd: a file added, changed or
# removed is applied by SIGHUP or POST /v1/admin/reload; a broken one is
# refused (422, logged at its file:line:col) and the running config kept;
# a run queued before a change runs the workflow it was queued with;
# /health/env names the secrets a file refers to.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_LOG_LEVEL=info # the reload says what it applied at info
W=$T/wf.d
mkdir -p "$W"
wf_text() { # NAME STEP-ID TEXT: a workflows: mapping of one workflow whose step echoes TEXT
  printf 'workflows:\n  %s:\n    steps:\n      - {id: %s, uses: exec, with: {run: "echo %s"}}\n' \
    "$1" "$2" "$3"
}
wf() { local f=$1; shift; wf_text "$@" >"$f"; } # FILE NAME STEP-ID TEXT
# deploy: `one` waits for $T/go (so a test can kill its orch), then `two`.
deploy_v1() {
  cat >"$W/deploy.yaml" <<EOF
workflows:
  deploy:
    steps:
      - {id: one, uses: exec, with: {run: "echo \$\$ >>$T/pids; touch $T/one.started; while [ ! -e $T/go ]; do sleep 0.05; done; echo one-v1"}}
      - {id: two, uses: exec, needs: [one], with: {run: "echo two-v1"}}
EOF
}
cat >"$T/orch.yaml" <<EOF
version: 1
workflows_dir: wf.d
workflows:
  hello:
    steps:
      - {id: h, uses: exec, with: {run: "echo hello"}}
EOF
deploy_v1
wf "$W/build.yml" build b build-v1
printf 'not: [yaml\n' >"$W/.deploy.yaml.swp"
printf 'notes\n' >"$W/README"

# --- the CLI sees one config
o validate "$T/orch.yaml"
expect_rc 0 "validate with a workflows_dir"
expect_out "ok (3 workflows, with 2 files of $W)" "counts the directory's files"
o --json validate "$T/orch.yaml"
python3 - "$T/out" "$W" <<'PY' || fail "validate --json names each workflow's file: $(cat "$T/out")"
import json, sys
d = {w["name"]: w["file"] for w in json.load(open(sys.argv[1]))["workflows"]}
assert d == {"hello": sys.argv[1].rsplit("/", 1)[0] + "/orch.yaml",
             "build": sys.argv[2] + "/build.yml", "deploy": sys.argv[2] + "/deploy.yaml"}, d
PY
o run "$T/orch.yaml" build
expect_rc 0 "run a workflow of a file"
expect_out "build-v1" "its step ran"
pass "validate and run see the main file's and the directory's workflows"

refused() { # FRAGMENT...: validate and run refuse, naming each fragment
  local frag
  o validate "$T/orch.yaml"
  expect_rc 2 "validate refuses"
  for frag in "$@"; do expect_out "$frag" "validate names it"; done
  o run "$T/orch.yaml" hello
  expect_rc 2 "run refuses the whole config"
}
printf 'workflows:\n  bad:\n    steps:\n      - {id: a, uses: exec, tymeout: 1s}\n' >"$W/zz.yaml"
refused "$W/zz.yaml:4:29: step a: unknown key 'tymeout'; did you mean 'timeout'?"
wf "$W/zz.yaml" build x dup
refused "$W/zz.yaml:2:3: workflow 'build' is defined twice: here and at $W/build.yml:2:3"
wf "$W/zz.yaml" hello x dup
refused "$W/zz.yaml:2:3: workflow 'hello' is defined twice: here and at $T/orch.yaml:4:3"
{ printf 'store: {uses: sqlite}\nserver: {tokens: []}\n'; wf_text z z z; } >"$W/zz.yaml"
refused "$W/zz.yaml:1:1: 'store' is not read here: a file of workflows_dir holds only 'workflows:'" \
  "$W/zz.yaml:2:1: 'server' is not read here"
printf -- '- a list\n' >"$W/zz.yaml"
refused "$W/zz.yaml:1:1: a file of workflows_dir must be a mapping with 'workflows:', not a list"
rm "$W/zz.yaml"
wf "$T/outside.yaml" outer o o
ln -s ../outside.yaml "$W/zz.yaml"
refused "$W/zz.yaml: a symlink to ../outside.yaml: refused"
rm "$W/zz.yaml"
mkdir "$W/zz.yaml"
refused "$W/zz.yaml: a directory, not a file"
rmdir "$W/zz.yaml"
cat >"$W/zz.yaml" <<'EOF'
workflows:
  linted:
    inputs: {who: {}}
    steps:
      - {id: a, uses: exec, with: {run: "echo ${{ inputs.who }}"}}
EOF
o validate "$T/orch.yaml"
expect_rc 0 "a warning is no error"
expect_out "$W/zz.yaml:5:41: warning: step a: inputs.who is pasted into the shell script" \
  "the lint reads the directory's workflows too"
rm "$W/zz.yaml"
o validate "$T/orch.yaml"
expect_rc 0 "valid again once the bad file is gone"
pass "a bad file of the directory is refused at its file:line:col, both places of a name defined twice"

# --- a run keeps its workflow's file: resume after it changed, then after
# the directory went, runs what the run was started with
kill_leftovers() { # the killed attempt's command may outlive orch
  local p
  for p in $(cat "$T/pids" 2>/dev/null); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  : >"$T/pids"
}
start_killed() { # WORKFLOW: a run of it, its orch killed while `one` waits; id on stdout
  rm -f "$T/one.started" "$T/go"
  "$ORCH" run "$T/orch.yaml" "$1" >"$T/killed.out" 2>&1 &
  local pid=$!
  T_PIDS+=("$pid")
  wait_file "$T/one.started" 60
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  kill_leftovers
  last_run_id
}
steps_of() { run_json "$1" | jq_py "sorted({a['step'] for a in d['attempts']})"; }
id=$(start_killed deploy)
wf "$W/deploy.yaml" deploy other deploy-v2
o validate "$T/orch.yaml"
expect_rc 0 "the changed file is valid"
touch "$T/go"
o resume "$id"
expect_rc 0 "resume after the file changed"
expect_out "one-v1" "the original first step ran"
expect_out "two-v1" "and the original second"
expect_no_out "deploy-v2" "not the changed file's step"
[ "$(steps_of "$id")" = "['one', 'two']" ] || fail "the run's steps: $(steps_of "$id")"
deploy_v1
id=$(start_killed deploy)
rm -rf "$W"
touch "$T/go"
o resume "$id"
expect_rc 0 "resume after the directory was removed"
expect_out "two-v1" "the run's workflow came from its snapshot"
[ "$(run_state "$id")" = succeeded ] || fail "the run succeeded"
pass "resume runs the workflow a run was started with, after its file changed and after it went"

# --- orchd: a reload applies added, changed and removed files
mkdir -p "$W"
wf "$W/deploy.yaml" deploy d deploy-v1
wf "$W/build.yml" build b build-v1
# The CLI's file (version, workflows_dir, hello) with orchd's sections.
od_config "$T/orchd.yaml" <<EOF
$(cat "$T/orch.yaml")
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms}
EOF
od_start "$T/orchd.yaml"
names() { api GET /v1/workflows "" reader; resp "sorted(w['name'] for w in d['workflows'])"; }
[ "$(names)" = "['build', 'deploy', 'hello']" ] || fail "orchd serves every file's workflows: $(names)"
start() { # WORKFLOW: run id on stdout
  api POST /v1/runs "{\"workflow\": \"$1\"}"
  expect_http 201 "start $1"
  resp "d['run']['id']"
}
log_has() { # RUN STEP TEXT
  api GET "/v1/runs/$1/steps/$2/logs" "" reader
  grep -q "$3" "$T/resp" || fail "run $1 step $2 did not print $3: $(cat "$T/resp")"
}
wf "$W/added.yaml" added a added-v1
printf 'workflows:\n  probe: {steps: [{id: p, uses: exec, with: {run: "echo ${{ secrets.WFDIR_PROBE }}"}}]}\n' \
  >"$W/probe.yaml"
kill -HUP "$OD_PID"
has() { api GET "/v1/workflows/$1" "" reader; [ "$HTTP" = 200 ]; }
has_added() { has added; }
wait_until "SIGHUP to apply the added file" has_added
# The line is written just after the swap the API already shows.
reload_said() { grep -q "config reloaded (SIGHUP): generation 2, 5 workflows, .*, 4 files of workflows_dir $W" "$T/orchd.log"; }
wait_until "the reload to say what it read" reload_said
api GET /health/env "" reader
[ "$(resp "sorted(d['secrets'])")" = "['WFDIR_PROBE']" ] ||
  fail "/health/env names a dir file's secret: $(cat "$T/resp")"
r=$(start added)
od_wait_run "$r" succeeded
log_has "$r" a added-v1
wf "$W/deploy.yaml" deploy d deploy-v2
rm "$W/build.yml"
api POST /v1/admin/reload "" admin
expect_http 200 "reload a changed and a removed file"
[ "$(resp "d['workflow_files']")" = 3 ] || fail "the answer counts the files: $(cat "$T/resp")"
api GET /v1/workflows/build "" reader
expect_http 404 "the removed file's workflow is gone"
r=$(start deploy)
od_wait_run "$r" succeeded
log_has "$r" d deploy-v2
pass "orchd: SIGHUP starts an added file's workflow; a reload runs a changed file and drops a removed one"

# --- a broken file is refused, the running config kept
reload_refused() { # FRAGMENT: POST reload is 422 with every error at a file:line:col
  api POST /v1/admin/reload "" admin
  expect_http 422 "a broken file of workflows_dir"
  python3 - "$T/resp" "$1" <<'PY' || fail "refused with file:line:col: $(cat "$T/resp")"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["reloaded"] is False and d["generation"] == 3, d
assert all(re.match(r"/.*:\d+:\d+: ", e) for e in d["errors"]), d["errors"]
assert any(sys.argv[2] in e for e in d["errors"]), d["errors"]
PY
  has added || fail "the running config was kept"
}
printf 'workflows:\n  broken:\n    steps: [\n' >"$W/broken.yaml"
reload_refused "$W/broken.yaml:4:1: YAML syntax error"
grep -q "reload refused (API, token admin): $W/broken.yaml:4:1: YAML syntax error" "$T/orchd.log" ||
  fail "the refusal is logged at the file's line:col"
api GET /v1/workflows/broken "" reader
expect_http 404 "nothing of the broken file applied"
wf "$W/broken.yaml" added x dup
reload_refused "$W/broken.yaml:2:3: workflow 'added' is defined twice: here and at $W/added.yaml:2:3"
{ printf 'server: {tokens: []}\n'; wf_text z z z; } >"$W/broken.yaml"
reload_refused "$W/broken.yaml:1:1: 'server' is not read here"
api GET /v1/runs "" reader
expect_http 200 "the tokens were not touched by the refused file"
printf 'workflows:\n  broken: {steps: [{id: a, uses: nope}]}\n' >"$W/broken.yaml"
kill -HUP "$OD_PID"
refused_by_hup() { grep -q "reload refused (SIGHUP): $W/broken.yaml:2:" "$T/orchd.log"; }
wait_until "SIGHUP to refuse the broken file" refused_by_hup
has added || fail "SIGHUP kept the running config"
rm "$W/broken.yaml"
pass "a broken file (syntax, a name twice, a key not its own) is refused, logged at file:line:col, the config kept"

# --- a run queued before a change runs the workflow it was queued with
api POST /v1/control '{"paused":true}' admin
expect_http 200 "pause"
q=$(start deploy)
wf "$W/deploy.yaml" deploy d deploy-v3
api POST /v1/admin/reload "" admin
expect_http 200 "reload the changed file while the run waits"
rm "$W/deploy.yaml"
api POST /v1/admin/reload "" admin
expect_http 200 "reload with the file removed"
api POST /v1/control '{"paused":false}' admin
od_wait_run "$q" succeeded
log_has "$q" d deploy-v2
alive "$OD_PID" || fail "orchd died"
pass "a queued run ran the file it was queued with (v2), after the file changed (v3) and went"

# --- a broken file stops orchd at start, as a broken main file does
od_stop
printf 'workflows:\n  x: [\n' >"$W/broken.yaml"
set +e
"$ORCHD" --config "$T/orchd.yaml" --listen "unix:$T/second.sock" --once >"$T/out" 2>&1
RC=$?
set -e
[ "$RC" != 0 ] || fail "orchd started with a broken file of workflows_dir"
expect_out "$W/broken.yaml:3:1: YAML syntax error" "orchd names the file's line:col"
pass "orchd refuses to start with a broken file, naming it"
