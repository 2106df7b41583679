/* orchd's Prometheus metrics (metrics.c): counted as the daemon goes,
 * aggregated at scrape time. */
#ifndef ORCHD_METRICS_H
#define ORCHD_METRICS_H

#include "engine.h"
#include "orchd.h"

struct orchd_req;
struct orchd_route;

/* Size the counters for the config's workflows and the given routes (the
 * table ends with an empty row; n_routes does not count it). */
void orchd_metrics_init(struct orchd *d, const struct orchd_route *routes, size_t n_routes);
void orchd_metrics_free(struct orchd *d);
/* The counters of cfg's workflows and webhooks, from 0 when new (at start
 * and after a reload); the counts of names it no longer has are kept. */
void orchd_metrics_config(struct orchd *d, const struct oc_config *cfg);
/* Under d->m.lock: the index of a webhook's signature-failure counters,
 * added when new. */
size_t orchd_metrics_hook_index(struct orchd *d, const char *hook);
/* The engine's progress events: runs started/finished, step outcomes and
 * durations. */
void orchd_metrics_progress(struct orchd *d, const struct oc_progress *p);
/* One answered request; route NULL when no route matched. */
void orchd_metrics_http(struct orchd *d, const struct orchd_route *route, unsigned status);
/* A label value, escaped as the text format wants (\\, \", \n). */
struct oc_buf;
void orchd_metrics_label(struct oc_buf *b, const char *s);
/* GET /metrics */
void orchd_metrics(struct orchd_req *rq);

#endif
