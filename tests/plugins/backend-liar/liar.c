/* A backend that loads fine and lies about what it does: stderr comes back
 * on stdout, env, cwd, timeouts and cancels are ignored, get_file returns
 * other bytes than put_file stored, list_owned forgets live instances and
 * list_dir reports no mode. Every lie is one conformance failure. And with
 * root "segv:create" or "segv:exec" it crashes inside that slot, to check
 * that a backend's crash is blamed on the backend and its slot; with
 * "leak:timeout" a command given a timeout is left running in a session of
 * its own and TIMEOUT returned when it is due, as a backend that forgets to
 * kill would; with "malloc:id" create returns an id from libc malloc; with
 * "hang:exec" exec never returns (deaf to cancel and timeout) and with
 * "leak:create" create makes three host blocks it never frees, so the
 * suite must name backend.exec as hung and backend.create as leaking. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <orch/orch.h>

static const struct orch_host *lr_host;

struct lr_cfg {
    const char *root;
};

static const struct orch_option lr_options[] = {
    ORCH_OPTION(struct lr_cfg, root, "root", ORCH_OPT_PATH, 0, NULL, "ignored, but for segv:create, segv:exec, hang:exec, leak:create, leak:timeout and malloc:id (see liar.c)"),
};

struct orch_backend {
    int segv_in_create, segv_in_exec, leak_on_timeout, libc_id, hang_in_exec, leak_in_create;
};

struct orch_instance {
    struct orch_backend *be;
    char *data;
    size_t len;
    int destroyed;
};

static orch_status lr_open(struct orch_ctx *ctx, const void *cfg, struct orch_backend **out,
                           struct orch_error *err)
{
    (void)ctx, (void)err;
    const struct lr_cfg *c = cfg;
    *out = lr_host->calloc(1, sizeof **out);
    if (!*out)
        return ORCH_E_NOMEM;
    (*out)->segv_in_create = c->root && !strcmp(c->root, "segv:create");
    (*out)->segv_in_exec = c->root && !strcmp(c->root, "segv:exec");
    (*out)->libc_id = c->root && !strcmp(c->root, "malloc:id");
    (*out)->leak_on_timeout = c->root && !strcmp(c->root, "leak:timeout");
    (*out)->hang_in_exec = c->root && !strcmp(c->root, "hang:exec");
    (*out)->leak_in_create = c->root && !strcmp(c->root, "leak:create");
    return ORCH_OK;
}

static void lr_close(struct orch_backend *be)
{
    lr_host->free(be);
}

static orch_status lr_create(struct orch_backend *be, struct orch_ctx *ctx,
                             const struct orch_instance_spec *spec, struct orch_instance **out,
                             struct orch_instance_ref *ref, struct orch_error *err)
{
    (void)ctx;
    if (be->segv_in_create)
        raise(SIGSEGV);
    /* The one thing it is strict about: conformance.yaml's image reaches
     * create with ${env.NAME} expanded. */
    if (spec->image && strstr(spec->image, "${"))
        return lr_host->error_set(err, ORCH_E_CONFIG, "liar: image '%s' was not expanded",
                                  spec->image);
    for (int k = 0; be->leak_in_create && k < 3; k++)
        if (!lr_host->strdup("forgotten"))
            return ORCH_E_NOMEM;
    *out = lr_host->calloc(1, sizeof **out);
    if (!*out)
        return ORCH_E_NOMEM;
    (*out)->be = be;
    /* "malloc:id": the id from libc, which the core would host->free. */
    ref->id = be->libc_id ? strdup(spec->instance_id) : lr_host->strdup(spec->instance_id);
    return ORCH_OK;
}

/* Any id attaches, to an empty instance: the lie is that nothing was kept. */
static orch_status lr_attach(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                             const char *handle, struct orch_instance **out,
                             struct orch_error *err)
{
    (void)ctx, (void)id, (void)handle, (void)err;
    *out = lr_host->calloc(1, sizeof **out);
    if (!*out)
        return ORCH_E_NOMEM;
    (*out)->be = be;
    return ORCH_OK;
}

