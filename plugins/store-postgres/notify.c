/* Wake-ups through LISTEN/NOTIFY: a daemon waiting for work is told at
 * once when a run becomes claimable or a control flag changes, instead of
 * finding out at its next tick. The channel is per schema, so two orch
 * installations in one database do not wake each other. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "postgres.h"

static void pg_channel(struct orch_store *st, char *buf, size_t n)
{
    snprintf(buf, n, "orch_wake:%s", st->cfg.schema);
}

orch_status pg_notify(struct orch_store *st, const char *topic, struct orch_error *err)
{
    char chan[128];
    pg_channel(st, chan, sizeof chan);
    struct pg_args a = {0};
    pg_arg_text(&a, chan);
    pg_arg_text(&a, topic ? topic : "");
    PGresult *r = pg_exec(st, PG_NOTIFY, &a, 0, err);
    if (!r)
        return err->code;
    PQclear(r);
    return ORCH_OK;
}

void pg_wake(struct orch_store *st)
{
    struct orch_error e = {0};
    if (pg_notify(st, "work", &e) != ORCH_OK)
        pg_host->log(NULL, ORCH_LOG_DEBUG, "postgres: notify: %s",
                     e.message ? e.message : "failed");
    pg_host->error_set(&e, ORCH_OK, NULL);
}

static orch_status pg_listen(struct orch_store *st, struct orch_error *err)
{
    if (st->listening && PQstatus(st->conn) == CONNECTION_OK)
        return ORCH_OK;
    orch_status rc = pg_sql(st, "SELECT 1", err); /* (re)connects */
    if (rc != ORCH_OK)
        return rc;
    char chan[128];
    pg_channel(st, chan, sizeof chan);
    char *ident = PQescapeIdentifier(st->conn, chan, strlen(chan));
    if (!ident)
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    char sql[300];
    snprintf(sql, sizeof sql, "LISTEN %s", ident);
    PQfreemem(ident);
    rc = pg_sql(st, sql, err);
    st->listening = rc == ORCH_OK;
    return rc;
}

orch_status pg_wait(struct orch_store *st, int64_t timeout_ms, struct orch_error *err)
{
    orch_status rc = pg_listen(st, err);
    if (rc != ORCH_OK)
        return rc;
    int64_t deadline = pg_host->now_mono_ns() + timeout_ms * 1000000;
    for (;;) {
        if (!PQconsumeInput(st->conn)) {
            st->listening = 0;
            return pg_fail(st, NULL, err, "wait");
        }
        int woken = 0;
        PGnotify *n;
        while ((n = PQnotifies(st->conn))) {
            woken = 1;
            PQfreemem(n);
        }
        if (woken)
            return ORCH_OK;
        int64_t left = (deadline - pg_host->now_mono_ns()) / 1000000;
        if (left <= 0)
            return pg_host->error_set(err, ORCH_E_TIMEOUT, "no notification");
        struct pollfd p = {.fd = PQsocket(st->conn), .events = POLLIN};
        if (poll(&p, 1, left > 1000 ? 1000 : (int)left) < 0 && errno != EINTR)
            return pg_host->error_set(err, ORCH_E_IO, "poll: %s", strerror(errno));
    }
}
