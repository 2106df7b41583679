# orch admin backup / restore: a store with runs (succeeded, failed), their
# attempts, binary logs, events, instances, control flags and a multi-chunk
# artifact goes to one file and back into a new store, byte for byte (the
# new store's backup is the same file), and the restored runs go on (a
# failed one re-queued and resumed). A SQLite backup restores into
# PostgreSQL. Refused, leaving the target as it was: a store that is not
# empty, a cut-off file, a forged count, a file that is no backup. A
# backup of a live store says so, and its run in flight is restored queued
# and finished by a daemon.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
head -c 3000000 /dev/urandom >"$T/big.bin"
cat >"$T/wf.yaml" <<EOF2
version: 1
defaults:
  host_paths: ["$T"]
workflows:
  ok:
    steps:
      - {id: a, uses: exec, with: {run: "echo out-a; printf 'bin\\\\001\\\\377\\\\n' >&2"}}
      - {id: keep, uses: file, needs: [a], with: {action: copy, from: "host:$T/big.bin", to: "artifact:big.bin"}}
  bad:
    steps:
      - {id: a, uses: exec, with: {run: "echo trying"}}
      - {id: b, uses: exec, needs: [a], with: {run: "echo fails; exit 3"}}
EOF2
A="$T/a"
B="$T/b"
ORCH_STATE_DIR=$A o run "$T/wf.yaml" ok
expect_rc 0 "the ok run"
ORCH_STATE_DIR=$A o run "$T/wf.yaml" bad
expect_rc 1 "the bad run"
ORCH_STATE_DIR=$A o control pause
expect_rc 0 "a flag to keep"

ORCH_STATE_DIR=$A o admin backup "$T/backup.jsonl"
expect_rc 0 "backup"
expect_out "2 runs, 4 attempts" "what it holds"
expect_out "1 artifacts" "with the artifact"
[ "$(stat -c %a "$T/backup.jsonl")" = 600 ] || fail "the backup is private (mode $(stat -c %a "$T/backup.jsonl"))"
ls "$T"/backup.jsonl.tmp.* >/dev/null 2>&1 && fail "a temporary file was left"
[ "$(grep -c '^{"blob"' "$T/backup.jsonl")" -ge 3 ] || fail "a 3 MB artifact is several 1 MiB chunks"
ORCH_STATE_DIR=$A "$ORCH" admin backup - >"$T/stdout.jsonl" 2>/dev/null || fail "backup to stdout"
diff <(sed 1d "$T/backup.jsonl") <(sed 1d "$T/stdout.jsonl") >/dev/null || fail "backup - writes the same"

ORCH_STATE_DIR=$B o admin restore "$T/backup.jsonl"
expect_rc 0 "restore"
expect_out "2 runs, 4 attempts" "what it restored"
ORCH_STATE_DIR=$B o admin backup "$T/again.jsonl"
expect_rc 0 "backup of the restored store"
diff <(sed 1d "$T/backup.jsonl") <(sed 1d "$T/again.jsonl") >/dev/null ||
  fail "the restored store holds the same: $(diff <(sed 1d "$T/backup.jsonl") <(sed 1d "$T/again.jsonl") | head -5)"
sqlite3 "$B/orch.db" "SELECT writefile('$T/big.back', data) FROM blobs WHERE key LIKE '%big.bin'" >/dev/null
cmp -s "$T/big.bin" "$T/big.back" || fail "the artifact came back byte for byte"
ok_id=$(ORCH_STATE_DIR=$A "$ORCH" --json runs list --state succeeded | jq_py "d[0]['id']")
bad_id=$(ORCH_STATE_DIR=$A "$ORCH" --json runs list --state failed | jq_py "d[0]['id']")
ORCH_STATE_DIR=$A "$ORCH" runs logs "$ok_id" a >"$T/log.a" 2>&1
ORCH_STATE_DIR=$B "$ORCH" runs logs "$ok_id" a >"$T/log.b" 2>&1
cmp -s "$T/log.a" "$T/log.b" || fail "the binary log is the same"
grep -q out-a "$T/log.b" || fail "the log has the step's output"
ORCH_STATE_DIR=$B o control show
expect_out "paused" "flags came back"
pass "backup and restore: runs, attempts, binary logs, events, flags, a 3 MB artifact, byte for byte"

