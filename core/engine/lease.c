/* The lease of a run driven by the CLI (`orch run`, `orch resume`). A
 * daemon owns the runs it claims through the run row's owner and lease
 * (run_claim, run_heartbeat); the CLI names a run it drives by a named
 * lease "run/<id>" in the same store, taken in the transaction that moves
 * the run to running, renewed while it drives and released after its last
 * write. Its owner says who holds it: "orch:HOST:PID:START:SINCE:TOKEN"
 * (START the process's start time in clock ticks, SINCE when it took the
 * lease in seconds, TOKEN random), so a second driver is refused with the
 * holder's name, and a holder on this host whose process is gone (kill -9)
 * is taken over at once instead of after its lease expires. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../host.h"
#include "internal.h"

#define OC_CLI_LEASE_TTL_MS 30000

int64_t oc_lease_ttl_ms(const struct oc_engine *e)
{
    return e->opts.lease_ttl_ms > 0 ? e->opts.lease_ttl_ms : OC_CLI_LEASE_TTL_MS;
}

int oc_lease_supported(const struct oc_engine *e)
{
    return e->store->vt->lease_acquire && e->store->vt->lease_list &&
           e->store->vt->lease_release;
}

char *oc_lease_name(const char *run_id)
{
    return oc_xasprintf("run/%s", run_id);
}

static char *oc_lease_new_owner(void)
{
    char host[200] = "";
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++)
        if (*p == ':')
            *p = '_'; /* the separator */
    unsigned char rnd[8] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* No entropy yet: the pid and time already make it unique here. */
    }
    char tok[17];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
    return oc_xasprintf("orch:%s:%ld:%llu:%lld:%s", host, (long)getpid(),
                        oc_proc_start_time((long)getpid()), (long long)time(NULL), tok);
}

struct oc_lease_holder {
    char host[256];
    long long pid, since;
    unsigned long long start;
    int parsed;
};

static void oc_lease_parse(const char *owner, struct oc_lease_holder *h)
{
    memset(h, 0, sizeof *h);
    h->parsed = owner && sscanf(owner, "orch:%255[^:]:%lld:%llu:%lld:", h->host, &h->pid,
                                &h->start, &h->since) == 4;
}

/* Its process is gone: it can write nothing more. Only knowable on its
 * own host; elsewhere the lease must expire. */
static int oc_lease_holder_dead(const struct oc_lease_holder *h)
{
    char host[200] = "";
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++)
        if (*p == ':')
            *p = '_';
    return h->parsed && !strcmp(h->host, host) && h->pid > 0 &&
           oc_proc_start_time((long)h->pid) != h->start;
}

struct oc_lease_find {
    const char *name;
    char *owner;
    int64_t expires_ns;
};

static int32_t oc_lease_find_cb(void *ud, const struct orch_lease_rec *l)
{
    struct oc_lease_find *f = ud;
    if (strcmp(l->name, f->name))
        return 0;
    free(f->owner);
    f->owner = oc_xstrdup(l->owner);
    f->expires_ns = l->expires_ns;
    return 1;
}

static orch_status oc_lease_refuse(const char *run_id, const char *holder,
                                   struct orch_error *err)
{
    struct oc_lease_holder h;
    oc_lease_parse(holder, &h);
    if (!h.parsed)
        return oc_error_set(err, ORCH_E_CONFLICT, "run %s is being driven by %s", run_id,
                            holder ? holder : "another process");
    char since[32] = "?";
    time_t t = (time_t)h.since;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return oc_error_set(err, ORCH_E_CONFLICT, "run %s is being driven by PID %lld on %s since %s",
                        run_id, h.pid, h.host, since);
}

/* Take over the lease of a dead holder: a compare-and-delete on its owner
 * then our acquire, together, so of two takers only one wins. */
static orch_status oc_lease_take_over(struct oc_engine *e, const char *name,
                                      const char *dead, const char *owner,
                                      struct orch_error *err)
{
    struct oc_store *st = e->store;
    orch_status rc = oc_txn_begin(st, err);
    if (rc != ORCH_OK)
        return rc;
    rc = oc_ledger_lease_drop(st, name, dead, err);
    if (rc == ORCH_OK)
        rc = oc_ledger_lease_acquire(st, name, owner, oc_lease_ttl_ms(e), err);
    return oc_txn_end(st, rc, err);
}

