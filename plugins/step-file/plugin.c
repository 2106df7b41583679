/* step-file: write, copy, read and checksum files in the step's instance,
 * the run's artifacts and the orch host. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

const struct orch_host *sf_host;

static const char *const sf_actions[] = {"write", "copy", "read", "checksum", NULL};

#define SF_OPT(field, name, type, flags, def, desc)                                       \
    ORCH_OPTION(struct sf_cfg, field, name, type, flags, def, desc)

static const struct orch_option sf_options[] = {
    {sizeof(struct orch_option), ORCH_OPT_ENUM, ORCH_OPTF_REQUIRED,
     offsetof(struct sf_cfg, action), "action", NULL, "write, copy, read or checksum", 0, 0,
     sf_actions, NULL},
    SF_OPT(path, "path", ORCH_OPT_STRING, ORCH_OPTF_PATH_KIND, NULL,
           "write, read, checksum: the file (in the instance; or artifact:NAME, host:PATH)"),
    SF_OPT(content, "content", ORCH_OPT_STRING, 0, NULL, "write: the text (templated)"),
    SF_OPT(mode, "mode", ORCH_OPT_STRING, 0, "0644", "write, copy: permission bits, octal"),
    SF_OPT(from, "from", ORCH_OPT_STRING, ORCH_OPTF_PATH_KIND, NULL,
           "copy: source: an instance path, artifact:NAME or host:PATH"),
    SF_OPT(to, "to", ORCH_OPT_STRING, ORCH_OPTF_PATH_KIND, NULL,
           "copy: destination: an instance path, artifact:NAME or host:PATH"),
    {sizeof(struct orch_option), ORCH_OPT_SIZE, ORCH_OPTF_MIN | ORCH_OPTF_MAX,
     offsetof(struct sf_cfg, max_size), "max_size", "64K",
     "read: refuse files larger than this (outputs are kept in the state store)", 1,
     16 * 1024 * 1024, NULL, NULL},
    SF_OPT(expect, "expect", ORCH_OPT_STRING, 0, NULL,
           "checksum: the sha256 the file must have (hex)"),
};

static const struct orch_output_decl sf_outputs[] = {
    {sizeof(struct orch_output_decl), "path", "the file written or read"},
    {sizeof(struct orch_output_decl), "size", "its size in bytes"},
    {sizeof(struct orch_output_decl), "sha256", "its SHA-256, hex"},
    {sizeof(struct orch_output_decl), "content", "read: the file's text"},
};

static int sf_mode(const char *text, uint32_t *mode)
{
    char *end;
    unsigned long m = strtoul(text ? text : "0644", &end, 8);
    if (!text || !*text || *end || m > 07777)
        return -1;
    *mode = (uint32_t)m;
    return 0;
}

static orch_status sf_need(const char *v, const char *action, const char *opt,
                           struct orch_error *err)
{
    if (v)
        return ORCH_OK;
    return sf_host->error_set(err, ORCH_E_CONFIG, "%s needs '%s'", action, opt);
}

static orch_status sf_validate(const void *cfgp, struct orch_error *err)
{
    const struct sf_cfg *c = cfgp;
    const char *a = c->action ? c->action : "";
    uint32_t mode;
    if (sf_mode(c->mode, &mode) != 0)
        return sf_host->error_set(err, ORCH_E_CONFIG,
                                  "'mode' must be octal permission bits such as 0644, "
                                  "not '%s'",
                                  c->mode ? c->mode : "");
    orch_status st = ORCH_OK;
    struct sf_loc l;
    if (!strcmp(a, "copy")) {
        if ((st = sf_need(c->from, a, "from", err)) || (st = sf_need(c->to, a, "to", err)) ||
            (st = sf_loc_parse(c->from, "from", &l, err)) ||
            (st = sf_loc_parse(c->to, "to", &l, err)))
            return st;
    } else {
        if ((st = sf_need(c->path, a, "path", err)) ||
            (st = sf_loc_parse(c->path, "path", &l, err)))
            return st;
        if (!strcmp(a, "write") && (st = sf_need(c->content, a, "content", err)))
            return st;
    }
    if (c->expect && (strlen(c->expect) != 64 || strspn(c->expect, "0123456789abcdef") != 64))
        return sf_host->error_set(err, ORCH_E_CONFIG,
                                  "'expect' must be 64 lowercase hex digits");
    return ORCH_OK;
}

static void sf_set_outputs(struct orch_ctx *ctx, const struct sf_loc *l, struct sf_spool *s)
{
    char size[32];
    snprintf(size, sizeof size, "%llu", (unsigned long long)s->size);
    char shown[4200];
    snprintf(shown, sizeof shown, "%s%s%s", l->where == SF_INSTANCE ? "" : sf_loc_kind(l),
             l->where == SF_INSTANCE ? "" : ":", l->path);
    sf_host->output_set(ctx, "path", shown);
    sf_host->output_set(ctx, "size", size);
    sf_host->output_set(ctx, "sha256", s->hex);
}

/* The spool's bytes as a text output. */
static orch_status sf_content(struct orch_ctx *ctx, const struct sf_loc *l, struct sf_spool *s,
                              struct orch_error *err)
{
    char *buf = sf_host->alloc(s->size + 1);
    if (!buf)
        return sf_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    rewind(s->f);
    size_t n = fread(buf, 1, (size_t)s->size, s->f);
    buf[n] = 0;
    orch_status st = ORCH_OK;
    if (n != s->size)
        st = sf_host->error_set(err, ORCH_E_IO, "reading the spool back failed");
    else if (memchr(buf, 0, n))
        st = sf_host->error_set(err, ORCH_E_FAILED,
                                "%s %s holds a NUL byte: outputs are text (use copy "
                                "for binary files)",
                                sf_loc_kind(l), l->path);
    else
        sf_host->output_set(ctx, "content", buf);
    sf_host->free(buf);
    return st;
}

