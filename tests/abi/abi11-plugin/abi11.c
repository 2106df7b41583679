/* Built against tests/abi/frozen-1.1 (the ABI 1.1 headers as released):
 * it uses what 1.1 added, so the current core must load it and pass it,
 * and a 1.0 core must refuse it as "built for a newer minor". run checks
 * the 1.1 host slots itself and fails with the slot's name when one breaks
 * its contract. Mode linger runs `sleep 300` on the bound instance (with
 * ORCH_ABI11_LINGER=NAME in its environment, for finding it), for the
 * suite's message about a backend slot hung inside a step slot. */
#include <stddef.h>
#include <string.h>

#include <orch/orch.h>

static const struct orch_host *ab_host;

struct ab_cfg {
    const char *name;
    const char *mode;
    int64_t times;
};

static const char *const ab_modes[] = {"greet", "shout", "linger", NULL};

static const struct orch_option ab_options[] = {
    ORCH_OPTION(struct ab_cfg, name, "name", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL,
                "who to greet"),
    ORCH_OPTION_ENUM(struct ab_cfg, mode, "mode", 0, "greet", ab_modes, "how to greet (linger: hang in the instance)"),
    ORCH_OPTION_RANGE(struct ab_cfg, times, "times", ORCH_OPT_INT, 0, "1", 1, 5,
                      "how many greetings"),
};

static const struct orch_output_decl ab_outputs[] = {
    {sizeof(struct orch_output_decl), "greeting", "hello NAME, TIMES times"},
    {sizeof(struct orch_output_decl), "quoted", "NAME as a JSON string"},
    {sizeof(struct orch_output_decl), "bound", "yes when it ran on an instance, else no"},
};

static orch_status ab_fail(struct orch_error *err, const char *slot, const char *why)
{
    return ab_host->error_set(err, ORCH_E_FAILED, "abi11: host->%s: %s", slot, why);
}

/* inst_workdir is where a NULL-cwd command runs (backend.h, workdir). */
struct ab_buf {
    char text[4096];
    size_t len;
};

static void ab_collect(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    struct ab_buf *b = ud;
    if (stream != ORCH_STREAM_STDOUT)
        return;
    size_t room = sizeof b->text - 1 - b->len;
    size_t n = len < room ? (size_t)len : room;
    memcpy(b->text + b->len, data, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static orch_status ab_check_workdir(struct orch_ctx *ctx, struct orch_error *err)
{
    const char *wd = ab_host->inst_workdir(ctx);
    if (!ab_host->ctx_get(ctx, "instance_id"))
        return wd ? ab_fail(err, "inst_workdir", "set although no instance is bound") : ORCH_OK;
    if (!wd || wd[0] != '/')
        return ab_fail(err, "inst_workdir", "no absolute work dir for the bound instance");
    static const char *const argv[] = {"pwd", NULL};
    struct ab_buf out = {{0}, 0};
    struct orch_exec_req req = {.struct_size = sizeof req, .argc = 1, .argv = argv,
                                .on_output = ab_collect, .ud = &out};
    struct orch_exec_res res = {.struct_size = sizeof res};
    orch_status rc = ab_host->inst_exec(ctx, &req, &res, err);
    if (rc != ORCH_OK)
        return rc;
    if (out.len && out.text[out.len - 1] == '\n')
        out.text[--out.len] = '\0';
    if (strcmp(out.text, wd))
        return ab_host->error_set(err, ORCH_E_FAILED,
                                  "abi11: host->inst_workdir is '%s' but pwd there prints '%s'",
                                  wd, out.text);
    return ORCH_OK;
}

static orch_status ab_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct ab_cfg *cfg = cfgp;
    const char *sd = ab_host->ctx_get(ctx, "state_dir");
    if (!sd || sd[0] != '/')
        return ab_fail(err, "ctx_get", "\"state_dir\" is not an absolute directory");
    orch_status rc = ab_check_workdir(ctx, err);
    if (rc == ORCH_OK && !strcmp(cfg->mode, "linger") && ab_host->ctx_get(ctx, "instance_id")) {
        static const char *const argv[] = {"sleep 300", NULL};
        const struct orch_kv env[] = {{"ORCH_ABI11_LINGER", cfg->name}};
        struct orch_exec_req req = {.struct_size = sizeof req, .argc = 1, .argv = argv,
                                    .env = env, .env_count = 1, .flags = ORCH_EXEC_SHELL};
        struct orch_exec_res res = {.struct_size = sizeof res};
        rc = ab_host->inst_exec(ctx, &req, &res, err);
    }
    if (rc == ORCH_OK)
        rc = ab_host->output_set(ctx, "bound", ab_host->inst_workdir(ctx) ? "yes" : "no");
    if (rc != ORCH_OK)
        return rc;
    char *g = ab_host->strdup_printf("%s %s, %lld times",
                                     strcmp(cfg->mode, "shout") ? "hello" : "HELLO", cfg->name,
                                     (long long)cfg->times);
    if (!g)
        return ab_host->error_set(err, ORCH_E_NOMEM, "abi11: out of memory");
    /* The length-taking setter copies exactly len bytes: the tail after
     * them must not reach the output. */
    size_t n = strlen(g);
    char *padded = ab_host->strdup_printf("%sTAIL", g);
    rc = padded ? ab_host->output_set_len(ctx, "greeting", padded, n) : ORCH_E_NOMEM;
    ab_host->free(padded);
    ab_host->free(g);
    if (rc != ORCH_OK)
        return ab_host->error_set(err, rc, "abi11: host->output_set_len: %s",
                                  ab_host->strerror(rc));
    if (ab_host->output_set_len(ctx, "quoted", "a\0b", 3) != ORCH_E_INVALID_ARG)
        return ab_fail(err, "output_set_len", "a value with a NUL byte was not refused");
    char *q = ab_host->json_quote("q\"\n\\", 4);
    int ok = q && !strcmp(q, "\"q\\\"\\n\\\\\"");
    ab_host->free(q);
    if (!ok)
        return ab_fail(err, "json_quote", "wrong escaping of a quote, newline and backslash");
    if ((q = ab_host->json_quote("\xff", 1)) != NULL) {
        ab_host->free(q);
        return ab_fail(err, "json_quote", "invalid UTF-8 was not refused");
    }
    q = ab_host->json_quote(cfg->name, strlen(cfg->name));
    rc = q ? ab_host->output_set(ctx, "quoted", q) : ORCH_E_NOMEM;
    ab_host->free(q);
    return rc;
}

static orch_status ab_plan(struct orch_ctx *ctx, const void *cfgp, char **text,
                           struct orch_error *err)
{
    (void)ctx;
    const struct ab_cfg *cfg = cfgp;
    *text = ab_host->strdup_printf("would greet %s %lld times", cfg->name,
                                   (long long)cfg->times);
    return *text ? ORCH_OK : ab_host->error_set(err, ORCH_E_NOMEM, "abi11: out of memory");
}

static const struct orch_step_vtable ab_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .run = ab_run,
    .plan = ab_plan,
    .outputs = ab_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = 3,
};

static const struct orch_plugin_desc ab_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "abi11",
    .version = "1.1.0",
    .description = "greets; built against the frozen ABI 1.1 headers",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN | ORCH_STEP_CAP_OPTIONAL_BACKEND,
    .options = ab_options,
    .option_count = sizeof ab_options / sizeof ab_options[0],
    .config_size = sizeof(struct ab_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &ab_vtable,
};

ORCH_PLUGIN_DEFINE(step, abi11, ab_desc, ab_host)
