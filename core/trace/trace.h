/* OpenTelemetry traces of runs (OTLP over HTTP, protobuf or JSON).
 *
 * One trace per run: a run span, a child per step, a child of that per
 * attempt, and back-off spans between attempts; instance events and
 * approvals waited on are span events. Ids are derived from the run's id
 * (trace id = SHA-256(run)[0..16], span ids from the run, step and
 * attempt), so a run resumed by another process continues the same trace
 * with the same parents and needs nothing stored, and TRACEPARENT for a
 * step's command is known before it starts.
 *
 * Configured by the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (+
 * /v1/traces) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ..._HEADERS,
 * ..._PROTOCOL (http/protobuf, the default, or http/json), ..._TIMEOUT,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER
 * (always_on, always_off, traceidratio with OTEL_TRACES_SAMPLER_ARG;
 * parentbased_* as their base), OTEL_SDK_DISABLED. Nothing is exported
 * without an endpoint.
 *
 * Export is batched on a thread of its own, bounded (2048 spans queued at
 * most; more are dropped and counted), retried with back-off on 429, 5xx
 * and connection errors, and never slows or fails a run: a collector that
 * is down costs dropped spans, never a step. */
#ifndef OC_TRACE_H
#define OC_TRACE_H

#include <stdint.h>

struct oc_progress;
struct oc_tracer;

/* NULL when tracing is off (no endpoint, disabled, always_off). service:
 * the default service.name ("orch", "orchd"). */
struct oc_tracer *oc_tracer_from_env(const char *service);
/* An engine event (engine thread only). */
void oc_tracer_progress(struct oc_tracer *t, const struct oc_progress *p);
/* Spans dropped so far: queue full, or export failed after its retries. */
uint64_t oc_tracer_dropped(const struct oc_tracer *t);
/* Flush what is queued (waiting up to a few seconds for the collector),
 * stop the thread, free. NULL is fine. */
void oc_tracer_free(struct oc_tracer *t);

/* The W3C traceparent of an attempt's span ("00-TRACE-SPAN-01"), what its
 * command gets as TRACEPARENT; out has room for 56 bytes. */
void oc_trace_traceparent(const char *run_id, const char *step_id, uint32_t attempt,
                          char out[56]);

#endif
