/* A run made and driven here: its record created (with the CLI's lease,
 * the caller's trace context and a child's links, in one transaction),
 * its in-memory state, its first events. Used by oc_engine_start and by
 * a call step's child (call.c); resume.c builds a loaded run with
 * oc_run_new alike. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "../runctl.h"
#include "../trace/trace.h"

struct oc_run *oc_run_new(struct oc_engine *e, struct oc_config *cfg,
                                 const struct oc_workflow *wf)
{
    struct oc_run *r = oc_xcalloc(1, sizeof *r);
    r->e = e;
    r->cfg = cfg;
    r->wf = wf;
    r->n_steps = wf->n_steps;
    r->steps = oc_xcalloc(wf->n_steps, sizeof *r->steps);
    /* Same indexes as the workflow's steps, which needs refer to; each
     * starts OC_PHASE_PENDING (zero). */
    for (size_t i = 0; i < wf->n_steps; i++) {
        r->steps[i].def = &wf->steps[i];
        r->steps[i].name = wf->steps[i].id;
        r->steps[i].group = SIZE_MAX;
        r->steps[i].inst = SIZE_MAX;
        r->steps[i].exit_code = -1;
    }
    for (size_t i = 0; i < wf->n_steps; i++)
        r->has_calls |= wf->steps[i].call != NULL;
    r->red = oc_redactor_new();
    r->trace_verdict = -1;
    r->concurrency = wf->concurrency ? wf->concurrency
                     : cfg->concurrency ? cfg->concurrency : 4;
    r->start_mono = oc_now_mono_ns();
    oc_run_deadline_from(r, oc_now_real_ns()); /* a resume sets the run's own clock */
    r->dirty = 1;
    e->runs = oc_xrealloc(e->runs, (e->n_runs + 1) * sizeof *e->runs);
    e->runs[e->n_runs++] = r;
    return r;
}

/* Recorded so `orch resume` can tell a live run from a dead one. */
void oc_ledger_process(struct oc_run *r)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    unsigned long long start = oc_proc_start_time((long)getpid());
    oc_ledger_event(r, "run.process",
                    json_pack("{s:i,s:s,s:I}", "pid", (json_int_t)getpid(),
                              "host", host, "start_time", (json_int_t)start));
}

orch_status oc_run_open(struct oc_engine *e, struct oc_config *cfg, const char *workflow,
                        json_t *inputs, const char *idempotency_key, const char *traceparent,
                        const struct oc_call_link *link, struct oc_run **out, char **run_id,
                        struct orch_error *err)
{
    const struct oc_workflow *wf;
    json_t *in = NULL;
    char *id = NULL, *lease_owner = NULL;
    struct oc_trace_parent parent;
    int traced = oc_traceparent_take(traceparent, "TRACEPARENT", &parent) == 0;
    /* The CLI's lease is taken with the run's creation: no moment where
     * the run is running and nobody owns it; the caller's trace context
     * and a child's link land with it too, so that a resume always finds
     * them. A daemon's child run is created leased to the daemon. */
    int lease = !e->opts.owner && oc_lease_supported(e);
    int txn = lease || traced || link;
    orch_status rc = txn ? oc_txn_begin(e->store, err) : ORCH_OK;
    if (rc != ORCH_OK)
        return rc;
    int64_t until = oc_now_real_ns() + oc_lease_ttl_ms(e) * 1000000;
    rc = oc_run_create_owned(e->store, cfg, workflow, inputs, idempotency_key,
                             ORCH_RUN_RUNNING, traced ? &parent : NULL,
                             link ? e->opts.owner : NULL, until, &wf, &in, &id, err);
    if (rc == ORCH_OK && link)
        rc = oc_run_event(e->store, id, "run.parent",
                          json_pack("{s:s,s:s,s:i}", "run", link->parent_id, "step",
                                    link->step, "attempt", (json_int_t)link->attempt),
                          0, err);
    if (rc == ORCH_OK && link)
        rc = oc_run_event(e->store, link->parent_id, "step.call",
                          json_pack("{s:s,s:i,s:s,s:s}", "step", link->step, "attempt",
                                    (json_int_t)link->attempt, "workflow", workflow, "run",
                                    id),
                          0, err);
    if (rc == ORCH_OK && lease)
        rc = oc_lease_first(e, id, &lease_owner, err);
    if (txn)
        rc = oc_txn_end(e->store, rc, err);
    if (rc != ORCH_OK) {
        if (rc == ORCH_E_EXISTS) {
            *run_id = id;
        } else {
            free(id);
            json_decref(in);
        }
        free(lease_owner);
        return rc;
    }
    struct oc_run *r = oc_run_new(e, cfg, wf);
    r->id = id;
    r->lease_owner = lease_owner;
    r->lease_renewed_ns = oc_now_real_ns();
    r->owner = link && e->opts.owner ? oc_xstrdup(e->opts.owner) : NULL;
    r->inputs = in;
    r->dry_run = link ? link->dry_run : e->opts.dry_run;
    r->traced = traced;
    if (traced)
        r->trace_parent = parent;
    if (link)
        r->parent_id = oc_xstrdup(link->parent_id);
    r->trace_verdict = oc_tracer_verdict(e->tracer, id, traced ? &parent : NULL);
    oc_ledger_run_started(r);
    oc_ledger_process(r);
    struct oc_progress p = {.type = OC_EV_RUN_STARTED, .run_id = r->id};
    oc_engine_progress(r, &p);
    oc_run_cg_init(r); /* its concurrency group, if its workflow has one */
    *run_id = oc_xstrdup(id);
    if (out)
        *out = r;
    return ORCH_OK;
}

