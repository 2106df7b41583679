/* The host side of a case: contexts whose services record what the plugin
 * did, options parsed by the core exactly as a workflow's would be, leak
 * accounting through the host allocator, and the torture loop. */
#define _GNU_SOURCE
#include "cf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "host_owners.h"
#include "options.h"

static struct cf_ctx *cf_of(struct orch_ctx *ctx)
{
    return (struct cf_ctx *)ctx;
}

static void cf_op_log(struct orch_ctx *ctx, uint32_t level, const char *line)
{
    struct cf_ctx *x = cf_of(ctx);
    oc_buf_addf(&x->log, "[%u] %s\n", level, line);
    if (x->c->verbose)
        fprintf(stderr, "  log: %s\n", line);
}

static void cf_op_log_stream(struct orch_ctx *ctx, uint32_t stream, const char *data,
                             uint64_t len)
{
    (void)ctx, (void)stream, (void)data, (void)len;
}

static orch_status cf_op_secret_get(struct orch_ctx *ctx, const char *name, char **buf,
                                    uint64_t *len, struct orch_error *err)
{
    struct cf_ctx *x = cf_of(ctx);
    const struct oc_node *v = x->c->conf->secrets ? oc_node_get(x->c->conf->secrets, name) : NULL;
    if (!v || v->kind != OC_NODE_SCALAR)
        return oc_error_set(err, ORCH_E_NOT_FOUND, "secret %s is not set in conformance.yaml", name);
    /* ${env.NAME} as in with: (a token the test script has); it was checked
     * for being set, and then handed over unexpanded. */
    char *val = cf_expand(v->str, x->c->tmp);
    *len = strlen(val);
    *buf = oc_host()->alloc(*len + 1);
    if (*buf)
        memcpy(*buf, val, *len + 1);
    free(val);
    return *buf ? ORCH_OK : oc_error_set(err, ORCH_E_NOMEM, "out of memory");
}

static orch_status cf_op_output_set(struct orch_ctx *ctx, const char *key, const char *value)
{
    struct cf_ctx *x = cf_of(ctx);
    if (x->dry_run)
        x->side_effects++;
    json_object_set_new(x->outputs, key, json_string(value ? value : ""));
    return ORCH_OK;
}

static orch_status cf_op_emit(struct orch_ctx *ctx, const char *type, const char *json)
{
    (void)ctx, (void)type, (void)json;
    return ORCH_OK;
}

static orch_status cf_op_artifact_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd,
                                      void *ud, struct orch_error *err)
{
    struct cf_ctx *x = cf_of(ctx);
    if (x->dry_run)
        x->side_effects++;
    char buf[65536];
    int64_t n;
    while ((n = rd(ud, buf, sizeof buf)) > 0)
        ;
    (void)name;
    return n < 0 ? oc_error_set(err, ORCH_E_IO, "artifact %s: read failed", name) : ORCH_OK;
}

static orch_status cf_op_inst_exec(struct orch_ctx *ctx, const struct orch_exec_req *req,
                                   struct orch_exec_res *res, struct orch_error *err)
{
    struct cf_ctx *x = cf_of(ctx);
    if (!x->inst)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "no instance bound");
    if (x->dry_run)
        x->side_effects++;
    return x->inst->vt->exec(x->inst->inst, ctx, req, res, err);
}

static orch_status cf_op_inst_put(struct orch_ctx *ctx, const char *path, uint32_t mode,
                                  orch_read_fn rd, void *ud, struct orch_error *err)
{
    struct cf_ctx *x = cf_of(ctx);
    if (!x->inst)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "no instance bound");
    if (x->dry_run)
        x->side_effects++;
    return x->inst->vt->put_file(x->inst->inst, ctx, path, mode, rd, ud, err);
}

static orch_status cf_op_inst_get(struct orch_ctx *ctx, const char *path, orch_write_fn wr,
                                  void *ud, struct orch_error *err)
{
    struct cf_ctx *x = cf_of(ctx);
    if (!x->inst)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "no instance bound");
    return x->inst->vt->get_file(x->inst->inst, ctx, path, wr, ud, err);
}

static orch_status cf_op_inst_list(struct orch_ctx *ctx, const char *path, orch_dirent_fn fn,
                                   void *ud, struct orch_error *err)
{
    struct cf_ctx *x = cf_of(ctx);
    if (!x->inst)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "no instance bound");
    return x->inst->vt->list_dir(x->inst->inst, ctx, path, fn, ud, err);
}