orch_status oc_lease_take(struct oc_engine *e, const char *run_id, char **owner_out,
                          struct orch_error *err)
{
    struct oc_store *st = e->store;
    char *name = oc_lease_name(run_id);
    char *owner = oc_lease_new_owner();
    orch_status rc = ORCH_E_CONFLICT;
    /* A few rounds: a holder seen dead may have been taken over by
     * another resume meanwhile, which is then the holder to report. */
    for (int round = 0; round < 3; round++) {
        oc_error_clear(err);
        rc = oc_ledger_lease_acquire(st, name, owner, oc_lease_ttl_ms(e), err);
        if (rc != ORCH_E_CONFLICT)
            break;
        oc_error_clear(err);
        struct oc_lease_find f = {.name = name};
        rc = st->vt->lease_list(st->h, oc_lease_find_cb, &f, err);
        if (rc != ORCH_OK) {
            free(f.owner);
            break;
        }
        if (!f.owner)
            continue; /* released meanwhile: try again */
        struct oc_lease_holder h;
        oc_lease_parse(f.owner, &h);
        if (!oc_lease_holder_dead(&h)) {
            rc = oc_lease_refuse(run_id, f.owner, err);
            free(f.owner);
            break;
        }
        rc = oc_lease_take_over(e, name, f.owner, owner, err);
        free(f.owner);
        if (rc != ORCH_E_CONFLICT)
            break;
        oc_error_clear(err); /* another taker won: look again */
    }
    if (rc == ORCH_E_CONFLICT && !err->code)
        rc = oc_error_set(err, ORCH_E_CONFLICT, "run %s: its lease changed hands while we "
                          "looked; try again", run_id);
    if (rc == ORCH_OK) {
        *owner_out = owner;
        owner = NULL;
    } else if (rc != ORCH_E_CONFLICT) {
        const char *why = oc_error_text(err);
        char *msg = oc_xstrdup(why);
        oc_error_clear(err);
        oc_error_set(err, rc, "%s: lease of run %s: %s", st->plugin->id, run_id, msg);
        free(msg);
    }
    free(owner);
    free(name);
    return rc;
}

orch_status oc_lease_first(struct oc_engine *e, const char *run_id, char **owner_out,
                           struct orch_error *err)
{
    char *owner = oc_lease_new_owner();
    orch_status rc = oc_lease_renew(e, run_id, owner, err);
    if (rc == ORCH_OK)
        *owner_out = owner;
    else
        free(owner);
    return rc;
}

orch_status oc_lease_renew(struct oc_engine *e, const char *run_id, const char *owner,
                           struct orch_error *err)
{
    struct oc_store *st = e->store;
    char *name = oc_lease_name(run_id);
    orch_status rc = oc_ledger_lease_acquire(st, name, owner, oc_lease_ttl_ms(e), err);
    free(name);
    return rc;
}

void oc_lease_release(struct oc_engine *e, const char *run_id, const char *owner)
{
    if (!owner)
        return;
    struct oc_store *st = e->store;
    char *name = oc_lease_name(run_id);
    struct orch_error err;
    oc_error_init(&err);
    oc_ledger_lease_drop(st, name, owner, &err);
    oc_error_clear(&err);
    free(name);
}

void oc_leases_renew(struct oc_engine *e)
{
    int64_t now = oc_now_real_ns();
    int64_t ttl = oc_lease_ttl_ms(e);
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        if (r->done || !r->lease_owner)
            continue;
        /* As a daemon does: once a quarter of the lease has passed. */
        if (now - r->lease_renewed_ns < ttl * 1000000 / 4)
            continue;
        r->lease_renewed_ns = now;
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = oc_lease_renew(e, r->id, r->lease_owner, &err);
        if (rc == ORCH_E_CONFLICT) {
            struct oc_log_fields f = {.run_id = r->id, .component = "engine"};
            oc_log_at(ORCH_LOG_ERROR, &f, "lease lost (%s): another process took the run; "
                      "stopping here without writing", oc_error_text(&err));
            oc_run_drop(r);
        } else if (rc != ORCH_OK) {
            struct oc_log_fields f = {.run_id = r->id, .component = "engine"};
            oc_log_at(ORCH_LOG_WARN, &f, "lease renewal: %s", oc_error_text(&err));
        }
        oc_error_clear(&err);
    }
}
