/* How a run ends beyond its steps: the workflow's timeout: (a deadline on
 * the real clock, checked every tick by engine.c, which stops the run) and
 * its outputs: (evaluated once, when the run ends, into the data of
 * run.finished). Called by engine.c and resume.c; calls only below. */
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../template.h"
#include "../util.h"
#include "internal.h"

void oc_run_deadline_from(struct oc_run *r, int64_t clock_ns)
{
    r->deadline_ns = r->wf->timeout_ms ? clock_ns + r->wf->timeout_ms * 1000000 : 0;
}

int oc_run_timeout_passed(struct oc_run *r, int64_t now_real)
{
    if (!r->deadline_ns || r->done || r->timed_out || r->cancelled || r->finishing ||
        now_real < r->deadline_ns)
        return 0;
    r->timed_out = 1;
    oc_ledger_event(r, "run.timed_out",
                    json_pack("{s:I}", "timeout_ms", (json_int_t)r->wf->timeout_ms));
    return 1;
}

int64_t oc_runs_next_deadline(const struct oc_engine *e)
{
    int64_t next = 0;
    for (size_t i = 0; i < e->n_runs; i++) {
        const struct oc_run *r = e->runs[i];
        if (r->deadline_ns && !r->done && !r->timed_out && (!next || r->deadline_ns < next))
            next = r->deadline_ns;
    }
    return next;
}

json_t *oc_run_outputs(struct oc_run *r)
{
    const struct oc_node *o = r->wf->outputs;
    if (!o)
        return NULL;
    json_t *out = json_object();
    struct oc_scope sc;
    struct oc_scope_ud ud;
    oc_scope_make(&sc, &ud, r, SIZE_MAX); /* no step: see oc_scope_lookup */
    for (size_t i = 0; i < o->len; i++) {
        char *v = NULL, *err = NULL;
        if (oc_template_render(o->items[i]->str, &sc, &v, NULL, &err) != 0) {
            /* Validated, so a value the template could not make (a
             * comparison of a number with text): said, and empty. */
            struct oc_log_fields f = {.run_id = r->id, .component = "engine"};
            oc_log_at(ORCH_LOG_WARN, &f, "output %s: %s", o->keys[i]->str,
                      err ? err : "cannot be evaluated");
            free(err);
            v = oc_xstrdup("");
        }
        size_t n;
        char *safe = oc_redact(r->red, v, strlen(v), &n);
        json_object_set_new(out, o->keys[i]->str, json_stringn(safe, n));
        free(safe);
        free(v);
    }
    return out;
}
