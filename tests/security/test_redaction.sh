# A secret leaked the ways users leak one by accident must never show:
# cut across writes with a pause between (stdout and stderr, at the end of
# a stream without a newline), base64-encoded (alone and inside a longer
# encoded text, at each byte offset), URL-encoded, set as a step output,
# inside an error message. Checked in `orch run`'s output, `orch runs
# logs`, `orch runs events`, `orch runs show`, every file of the state dir
# (the SQLite database and its WAL), orchd's log route, its live SSE
# stream, its run and event answers and its own log, and a dump of a
# PostgreSQL store's tables.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: eval \"\$(/work/svc.sh)\" or run scripts/test.sh}"

S='Zq7#Lm2@Xp9/Rt5+Vw3=Ky8&Bn4!Hd6%'
export ORCH_SECRET_RED_KEY="$S"
# The forms that must not appear: the value, its URL escaping, and the
# base64 characters that come from the secret alone at offsets 0, 1, 2.
python3 - "$S" >"$T/forms" <<'PY'
import base64, sys, urllib.parse
s = sys.argv[1].encode()
print(s.decode())
print(urllib.parse.quote(s, safe=''))
for off in range(3):
    enc = base64.b64encode(b'\0' * off + s).decode()
    print(enc[(8 * off + 5) // 6: 8 * (off + len(s)) // 6])
PY
[ "$(wc -l <"$T/forms")" = 5 ] || fail "could not compute the encoded forms"

# clean WHAT FILE...: none of the forms in the files.
clean() {
  local what=$1 form
  shift
  while IFS= read -r form; do
    if grep -raqF -- "$form" "$@"; then
      grep -raF -- "$form" "$@" | head -5 >&2
      fail "$what: the secret (as '$form') is visible"
    fi
  done <"$T/forms"
}

touch "$T/go"
wf() { # wf FILE [store lines]: the leaking workflow
  cat >"$1" <<EOF
version: 1
${2:-}
workflows:
  leak:
    steps:
      - id: split
        uses: exec
        with:
          argv:
            - bash
            - -c
            - |
              echo sse-ready
              for i in \$(seq 1200); do [ -e "\$GO" ] && break; sleep 0.05; done
              printf %s "\${S:0:6}"; sleep 0.5; printf '%s\n' "\${S:6}"
              printf %s "\${S:0:9}" >&2; sleep 0.5; printf '%s\n' "\${S:9}" >&2
              printf 'key is %s' "\${S:0:1}"; sleep 0.5; printf '%s and more\n' "\${S:1}"
              echo split-done
              printf 'last %s' "\${S:0:20}"; sleep 0.5; printf %s "\${S:20}"
          env: {S: "\${{ secrets.RED_KEY }}", GO: "$T/go"}
      - id: encoded
        uses: exec
        with:
          argv:
            - bash
            - -c
            - |
              printf %s "\$S" | base64
              printf 'user:%s' "\$S" | base64 -w0; echo
              printf 'x%s\n' "\$S" | base64
              printf 'Authorization: Basic '; printf 'ab%s' "\$S" | base64 -w0; echo
              python3 -c 'import os, urllib.parse; print("https://h.test/?k=" + urllib.parse.quote(os.environ["S"], safe=""))'
              echo "::set-output name=token::\$S"
              echo "::set-output name=b64::\$(printf %s "\$S" | base64 -w0)"
              echo encoded-done
          env: {S: "\${{ secrets.RED_KEY }}"}
          capture: true
      - id: broken
        uses: file
        with: {action: write, path: f.txt, content: x, mode: "\${{ secrets.RED_KEY }}"}
EOF
}

# --- orch run, then everything it stored
wf "$T/wf.yaml"
o run "$T/wf.yaml" leak
expect_rc 1 "the run fails (its broken step)"
expect_out "split-done" "the split step ran"
expect_out "encoded-done" "the encoded step ran"
expect_out "mode' must be octal" "the error message is shown"
clean "orch run output" "$T/out"
expect_out "key is *** and more" "a secret cut after its first byte is masked in place"
id=$(last_run_id)
for args in "runs logs $id" "runs logs $id split" "runs logs $id encoded" "--json runs show $id" \
            "--json runs events $id" "runs events $id"; do
  # shellcheck disable=SC2086
  o $args
  expect_rc 0 "orch $args"
  clean "orch $args" "$T/out"
done
o runs logs "$id" split
expect_out "last ***" "the end of a stream with no newline is flushed, masked"
o --json runs show "$id"
expect_out '"token": "***"' "the output set to the secret is masked"
expect_out "must be octal" "the step's error is kept"
clean "the state dir (database and WAL files)" -r "$ORCH_STATE_DIR"
ls "$ORCH_STATE_DIR"/*-wal >/dev/null 2>&1 || ls -R "$ORCH_STATE_DIR" | grepq . ||
  fail "the state dir is empty: nothing was checked"
pass "orch run, runs logs/show/events and the state dir: no secret in any form"

# --- orchd: the live SSE stream, the log route, run and event answers, its log
export ORCH_STATE_DIR="$T/state-d" ORCH_LOG_LEVEL=info
rm -f "$T/go"
od_config "$T/orchd.yaml" <<EOF
$(wf /dev/stdout "server:
  tokens:
    - {name: reader, sha256: HASH_reader, role: read}
    - {name: writer, sha256: HASH_writer, role: write}
worker: {tick: 100ms}")
EOF
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"leak"}'; expect_http 201 "start over the API"
R=$(resp "d['run']['id']")
for ((i = 0; i < 600; i++)); do
  api GET "/v1/runs/$R" "" reader
  [ "$(resp "[s['state'] for s in d['run']['steps'] if s['id']=='split'][0]")" = running ] && break
  sleep 0.1
done
timeout 120 curl -sN --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" \
  "http://orchd/v1/runs/$R/steps/split/logs?follow=true" >"$T/sse" &
SP=$!
T_PIDS+=("$SP")
for ((i = 0; i < 600; i++)); do grep -q sse-ready "$T/sse" 2>/dev/null && break; sleep 0.1; done
grep -q sse-ready "$T/sse" || fail "the live stream never showed the step's first line"
touch "$T/go" # the step writes its secret only now, while the stream follows it
od_wait_run "$R" failed 60
wait "$SP" || true
grep -q 'event: end' "$T/sse" || fail "the live stream did not end with the attempt"
grep -q 'split-done' "$T/sse" || fail "the live stream missed the step's output: $(cat "$T/sse")"
clean "orchd's SSE stream" "$T/sse"
for step in split encoded broken; do
  api GET "/v1/runs/$R/steps/$step/logs" "" reader; expect_http 200 "log of $step"
  clean "orchd's log route ($step)" "$T/resp"
done
api GET "/v1/runs/$R" "" reader; expect_http 200 "run"
grep -qF '"token":"***"' "$T/resp" || fail "the API's attempt outputs lack the masked output: $(cat "$T/resp")"
clean "orchd's run and attempt answer" "$T/resp"
api GET "/v1/runs/$R/events" "" reader; expect_http 200 "events"
clean "orchd's events answer" "$T/resp"
od_stop
clean "orchd's own log" "$T/orchd.log"
clean "orchd's state dir" -r "$ORCH_STATE_DIR"
pass "orchd: SSE stream, log route, run/attempt and events answers, its log: no secret"

# --- store-postgres: every table, dumped
schema="t_red_$$_$RANDOM"
export ORCH_SECRET_PG_URL="$ORCH_PG_URL"
pgq() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'pgq "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
touch "$T/go"
wf "$T/pg.yaml" "store:
  uses: postgres
  with: {conninfo: \"\${{ secrets.PG_URL }}\", schema: $schema}"
o -c "$T/pg.yaml" migrate
expect_rc 0 "migrate the schema"
o run "$T/pg.yaml" leak
expect_rc 1 "the run on PostgreSQL fails (its broken step)"
expect_out "split-done" "the split step ran on PostgreSQL"
clean "orch run output (PostgreSQL)" "$T/out"
pg_dump "$ORCH_PG_URL" --schema="$schema" --data-only >"$T/dump.sql" || fail "pg_dump failed"
grep -q 'must be octal' "$T/dump.sql" || fail "the dump lacks the step's error: nothing was checked"
clean "the PostgreSQL store (pg_dump of its schema)" "$T/dump.sql"
# Logs are bytea (hex in a dump): each stream's chunks, joined in order.
pgq "SELECT string_agg(encode(data, 'escape'), '' ORDER BY seq) FROM $schema.logs
     GROUP BY run_id, step_id, attempt, stream" >"$T/pglogs" || fail "reading the logs table"
grep -q 'split-done' "$T/pglogs" || fail "the logs table lacks the step log: nothing was checked"
clean "the PostgreSQL logs table" "$T/pglogs"
pass "store-postgres: no secret in any table"
