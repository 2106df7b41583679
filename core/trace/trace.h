/* OpenTelemetry traces of runs (OTLP over HTTP, protobuf or JSON).
 *
 * One trace per run: a run span, a child per step, a child of that per
 * attempt, back-off spans between attempts, an approval's wait as a child
 * of its attempt, and an instance's create and destroy under the run's
 * span. A span begun by one process and ended by another (a run parked or
 * killed, then resumed) starts when it began: the events carry the time
 * from the ledger. The sampler's verdict is taken once per run and kept
 * with it (run.started), so a trace is whole or absent. Span ids are derived from the run's
 * id (from the run, step and attempt), and so is the trace id (SHA-256 of
 * the run's id) unless the run was started with a caller's W3C traceparent:
 * then the trace is the caller's and the run span is a child of the
 * caller's span. That context is the run's (a run.traceparent event
 * written with it), so a run resumed by another process continues the same
 * trace with the same parents, and TRACEPARENT for a step's command is
 * known before it starts.
 *
 * Configured by telemetry.traces in the config file (struct oc_telemetry)
 * or, when the file has none, by the standard variables:
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ..._HEADERS, ..._PROTOCOL
 * (http/protobuf, the default, or http/json), ..._TIMEOUT,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER
 * (parentbased_always_on, the default, always_on, always_off, traceidratio
 * with OTEL_TRACES_SAMPLER_ARG, and their parentbased_ forms). OTEL_SDK_DISABLED
 * turns either off. Nothing is exported without an endpoint.
 *
 * Export is batched on a thread of its own, bounded (2048 spans queued at
 * most; more are dropped and counted), retried with back-off on 429, 5xx
 * and connection errors, and never slows or fails a run: a collector that
 * is down costs dropped spans, never a step. */
#ifndef OC_TRACE_H
#define OC_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct oc_progress;
struct oc_telemetry;
struct oc_tracer;

/* ---- the W3C trace context (context.c) ---- */

/* A caller's context: the trace a run joins and the span it is a child of. */
struct oc_trace_parent {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    int sampled;                 /* the sampled bit of its trace-flags */
};

/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define OC_TRACEPARENT_LEN 55

/* 0 and *out when text is a traceparent orch can join (W3C Trace Context:
 * version 00 exactly; a later version read as its first four fields; ids
 * of lowercase hex, not all zeros); -1 when it is malformed, which the
 * specification says to ignore (the run then has a trace of its own). */
int oc_traceparent_parse(const char *text, struct oc_trace_parent *out);
/* text (NULL: none given) parsed as oc_traceparent_parse does; a
 * malformed one is logged as ignored, naming where it came from (what:
 * "the traceparent header", "TRACEPARENT"). 0 with *out, -1 none. */
int oc_traceparent_take(const char *text, const char *what, struct oc_trace_parent *out);
/* Version 00 with only the sampled flag, as orch sends it on. */
void oc_traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8], int sampled,
                           char out[OC_TRACEPARENT_LEN + 1]);

/* ---- names shared by telemetry.traces and the variables (sampler.c) ---- */

/* protocol: 0 http/protobuf, 1 http/json, -1 neither. */
int oc_otlp_protocol(const char *name);

struct oc_sampler {
    int parent_based;            /* a run with a caller's context follows its sampled bit */
    double ratio;                /* otherwise: the share of traces kept, 0 to 1 */
};
/* name (an OTEL_TRACES_SAMPLER value) and arg (its ratio, NULL: 1) into
 * *out: NULL, or why not (malloc'd). arg is read only by the
 * traceidratio samplers. */
char *oc_sampler_parse(const char *name, const char *arg, struct oc_sampler *out);

/* ---- the tracer (spans.c) ---- */

/* NULL when tracing is off (no endpoint, disabled, a sampler that keeps
 * nothing). file: the config's telemetry: section (NULL or unset: the
 * OTEL_* variables). service: the default service.name ("orch", "orchd"). */
struct oc_tracer *oc_tracer_new(const struct oc_telemetry *file, const char *service);
/* An engine event (engine thread only). */
void oc_tracer_progress(struct oc_tracer *t, const struct oc_progress *p);
/* Spans dropped so far: queue full, or export failed after its retries. */
uint64_t oc_tracer_dropped(const struct oc_tracer *t);
/* Flush what is queued (waiting up to a few seconds for the collector),
 * stop the thread, free. NULL is fine. */
void oc_tracer_free(struct oc_tracer *t);

/* The sampler's verdict on run_id's trace (parent: its caller's context,
 * or NULL): 1 keep, 0 drop; -1 without a tracer. Recorded with the run. */
int oc_tracer_verdict(const struct oc_tracer *t, const char *run_id,
                      const struct oc_trace_parent *parent);

/* The W3C traceparent a step's command gets as TRACEPARENT: its attempt's
 * span in the run's trace, flagged sampled as the run is (verdict: the
 * run's recorded one, -1: this process's sampler decides). Without a
 * tracer (t NULL), the caller's context as it came (orch takes no part in
 * the trace, so tools it runs join the caller's span). 0 with out, -1
 * none. */
int oc_tracer_traceparent(const struct oc_tracer *t, const struct oc_trace_parent *parent,
                          int verdict, const char *run_id, const char *step_id,
                          uint32_t attempt, char out[OC_TRACEPARENT_LEN + 1]);

#endif
