# orch --json: every command's error is a JSON document on standard output
# that validates against docs/schemas/cli-error.schema.json, whose "exit"
# is orch's exit status (never 0) and whose code says what went wrong; the
# human line stays on standard error. Each command and subcommand is run
# on a path that fails, locally and against a real orchd (a unix socket).
# validate's own document (valid: false) is its error report.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
SCHEMA="$ORCH_SOURCE_DIR/docs/schemas/cli-error.schema.json"
python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is not installed"

cat >"$T/ok.yaml" <<'EOF'
version: 1
workflows:
  w:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF
printf 'version: 1\nworkflows: {w: {steps: [{id: a, uses: nosuch}]}}\n' >"$T/bad.yaml"
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
backends: {local: {uses: local}}
workflows:
  w:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF
od_start "$T/orchd.yaml"
trap 'od_stop; t_cleanup' EXIT
export ORCH_TOKEN=writer-token
S="--server unix:$OD_SOCK"
echo "x" >"$T/not-a-backup"

# One case a line: EXPECTED-CODE (or -) | EXPECTED-EXIT | ARGS (word-split;
# NOTOKEN first: without $ORCH_TOKEN).
cat >"$T/cases" <<EOF
usage|2|--bogus
usage|2|nosuchcmd
usage|2|help nosuchcmd
usage|2|run
config|2|run $T/missing.yaml w
config|2|run $T/bad.yaml w
-|2|run $T/ok.yaml nowf
usage|2|run $T/ok.yaml w --input novalue
-|2|resume r-nope
usage|2|pause extra
usage|2|runs
usage|2|runs bogus
usage|2|runs list --state bogus
not_found|1|runs show r-nope
not_found|1|runs logs r-nope
not_found|1|runs logs r-nope --follow
usage|2|runs logs r-nope a --follow
not_found|1|runs events r-nope
-|1|runs artifacts r-nope
-|1|runs artifact r-nope x
usage|2|runs artifacts --namespace
-|1|runs artifact --namespace nope x
-|1|runs approve r-nope a
-|1|runs reject r-nope a
-|1|runs cancel r-nope
-|1|runs requeue r-nope
-|1|runs discard r-nope
usage|2|runs show
usage|2|migrate extra
usage|2|admin
usage|2|admin backup
-|2|admin restore $T/not-a-backup
usage|2|gc
config|2|gc $T/missing.yaml
usage|2|plugins
usage|2|plugins bogus
-|2|plugins info nosuch
usage|2|control bogus
usage|2|ticks --since bogus
usage|2|completion tcsh
usage|2|health
usage|2|instances list
usage|2|admin reload
unreachable|2|--server unix:$T/nobody.sock runs list
unreachable|2|--server unix:$T/nobody.sock health
unauthorized|2|NOTOKEN --token-file $T/missing runs list --server unix:$OD_SOCK
unauthorized|2|NOTOKEN $S runs list
not_found|1|$S runs show r-nope
not_found|1|$S runs start nosuchwf
usage|2|$S runs start
invalid|2|$S runs list --state bogus
not_found|1|$S runs logs r-nope a
not_found|1|$S runs logs r-nope --follow
usage|2|$S runs start w --bogus-after
not_found|1|$S runs events r-nope
not_found|1|$S runs artifacts r-nope
not_found|1|$S runs artifact r-nope x
-|1|$S runs cancel r-nope
-|1|$S runs requeue r-nope
-|1|$S runs approve r-nope a
-|1|$S runs reject r-nope a
-|1|$S runs discard r-nope
usage|2|$S runs bogus x
not_found|1|$S instances show i-nope
not_found|1|$S instances destroy i-nope
usage|2|$S instances bogus
usage|2|$S instances create
not_found|1|$S instances exec i-nope -- true
not_found|1|$S instances executions i-nope
not_found|1|$S instances output i-nope x-nope
not_found|1|$S instances cancel i-nope x-nope
-|1|$S runs artifact --namespace nope x
forbidden|2|$S control pause
usage|2|$S control bogus
invalid|2|$S ticks --since bogus
forbidden|2|$S admin reload
usage|2|$S health extra
EOF

