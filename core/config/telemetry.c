/* telemetry: the traces' exporter (telemetry.traces), read and checked
 * with file:line:col: what the OTEL_* variables say, in the file, with
 * errors where the variables only get a warning. The header values'
 * secrets are resolved by the exporter when it starts (core/trace), never
 * here: the config keeps the reference only. */
#include <stdlib.h>
#include <string.h>

#include "../template.h"
#include "../trace/trace.h"
#include "internal.h"

#define OC_TRACE_TIMEOUT_MAX_MS 60000

/* An HTTP field name: RFC 9110's token. */
static int oc_header_name_ok(const char *s)
{
    return *s && strspn(s, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(s);
}

struct oc_tel_ref {
    struct oc_cfg_reader *b;
    const struct oc_node *at;
    const char *what;
};

/* Before any run there are only secrets and orch's environment. */
static int oc_tel_ref_cb(void *ud, const char *ns, const char *const *parts, size_t n)
{
    struct oc_tel_ref *r = ud;
    (void)parts;
    if ((strcmp(ns, "secrets") && strcmp(ns, "env")) || n != 1)
        oc_diag_add(r->b->diag, &r->at->pos, "%s: only ${{ secrets.NAME }} and ${{ env.NAME }} "
                    "can be used here (the exporter starts before any run)", r->what);
    return 0;
}

/* A literal value: no template (only headers take one) and one line. */
static const char *oc_tel_literal(struct oc_cfg_reader *b, const struct oc_node *n,
                                  const char *what)
{
    const char *s = oc_scalar(b, n, what);
    if (s && oc_template_has(s)) {
        oc_diag_add(b->diag, &n->pos, "%s: ${{ }} is read only in telemetry.traces.headers "
                    "values", what);
        return NULL;
    }
    if (s && strpbrk(s, "\r\n")) {
        oc_diag_add(b->diag, &n->pos, "%s: a value of one line", what);
        return NULL;
    }
    return s;
}

/* headers: and resource_attributes: name: value mappings. */
static const struct oc_node *oc_tel_pairs(struct oc_cfg_reader *b, const struct oc_node *traces,
                                          const char *key, int headers)
{
    char *w = oc_xasprintf("telemetry.traces.%s", key);
    const struct oc_node *m = oc_get_map(b, traces, key, w);
    for (size_t i = 0; m && i < m->len; i++) {
        const struct oc_node *k = m->keys[i], *v = m->items[i];
        char *what = oc_xasprintf("%s.%s", w, k->str);
        if (headers ? !oc_header_name_ok(k->str) : !*k->str)
            oc_diag_add(b->diag, &k->pos, "%s: '%s' is not %s", w, k->str,
                        headers ? "an HTTP header name" : "an attribute name");
        if (v->kind != OC_NODE_SCALAR) {
            oc_diag_add(b->diag, &v->pos, "%s must be a value, not a %s", what,
                        oc_node_kind_name(v->kind));
        } else if (headers && oc_template_has(v->str)) {
            struct oc_tel_ref r = {b, v, what};
            char *err = NULL;
            if (oc_template_refs(v->str, 0, oc_tel_ref_cb, &r, &err) != 0 && err)
                oc_diag_add(b->diag, &v->pos, "%s: %s", what, err);
            free(err);
        } else {
            oc_tel_literal(b, v, what);
        }
        free(what);
    }
    free(w);
    return m;
}

/* sampler and sampler_arg, checked by the parser the variables use. */
static void oc_tel_sampler(struct oc_cfg_reader *b, const struct oc_node *traces,
                           struct oc_telemetry *t)
{
    const struct oc_node *sn = oc_node_get(traces, "sampler");
    const struct oc_node *an = oc_node_get(traces, "sampler_arg");
    const char *name = oc_tel_literal(b, sn, "telemetry.traces.sampler");
    const char *arg = oc_tel_literal(b, an, "telemetry.traces.sampler_arg");
    struct oc_sampler s;
    char *why = name ? oc_sampler_parse(name, NULL, &s) : NULL;
    if (why) {
        oc_diag_add(b->diag, &sn->pos, "telemetry.traces: %s", why);
        free(why);
        return;
    }
    if (arg && (!name || !strstr(name, "traceidratio"))) {
        oc_diag_add(b->diag, &an->pos, "telemetry.traces.sampler_arg is read only by the "
                    "traceidratio and parentbased_traceidratio samplers");
        return;
    }
    if (arg && (why = oc_sampler_parse(name, arg, &s))) {
        oc_diag_add(b->diag, &an->pos, "telemetry.traces: %s", why);
        free(why);
        return;
    }
    t->sampler = name ? oc_xstrdup(name) : NULL;
    t->sampler_arg = arg ? oc_xstrdup(arg) : NULL;
}

static void oc_tel_endpoint(struct oc_cfg_reader *b, const struct oc_node *traces,
                            struct oc_telemetry *t)
{
    const struct oc_node *n = oc_node_get(traces, "endpoint");
    const char *url = oc_tel_literal(b, n, "telemetry.traces.endpoint");
    if (!n || n->kind == OC_NODE_NULL)
        oc_diag_add(b->diag, &traces->pos, "telemetry.traces: 'endpoint' is required (the "
                    "URL spans are sent to, e.g. http://collector:4318/v1/traces)");
    else if (url && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        oc_diag_add(b->diag, &n->pos, "telemetry.traces.endpoint: '%s' is not an http:// or "
                    "https:// URL", url);
    else if (url)
        t->endpoint = oc_xstrdup(url);
}

void oc_telemetry_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    static const char *const keys[] = {"traces", NULL};
    static const char *const tkeys[] = {"endpoint", "protocol", "headers", "service_name",
                                        "sampler", "sampler_arg", "timeout",
                                        "resource_attributes", NULL};
    struct oc_telemetry *t = &b->cfg->telemetry;
    const struct oc_node *tel = oc_get_map(b, root, "telemetry", "telemetry");
    oc_cfg_check_keys(tel, keys, "telemetry", b->diag);
    const struct oc_node *tr = oc_get_map(b, tel, "traces", "telemetry.traces");
    if (!tr)
        return;
    oc_cfg_check_keys(tr, tkeys, "telemetry.traces", b->diag);
    t->set = 1;
    t->pos = tr->pos;
    oc_tel_endpoint(b, tr, t);
    const struct oc_node *pn = oc_node_get(tr, "protocol");
    const char *proto = oc_tel_literal(b, pn, "telemetry.traces.protocol");
    if (proto && oc_otlp_protocol(proto) < 0)
        oc_diag_add(b->diag, &pn->pos, "telemetry.traces.protocol: '%s' is not http/protobuf "
                    "or http/json", proto);
    t->json = proto && oc_otlp_protocol(proto) == 1;
    t->headers = oc_tel_pairs(b, tr, "headers", 1);
    t->resource_attributes = oc_tel_pairs(b, tr, "resource_attributes", 0);
    const char *svc = oc_tel_literal(b, oc_node_get(tr, "service_name"),
                                     "telemetry.traces.service_name");
    t->service_name = svc ? oc_xstrdup(svc) : NULL;
    oc_tel_sampler(b, tr, t);
    const struct oc_node *tn = oc_node_get(tr, "timeout");
    t->timeout_ms = oc_get_duration(b, tr, "timeout", OC_TRACE_TIMEOUT_DEFAULT_MS,
                                    "telemetry.traces");
    if (tn && (t->timeout_ms < 1 || t->timeout_ms > OC_TRACE_TIMEOUT_MAX_MS))
        oc_diag_add(b->diag, &tn->pos, "telemetry.traces.timeout: from 1ms to 60s (a number "
                    "alone is seconds)");
}

void oc_telemetry_free(struct oc_telemetry *t)
{
    free(t->endpoint);
    free(t->service_name);
    free(t->sampler);
    free(t->sampler_arg);
}
