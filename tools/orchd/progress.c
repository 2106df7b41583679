/* The engine's progress callback in the daemon: each run and step event
 * becomes a log line, moves the metrics, and a finished run is handed to
 * the notifier. */
#include "host.h"
#include "metrics.h"
#include "orchd.h"

void orchd_on_progress(void *ud, const struct oc_progress *p)
{
    struct orchd *d = ud;
    struct oc_log_fields f = {.run_id = p->run_id, .step_id = p->step_id,
                              .attempt = p->attempt, .component = "engine"};
    orchd_metrics_progress(d, p);
    switch (p->type) {
    case OC_EV_RUN_STARTED:
        oc_log_at(ORCH_LOG_INFO, &f, "run %s", p->message ? p->message : "started");
        break;
    case OC_EV_RUN_CONCURRENCY:
        oc_log_at(ORCH_LOG_INFO, &f, "%s", p->message ? p->message : "concurrency group");
        break;
    case OC_EV_STEP_STARTED:
        oc_log_at(ORCH_LOG_INFO, &f, "step started");
        break;
    case OC_EV_STEP_WAITING:
        oc_log_at(ORCH_LOG_INFO, &f, "step %s", p->message ? p->message : "waiting");
        break;
    case OC_EV_STEP_DECIDED:
        oc_log_at(ORCH_LOG_INFO, &f, "step %s by %s", p->message ? p->message : "decided",
                  p->decided_by ? p->decided_by : "someone");
        break;
    case OC_EV_STEP_RETRY:
        oc_log_at(ORCH_LOG_WARN, &f, "attempt failed, retrying: %s",
                  p->message ? p->message : "");
        break;
    case OC_EV_STEP_FINISHED:
        oc_log_at(p->state == ORCH_STEP_SUCCEEDED || p->state == ORCH_STEP_SKIPPED
                      ? ORCH_LOG_INFO
                      : ORCH_LOG_WARN,
                  &f, "step %s%s%s", orch_step_state_name(p->state), p->message ? ": " : "",
                  p->message ? p->message : "");
        break;
    case OC_EV_RUN_FINISHED:
        oc_log_at(p->state == ORCH_RUN_SUCCEEDED || p->state == ORCH_RUN_WAITING
                      ? ORCH_LOG_INFO
                      : ORCH_LOG_WARN,
                  &f, "run %s%s%s", orch_run_state_name(p->state), p->message ? ": " : "",
                  p->message ? p->message : "");
        if (p->state != ORCH_RUN_WAITING && d->notifier)
            orchd_notify_run(d->notifier, p->run_id, p->workflow, p->state, p->message);
        break;
    default:
        break;
    }
}