static orch_status sf_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct sf_cfg *c = cfgp;
    orch_status st = sf_validate(c, err);
    if (st != ORCH_OK)
        return st;
    uint32_t mode = 0644;
    sf_mode(c->mode, &mode);
    int copy = !strcmp(c->action, "copy");
    struct sf_loc src, dst;
    sf_loc_parse(copy ? c->from : c->path, "from", &src, err);
    if (copy)
        sf_loc_parse(c->to, "to", &dst, err);
    struct sf_spool s;
    uint64_t limit = !strcmp(c->action, "read") ? (uint64_t)c->max_size : 0;
    if ((st = sf_spool_open(&s, limit, err)) != ORCH_OK)
        return st;
    if (!strcmp(c->action, "write")) {
        size_t n = strlen(c->content);
        if (fwrite(c->content, 1, n, s.f) != n)
            st = sf_host->error_set(err, ORCH_E_IO, "spooling the content failed");
        sha256_update(&s.sha, n, (const uint8_t *)c->content);
        s.size = n;
        sf_sha256_hex(&s.sha, s.hex);
        if (st == ORCH_OK)
            st = sf_store(ctx, &src, mode, &s, err);
    } else {
        st = sf_fetch(ctx, &src, &s, err);
        if (st == ORCH_OK && copy)
            st = sf_store(ctx, &dst, mode, &s, err);
        if (st == ORCH_OK && !strcmp(c->action, "read"))
            st = sf_content(ctx, &src, &s, err);
        if (st == ORCH_OK && c->expect && strcmp(c->expect, s.hex))
            st = sf_host->error_set(err, ORCH_E_FAILED,
                                    "%s %s has sha256 %s, expected %s", sf_loc_kind(&src),
                                    src.path, s.hex, c->expect);
    }
    if (st == ORCH_OK)
        sf_set_outputs(ctx, copy ? &dst : &src, &s);
    sf_spool_close(&s);
    return st;
}

static orch_status sf_plan(struct orch_ctx *ctx, const void *cfgp, char **text,
                           struct orch_error *err)
{
    (void)ctx;
    const struct sf_cfg *c = cfgp;
    orch_status st = sf_validate(c, err);
    if (st != ORCH_OK)
        return st;
    char buf[9000];
    if (!strcmp(c->action, "copy"))
        snprintf(buf, sizeof buf, "would copy %s to %s (mode %s)", c->from, c->to, c->mode);
    else if (!strcmp(c->action, "write"))
        snprintf(buf, sizeof buf, "would write %zu bytes to %s (mode %s)", strlen(c->content),
                 c->path, c->mode);
    else
        snprintf(buf, sizeof buf, "would %s %s", c->action, c->path);
    *text = sf_host->strdup(buf);
    return *text ? ORCH_OK : sf_host->error_set(err, ORCH_E_NOMEM, "out of memory");
}

static const struct orch_step_vtable sf_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .validate = sf_validate,
    .run = sf_run,
    .plan = sf_plan,
    .outputs = sf_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = sizeof sf_outputs / sizeof sf_outputs[0],
};

static const struct orch_plugin_desc sf_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "file",
    .version = "1.0.0",
    .description = "write, copy, read and checksum files (instance, artifacts, orch host)",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN | ORCH_STEP_CAP_NEEDS_BACKEND | ORCH_STEP_CAP_IDEMPOTENT,
    .options = sf_options,
    .option_count = sizeof sf_options / sizeof sf_options[0],
    .config_size = sizeof(struct sf_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &sf_vtable,
};

ORCH_PLUGIN_DEFINE(step, file, sf_desc, sf_host)
