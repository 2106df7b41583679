/* store-sqlite: the SQL text of every prepared statement, by enum sq_stmt
 * (sqlite.h). Every value is bound (?1...), never spliced in. */
#include "sqlite.h"

static const char *const sq_sql[SQ_STMT_COUNT_] = {
    [SQ_RUN_INSERT] = "INSERT INTO runs(id, workflow, state, idempotency_key, inputs_json, "
                      "source, source_path, owner, error, created_ns, updated_ns, "
                      "lease_expires_ns, not_before_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [SQ_RUN_GET] = "SELECT * FROM runs WHERE id = ?",
    [SQ_RUN_BY_KEY] = "SELECT * FROM runs WHERE idempotency_key = ?",
    [SQ_RUN_LIST] = "SELECT * FROM runs WHERE (?1 = 0 OR state = ?1) AND (?2 IS NULL OR "
                    "workflow = ?2) AND created_ns > ?3 ORDER BY created_ns DESC, id DESC "
                    "LIMIT ?4",
    [SQ_RUN_CAS] = "UPDATE runs SET state = ?1, error = ?2, updated_ns = ?3 WHERE id = ?4 "
                   "AND (?5 = 0 OR state = ?5) AND (?6 IS NULL OR owner = ?6)",
    [SQ_RUN_EXISTS] = "SELECT state, owner FROM runs WHERE id = ?",
    [SQ_ATT_INSERT] = "INSERT INTO attempts(run_id, step_id, attempt, state, exit_code, "
                      "owner, instance_id, outputs_json, error, status, started_ns, "
                      "finished_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
    [SQ_ATT_UPDATE] = "UPDATE attempts SET state = ?4, exit_code = ?5, owner = ?6, "
                      "instance_id = ?7, outputs_json = ?8, error = ?9, status = ?10, "
                      "started_ns = ?11, finished_ns = ?12 WHERE run_id = ?1 AND step_id = "
                      "?2 AND attempt = ?3 AND state = ?13 AND (SELECT owner FROM runs "
                      "WHERE id = ?1) IS ?6",
    [SQ_ATT_LIST] = "SELECT * FROM attempts WHERE run_id = ? ORDER BY step_id, attempt",
    [SQ_EV_INSERT] = "INSERT INTO events(run_id, type, data_json, ts_ns) VALUES(?,?,?,?)",
    [SQ_EV_LIST] = "SELECT seq, run_id, type, data_json, ts_ns FROM events WHERE (?1 IS NULL "
                   "OR run_id = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3",
    [SQ_LOG_INSERT] = "INSERT INTO logs(run_id, step_id, attempt, stream, data, ts_ns) "
                      "VALUES(?,?,?,?,?,?)",
    [SQ_LOG_READ] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = ? AND step_id "
                    "= ? AND attempt = ? AND seq > ? ORDER BY seq",
    [SQ_LOG_READ_ALL] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = ? AND "
                        "seq > ? ORDER BY seq",
    [SQ_INST_PUT] = "INSERT OR REPLACE INTO instances(id, state, backend, run_id, "
                    "backend_id, handle, labels_json, owner, created_ns, updated_ns, "
                    "last_used_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [SQ_INST_LIST] = "SELECT * FROM instances WHERE run_id = ? ORDER BY created_ns, id",
    [SQ_INST_LIST_ALL] = "SELECT * FROM instances ORDER BY created_ns, id",
    [SQ_INST_DELETE] = "DELETE FROM instances WHERE id = ?",
    [SQ_FLAG_SET] = "INSERT OR REPLACE INTO flags(name, value) VALUES(?,?)",
    [SQ_FLAG_DELETE] = "DELETE FROM flags WHERE name = ?",
    [SQ_FLAG_LIST] = "SELECT name, value FROM flags ORDER BY name",
    [SQ_LEASE_ACQUIRE] = "INSERT INTO leases(name, owner, expires_ns) VALUES(?1, ?2, ?3) "
                         "ON CONFLICT(name) DO UPDATE SET owner = ?2, expires_ns = ?3 "
                         "WHERE leases.owner = ?2 OR leases.expires_ns <= ?4",
    [SQ_LEASE_GET] = "SELECT owner, expires_ns FROM leases WHERE name = ?",
    [SQ_LEASE_RELEASE] = "DELETE FROM leases WHERE name = ? AND owner = ?",
    [SQ_LEASE_LIST] = "SELECT name, owner, expires_ns FROM leases ORDER BY name",
    /* Two picks, each along an index that keeps its cost flat as the
     * store grows: the oldest queued run through the partial index of
     * queued runs (in created order: the first that is due ends the
     * walk), the oldest running one whose lease expired among the running
     * runs. One query with OR scanned and sorted every row: 20 ms a claim
     * at 100,000 queued runs, a tick of 64 claims over a second. */
    [SQ_CLAIM_QUEUED] = "SELECT id, created_ns FROM runs INDEXED BY runs_queued_created "
                        "WHERE state = 1 AND not_before_ns <= ?1 ORDER BY created_ns, id LIMIT 1",
    [SQ_CLAIM_EXPIRED] = "SELECT id, created_ns FROM runs INDEXED BY runs_claim WHERE state = 2 "
                         "AND owner IS NOT NULL AND lease_expires_ns <= ?1 "
                         "ORDER BY created_ns, id LIMIT 1",
    [SQ_CLAIM_TAKE] = "UPDATE runs SET owner = ?2, lease_expires_ns = ?3, state = 2, "
                      "updated_ns = ?4 WHERE id = ?1",
    [SQ_HEARTBEAT] = "UPDATE runs SET lease_expires_ns = ?3 WHERE id = ?1 AND owner = ?2",
    [SQ_RELEASE_RUN] = "UPDATE runs SET owner = NULL, lease_expires_ns = 0 WHERE id = ?1 "
                       "AND owner = ?2",
    [SQ_BLOB_PUT] = "INSERT OR REPLACE INTO blobs(key, data, size) VALUES(?,?,?)",
    [SQ_BLOB_GET] = "SELECT data FROM blobs WHERE key = ?",
    [SQ_BLOB_DELETE] = "DELETE FROM blobs WHERE key = ?",
    /* run_counts is kept by triggers; the queued run's age comes from the
     * partial index runs_queued_created (schema 2). */
    [SQ_RUN_STATS] = "SELECT state, n, CASE WHEN state = 1 THEN (SELECT min(created_ns) FROM "
                     "runs WHERE state = 1) END FROM run_counts",
    [SQ_TICK_INSERT] = "INSERT INTO ticks(owner, started_ns, duration_ns, claimed, dispatched, "
                       "fired, requeued, reaped, errors) VALUES(?,?,?,?,?,?,?,?,?)",
    [SQ_TICK_LIST] = "SELECT seq, owner, started_ns, duration_ns, claimed, dispatched, fired, "
                     "requeued, reaped, errors FROM ticks WHERE started_ns >= ?1 ORDER BY "
                     "started_ns DESC, seq DESC LIMIT ?2",
    [SQ_TICK_PRUNE_AGE] = "DELETE FROM ticks WHERE started_ns < ?1",
    /* By seq (append order): a seek on the key, where "beyond the newest
     * N by start" walked N index entries at every prune. */
    [SQ_TICK_PRUNE_KEEP] = "DELETE FROM ticks WHERE seq <= (SELECT max(seq) FROM ticks) - ?1",
    /* Retention (schema 4's runs_ended index): ended runs oldest first,
     * paged on (updated_ns, id). */
    [SQ_RUN_LIST_ENDED] = "SELECT * FROM runs WHERE (CASE WHEN ?1 = 0 THEN state IN (4, 5, 6) "
                          "ELSE state = ?1 END) AND updated_ns < ?4 AND (?3 IS NULL OR "
                          "(updated_ns, id) > (?2, ?3)) ORDER BY updated_ns, id LIMIT ?5",
    [SQ_PURGE_CHECK] = "SELECT state, updated_ns FROM runs WHERE id = ?",
    [SQ_PURGE_ATT] = "DELETE FROM attempts WHERE run_id = ?",
    [SQ_PURGE_EV] = "DELETE FROM events WHERE run_id = ?",
    [SQ_PURGE_LOG_SUM] = "SELECT count(*), coalesce(sum(length(data)), 0) FROM logs WHERE "
                         "run_id = ?",
    [SQ_PURGE_LOGS] = "DELETE FROM logs WHERE run_id = ?",
    [SQ_PURGE_INST] = "DELETE FROM instances WHERE run_id = ? AND state = 4",
    [SQ_PURGE_RUN] = "DELETE FROM runs WHERE id = ?",
    [SQ_BLOB_LIST] = "SELECT key, size FROM blobs WHERE substr(key, 1, length(?1)) = ?1 "
                     "ORDER BY key",
};

const char *sq_stmt_text(enum sq_stmt which)
{
    return sq_sql[which];
}
