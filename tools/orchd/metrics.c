/* orchd's Prometheus metrics. Two kinds: what the daemon counts as it goes
 * (runs started and finished by workflow, run and step durations, HTTP
 * requests by route and code, claims, ticks) and what it reads at scrape
 * time in one aggregate each (runs by state and the oldest queued run from
 * the store's run_stats, live instances by backend from the ownership
 * ledger, the executor pool). No scrape walks the run list, so its cost
 * does not grow with the store. Every family carries HELP and TYPE and
 * follows Prometheus naming (base units, _total on counters); tests/e2e/
 * test_metrics.sh runs promtool over a scrape taken after a varied
 * workload. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "authlog.h"
#include "engine.h"
#include "host.h"
#include "http.h"
#include "instances.h"
#include "metrics.h"
#include "store.h"
#include "util.h"
#include "version.h"

static const double orchd_dur_bounds[ORCHD_DUR_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,   1,    2.5,   5,    10,  60,
                                                           300,   1800, 7200};

/* The status codes orchd answers with get a counter each; others share
 * the last slot, exported with code="other". */
static const unsigned orchd_codes[ORCHD_HTTP_CODES] = {200, 201, 202, 204, 400, 401, 403, 404,
                                                       405, 409, 413, 429, 500, 502, 503, 0};

/* Under m.lock: the index of workflow's counters, added when new. */
static size_t orchd_wf_index(struct orchd *d, const char *workflow)
{
    const char *name = workflow ? workflow : "(unknown)";
    for (size_t i = 0; i < d->m.n_wf; i++)
        if (!strcmp(d->m.wf_started[i].name, name))
            return i;
    size_t n = d->m.n_wf++;
    d->m.wf_started = oc_xrealloc(d->m.wf_started, d->m.n_wf * sizeof *d->m.wf_started);
    d->m.wf_finished = oc_xrealloc(d->m.wf_finished, d->m.n_wf * sizeof *d->m.wf_finished);
    d->m.wf_started[n] = (struct orchd_named_count){.name = oc_xstrdup(name)};
    d->m.wf_finished[n] = (struct orchd_named_count){.name = oc_xstrdup(name)};
    return n;
}

size_t orchd_metrics_hook_index(struct orchd *d, const char *hook)
{
    for (size_t i = 0; i < d->m.n_hooks; i++)
        if (!strcmp(d->m.hook_sig[i].name, hook))
            return i;
    size_t n = d->m.n_hooks++;
    d->m.hook_sig = oc_xrealloc(d->m.hook_sig, d->m.n_hooks * sizeof *d->m.hook_sig);
    d->m.hook_sig[n] = (struct orchd_named_count){.name = oc_xstrdup(hook)};
    return n;
}

void orchd_metrics_config(struct orchd *d, const struct oc_config *cfg)
{
    pthread_mutex_lock(&d->m.lock);
    for (size_t i = 0; i < cfg->n_workflows; i++)
        orchd_wf_index(d, cfg->workflows[i].name);
    const struct orchd_cfg *dc = orchd_cfg_of(cfg);
    for (size_t i = 0; i < dc->n_hooks; i++)
        orchd_metrics_hook_index(d, dc->hooks[i].name);
    pthread_mutex_unlock(&d->m.lock);
}

void orchd_metrics_init(struct orchd *d, const struct orchd_route *routes, size_t n_routes)
{
    d->routes = routes;
    d->n_routes = n_routes;
    d->m.http = oc_xcalloc((d->n_routes + 1) * ORCHD_HTTP_CODES, sizeof(uint64_t));
    orchd_metrics_config(d, d->cfg);
}

static void orchd_named_free(struct orchd_named_count *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].name);
    free(c);
}

void orchd_metrics_free(struct orchd *d)
{
    orchd_named_free(d->m.wf_started, d->m.n_wf);
    orchd_named_free(d->m.wf_finished, d->m.n_wf);
    orchd_named_free(d->m.hook_sig, d->m.n_hooks);
    free(d->m.http);
    d->m.wf_started = d->m.wf_finished = d->m.hook_sig = NULL;
    d->m.n_wf = d->m.n_hooks = 0;
    d->m.http = NULL;
}

