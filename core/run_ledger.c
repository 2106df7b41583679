/* One walk of a run's ledger for the run's detail (run_ledger.h). */
#include "run_ledger.h"

#include "logread.h"
#include "run_concurrency.h"
#include "run_outputs.h"

static int32_t oc_run_ledger_ev(void *ud, const struct orch_event_rec *e)
{
    struct oc_run_ledger *l = ud;
    oc_run_outputs_ev(&l->outputs, e);
    oc_run_links_ev(l->links, e);
    oc_run_concurrency_ev(&l->concurrency, e);
    oc_log_truncation_ev(l->cuts, e);
    return 0;
}

void oc_run_ledger_clear(struct oc_run_ledger *l)
{
    json_decref(l->outputs);
    json_decref(l->links);
    json_decref(l->concurrency);
    json_decref(l->cuts);
    *l = (struct oc_run_ledger){0};
}

orch_status oc_run_ledger_read(struct oc_store *st, const char *run_id,
                               struct oc_run_ledger *l, struct orch_error *err)
{
    *l = (struct oc_run_ledger){.links = oc_run_links_new(), .cuts = json_object()};
    orch_status rc = st->vt->event_list(st->h, run_id, 0, 0, oc_run_ledger_ev, l, err);
    if (rc != ORCH_OK)
        oc_run_ledger_clear(l);
    return rc;
}
