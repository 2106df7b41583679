/* The sampler and the protocol by their OpenTelemetry names, shared by the
 * OTEL_* variables and telemetry.traces (which refuses what the variables
 * only warn about), and the sampler's verdict for a run's trace. */
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "internal.h"
#include "trace.h"

int oc_otlp_protocol(const char *name)
{
    return !strcmp(name, "http/protobuf") ? 0 : !strcmp(name, "http/json") ? 1 : -1;
}

char *oc_sampler_parse(const char *name, const char *arg, struct oc_sampler *out)
{
    const char *base = name;
    int parent_based = !strncmp(name, "parentbased_", 12);
    if (parent_based)
        base += 12;
    double ratio;
    if (!strcmp(base, "always_on")) {
        ratio = 1.0;
    } else if (!strcmp(base, "always_off")) {
        ratio = 0.0;
    } else if (!strcmp(base, "traceidratio")) {
        char *end = NULL;
        ratio = arg ? strtod(arg, &end) : 1.0;
        if (arg && (!*arg || *end || !(ratio >= 0 && ratio <= 1)))
            return oc_xasprintf("the sampler's argument '%s' is not a ratio from 0 to 1", arg);
    } else {
        return oc_xasprintf("sampler '%s' is not one of always_on, always_off, traceidratio, "
                            "parentbased_always_on, parentbased_always_off, "
                            "parentbased_traceidratio", name);
    }
    *out = (struct oc_sampler){parent_based, ratio};
    return NULL;
}

int oc_sampler_keeps(const struct oc_sampler *s, const uint8_t trace_id[16],
                     const struct oc_trace_parent *parent)
{
    /* ParentBased: a caller's decision is followed, kept or not. */
    if (parent && s->parent_based)
        return parent->sampled;
    if (s->ratio >= 1.0)
        return 1;
    /* TraceIdRatioBased: the low 8 bytes of the id against the ratio, so
     * every process decides alike for the same trace. */
    uint64_t v = 0;
    for (int i = 8; i < 16; i++)
        v = v << 8 | trace_id[i];
    return (double)v < s->ratio * 18446744073709551616.0;
}

int oc_sampler_keeps_any(const struct oc_sampler *s)
{
    return s->parent_based || s->ratio > 0.0;
}