static void orchd_hist_add(struct orchd_hist *h, double secs)
{
    for (size_t b = 0; b < ORCHD_DUR_BUCKETS; b++)
        if (secs <= orchd_dur_bounds[b])
            h->buckets[b]++;
    h->sum += secs;
    h->count++;
}

void orchd_metrics_progress(struct orchd *d, const struct oc_progress *p)
{
    pthread_mutex_lock(&d->m.lock);
    switch (p->type) {
    case OC_EV_RUN_STARTED:
        d->m.wf_started[orchd_wf_index(d, p->workflow)].n[0]++;
        break;
    case OC_EV_STEP_FINISHED:
        if (p->state < 10)
            d->m.steps_finished[p->state]++;
        orchd_hist_add(&d->m.step_dur, (double)p->duration_ns / 1e9);
        break;
    case OC_EV_RUN_FINISHED:
        /* A parked run (waiting for approval) has not finished; a lost
         * one (state 0) is another daemon's to count. */
        if (p->state >= ORCH_RUN_SUCCEEDED && p->state <= ORCH_RUN_CANCELLED) {
            d->m.runs_finished[p->state]++;
            d->m.wf_finished[orchd_wf_index(d, p->workflow)].n[p->state]++;
            orchd_hist_add(&d->m.run_dur, (double)p->duration_ns / 1e9);
        }
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&d->m.lock);
}

void orchd_metrics_http(struct orchd *d, const struct orchd_route *route, unsigned status)
{
    size_t r = route ? (size_t)(route - d->routes) : d->n_routes; /* last: unmatched */
    size_t c = 0;
    while (c + 1 < ORCHD_HTTP_CODES && orchd_codes[c] != status)
        c++;
    pthread_mutex_lock(&d->m.lock);
    d->m.http[r * ORCHD_HTTP_CODES + c]++;
    pthread_mutex_unlock(&d->m.lock);
}

/* "# HELP" and "# TYPE" lines of one family. */
static void orchd_family(struct oc_buf *b, const char *name, const char *type, const char *help)
{
    oc_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void orchd_metrics_label(struct oc_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            oc_buf_addc(b, '\\');
        if (*s == '\n')
            oc_buf_adds(b, "\\n");
        else
            oc_buf_addc(b, *s);
    }
}

static void orchd_hist(struct oc_buf *b, const char *name, const struct orchd_hist *h)
{
    for (size_t i = 0; i < ORCHD_DUR_BUCKETS; i++)
        oc_buf_addf(b, "%s_bucket{le=\"%g\"} %llu\n", name, orchd_dur_bounds[i],
                    (unsigned long long)h->buckets[i]);
    oc_buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                (unsigned long long)h->count, name, h->sum, name, (unsigned long long)h->count);
}

/* Runs by state, queue depth and age, dead letters, waiting approvals:
 * one run_stats read of the store. */