# Each case's stdout, stderr and exit status; then one check of them all
# (jsonschema imported once).
n=0
while IFS='|' read -r code want args; do
  n=$((n + 1))
  envs=()
  if [[ $args == "NOTOKEN "* ]]; then args=${args#NOTOKEN }; envs=(ORCH_TOKEN=); fi
  set +e
  # shellcheck disable=SC2086
  env "${envs[@]}" "$ORCH" --json $args >"$T/out.$n" 2>"$T/err.$n" </dev/null
  rc=$?
  set -e
  printf '%s|%s|%s|%s\n' "$rc" "$code" "$want" "$args" >>"$T/ran"
done <"$T/cases"
python3 - "$SCHEMA" "$T" <<'PY' || fail "a command's --json error is not the error document"
import json, sys, jsonschema
schema, T = json.load(open(sys.argv[1])), sys.argv[2]
bad = []
for n, line in enumerate(open(f"{T}/ran"), 1):
    rc, code, want, args = line.rstrip("\n").split("|", 3)
    rc, want = int(rc), int(want)
    text, err = open(f"{T}/out.{n}").read(), open(f"{T}/err.{n}").read()
    try:
        doc = json.loads(text)  # one document, nothing around it
        assert rc == want, f"exit {rc}, wanted {want}: {text}"
        assert err.strip(), "nothing on stderr (the person's line)"
        jsonschema.validate(doc, schema)
        assert doc["error"]["exit"] == rc, f"exit {rc} but the document says {doc['error']['exit']}"
        assert code == "-" or doc["error"]["code"] == code, f"code {doc['error']['code']}, wanted {code}"
    except (ValueError, AssertionError, jsonschema.ValidationError) as e:
        bad.append(f"orch --json {args}: {str(e).splitlines()[0]}\n  stdout: {text[:300]!r}\n  stderr: {err[:300]!r}")
print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
[ "$n" -ge 60 ] || fail "only $n cases ran"
pass "$n commands' errors with --json: one document each, valid against the schema, its exit the status"

# validate: its document is the error report (exit 2, valid: false).
set +e
"$ORCH" --json validate "$T/bad.yaml" >"$T/v.out" 2>/dev/null
rc=$?
set -e
[ "$rc" = 2 ] || fail "validate of a bad file: exit $rc"
[ "$(jq_py "d['valid']" <"$T/v.out")" = False ] || fail "validate's own document"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "error" not in d' "$T/v.out" ||
  fail "validate's document is followed by no second one"
pass "validate's document is its own error report"

# Success stays data: no error document when the command succeeded.
"$ORCH" --json run "$T/ok.yaml" w >"$T/ok.out" || fail "run ok.yaml"
if grep -F '"error": {' "$T/ok.out" >/dev/null; then fail "an error document after a success"; fi
pass "a success prints no error document"

# Data, with --server: what orch --json prints is the API's document, valid
# against its schema in docs/api/openapi.yaml (a list: each element).
api POST /v1/runs '{"workflow": "w"}'
expect_http 201 "start a run of w"
R=$(resp "d['run']['id']")
od_wait_run "$R" succeeded
check() { # SCHEMA[:KEY] ARGS...: orch --json ARGS (its KEY), each element when a list
  local schema=${1%%:*} key=
  [[ $1 == *:* ]] && key=${1#*:}
  shift
  # shellcheck disable=SC2086
  "$ORCH" --json $S "$@" >"$T/data" || fail "orch --json $* failed"
  python3 - "$T/data" "$key" <<'PY' >/dev/null || fail "orch --json $*: not JSON"
import json, sys
d = json.load(open(sys.argv[1]))
d = d[sys.argv[2]] if sys.argv[2] else d
for i, e in enumerate(d if isinstance(d, list) else [d]):
    json.dump(e, open(f"{sys.argv[1]}.{i}", "w"))
print(len(d) if isinstance(d, list) else 1)
PY
  local f
  for f in "$T"/data.*; do
    [ -e "$f" ] || fail "orch --json $*: an empty list proves nothing"
    python3 "$ORCH_SOURCE_DIR/tests/lib/openapi_check.py" "$ORCH_SOURCE_DIR/docs/api/openapi.yaml" "$schema" "$f" ||
      fail "orch --json $*: not the API's $schema"
  done
  rm -f "$T"/data.*
}
check Run runs show "$R"
check Run runs list
check Event runs events "$R"
check Health health
check Control control
check Tick:ticks ticks
pass "orch --json --server's data validates against the API's schemas (Run, Event, Health, Control, Tick)"
