/* What every part of the engine does to a run it drives, below them all
 * (steps.c, instances.c, approval.c, lease.c, resume.c and engine.c call
 * down here, and reaper.c; nothing here calls back up): progress reports,
 * the ready queue, the ctx and backend blocks of its requests, and
 * dropping it. */
#include <stdlib.h>

#include "../trace/trace.h"
#include "internal.h"

void oc_engine_progress(struct oc_run *r, const struct oc_progress *p)
{
    struct oc_progress q = *p;
    q.workflow = r->wf->name;
    q.trace_parent = r->traced ? &r->trace_parent : NULL;
    q.trace_verdict = r->trace_verdict;
    oc_tracer_progress(r->e->tracer, &q);
    if (r->e->opts.on_progress)
        r->e->opts.on_progress(r->e->opts.ud, &q);
}

void oc_engine_requeue(struct oc_run *r, size_t idx)
{
    struct oc_engine *e = r->e;
    if (e->ready_len == e->ready_cap) {
        size_t cap = e->ready_cap ? e->ready_cap * 2 : 64;
        struct oc_qitem *q = oc_xmalloc(cap * sizeof *q);
        for (size_t i = 0; i < e->ready_len; i++)
            q[i] = e->ready[(e->ready_head + i) % e->ready_cap];
        free(e->ready);
        e->ready = q;
        e->ready_cap = cap;
        e->ready_head = 0;
    }
    e->ready[(e->ready_head + e->ready_len++) % e->ready_cap] =
        (struct oc_qitem){r, idx};
}

void oc_engine_enqueue(struct oc_run *r, size_t idx)
{
    if (oc_step_transition(&r->steps[idx], OC_SE_QUEUE) == 0)
        oc_engine_requeue(r, idx);
}

/* defaults.host_paths for ctx_get("host_paths"): one directory a line;
 * absent when host: paths are off. */
static char *oc_engine_ctx_host_paths(const struct oc_run *r)
{
    if (!r->cfg || !r->cfg->n_host_paths)
        return NULL;
    struct oc_buf b = {0};
    for (size_t i = 0; i < r->cfg->n_host_paths; i++)
        oc_buf_addf(&b, "%s%s", i ? "\n" : "", r->cfg->host_paths[i]);
    return oc_buf_steal(&b);
}

json_t *oc_engine_ctx_json(struct oc_run *r, const char *step_id,
                           uint32_t attempt, int64_t timeout_ms,
                           const struct oc_step_input *in)
{
    char *host_paths = oc_engine_ctx_host_paths(r);
    struct oc_req_ctx c = {.run_id = r->id, .step_id = step_id, .attempt = attempt,
                           .workflow = r->wf->name, .dry_run = r->dry_run,
                           .timeout_ms = timeout_ms, .host_paths = host_paths,
                           .secrets = in ? in->secrets : NULL, .env = in ? in->env : NULL,
                           .secret_env = in ? in->secret_env : NULL,
                           .hash_files = in ? in->hash_files : NULL};
    json_t *ctx = oc_req_ctx(&r->e->site, &c);
    free(host_paths);
    return ctx;
}

json_t *oc_backend_json(const struct oc_engine *e, const struct oc_plugin_ref *b)
{
    return oc_req_backend(&e->site, b);
}

/* Stop driving r without another write: its jobs are cancelled and their
 * results ignored. */
void oc_run_drop(struct oc_run *r)
{
    r->lost = 1;
    r->done = 1;
    for (size_t j = 0; j < r->n_steps; j++) {
        if (oc_step_in_flight(&r->steps[j]))
            oc_pool_cancel(r->e->pool, r->steps[j].job_id, 2000);
        /* Its child goes with it: whoever takes the parent over finds
         * the child by its link and its claim (call.c). */
        struct oc_run *c = r->steps[j].child;
        if (c) {
            r->steps[j].child = NULL;
            c->parent = NULL;
            oc_run_drop(c);
        }
    }
    if (r->parent) {
        r->parent->steps[r->parent_step].child = NULL;
        r->parent = NULL;
    }
}

const char *oc_run_stop_why(const struct oc_run *r)
{
    return r->timed_out ? "run timed out" : "run cancelled";
}