static const struct oc_ctx_ops cf_ops = {
    .log = cf_op_log,
    .log_stream = cf_op_log_stream,
    .secret_get = cf_op_secret_get,
    .output_set = cf_op_output_set,
    .emit = cf_op_emit,
    .artifact_put = cf_op_artifact_put,
    .inst_exec = cf_op_inst_exec,
    .inst_put_file = cf_op_inst_put,
    .inst_get_file = cf_op_inst_get,
    .inst_list_dir = cf_op_inst_list,
};

void cf_ctx_init(struct cf_ctx *x, struct cf *c, const char *prefix)
{
    memset(x, 0, sizeof *x);
    oc_ctx_init(&x->ctx, prefix);
    x->c = c;
    x->ctx.ops = &cf_ops;
    x->ctx.tmpdir = c->tmp;
    x->ctx.state_dir = c->tmp;
    x->ctx.run_id = "conformance-run";
    x->ctx.step_id = "conformance-step";
    x->ctx.workflow = "conformance";
    x->ctx.plugin = c->desc ? c->desc->name : NULL;
    snprintf(x->ctx.attempt, sizeof x->ctx.attempt, "1");
    x->ctx.cancelled = &x->cancelled;
    if (pipe(x->cancel_pipe) == 0)
        x->ctx.cancel_fd = x->cancel_pipe[0];
    else
        x->cancel_pipe[0] = x->cancel_pipe[1] = -1;
    x->outputs = json_object();
}

void cf_ctx_fini(struct cf_ctx *x)
{
    if (x->cancel_pipe[0] >= 0) {
        close(x->cancel_pipe[0]);
        close(x->cancel_pipe[1]);
    }
    json_decref(x->outputs);
    oc_buf_free(&x->log);
}

static pthread_t cf_cancel_thread;
static int cf_cancel_running;

struct cf_cancel_arg {
    struct cf_ctx *x;
    int64_t ms;
};

static void *cf_cancel_main(void *p)
{
    struct cf_cancel_arg a = *(struct cf_cancel_arg *)p;
    free(p);
    struct timespec ts = {a.ms / 1000, (a.ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    a.x->cancelled = 1;
    if (write(a.x->cancel_pipe[1], "c", 1) < 0) {
        /* the flag alone still cancels a plugin that polls it */
    }
    return NULL;
}

void cf_cancel_after(struct cf_ctx *x, int64_t ms)
{
    struct cf_cancel_arg *a = oc_xmalloc(sizeof *a);
    a->x = x;
    a->ms = ms;
    cf_cancel_running = pthread_create(&cf_cancel_thread, NULL, cf_cancel_main, a) == 0;
    if (!cf_cancel_running)
        free(a);
}

void cf_cancel_join(void)
{
    if (cf_cancel_running)
        pthread_join(cf_cancel_thread, NULL);
    cf_cancel_running = 0;
}

/* In any scalar, "${TMP}" becomes the case's private directory and
 * "${env.NAME}" the environment variable NAME (cf_conf_load refused an
 * unset one), so a conformance.yaml can name a service the test script
 * started. */
char *cf_expand(const char *s, const char *tmp)
{
    struct oc_buf b = {0};
    const char *p = s, *hit;
    while ((hit = strstr(p, "${"))) {
        oc_buf_add(&b, p, (size_t)(hit - p));
        const char *end = strchr(hit, '}');
        if (end && !strncmp(hit, "${TMP}", 6)) {
            oc_buf_adds(&b, tmp);
        } else if (end && !strncmp(hit, "${env.", 6)) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(end - hit - 6), hit + 6);
            const char *v = getenv(name);
            oc_buf_adds(&b, v ? v : "");
        } else {
            end = hit + 1;
            oc_buf_add(&b, hit, 2);
        }
        p = end + 1;
    }
    oc_buf_adds(&b, p);
    return oc_buf_steal(&b);
}

static struct oc_node *cf_subst(const struct oc_node *n, const char *tmp)
{
    struct oc_node *copy = oc_node_clone(n);
    struct oc_node *stack[64];
    size_t sp = 0;
    stack[sp++] = copy;
    while (sp) {
        struct oc_node *x = stack[--sp];
        if (x->kind == OC_NODE_SCALAR && x->str && strstr(x->str, "${")) {
            char *v = cf_expand(x->str, tmp);
            free(x->str);
            x->str = v;
        }
        for (size_t i = 0; i < x->len && sp < 64; i++)
            stack[sp++] = x->items[i];
    }
    return copy;
}