static void orchd_store_gauges(struct orchd *d, struct oc_buf *b)
{
    struct orch_run_stats st;
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(d);
    int64_t t0 = oc_now_mono_ns();
    orch_status rc = oc_store_run_stats(d->api, &st, &err);
    int64_t took = oc_now_mono_ns() - t0;
    ORCHD_API_UNLOCK(d);
    orchd_family(b, "orch_store_up", "gauge",
                 "1 when the last scrape's aggregate read of the store succeeded.");
    oc_buf_addf(b, "orch_store_up %d\n", rc == ORCH_OK);
    orchd_family(b, "orch_store_stats_read_seconds", "gauge",
                 "How long this scrape's aggregate read of the store took.");
    oc_buf_addf(b, "orch_store_stats_read_seconds %.6f\n", (double)took / 1e9);
    oc_error_clear(&err);
    if (rc != ORCH_OK)
        return;
    orchd_family(b, "orch_runs", "gauge", "Runs in the store by state (every daemon's).");
    for (uint32_t s = ORCH_RUN_QUEUED; s <= ORCH_RUN_CANCELLED; s++)
        oc_buf_addf(b, "orch_runs{state=\"%s\"} %llu\n", orch_run_state_name(s),
                    (unsigned long long)st.by_state[s]);
    orchd_family(b, "orch_queue_depth", "gauge", "Runs queued for a worker.");
    oc_buf_addf(b, "orch_queue_depth %llu\n", (unsigned long long)st.by_state[ORCH_RUN_QUEUED]);
    orchd_family(b, "orch_queue_oldest_age_seconds", "gauge",
                 "Age of the oldest queued run (0 when the queue is empty).");
    int64_t now = orchd_now(d);
    oc_buf_addf(b, "orch_queue_oldest_age_seconds %.3f\n",
                st.oldest_queued_ns && now > st.oldest_queued_ns
                    ? (double)(now - st.oldest_queued_ns) / 1e9
                    : 0.0);
    orchd_family(b, "orch_dead_letters", "gauge",
                 "Runs that failed after their retries were spent (GET /v1/dead-letters).");
    oc_buf_addf(b, "orch_dead_letters %llu\n", (unsigned long long)st.by_state[ORCH_RUN_FAILED]);
    orchd_family(b, "orch_runs_waiting_approval", "gauge", "Runs parked on an approval step.");
    oc_buf_addf(b, "orch_runs_waiting_approval %llu\n",
                (unsigned long long)st.by_state[ORCH_RUN_WAITING]);
}

static void orchd_instance_gauges(struct orchd *d, const struct oc_config *cfg, struct oc_buf *b)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *rows = orchd_inst_list(d, &err);
    oc_error_clear(&err);
    if (!rows)
        return;
    orchd_family(b, "orch_instances_live", "gauge",
                 "Instances of the ownership ledger not destroyed, by configured backend.");
    for (size_t k = 0; k < cfg->n_backends; k++) {
        const char *name = cfg->backends[k].name;
        size_t i, n = 0;
        json_t *row;
        json_array_foreach(rows, i, row) {
            const char *be = json_string_value(json_object_get(row, "backend"));
            n += be && !strcmp(be, name) && orchd_inst_live(row);
        }
        oc_buf_adds(b, "orch_instances_live{backend=\"");
        orchd_metrics_label(b, name);
        oc_buf_addf(b, "\"} %zu\n", n);
    }
    json_decref(rows);
}

static void orchd_pool_gauges(struct orchd *d, struct oc_buf *b)
{
    struct oc_engine_exec_stats ps = {0};
    if (d->eng)
        oc_engine_exec_stats(d->eng, &ps);
    orchd_family(b, "orch_executors", "gauge",
                 "Executor processes of the engine's pool by state (idle counts free slots).");
    oc_buf_addf(b, "orch_executors{state=\"busy\"} %u\norch_executors{state=\"idle\"} %u\n",
                ps.busy, ps.capacity > ps.busy ? ps.capacity - ps.busy : 0);
    orchd_family(b, "orch_executor_crashes_total", "counter",
                 "Executors that died (signal, exit, protocol error) or were killed at a deadline.");
    oc_buf_addf(b, "orch_executor_crashes_total %llu\n", (unsigned long long)ps.crashes);
    orchd_family(b, "orch_otlp_spans_dropped_total", "counter",
                 "Trace spans not exported: the queue was full or the collector did not take them.");
    oc_buf_addf(b, "orch_otlp_spans_dropped_total %llu\n",
                (unsigned long long)(d->eng ? oc_engine_spans_dropped(d->eng) : 0));
}