# --- the restored runs go on
ORCH_STATE_DIR=$B o runs requeue "$bad_id"
expect_rc 0 "requeue a restored run"
ORCH_STATE_DIR=$B o resume "$bad_id"
expect_rc 1 "it runs again (and fails again)"
expect_out "fails" "its step ran"
[ "$(ORCH_STATE_DIR=$B attempts_of "$bad_id" b)" = 2 ] || fail "a second attempt of b: $(ORCH_STATE_DIR=$B attempts_of "$bad_id" b)"
pass "a restored failed run is re-queued and resumed"

# --- refusals leave the target as it was
ORCH_STATE_DIR=$B o admin restore "$T/backup.jsonl"
expect_rc 1 "a store that is not empty"
expect_out "not empty" "says why"
head -n -1 "$T/backup.jsonl" >"$T/cut.jsonl"
ORCH_STATE_DIR="$T/c" o admin restore "$T/cut.jsonl"
expect_rc 2 "a cut-off file"
expect_out "cut off" "says so"
expect_out "the store is unchanged" "and that nothing changed"
[ "$(ORCH_STATE_DIR="$T/c" "$ORCH" --json runs list | jq_py "len(d)")" = 0 ] || fail "a failed restore wrote nothing"
sed '$ s/"runs":2/"runs":3/' "$T/backup.jsonl" >"$T/forged.jsonl"
ORCH_STATE_DIR="$T/c" o admin restore "$T/forged.jsonl"
expect_rc 2 "a forged count"
expect_out "promises 3 runs, it holds 2" "names it"
{ sed -n 1,2p "$T/backup.jsonl"; echo '{"run": '; } >"$T/garbage.jsonl"
ORCH_STATE_DIR="$T/c" o admin restore "$T/garbage.jsonl"
expect_rc 2 "a broken line"
expect_out "line 3: not a backup record" "at its line"
awk '!done && /^\{"attempt":/ { sub(/"state":[0-9]+/, "\"state\":77"); done = 1 } 1' "$T/backup.jsonl" >"$T/state.jsonl"
grep -q '"state":77' "$T/state.jsonl" || fail "the test forges a state"
ORCH_STATE_DIR="$T/c" o admin restore "$T/state.jsonl"
expect_rc 2 "an attempt with a state that does not exist"
expect_out "(attempt): an attempt needs" "is refused at its line"
awk '!done && /^\{"event":/ { sub(/"data_json":"([^"\\]|\\.)*"/, "\"data_json\":\"not json\""); done = 1 } 1' "$T/backup.jsonl" >"$T/data.jsonl"
grep -q '"data_json":"not json"' "$T/data.jsonl" || fail "the test forges event data"
ORCH_STATE_DIR="$T/c" o admin restore "$T/data.jsonl"
expect_rc 2 "an event whose data is not JSON"
expect_out "data as JSON" "is refused"
{ sed -n 1p "$T/backup.jsonl"; head -c 70000000 /dev/zero | tr '\0' a; echo; } >"$T/long.jsonl"
ORCH_STATE_DIR="$T/c" o admin restore "$T/long.jsonl"
expect_rc 2 "a line of 70 MB"
expect_out "line 2 is longer than" "is refused before it is read whole"
ORCH_STATE_DIR="$T/c" o admin restore "$T/wf.yaml"
expect_rc 2 "not a backup"
[ "$(ORCH_STATE_DIR="$T/c" "$ORCH" --json runs list | jq_py "len(d)")" = 0 ] || fail "refusals wrote nothing"
pass "refused: a store not empty, a cut-off file, a forged count, a broken line, a forged state, event data that is not JSON, a 70 MB line, a file that is no backup"

