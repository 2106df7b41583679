# Reload without a restart: SIGHUP and POST /v1/admin/reload (admin) re-read
# the file; a valid one replaces workflows, tokens and the rest at once (a
# new workflow starts, a changed one runs its new steps, a removed token is
# refused on the next request), while a run started before goes on with
# the config it was queued with. A file with errors, or one changing what
# only a restart can, is refused whole with file:line:col and the running
# config kept; `orch --server URL admin reload` says the same.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_LOG_LEVEL=info # the reload says what it applied at info
cfg() { # FILE VERSION [EXTRA-WORKFLOW-LINES]
  od_config "$1" <<EOF2
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
${OLD_TOKEN:-}
worker: {tick: 100ms}
workflows:
  slow:
    steps:
      - {id: s, uses: exec, with: {run: "touch $T/slow.started; while [ ! -e $T/slow.go ]; do sleep 0.05; done; echo slow-$2"}}
  hello:
    steps:
      - {id: h, uses: exec, with: {run: "echo hello-$2"}}
${3:-}
EOF2
}
old_hash=$(printf 'old-token\n' | "$ORCHD" --hash-token)
OLD_TOKEN="    - {name: old, sha256: $old_hash, role: write}" cfg "$T/orchd.yaml" v1
od_start "$T/orchd.yaml"
start() { # WORKFLOW [TOKEN]: run id on stdout
  api POST /v1/runs "{\"workflow\": \"$1\"}" "${2:-writer}"
  expect_http 201 "start $1"
  resp "d['run']['id']"
}
log_of() { # RUN STEP
  api GET "/v1/runs/$1/steps/$2/logs" "" reader
  cat "$T/resp"
}
slow=$(start slow)
wait_file "$T/slow.started" 60
api GET /v1/runs "" old
expect_http 200 "the old token works before the reload"

