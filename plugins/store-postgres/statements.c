/* store-postgres: the SQL text of every prepared statement, by enum
 * pg_stmt (postgres.h). Every value is a parameter ($1...), never spliced in; the
 * schema is the connection's search_path (conn.c). */
#include "postgres.h"

#define RUN_COLS                                                                         \
    "id, workflow, state, idempotency_key, inputs_json, source, source_path, owner, "    \
    "error, created_ns, updated_ns, lease_expires_ns, not_before_ns"
#define ATT_COLS                                                                         \
    "run_id, step_id, attempt, state, exit_code, owner, instance_id, outputs_json, "     \
    "error, status, started_ns, finished_ns"
#define INST_COLS                                                                        \
    "id, state, backend, run_id, backend_id, handle, labels_json, owner, created_ns, "   \
    "updated_ns, last_used_ns"

/* Text orderings use the C collation: byte order, as the SQLite store and
 * the conformance suite have it, whatever the database's locale. */
static const char *const pg_sql_text[PG_STMT_COUNT_] = {
    [PG_RUN_INSERT] = "INSERT INTO runs(" RUN_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                      "$11,$12,$13) ON CONFLICT DO NOTHING",
    [PG_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = $1",
    [PG_RUN_BY_KEY] = "SELECT " RUN_COLS " FROM runs WHERE idempotency_key = $1",
    /* Counts from an index-only scan of runs_claim (no counter rows: several
     * daemons would contend on them for every state change); the oldest
     * queued run from the partial index runs_queue. */
    [PG_RUN_STATS] = "SELECT state, count(*), CASE WHEN state = 1 THEN (SELECT min(created_ns) "
                     "FROM runs WHERE state = 1) END FROM runs GROUP BY state",
    [PG_TICK_INSERT] = "INSERT INTO ticks(owner, started_ns, duration_ns, claimed, dispatched, "
                       "fired, requeued, reaped, errors) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
    [PG_TICK_LIST] = "SELECT seq, owner, started_ns, duration_ns, claimed, dispatched, fired, "
                     "requeued, reaped, errors FROM ticks WHERE started_ns >= $1 ORDER BY "
                     "started_ns DESC, seq DESC LIMIT $2",
    [PG_TICK_PRUNE_AGE] = "DELETE FROM ticks WHERE started_ns < $1",
    /* By seq (append order): an index seek, where "beyond the newest N by
     * start" walked N entries at every prune. */
    [PG_TICK_PRUNE_KEEP] = "DELETE FROM ticks WHERE seq <= (SELECT max(seq) FROM ticks) - $1",
    /* Retention (schema 5's runs_ended index): ended runs oldest first,
     * paged on (updated_ns, id) in byte order. The check locks the run's
     * row, so a requeue or a second sweeper waits for the delete's commit
     * and then finds the run gone. */
    [PG_RUN_LIST_ENDED] = "SELECT " RUN_COLS " FROM runs WHERE (CASE WHEN $1::int = 0 THEN "
                          "state IN (4, 5, 6) ELSE state = $1 END) AND updated_ns < $4 AND "
                          "($3::text IS NULL OR (updated_ns, id COLLATE \"C\") > ($2::bigint, "
                          "$3::text)) ORDER BY updated_ns, id COLLATE \"C\" LIMIT $5",
    [PG_PURGE_CHECK] = "SELECT state, updated_ns FROM runs WHERE id = $1 FOR UPDATE",
    [PG_PURGE_ATT] = "DELETE FROM attempts WHERE run_id = $1",
    [PG_PURGE_EV] = "DELETE FROM events WHERE run_id = $1",
    [PG_PURGE_LOGS] = "WITH d AS (DELETE FROM logs WHERE run_id = $1 RETURNING "
                      "octet_length(data) AS n) SELECT count(*), coalesce(sum(n), 0) FROM d",
    [PG_PURGE_INST] = "DELETE FROM instances WHERE run_id = $1 AND state = 4",
    [PG_PURGE_RUN] = "DELETE FROM runs WHERE id = $1",
    [PG_RUN_LIST] = "SELECT " RUN_COLS " FROM runs WHERE ($1::int = 0 OR state = $1) AND "
                    "($2::text IS NULL OR workflow = $2) AND created_ns > $3 ORDER BY "
                    "created_ns DESC, id COLLATE \"C\" DESC LIMIT $4",
    [PG_RUN_CAS] = "UPDATE runs SET state = $1, error = $2, updated_ns = $3 WHERE id = $4 "
                   "AND ($5::int = 0 OR state = $5) AND ($6::text IS NULL OR owner = $6)",
    [PG_RUN_STATE] = "SELECT state, owner, error FROM runs WHERE id = $1",
    [PG_ATT_INSERT] = "INSERT INTO attempts(" ATT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,"
                      "$10,$11,$12) ON CONFLICT DO NOTHING",
    [PG_ATT_UPDATE] = "UPDATE attempts SET state = $4, exit_code = $5, owner = $6, "
                      "instance_id = $7, outputs_json = $8, error = $9, status = $10, "
                      "started_ns = $11, finished_ns = $12 WHERE run_id = $1 AND step_id = "
                      "$2 AND attempt = $3 AND state = $13 AND (SELECT owner FROM runs WHERE "
                      "id = $1) IS NOT DISTINCT FROM $6::text",
    [PG_ATT_STATE] = "SELECT state, owner, finished_ns FROM attempts WHERE run_id = $1 AND "
                     "step_id = $2 AND attempt = $3",
    [PG_ATT_LIST] = "SELECT " ATT_COLS " FROM attempts WHERE run_id = $1 ORDER BY step_id "
                    "COLLATE \"C\", attempt",
    [PG_EV_INSERT] = "INSERT INTO events(run_id, type, data_json, ts_ns) VALUES($1,$2,$3,$4) "
                     "RETURNING seq",
    /* A run's events and all events apart: one statement with "$1 IS NULL
     * OR run_id = $1" got a generic plan that scanned every event of every
     * run each time a daemon took a run over. */
    [PG_EV_LIST] = "SELECT seq, run_id, type, data_json, ts_ns FROM events WHERE seq > $1 "
                   "ORDER BY seq LIMIT $2",
    [PG_EV_LIST_RUN] = "SELECT seq, run_id, type, data_json, ts_ns FROM events WHERE run_id = "
                       "$1 AND seq > $2 ORDER BY seq LIMIT $3",
    [PG_LOG_INSERT] = "INSERT INTO logs(run_id, step_id, attempt, stream, data, ts_ns) "
                      "VALUES($1,$2,$3,$4,$5,$6)",
    /* Pages (pg_log_read loops): a whole log in one result would sit in
     * the reader's memory. */
    [PG_LOG_READ] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = $1 AND "
                    "step_id = $2 AND attempt = $3 AND seq > $4 ORDER BY seq LIMIT $5",
    [PG_LOG_READ_ALL] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = $1 AND "
                        "seq > $2 ORDER BY seq LIMIT $3",
    [PG_INST_PUT] = "INSERT INTO instances(" INST_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,"
                    "$10,$11) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, backend "
                    "= EXCLUDED.backend, run_id = EXCLUDED.run_id, backend_id = "
                    "EXCLUDED.backend_id, handle = EXCLUDED.handle, labels_json = "
                    "EXCLUDED.labels_json, owner = EXCLUDED.owner, created_ns = "
                    "EXCLUDED.created_ns, updated_ns = EXCLUDED.updated_ns, last_used_ns = "
                    "EXCLUDED.last_used_ns",
    [PG_INST_LIST] = "SELECT " INST_COLS " FROM instances WHERE run_id = $1 ORDER BY "
                     "created_ns, id COLLATE \"C\"",
    [PG_INST_LIST_ALL] = "SELECT " INST_COLS " FROM instances ORDER BY created_ns, id "
                         "COLLATE \"C\"",
    [PG_INST_DELETE] = "DELETE FROM instances WHERE id = $1",
    [PG_FLAG_SET] = "INSERT INTO flags(name, value) VALUES($1,$2) ON CONFLICT (name) DO "
                    "UPDATE SET value = EXCLUDED.value",
    [PG_FLAG_DELETE] = "DELETE FROM flags WHERE name = $1",
    [PG_FLAG_LIST] = "SELECT name, value FROM flags ORDER BY name COLLATE \"C\"",
    [PG_LEASE_ACQUIRE] = "INSERT INTO leases(name, owner, expires_ns) VALUES($1,$2,$3) ON "
                         "CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_ns = "
                         "EXCLUDED.expires_ns WHERE leases.owner = $2 OR leases.expires_ns <= "
                         "$4",
    [PG_LEASE_GET] = "SELECT owner, expires_ns FROM leases WHERE name = $1",
    [PG_LEASE_RELEASE] = "DELETE FROM leases WHERE name = $1 AND owner = $2",
    [PG_LEASE_LIST] = "SELECT name, owner, expires_ns FROM leases ORDER BY name COLLATE \"C\"",
    /* One statement: the row is locked and re-checked by the subquery
     * (rows other claimers hold are skipped, not waited for). A run whose
     * lease expired comes first (recovery), then the oldest queued run;
     * each is found from its own index (runs_owner, runs_queue): one scan
     * over created_ns for both walked past every finished run, so each
     * claim cost more as the table grew (migration 3). COALESCE evaluates
     * the second only when the first finds nothing. */
    [PG_CLAIM] = "UPDATE runs SET owner = $1, lease_expires_ns = $2, state = 2, updated_ns = "
                 "$3 WHERE id = COALESCE((SELECT id FROM runs WHERE state = 2 AND owner IS NOT "
                 "NULL AND lease_expires_ns <= $3 ORDER BY created_ns, id COLLATE \"C\" LIMIT 1 "
                 "FOR UPDATE SKIP LOCKED), (SELECT id FROM runs WHERE state = 1 AND "
                 "not_before_ns <= $3 ORDER BY created_ns, id COLLATE \"C\" LIMIT 1 FOR UPDATE "
                 "SKIP LOCKED)) RETURNING " RUN_COLS,
    [PG_HEARTBEAT] = "UPDATE runs SET lease_expires_ns = $3 WHERE id = $1 AND owner = $2",
    [PG_RELEASE_RUN] = "UPDATE runs SET owner = NULL, lease_expires_ns = 0 WHERE id = $1 AND "
                       "owner = $2 RETURNING state",
    [PG_BLOB_PUT] = "INSERT INTO blobs(key, data, size) VALUES($1,$2,$3) ON CONFLICT (key) "
                    "DO UPDATE SET data = EXCLUDED.data, size = EXCLUDED.size",
    [PG_BLOB_GET] = "SELECT data FROM blobs WHERE key = $1",
    [PG_BLOB_DELETE] = "DELETE FROM blobs WHERE key = $1",
    [PG_BLOB_LIST] = "SELECT key, size FROM blobs WHERE left(key, length($1)) = $1 ORDER BY "
                     "key COLLATE \"C\"",
    [PG_NOTIFY] = "SELECT pg_notify($1, $2)",
};

const char *pg_stmt_text(enum pg_stmt which)
{
    return pg_sql_text[which];
}