/* The auth and webhook-signature refusals authlog.c counts. */
static void orchd_auth_metrics(struct orchd *d, struct oc_buf *b)
{
    oc_buf_adds(b, "# HELP orch_http_auth_failures_total Requests refused for a missing "
                   "(reason missing) or unknown (invalid) bearer token, or a token without "
                   "the route's role (forbidden), or a session cookie's write without the CSRF "
                   "proof (csrf), by method and route template.\n"
                   "# TYPE orch_http_auth_failures_total counter\n");
    size_t nr = d->n_routes;
    for (size_t i = 0; d->m.auth_failures && i < nr; i++)
        for (int k = 0; k < ORCHD_AUTH_N; k++) {
            uint64_t v = d->m.auth_failures[i * ORCHD_AUTH_N + (size_t)k];
            if (v)
                oc_buf_addf(b, "orch_http_auth_failures_total{method=\"%s\",route=\"%s\","
                               "reason=\"%s\"} %llu\n", d->routes[i].method,
                            d->routes[i].pattern, orchd_auth_reasons[k],
                            (unsigned long long)v);
        }
    oc_buf_adds(b, "# HELP orch_webhook_signature_failures_total Webhook requests refused "
                   "for a missing or mismatching HMAC-SHA256 signature, by webhook.\n"
                   "# TYPE orch_webhook_signature_failures_total counter\n");
    for (size_t i = 0; i < d->m.n_hooks; i++)
        for (int k = 0; k < ORCHD_SIG_N; k++) {
            oc_buf_adds(b, "orch_webhook_signature_failures_total{webhook=\"");
            orchd_metrics_label(b, d->m.hook_sig[i].name);
            oc_buf_addf(b, "\",reason=\"%s\"} %llu\n", orchd_sig_reasons[k],
                        (unsigned long long)d->m.hook_sig[i].n[k]);
        }
}

