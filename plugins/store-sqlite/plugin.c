/* store-sqlite: the embedded default store. One SQLite file in WAL mode,
 * so `orch runs` can read while a run writes; every statement prepared
 * once per handle.
 * This file is the plugin's face: its options, opening the file (WAL, the
 * pragmas, the busy timeout) and closing it, the vtable and the descriptor.
 * Statements run through conn.c (SQL in statements.c); each table's
 * operations live in their own file (runs.c, records.c, leases.c, blobs.c,
 * schema.c). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sqlite.h"

static const char *const sq_sync_values[] = {"normal", "full", NULL};

static const struct orch_option sq_options[] = {
    ORCH_OPTION(struct sq_cfg, path, "path", ORCH_OPT_PATH, 0, NULL,
                "database file (default: <state dir>/orch.db)"),
    ORCH_OPTION(struct sq_cfg, busy_timeout_ms, "busy_timeout", ORCH_OPT_DURATION, 0, "5s",
                "how long a writer waits for another process's lock"),
    ORCH_OPTION_ENUM(struct sq_cfg, synchronous, "synchronous", 0, "normal", sq_sync_values,
                     "fsync policy: normal (durable across process crashes) or full (also "
                     "power loss)"),
};

/* sqlite does not create directories; the state dir may be new. */
static void sq_mkdir_parent(const char *path)
{
    char *p = sq_host->strdup(path);
    if (!p)
        return;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    sq_host->free(p);
}

static void sq_close(struct orch_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < SQ_STMT_COUNT_; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    sq_host->free(st);
}

/* Turning a new file to WAL takes an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once, without its busy handler, when another process is
 * creating or converting the same file: two `orch run`s started together
 * on a fresh state directory. The pragmas are idempotent, so they are
 * retried, backing off, for as long as busy_timeout allows. */
static orch_status sq_exec_open_pragmas(struct orch_store *st, const char *pragmas,
                                        int64_t busy_timeout_ms, struct orch_error *err)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long pause_us = 500;
    for (;;) {
        int code = sqlite3_exec(st->db, pragmas, NULL, NULL, NULL);
        if (code == SQLITE_OK)
            return ORCH_OK;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t spent_ms = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
                           (now.tv_nsec - start.tv_nsec) / 1000000;
        if ((code & 0xff) != SQLITE_BUSY || spent_ms >= busy_timeout_ms)
            return sq_host->error_set(err, (code & 0xff) == SQLITE_BUSY ? ORCH_E_TRANSIENT : ORCH_E_IO,
                                      "%s", sqlite3_errmsg(st->db));
        struct timespec pause = {0, pause_us * 1000};
        nanosleep(&pause, NULL);
        if (pause_us < 50000)
            pause_us *= 2;
    }
}