# --- SQLite to PostgreSQL
schema="t_bk_$$_$RANDOM"
trap 'PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -qAtc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
port=${ORCH_PG_URL%/*}
port=${port##*:}
cat >"$T/pg.yaml" <<EOF2
version: 1
store:
  uses: postgres
  with: {host: 127.0.0.1, port: $port, dbname: orch, user: orch, password: "\${{ secrets.PG_PW }}", schema: $schema}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "true"}}
EOF2
export ORCH_SECRET_PG_PW=orch-test-pw
o -c "$T/pg.yaml" migrate
expect_rc 0 "a new PostgreSQL schema"
o -c "$T/pg.yaml" admin restore "$T/backup.jsonl"
expect_rc 0 "restore into PostgreSQL"
o -c "$T/pg.yaml" admin backup "$T/pg.jsonl"
expect_rc 0 "backup of PostgreSQL"
diff <(sed 1d "$T/backup.jsonl") <(sed 1d "$T/pg.jsonl") >/dev/null ||
  fail "PostgreSQL holds the same: $(diff <(sed 1d "$T/backup.jsonl") <(sed 1d "$T/pg.jsonl") | head -5)"
pass "a SQLite backup restored into PostgreSQL holds the same"

# --- a live store: a run in flight, the daemons not paused. The backup
# says so; the restored run comes back queued and unowned, and a daemon
# adopts it and finishes it.
L="$T/live"
cat >"$T/live.yaml" <<EOF2
version: 1
workflows:
  slow:
    steps:
      - {id: first, uses: exec, with: {run: "echo first"}}
      - {id: wait, uses: exec, needs: [first], with: {run: "touch $T/live.started; while [ ! -e $T/live.go ]; do sleep 0.05; done"}}
EOF2
ORCH_STATE_DIR=$L "$ORCH" run "$T/live.yaml" slow >"$T/live.out" 2>&1 &
lp=$!
T_PIDS+=("$lp")
wait_file "$T/live.started"
lid=$(ORCH_STATE_DIR=$L "$ORCH" --json runs list --limit 1 | jq_py "d[0]['id']")
ORCH_STATE_DIR=$L o admin backup "$T/live.jsonl"
expect_rc 0 "a backup of a live store"
expect_out "note: the daemons are not paused" "says the runs in flight may be caught between states"
touch "$T/live.go"
wait "$lp" || fail "the live run itself failed: $(cat "$T/live.out")"
R="$T/restored"
ORCH_STATE_DIR=$R o admin restore "$T/live.jsonl"
expect_rc 0 "restore of the live backup"
[ "$(ORCH_STATE_DIR=$R run_state "$lid")" = queued ] ||
  fail "the run in flight came back $(ORCH_STATE_DIR=$R run_state "$lid"), not queued"
rm -f "$T/live.go" "$T/live.started"
od_cfg="$T/live-od.yaml"
{ echo "version: 1"; echo "defaults: {state_dir: $R}"; echo "worker: {tick: 100ms}"; sed 1d "$T/live.yaml"; } >"$od_cfg"
"$ORCH_BIN/orchd" --config "$od_cfg" --listen "unix:$T/live.sock" >>"$T/orchd.log" 2>&1 &
dp=$!
T_PIDS+=("$dp")
wait_file "$T/live.started" 120
touch "$T/live.go"
live_done() { [ "$(ORCH_STATE_DIR=$R run_state "$lid")" = succeeded ]; }
WAIT_S=120 wait_until "the restored run to finish under orchd" live_done
kill -TERM "$dp"; wait "$dp" 2>/dev/null || true
[ "$(ORCH_STATE_DIR=$R "$ORCH" --json runs show "$lid" | jq_py "len([a for a in d['attempts'] if a['step'] == 'first' and a['state'] == 'succeeded'])")" = 1 ] ||
  fail "the restored run ran its finished step again"
pass "a live store: the backup says so, the run in flight comes back queued and a daemon finishes it (its finished step kept)"