void orchd_metrics(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    struct oc_buf b = {0};
    orchd_family(&b, "orch_build_info", "gauge", "orch's version; always 1.");
    oc_buf_addf(&b, "orch_build_info{version=\"%s\"} 1\n", oc_version());
    orchd_store_gauges(d, &b);
    orchd_instance_gauges(d, rq->cfg, &b);
    orchd_pool_gauges(d, &b);
    int64_t last = atomic_load(&d->last_tick_ns);
    orchd_family(&b, "orch_scheduler_last_tick_age_seconds", "gauge",
                 "Since the scheduler last ticked (-1 before the first tick).");
    oc_buf_addf(&b, "orch_scheduler_last_tick_age_seconds %.3f\n",
                last ? (double)(orchd_now(d) - last) / 1e9 : -1.0);
    orchd_family(&b, "orch_plugin_load_errors", "gauge", "Plugin files that did not load.");
    oc_buf_addf(&b, "orch_plugin_load_errors %zu\n", json_array_size(d->plugin_errors));
    orchd_family(&b, "orch_paused", "gauge", "1 while the control flag paused is set.");
    oc_buf_addf(&b, "orch_paused %d\n", atomic_load(&d->paused));
    orchd_family(&b, "orch_proof_mode", "gauge", "1 while the control flag proof is set.");
    oc_buf_addf(&b, "orch_proof_mode %d\n", atomic_load(&d->proof));

    pthread_mutex_lock(&d->m.lock);
    orchd_family(&b, "orch_runs_started_total", "counter",
                 "Runs this daemon started or adopted, by workflow.");
    for (size_t i = 0; i < d->m.n_wf; i++) {
        oc_buf_adds(&b, "orch_runs_started_total{workflow=\"");
        orchd_metrics_label(&b, d->m.wf_started[i].name);
        oc_buf_addf(&b, "\"} %llu\n", (unsigned long long)d->m.wf_started[i].n[0]);
    }
    orchd_family(&b, "orch_runs_finished_total", "counter",
                 "Runs this daemon finished, by workflow and final state (terminal states only).");
    for (size_t i = 0; i < d->m.n_wf; i++)
        for (uint32_t s = ORCH_RUN_SUCCEEDED; s <= ORCH_RUN_CANCELLED; s++) {
            oc_buf_adds(&b, "orch_runs_finished_total{workflow=\"");
            orchd_metrics_label(&b, d->m.wf_finished[i].name);
            oc_buf_addf(&b, "\",state=\"%s\"} %llu\n", orch_run_state_name(s),
                        (unsigned long long)d->m.wf_finished[i].n[s]);
        }
    orchd_family(&b, "orch_steps_finished_total", "counter",
                 "Step attempts' final outcomes on this daemon, by state.");
    for (uint32_t s = ORCH_STEP_SUCCEEDED; s <= ORCH_STEP_UNKNOWN; s++)
        oc_buf_addf(&b, "orch_steps_finished_total{state=\"%s\"} %llu\n", orch_step_state_name(s),
                    (unsigned long long)d->m.steps_finished[s]);
    orchd_family(&b, "orch_run_duration_seconds", "histogram",
                 "From this daemon starting (or adopting) a run to its end.");
    orchd_hist(&b, "orch_run_duration_seconds", &d->m.run_dur);
    orchd_family(&b, "orch_step_duration_seconds", "histogram", "Step durations, all attempts.");
    orchd_hist(&b, "orch_step_duration_seconds", &d->m.step_dur);
    orchd_family(&b, "orch_scheduler_ticks_total", "counter", "Scheduler rounds.");
    oc_buf_addf(&b, "orch_scheduler_ticks_total %llu\n", (unsigned long long)d->m.ticks);
    orchd_family(&b, "orch_leader", "gauge",
                 "1 while this daemon drives the store's runs (worker.mode shared, or it holds "
                 "the leader lease); 0 on standby.");
    oc_buf_addf(&b, "orch_leader %d\n", atomic_load(&d->role) != ORCHD_STANDBY);
    orchd_family(&b, "orch_scheduler_tick_overruns_total", "counter",
                 "Scheduler rounds that took longer than worker.max_tick.");
    oc_buf_addf(&b, "orch_scheduler_tick_overruns_total %llu\n",
                (unsigned long long)d->m.tick_overruns);
    const struct {
        const char *name, *help;
        uint64_t v;
    } retention[] = {
        {"orch_retention_sweeps_total",
         "Retention sweeps this daemon ran (retention:, worker.retention_every).",
         d->m.retention_sweeps},
        {"orch_retention_runs_deleted_total",
         "Ended runs retention deleted, with their attempts, events and logs.",
         d->m.retention_runs},
        {"orch_retention_blobs_deleted_total",
         "Artifact blobs retention deleted (of deleted runs and expired artifacts).",
         d->m.retention_blobs},
        {"orch_retention_log_bytes_deleted_total", "Bytes of step logs retention deleted.",
         d->m.retention_log_bytes},
        {"orch_retention_reclaimed_bytes_total",
         "Bytes the store's file shrank by after retention (SQLite incremental vacuum).",
         d->m.retention_reclaimed},
        {"orch_retention_errors_total",
         "Runs retention had to keep for now, and sweeps that failed.", d->m.retention_errors},
    };
    for (size_t i = 0; i < sizeof retention / sizeof retention[0]; i++) {
        orchd_family(&b, retention[i].name, "counter", retention[i].help);
        oc_buf_addf(&b, "%s %llu\n", retention[i].name, (unsigned long long)retention[i].v);
    }
    orchd_family(&b, "orch_runs_claimed_total", "counter", "Queued runs this daemon claimed.");
    oc_buf_addf(&b, "orch_runs_claimed_total %llu\n", (unsigned long long)d->m.claims);
    orchd_family(&b, "orch_notify_failures_total", "counter",
                 "Notifications that could not be delivered.");
    oc_buf_addf(&b, "orch_notify_failures_total %llu\n", (unsigned long long)d->m.notify_failures);
    orchd_family(&b, "orch_http_requests_total", "counter",
                 "API requests by method, route template and status code.");
    size_t nr = d->n_routes;
    for (size_t r = 0; r <= nr; r++)
        for (size_t c = 0; c < ORCHD_HTTP_CODES; c++) {
            uint64_t v = d->m.http[r * ORCHD_HTTP_CODES + c];
            if (!v)
                continue;
            char code[16];
            if (orchd_codes[c])
                snprintf(code, sizeof code, "%u", orchd_codes[c]);
            else
                snprintf(code, sizeof code, "other");
            oc_buf_addf(&b, "orch_http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %llu\n",
                        r < nr ? d->routes[r].method : "other",
                        r < nr ? d->routes[r].pattern : "unmatched", code,
                        (unsigned long long)v);
        }
    orchd_auth_metrics(d, &b);
    pthread_mutex_unlock(&d->m.lock);
    rq->status = 200;
    rq->text = oc_buf_steal(&b);
    rq->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
