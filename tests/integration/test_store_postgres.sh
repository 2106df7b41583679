# store-postgres against the real server scripts/services/postgres.sh
# starts: migrations (manual by default, dry run, idempotent, refusing a
# newer schema, on_start when asked), the password as a secret (and a wrong
# one named clearly, never printed), the same workflows as on sqlite, and a
# PostgreSQL restart in the middle of a run that the run survives with no
# step completed twice.
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
schema="t_pg_$$_$RANDOM"
pg_url=$ORCH_PG_URL # the cluster psql_q talks to
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$pg_url" -v ON_ERROR_STOP=1 -qAtc "$1"; }
drop_schemas() {
  pg_url=$ORCH_PG_URL psql_q "DROP SCHEMA IF EXISTS $schema CASCADE; DROP SCHEMA IF EXISTS ${schema}_new CASCADE" \
    >/dev/null 2>&1 || true
}
trap 'drop_schemas; t_cleanup' EXIT

pg_config() { # FILE SCHEMA [extra store lines]
  cat >"$1" <<EOF
version: 1
store:
  uses: postgres
${3:-}
  with:
    host: 127.0.0.1
    port: ${ORCH_PG_URL##*:}
    dbname: orch
    user: orch
    password: \${{ secrets.PG_PW }}
    schema: $2
workflows:
  hello:
    steps:
      - {id: a, uses: exec, with: {run: "echo a >> $T/count"}}
      - {id: b, uses: exec, needs: [a], with: {run: "echo b-start >> $T/count; sleep 3; echo b >> $T/count; echo b-out"}}
      - {id: c, uses: exec, needs: [b], with: {run: "echo c >> $T/count"}}
EOF
}
# The port only: ORCH_PG_URL ends in :PORT/orch.
port=${ORCH_PG_URL%/*}
port=${port##*:}
pg_config "$T/pg.yaml" "$schema"
sed -i "s/port: .*/port: $port/" "$T/pg.yaml"

# --- the password is a secret: missing, wrong, right
o run "$T/pg.yaml" hello
expect_rc 2 "no secret"
expect_out "secrets.PG_PW" "names the missing secret"
expect_out "pg.yaml:" "at its place in the file"
ORCH_SECRET_PG_PW=not-the-password o run "$T/pg.yaml" hello
expect_rc 2 "wrong password"
expect_out "password authentication failed" "the server's reason"
expect_no_out "not-the-password" "never the password"
export ORCH_SECRET_PG_PW=orch-test-pw
pass "the password comes from a secret and never shows"

# --- migrations: manual by default, dry run, idempotent
o run "$T/pg.yaml" hello
expect_rc 2 "a shared store does not migrate by itself"
expect_out "orch -c FILE migrate" "and says what to run"
o -c "$T/pg.yaml" migrate --dry-run
expect_rc 0 "dry run"
expect_out "0 -> 5" "the plan"
[ -z "$(psql_q "SELECT 1 FROM information_schema.schemata WHERE schema_name = '$schema'")" ] ||
  fail "a dry run changed nothing"
o -c "$T/pg.yaml" migrate
expect_rc 0 "migrate"
expect_out "schema 0 -> 5" "migrated"
o -c "$T/pg.yaml" migrate
expect_rc 0 "again"
expect_out "schema 5 -> 5" "nothing to do the second time"
[ "$(psql_q "SELECT count(*) FROM $schema.orch_schema")" = 5 ] || fail "one row a version"
# An upgrade: the database as version 1 left it, then this orch's migrate.
psql_q "DROP INDEX $schema.instances_live; DROP INDEX $schema.runs_owner;
        DROP INDEX $schema.runs_queue; DROP TABLE $schema.ticks; DROP INDEX $schema.runs_ended;
        DELETE FROM $schema.orch_schema WHERE version >= 2"
o -c "$T/pg.yaml" runs list
expect_rc 2 "an older schema is refused until migrated"
expect_out "older than this orch needs" "and says so"
o -c "$T/pg.yaml" migrate
expect_out "schema 1 -> 5" "upgraded from version 1"
for ix in runs_owner runs_queue; do
  [ -n "$(psql_q "SELECT 1 FROM pg_indexes WHERE schemaname = '$schema' AND indexname = '$ix'")" ] ||
    fail "the upgrade made index $ix"
done
[ -n "$(psql_q "SELECT to_regclass('$schema.ticks')")" ] || fail "the upgrade made the tick ledger"
# Two processes migrating a fresh schema at once: both succeed, one schema.
pg_config "$T/new.yaml" "${schema}_new"
sed -i "s/port: .*/port: $port/" "$T/new.yaml"
"$ORCH" -c "$T/new.yaml" migrate >"$T/m1" 2>&1 & m1=$!
"$ORCH" -c "$T/new.yaml" migrate >"$T/m2" 2>&1 & m2=$!
wait $m1 || { cat "$T/m1"; fail "concurrent migrate 1"; }
wait $m2 || { cat "$T/m2"; fail "concurrent migrate 2"; }
[ "$(psql_q "SELECT count(*) FROM ${schema}_new.orch_schema")" = 5 ] ||
  fail "concurrent migrations applied once"
# A schema newer than this orch: refused, by runs and by migrate.
psql_q "INSERT INTO ${schema}_new.orch_schema VALUES (99, 0)"
o -c "$T/new.yaml" migrate
expect_rc 2 "a newer schema"
expect_out "version 99, newer than this orch" "is named"
o -c "$T/new.yaml" runs list
expect_rc 2 "runs refuse it too"
expect_out "newer than this orch supports" "with the reason"
pass "migrations: manual, dry run, idempotent, concurrent, newer refused"

# --- migrate: on_start
psql_q "DROP SCHEMA ${schema}_new CASCADE"
pg_config "$T/auto.yaml" "${schema}_new" "  migrate: on_start"
sed -i "s/port: .*/port: $port/" "$T/auto.yaml"
o run "$T/auto.yaml" hello
expect_rc 0 "migrate on start"
[ "$(psql_q "SELECT count(*) FROM ${schema}_new.runs WHERE state = 4")" = 1 ] ||
  fail "the run is in the new schema"
rm -f "$T/count"
pass "migrate: on_start"

# --- the same workflow as on sqlite, and a server restart mid-run. The
# restart is of a private cluster on a port of its own: the shared one
# serves the PostgreSQL tests running beside this one, which a restart
# would fail.
own_port=$(free_port)
own_pg() { ORCH_TEST_DIR="$T/pg-own" ORCH_PG_PORT=$own_port "$ORCH_SOURCE_DIR/scripts/services/postgres.sh" "$@"; }
chmod 711 "$T" # the cluster belongs to the postgres user, which must reach its data
trap 'own_pg stop; drop_schemas; t_cleanup' EXIT
pg_url=$(own_pg start)
sed -i "s/port: .*/port: $own_port/" "$T/pg.yaml"
o -c "$T/pg.yaml" migrate
expect_rc 0 "migrate the private cluster"
rm -f "$T/count"
ORCH_LOG_LEVEL=info "$ORCH" run "$T/pg.yaml" hello >"$T/run.out" 2>&1 &
run_pid=$!
T_PIDS+=("$run_pid")
wait_until "step b to start" grep -q b-start "$T/count"
grep -q b-start "$T/count" || fail "step b never started"
own_pg restart
wait "$run_pid" || { cat "$T/run.out"; fail "the run did not survive the restart"; }
grep -q "connection re-established" "$T/run.out" || fail "the store said it reconnected"
R=$("$ORCH" -c "$T/pg.yaml" --json runs list --limit 1 | jq_py "d[0]['id']")
[ "$("$ORCH" -c "$T/pg.yaml" --json runs show "$R" | jq_py "d['state']")" = succeeded ] ||
  fail "the run succeeded"
[ "$(grep -c . "$T/count")" = 4 ] || fail "each step ran once: $(cat "$T/count")"
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE run_id = '$R'")" = 3 ] ||
  fail "one attempt row a step: $(psql_q "SELECT step_id, attempt, state FROM $schema.attempts")"
[ "$(psql_q "SELECT count(*) FROM $schema.attempts WHERE run_id = '$R' AND state = 3")" = 3 ] ||
  fail "every step succeeded once"
o -c "$T/pg.yaml" runs logs "$R" b
expect_rc 0 "logs"
expect_out b-out "the step log survived the restart"
pass "a PostgreSQL restart mid-run: reconnected, nothing lost or doubled"
