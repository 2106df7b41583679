/* store-postgres: the shared store for several daemons. PostgreSQL does the
 * distributed part: claims are one UPDATE over FOR UPDATE SKIP LOCKED,
 * every completion a compare-and-set, wake-ups LISTEN/NOTIFY.
 * This file is the plugin's face: its options, open and close, the vtable
 * and the descriptor. The connection is conn.c's, the SQL statements.c's,
 * each table's operations in their own file (runs.c, records.c, leases.c,
 * blobs.c, notify.c, schema.c). */
#include <stddef.h>
#include <string.h>

#include "postgres.h"

static const struct orch_option pg_options[] = {
    ORCH_OPTION(struct pg_cfg, conninfo, "conninfo", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL,
                "a postgresql:// URL or key=value string (may hold a password: a secret); "
                "the options below override its parts"),
    ORCH_OPTION(struct pg_cfg, host, "host", ORCH_OPT_STRING, 0, NULL,
                "server host name, address, or socket directory"),
    ORCH_OPTION(struct pg_cfg, port, "port", ORCH_OPT_INT, 0, NULL, "server port"),
    ORCH_OPTION(struct pg_cfg, dbname, "dbname", ORCH_OPT_STRING, 0, NULL, "database name"),
    ORCH_OPTION(struct pg_cfg, user, "user", ORCH_OPT_STRING, 0, NULL, "role to connect as"),
    ORCH_OPTION(struct pg_cfg, password, "password", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL,
                "the role's password: ${{ secrets.NAME }}"),
    ORCH_OPTION(struct pg_cfg, sslmode, "sslmode", ORCH_OPT_STRING, 0, NULL,
                "disable, allow, prefer, require, verify-ca or verify-full"),
    ORCH_OPTION(struct pg_cfg, application_name, "application_name", ORCH_OPT_STRING, 0,
                "orch", "shown in pg_stat_activity"),
    ORCH_OPTION(struct pg_cfg, connect_timeout_ms, "connect_timeout", ORCH_OPT_DURATION, 0,
                "10s", "for each connection attempt"),
    ORCH_OPTION(struct pg_cfg, reconnect_timeout_ms, "reconnect_timeout", ORCH_OPT_DURATION,
                0, "60s",
                "how long a lost connection is retried (with backoff) before an operation "
                "fails"),
    ORCH_OPTION(struct pg_cfg, schema, "schema", ORCH_OPT_STRING, 0, "orch",
                "the schema orch's tables live in (created by orch migrate)"),
};

static void pg_cfg_free(struct pg_cfg *c)
{
    const char **strs[] = {&c->conninfo, &c->host,    &c->dbname,           &c->user,
                           &c->password, &c->sslmode, &c->application_name, &c->schema};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (*strs[i]) {
            /* Passwords do not linger in freed memory. */
            memset((char *)*strs[i], 0, strlen(*strs[i]));
            pg_host->free((char *)*strs[i]);
        }
    }
}

static void pg_close(struct orch_store *st)
{
    if (!st)
        return;
    if (st->conn)
        PQfinish(st->conn);
    pg_cfg_free(&st->cfg);
    if (st->schema_ident)
        PQfreemem(st->schema_ident);
    pg_host->free(st);
}

static orch_status pg_open(struct orch_ctx *ctx, const void *cfgp, struct orch_store **out,
                           struct orch_error *err)
{
    const struct pg_cfg *cfg = cfgp;
    (void)ctx;
    struct orch_store *st = pg_host->calloc(1, sizeof *st);
    if (!st)
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    st->cfg = *cfg;
    const char **strs[] = {&st->cfg.conninfo, &st->cfg.host,    &st->cfg.dbname,
                           &st->cfg.user,     &st->cfg.password, &st->cfg.sslmode,
                           &st->cfg.application_name, &st->cfg.schema};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        *strs[i] = *strs[i] ? pg_host->strdup(*strs[i]) : NULL;
    if (!st->cfg.schema || !*st->cfg.schema || strlen(st->cfg.schema) > 63) {
        pg_close(st);
        return pg_host->error_set(err, ORCH_E_CONFIG,
                                  "schema must be 1 to 63 bytes");
    }
    orch_status rc = pg_connect(st, err);
    if (rc != ORCH_OK) {
        pg_close(st);
        return rc;
    }
    *out = st;
    return ORCH_OK;
}

static const struct orch_store_vtable pg_vtable = {
    .struct_size = sizeof(struct orch_store_vtable),
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .migrate = pg_migrate,
    .txn_begin = pg_txn_begin,
    .txn_commit = pg_txn_commit,
    .txn_rollback = pg_txn_rollback,
    .run_create = pg_run_create,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .run_cas = pg_run_cas,
    .attempt_cas = pg_attempt_cas,
    .attempt_list = pg_attempt_list,
    .event_append = pg_event_append,
    .event_list = pg_event_list,
    .log_append = pg_log_append,
    .log_read = pg_log_read,
    .instance_put = pg_instance_put,
    .instance_list = pg_instance_list,
    .instance_delete = pg_instance_delete,
    .flag_set = pg_flag_set,
    .flag_list = pg_flag_list,
    .lease_acquire = pg_lease_acquire,
    .lease_release = pg_lease_release,
    .lease_list = pg_lease_list,
    .run_claim = pg_run_claim,
    .run_heartbeat = pg_run_heartbeat,
    .blob_put = pg_blob_put,
    .blob_get = pg_blob_get,
    .blob_delete = pg_blob_delete,
    .blob_list = pg_blob_list,
    .notify = pg_notify,
    .wait = pg_wait,
    .run_stats = pg_run_stats,
    .tick_append = pg_tick_append,
    .tick_list = pg_tick_list,
    .tick_prune = pg_tick_prune,
    .run_list_ended = pg_run_list_ended,
    .run_delete = pg_run_delete,
};

static const struct orch_plugin_desc pg_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STORE,
    .name = "postgres",
    .version = "1.0.0",
    .description = "PostgreSQL store for several daemons: runs, leases (SKIP LOCKED), "
                   "LISTEN/NOTIFY wake-ups, blobs",
    .license = "MIT",
    .caps = ORCH_STORE_CAP_RUNS | ORCH_STORE_CAP_TXN | ORCH_STORE_CAP_LEASES |
            ORCH_STORE_CAP_BLOBS | ORCH_STORE_CAP_CAS | ORCH_STORE_CAP_NOTIFY |
            ORCH_STORE_CAP_STATS | ORCH_STORE_CAP_TICKS | ORCH_STORE_CAP_RETENTION,
    .options = pg_options,
    .option_count = sizeof pg_options / sizeof pg_options[0],
    .config_size = sizeof(struct pg_cfg),
    .vtable_size = sizeof(struct orch_store_vtable),
    .vtable = &pg_vtable,
};

ORCH_PLUGIN_DEFINE(store, postgres, pg_desc, pg_host)