void *cf_options(struct cf *c, const struct oc_node *with)
{
    struct oc_node *w = with ? cf_subst(with, c->tmp) : NULL;
    struct oc_diag d = {0};
    void *cfg = NULL;
    if (oc_options_apply(c->desc, "conformance.yaml with", w, 0, &cfg, &d) != 0) {
        for (size_t i = 0; i < d.n; i++)
            cf_fail(c, "options from conformance.yaml refused: %s", d.msgs[i]);
        cfg = NULL;
    }
    oc_diag_free(&d);
    oc_node_free(w);
    return cfg;
}

struct cf_mark cf_mark(void)
{
    return (struct cf_mark){oc_host_live_allocs(), oc_host_owners_seq()};
}

/* The live blocks made since a mark, counted by the slot that made them. */
struct cf_blame {
    struct {
        const char *tag;
        int64_t n;
    } by[16];
    size_t len;
    int64_t total;
};

static void cf_blame_one(void *ud, const char *tag)
{
    struct cf_blame *b = ud;
    b->total++;
    for (size_t i = 0; i < b->len; i++)
        if (b->by[i].tag == tag || (b->by[i].tag && tag && !strcmp(b->by[i].tag, tag))) {
            b->by[i].n++;
            return;
        }
    if (b->len < sizeof b->by / sizeof b->by[0]) {
        b->by[b->len].tag = tag;
        b->by[b->len].n = 1;
        b->len++;
    }
}

/* "backend.create leaked 3 host allocations (...; found after close)" when
 * one slot made them all, else the count and each slot's share; a block
 * made while no slot ran is the suite's (or a plugin thread's). Without
 * the allocator's record (tracking off) the message names no slot. */
static void cf_report_leak(struct cf *c, int64_t n, uint64_t seq, const char *when)
{
    struct cf_blame b = {0};
    oc_host_owners_census(seq, cf_blame_one, &b);
    const char *s = n == 1 ? "" : "s";
    if (b.len == 1 && b.by[0].tag) {
        cf_fail(c, "%s leaked %lld host allocation%s (made with host->alloc and never freed; "
                   "found %s)", b.by[0].tag, (long long)n, s, when);
        return;
    }
    struct oc_buf m = {0};
    oc_buf_addf(&m, "leaked %lld host allocation%s (made with host->alloc and never freed; "
                    "found %s)", (long long)n, s, when);
    for (size_t i = 0; i < b.len; i++)
        oc_buf_addf(&m, "%s %lld made %s%s", i ? "," : ":", (long long)b.by[i].n,
                    b.by[i].tag ? "in " : "while no plugin slot ran",
                    b.by[i].tag ? b.by[i].tag : "");
    cf_fail(c, "%s", m.data);
    oc_buf_free(&m);
}

void cf_check_leaks(struct cf *c, struct cf_mark before, const char *when)
{
    int64_t now = oc_host_live_allocs();
    if (now > before.live)
        cf_report_leak(c, now - before.live, before.seq, when);
}

void cf_torture(struct cf *c, const char *what, orch_status (*fn)(struct cf *c, void *ud),
                void *ud)
{
    int64_t n;
    for (n = 1; n < 100000; n++) {
        cf_note(c, "%s with host allocation #%lld failing", what, (long long)n);
        struct cf_mark before = cf_mark();
        int failed = c->failed;
        c->quiet = 1;
        c->torture_n = (int)n;
        oc_host_fail_alloc_after(n);
        fn(c, ud);
        int64_t remaining = oc_host_fail_alloc_remaining();
        oc_host_fail_alloc_after(0);
        c->quiet = 0;
        c->failed = failed;
        if (oc_host_live_allocs() > before.live) {
            char *when = oc_xasprintf("after %s with host allocation #%lld failing", what,
                                      (long long)n);
            cf_check_leaks(c, before, when);
            free(when);
        }
        if (remaining > 0 || c->failed > 20)
            break; /* ran to the end without reaching allocation n: done */
    }
    /* Failed allocations must leave nothing behind that breaks the next
     * attempt: one more run with memory to spare has to succeed. */
    c->torture_n = 0;
    cf_note(c, "%s after %lld failing allocations, with none failing", what, (long long)n);
    int failed = c->failed;
    orch_status rc = fn(c, ud);
    if (rc != ORCH_OK && c->failed == failed)
        cf_fail(c, "%s failed (%s) with no allocation failing, after the torture runs",
                what, orch_strerror(rc));
}