static orch_status lr_exec(struct orch_instance *inst, struct orch_ctx *ctx,
                           const struct orch_exec_req *req, struct orch_exec_res *res,
                           struct orch_error *err)
{
    (void)ctx;
    if (inst->destroyed)
        return lr_host->error_set(err, ORCH_E_NOT_FOUND, "liar: destroyed");
    if (inst->be && inst->be->segv_in_exec)
        raise(SIGSEGV);
    while (inst->be && inst->be->hang_in_exec)
        pause();
    char *cmd;
    if (inst->be && inst->be->leak_on_timeout && req->timeout_ms) {
        if (asprintf(&cmd, "setsid sh -c '%s' >/dev/null 2>&1 &", req->argv[0]) < 0)
            return ORCH_E_NOMEM;
        int st = system(cmd);
        free(cmd);
        (void)st;
        usleep((useconds_t)req->timeout_ms * 1000); /* "waited" for the timeout */
        return lr_host->error_set(err, ORCH_E_TIMEOUT, "liar: timed out (and killed nothing)");
    }
    if (asprintf(&cmd, "exec 2>&1; %s", req->argv[0]) < 0)
        return ORCH_E_NOMEM;
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p)
        return lr_host->error_set(err, ORCH_E_IO, "liar: popen failed");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        if (req->on_output)
            req->on_output(req->ud, ORCH_STREAM_STDOUT, buf, n);
    int st = pclose(p);
    res->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return ORCH_OK;
}

static orch_status lr_put(struct orch_instance *inst, struct orch_ctx *ctx, const char *path,
                          uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err)
{
    (void)ctx, (void)path, (void)mode, (void)err;
    char buf[65536];
    int64_t n;
    while ((n = rd(ud, buf, sizeof buf)) > 0) {
        inst->data = lr_host->realloc(inst->data, inst->len + (size_t)n);
        memcpy(inst->data + inst->len, buf, (size_t)n);
        inst->len += (size_t)n;
    }
    return ORCH_OK;
}

static orch_status lr_get(struct orch_instance *inst, struct orch_ctx *ctx, const char *path,
                          orch_write_fn wr, void *ud, struct orch_error *err)
{
    (void)ctx, (void)path, (void)err;
    if (inst->len)
        inst->data[inst->len / 2] ^= 1;
    wr(ud, inst->data, inst->len);
    return ORCH_OK;
}

static orch_status lr_list(struct orch_instance *inst, struct orch_ctx *ctx, const char *path,
                           orch_dirent_fn fn, void *ud, struct orch_error *err)
{
    (void)ctx, (void)path, (void)err;
    struct orch_dirent e = {sizeof e, ORCH_FT_FILE, "data.bin", 0, inst->len, 0};
    fn(ud, &e);
    return ORCH_OK;
}

static orch_status lr_destroy(struct orch_instance *inst, struct orch_ctx *ctx,
                              struct orch_error *err)
{
    (void)ctx, (void)err;
    inst->destroyed = 1;
    return ORCH_OK;
}

static void lr_release(struct orch_instance *inst)
{
    lr_host->free(inst->data);
    lr_host->free(inst);
}

static orch_status lr_list_owned(struct orch_backend *be, struct orch_ctx *ctx,
                                 const struct orch_kv *match, uint32_t match_count,
                                 orch_owned_fn fn, void *ud, struct orch_error *err)
{
    (void)be, (void)ctx, (void)match, (void)match_count, (void)fn, (void)ud, (void)err;
    return ORCH_OK;
}

static const struct orch_backend_vtable lr_vtable = {
    .struct_size = sizeof(struct orch_backend_vtable),
    .open = lr_open,
    .close = lr_close,
    .create = lr_create,
    .attach = lr_attach,
    .exec = lr_exec,
    .put_file = lr_put,
    .get_file = lr_get,
    .list_dir = lr_list,
    .destroy = lr_destroy,
    .release = lr_release,
    .list_owned = lr_list_owned,
};

static const struct orch_plugin_desc lr_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_BACKEND,
    .name = "liar",
    .version = "0.0.1",
    .description = "lies about its capabilities, on purpose",
    .license = "MIT",
    .caps = ORCH_BACKEND_CAP_EXEC | ORCH_BACKEND_CAP_PUT_FILE | ORCH_BACKEND_CAP_GET_FILE |
            ORCH_BACKEND_CAP_LIST_DIR | ORCH_BACKEND_CAP_LIST_OWNED |
            ORCH_BACKEND_CAP_ATTACH,
    .options = lr_options,
    .option_count = 1,
    .config_size = sizeof(struct lr_cfg),
    .vtable_size = sizeof(struct orch_backend_vtable),
    .vtable = &lr_vtable,
};

ORCH_PLUGIN_DEFINE(backend, liar, lr_desc, lr_host)