# --- SIGHUP: a new workflow, a changed one, a removed token
cfg "$T/orchd.yaml" v2 "  added:
    steps:
      - {id: a, uses: exec, with: {run: \"echo added-v2\"}}"
kill -HUP "$OD_PID"
has_added() { api GET /v1/workflows/added "" reader; [ "$HTTP" = 200 ]; }
wait_until "the reload to apply" has_added
grep -q "config reloaded (SIGHUP): generation 2, 3 workflows" "$T/orchd.log" ||
  { tail -5 "$T/orchd.log"; fail "the reload is logged with what it applied"; }
api GET /v1/runs "" old
expect_http 401 "a token the reload removed is refused at once"
added=$(start added)
od_wait_run "$added" succeeded
log_of "$added" a >"$T/log"; grep -q added-v2 "$T/log" || fail "the new workflow ran"
hello=$(start hello)
od_wait_run "$hello" succeeded
log_of "$hello" h >"$T/log"; grep -q hello-v2 "$T/log" || fail "a changed workflow runs its new steps: $(log_of "$hello" h)"
touch "$T/slow.go"
od_wait_run "$slow" succeeded
log_of "$slow" s >"$T/log"; grep -q slow-v1 "$T/log" || fail "the run in flight kept its config: $(log_of "$slow" s)"
pass "SIGHUP: new workflow started, changed one ran v2, removed token refused, the run in flight finished on v1"

# --- a file with errors is refused whole; the running config is kept
cp "$T/orchd.yaml" "$T/good.yaml"
cfg "$T/orchd.yaml" v3 "  broken:
    steps:
      - {id: b, uses: nope, with: {}}
      - {id: c, uses: exec, needs: [missing], with: {run: true}}"
api POST /v1/admin/reload "" writer
expect_http 403 "reload needs the admin role"
api POST /v1/admin/reload "" admin
expect_http 422 "a broken config"
python3 - "$T/resp" "$T/orchd.yaml" <<'PY' || fail "every error with file:line:col: $(cat "$T/resp")"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["reloaded"] is False and d["generation"] == 2, d
errs = d["errors"]
assert len(errs) >= 2, errs
assert all(re.match(re.escape(sys.argv[2]) + r":\d+:\d+: ", e) for e in errs), errs
assert any("nope" in e for e in errs) and any("missing" in e for e in errs), errs
PY
grep -q "reload refused (API, token admin)" "$T/orchd.log" || fail "the refusal is logged"
has_added || fail "the running config was kept"
api GET /v1/workflows/broken "" reader
expect_http 404 "nothing of the broken file applied"
printf 'admin-token\n' >"$T/admin.tok"
srv=(--server "unix:$OD_SOCK" --token-file "$T/admin.tok")
o "${srv[@]}" admin reload
expect_rc 1 "orch admin reload refused"
expect_out "$T/orchd.yaml:" "prints each error at its place"
expect_out "keeps its running config (generation 2)" "and says what runs"
pass "a broken file: 422 with every error at file:line:col, the running config kept, orch admin reload exits 1"

# --- what only a restart changes
sed 's/^worker: {tick: 100ms}/worker: {tick: 100ms, id: renamed}/' "$T/good.yaml" >"$T/orchd.yaml"
api POST /v1/admin/reload "" admin
expect_http 422 "worker.id changed"
grep -q "worker.id changed: a reload cannot change it; restart orchd" "$T/resp" || fail "names it: $(cat "$T/resp")"
mkdir -p "$T/more-plugins"
sed "s|^version: 1$|version: 1\nplugins: {path: \"$T/more-plugins\"}|" "$T/good.yaml" >"$T/orchd.yaml"
grep -q more-plugins "$T/orchd.yaml" || fail "the test config adds a plugin path"
api POST /v1/admin/reload "" admin
expect_http 422 "plugins changed"
grep -q "plugins changed: a reload cannot change it" "$T/resp" || fail "names it: $(cat "$T/resp")"
pass "a change only a restart can make is refused, named"

# --- the CLI applies a good file
sed 's/hello-v2/hello-v4/' "$T/good.yaml" >"$T/orchd.yaml"
o "${srv[@]}" admin reload
expect_rc 0 "orch admin reload"
expect_out "reloaded: generation 3, 3 workflows" "says what it applied"
hello=$(start hello)
od_wait_run "$hello" succeeded
log_of "$hello" h >"$T/log"; grep -q hello-v4 "$T/log" || fail "the CLI's reload applied"
curl -s --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" http://orchd/metrics >"$T/metrics"
grep -q '^orch_runs_started_total{workflow="added"} 1$' "$T/metrics" || fail "metrics kept their counts across reloads"
alive "$OD_PID" || fail "orchd died"
pass "orch --server URL admin reload applies a good file; metrics carry over"

# --- reloads under load: requests hold the snapshot they started with,
# so swapping configs while they run frees nothing under them (ASan would
# abort orchd). Two files alternate; every answer must be one a client can
# act on (no 500, no dropped connection).
cp "$T/good.yaml" "$T/alt-a.yaml"
sed 's/hello-v2/hello-alt/' "$T/good.yaml" >"$T/alt-b.yaml"
(
  for i in $(seq 150); do
    for path in /v1/workflows /v1/workflows/hello /v1/health /metrics; do
      curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$OD_SOCK" \
        -H "Authorization: Bearer reader-token" "http://orchd$path" || echo FAILED
    done
  done >"$T/load.codes"
) &
load=$!
for i in $(seq 40); do
  if [ $((i % 2)) = 0 ]; then cp "$T/alt-a.yaml" "$T/orchd.yaml"; else cp "$T/alt-b.yaml" "$T/orchd.yaml"; fi
  if [ $((i % 4)) = 0 ]; then
    api POST /v1/admin/reload "" admin
    expect_http 200 "reload $i under load"
  else
    kill -HUP "$OD_PID"
  fi
done
wait "$load"
alive "$OD_PID" || { tail -20 "$T/orchd.log"; fail "orchd died reloading under load"; }
bad=$(grep -v '^200$' "$T/load.codes" | sort | uniq -c || true)
[ -z "$bad" ] || fail "answers under reloads: $bad"
[ "$(wc -l <"$T/load.codes")" = 600 ] || fail "every request was answered"
pass "40 reloads beside 600 requests: every request answered 200, orchd alive"

# --- a reload cannot open the API: dropping every token on an open address
od_stop
port=$(free_port)
cp "$T/good.yaml" "$T/open.yaml"
"$ORCHD" --config "$T/open.yaml" --listen "0.0.0.0:$port" >>"$T/open.log" 2>&1 &
OD_PID=$!
T_PIDS+=("$OD_PID")
up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; }
wait_until "orchd on 0.0.0.0:$port" up
grep -v "sha256" "$T/good.yaml" | sed 's/^  tokens:$/  tokens: []/' >"$T/open.yaml"
grep -q "tokens: \[\]" "$T/open.yaml" || fail "the test config drops the tokens"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer admin-token" \
  "http://127.0.0.1:$port/v1/admin/reload")
[ "$code" = 422 ] || fail "dropping every token on 0.0.0.0 is refused (HTTP $code): $(cat "$T/resp")"
grep -q "cannot remove every token while orchd serves 0.0.0.0:$port" "$T/resp" || fail "says why: $(cat "$T/resp")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/runs")
[ "$code" = 401 ] || fail "the API still wants a token (HTTP $code)"
pass "a reload cannot drop every token while serving an open address"