static orch_status sq_open(struct orch_ctx *ctx, const void *cfgp, struct orch_store **out,
                           struct orch_error *err)
{
    const struct sq_cfg *cfg = cfgp;
    char *path = NULL;
    if (cfg->path) {
        path = sq_host->strdup(cfg->path);
    } else {
        /* No path: the database lives in orch's state directory. */
        const char *sd = sq_host->ctx_get(ctx, "state_dir");
        if (!sd || !*sd)
            return sq_host->error_set(err, ORCH_E_CONFIG,
                                      "option 'path' is not set and orch gave no state "
                                      "directory to put orch.db in");
        path = sq_host->strdup_printf("%s/orch.db", sd);
    }
    if (!path)
        return sq_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (!*path) {
        sq_host->free(path);
        return sq_host->error_set(err, ORCH_E_CONFIG, "option 'path' is empty");
    }
    sq_mkdir_parent(path);
    struct stat sb;
    int fresh = stat(path, &sb) != 0 || sb.st_size == 0;
    struct orch_store *st = sq_host->calloc(1, sizeof *st);
    if (!st) {
        sq_host->free(path);
        return sq_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                           SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        orch_status rc = sq_host->error_set(err, ORCH_E_IO, "cannot open %s: %s",
                                            path, sqlite3_errmsg(st->db));
        sq_host->free(path);
        sq_close(st);
        return rc;
    }
    sqlite3_busy_timeout(st->db, (int)cfg->busy_timeout_ms);
    /* Closing checkpoints the WAL into the database with two fsyncs, half
     * of a short `orch run`; the WAL is a valid part of the database, so
     * the next opener (or the automatic checkpoint) does it instead. */
    sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    const char *sync = cfg->synchronous && !strcmp(cfg->synchronous, "full") ? "FULL" : "NORMAL";
    /* A new file takes auto_vacuum=INCREMENTAL before its first table
     * (the only time it can without a VACUUM), so pages freed by retention
     * can go back to the file system (sq_reclaim); an older file is
     * switched once by the schema 4 migration (schema.c). */
    char pragmas[200];
    snprintf(pragmas, sizeof pragmas,
             "%sPRAGMA synchronous=%s; PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
             fresh ? "PRAGMA auto_vacuum=INCREMENTAL; " : "", fresh ? "OFF" : sync);
    if (fresh)
        st->deferred_sync = sync;
    orch_status rc = sq_exec_open_pragmas(st, pragmas, cfg->busy_timeout_ms, err);
    if (rc != ORCH_OK) {
        sq_host->error_set(err, rc, "%s: %s", path, err->message);
        sq_host->free(path);
        sq_close(st);
        return rc;
    }
    sq_host->free(path);
    *out = st;
    return ORCH_OK;
}

static const struct orch_store_vtable sq_vtable = {
    .struct_size = sizeof(struct orch_store_vtable),
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .migrate = sq_migrate,
    .txn_begin = sq_txn_begin,
    .txn_commit = sq_txn_commit,
    .txn_rollback = sq_txn_rollback,
    .run_create = sq_run_create,
    .run_get = sq_run_get,
    .run_list = sq_run_list,
    .run_cas = sq_run_cas,
    .attempt_cas = sq_attempt_cas,
    .attempt_list = sq_attempt_list,
    .event_append = sq_event_append,
    .event_list = sq_event_list,
    .log_append = sq_log_append,
    .log_read = sq_log_read,
    .instance_put = sq_instance_put,
    .instance_list = sq_instance_list,
    .instance_delete = sq_instance_delete,
    .flag_set = sq_flag_set,
    .flag_list = sq_flag_list,
    .lease_acquire = sq_lease_acquire,
    .lease_release = sq_lease_release,
    .lease_list = sq_lease_list,
    .run_claim = sq_run_claim,
    .run_heartbeat = sq_run_heartbeat,
    .blob_put = sq_blob_put,
    .blob_get = sq_blob_get,
    .blob_delete = sq_blob_delete,
    .blob_list = sq_blob_list,
    .run_stats = sq_run_stats,
    .tick_append = sq_tick_append,
    .tick_list = sq_tick_list,
    .tick_prune = sq_tick_prune,
    .run_list_ended = sq_run_list_ended,
    .run_delete = sq_run_delete,
    .reclaim = sq_reclaim,
};

static const struct orch_plugin_desc sq_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STORE,
    .name = "sqlite",
    .version = "1.0.0",
    .description = "embedded SQLite store (WAL): runs, attempts, events, logs, leases, blobs",
    .license = "MIT",
    .caps = ORCH_STORE_CAP_RUNS | ORCH_STORE_CAP_TXN | ORCH_STORE_CAP_LEASES |
            ORCH_STORE_CAP_BLOBS | ORCH_STORE_CAP_CAS | ORCH_STORE_CAP_EMBEDDED |
            ORCH_STORE_CAP_STATS | ORCH_STORE_CAP_TICKS | ORCH_STORE_CAP_RETENTION,
    .options = sq_options,
    .option_count = sizeof sq_options / sizeof sq_options[0],
    .config_size = sizeof(struct sq_cfg),
    .vtable_size = sizeof(struct orch_store_vtable),
    .vtable = &sq_vtable,
};

ORCH_PLUGIN_DEFINE(store, sqlite, sq_desc, sq_host)
