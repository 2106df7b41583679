#define _GNU_SOURCE
#include "backend_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "host_owners.h"
#include "options.h"

int bk_open(struct cf *c, struct bk *b)
{
    memset(b, 0, sizeof *b);
    b->c = c;
    b->vt = cf_traced_vtable(ORCH_KIND_BACKEND, c->desc->vtable);
    b->live0 = cf_mark();
    cf_ctx_init(&b->x, c, "backend");
    int failed = c->failed;
    b->cfg = cf_options(c, c->conf->with);
    if (c->failed > failed)
        return -1;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b->vt->open(&b->x.ctx, b->cfg, &b->be, &err);
    if (rc != ORCH_OK) {
        cf_fail_err(c, rc, &err, "open");
        oc_error_clear(&err);
        oc_options_free(c->desc, b->cfg);
        b->cfg = NULL;
        return -1;
    }
    return 0;
}

void bk_close(struct bk *b)
{
    if (b->be)
        b->vt->close(b->be);
    b->be = NULL;
    oc_options_free(b->c->desc, b->cfg);
    b->cfg = NULL;
    cf_ctx_fini(&b->x);
    cf_check_leaks(b->c, b->live0, "after close");
}

int bk_create(struct bk *b, struct bk_inst *i, const char *tag)
{
    memset(i, 0, sizeof *i);
    snprintf(i->iid, sizeof i->iid, "conf-%ld-%s", (long)getpid(), tag);
    const struct cf_conf *conf = b->c->conf;
    const struct orch_kv labels[] = {{"orch.instance", i->iid},
                                     {"orch.run", "conformance-run"},
                                     {"orch.owner", b->c->owner}};
    struct orch_instance_spec spec = {
        .struct_size = sizeof spec, .instance_id = i->iid, .run_id = "conformance-run",
        .image = conf->image, .size = conf->size, .region = conf->region,
        .labels = labels, .label_count = 3, .timeout_ms = conf->create_timeout_ms};
    struct orch_instance_ref ref = {.struct_size = sizeof ref};
    struct orch_error err;
    oc_error_init(&err);
    cf_note(b->c, "create %s", i->iid);
    orch_status rc = b->vt->create(b->be, &b->x.ctx, &spec, &i->inst, &ref, &err);
    if (rc != ORCH_OK) {
        cf_fail_err(b->c, rc, &err, "create %s", i->iid);
        oc_error_clear(&err);
        /* What the core does after a failed create (backend.h). */
        if (i->inst)
            b->vt->release(i->inst);
        i->inst = NULL;
        oc_host()->free(ref.id);
        oc_host()->free(ref.handle);
        return -1;
    }
    /* The core frees both with host->free: a libc block is a heap bug
     * waiting for another allocator (docs/abi.md, ownership). */
    if (ref.id && oc_host_owns(ref.id) == 0)
        cf_fail(b->c, "create: ref->id was not allocated with host->alloc/strdup (libc "
                      "malloc?); the core frees it with host->free");
    if (ref.handle && oc_host_owns(ref.handle) == 0)
        cf_fail(b->c, "create: ref->handle was not allocated with host->alloc/strdup (libc "
                      "malloc?); the core frees it with host->free");
    i->id = ref.id;
    i->handle = ref.handle;
    if (!i->inst)
        cf_fail(b->c, "create returned ORCH_OK without an instance handle");
    if (!i->id || !*i->id)
        cf_fail(b->c, "create returned no backend id in ref->id (attach and list_owned "
                      "need it)");
    return i->inst ? 0 : -1;
}

void bk_release(struct bk *b, struct bk_inst *i)
{
    if (i->inst)
        b->vt->release(i->inst);
    i->inst = NULL;
    oc_host()->free(i->id);
    oc_host()->free(i->handle);
    i->id = i->handle = NULL;
}

void bk_destroy(struct bk *b, struct bk_inst *i)
{
    if (!i->inst)
        return;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b->vt->destroy(i->inst, &b->x.ctx, &err);
    if (rc != ORCH_OK)
        cf_fail_err(b->c, rc, &err, "destroy %s", i->iid);
    oc_error_clear(&err);
    bk_release(b, i);
}

static void bk_on_output(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    struct bk_out *o = ud;
    oc_buf_add(stream == ORCH_STREAM_STDERR ? &o->err : &o->out, data, (size_t)len);
}

orch_status bk_exec(struct bk *b, struct bk_inst *i, const char *script,
                    const struct bk_exec_opts *opts, struct bk_out *o,
                    struct orch_exec_res *res, struct orch_error *err)
{
    static const struct bk_exec_opts none;
    if (!opts)
        opts = &none;
    const char *argv[] = {script, NULL};
    struct orch_exec_req req = {
        .struct_size = sizeof req, .argc = 1, .argv = argv, .env = opts->env,
        .env_count = opts->env_count, .flags = opts->no_shell ? 0 : ORCH_EXEC_SHELL,
        .cwd = opts->cwd, .timeout_ms = opts->timeout_ms, .stdin_data = opts->stdin_data,
        .stdin_len = opts->stdin_len, .on_output = bk_on_output, .ud = o};
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    res->exit_code = -1;
    return b->vt->exec(i->inst, &b->x.ctx, &req, res, err);
}

char *bk_sh(struct bk *b, struct bk_inst *i, const char *script)
{
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = bk_exec(b, i, script, NULL, &o, &res, &err);
    char *out = NULL;
    if (rc != ORCH_OK)
        cf_fail_err(b->c, rc, &err, "exec '%s'", script);
    else if (res.exit_code != 0)
        cf_fail(b->c, "exec '%s' exited %d (stderr: %.200s)", script, res.exit_code,
                o.err.data ? o.err.data : "");
    else
        out = oc_xstrdup(o.out.data ? o.out.data : "");
    oc_error_clear(&err);
    bk_out_free(&o);
    return out;
}

void bk_out_free(struct bk_out *o)
{
    oc_buf_free(&o->out);
    oc_buf_free(&o->err);
}
