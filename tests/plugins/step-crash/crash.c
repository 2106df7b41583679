/* A step that misbehaves on purpose, to prove a plugin cannot take orch
 * down: it crashes, aborts, hangs ignoring cancel, exits, answers like a
 * rate-limited API (RATE_LIMITED with a retry_after_ms of 1500), or
 * succeeds reporting its executor's pid (to observe executor reuse).
 * Mode secret succeeds only when the secret "token" it reads is expanded
 * (no "${" left in it), for conformance.yaml's secrets: ${env.NAME}.
 * ORCH_CRASH_LOAD=ctor or =init crashes it while it is being loaded (in
 * a constructor, or in the descriptor's init), for the load probe's
 * message. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <orch/orch.h>

static const struct orch_host *cr_host;

struct cr_cfg {
    const char *mode;
};

static const char *const cr_modes[] = {"segv", "abort", "hang", "exit", "ok", "rate_limited", "secret", "stderr", NULL};

static const struct orch_option cr_options[] = {
    {sizeof(struct orch_option), ORCH_OPT_ENUM, 0, offsetof(struct cr_cfg, mode), "mode", "ok",
     "how to misbehave: segv, abort, hang (ignoring cancel), exit, ok, rate_limited, secret, stderr (lines written to the executor's stderr, as a careless plugin would)", 0, 0, cr_modes, NULL},
};

__attribute__((constructor)) static void cr_ctor(void)
{
    const char *at = getenv("ORCH_CRASH_LOAD");
    if (at && !strcmp(at, "ctor"))
        raise(SIGSEGV);
}

static orch_status cr_init(const struct orch_host *host, struct orch_error *err)
{
    (void)host, (void)err;
    const char *at = getenv("ORCH_CRASH_LOAD");
    if (at && !strcmp(at, "init"))
        raise(SIGSEGV);
    return ORCH_OK;
}

static orch_status cr_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct cr_cfg *c = cfgp;
    if (!strcmp(c->mode, "segv"))
        raise(SIGSEGV);
    if (!strcmp(c->mode, "abort"))
        abort();
    if (!strcmp(c->mode, "exit"))
        _exit(3);
    if (!strcmp(c->mode, "hang")) {
        signal(SIGUSR1, SIG_IGN);
        for (;;)
            pause();
    }
    if (!strcmp(c->mode, "stderr")) {
        for (int i = 1; i <= 5; i++)
            fprintf(stderr, "plugin-noise-%d straight to the executor's stderr\n", i);
        return ORCH_OK;
    }
    if (!strcmp(c->mode, "rate_limited")) {
        orch_status rc = cr_host->error_set(err, ORCH_E_RATE_LIMITED,
                                            "crash: slow down (retry after 1500 ms)");
        err->retry_after_ms = 1500;
        return rc;
    }
    if (!strcmp(c->mode, "secret")) {
        char *tok = NULL;
        uint64_t len = 0;
        orch_status rc = cr_host->secret_get(ctx, "token", &tok, &len, err);
        if (rc != ORCH_OK)
            return rc;
        int expanded = len > 0 && !strstr(tok, "${");
        cr_host->free(tok);
        return expanded ? ORCH_OK
                        : cr_host->error_set(err, ORCH_E_FAILED,
                                             "crash: secret token is empty or not expanded");
    }
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    cr_host->output_set(ctx, "pid", pid);
    (void)err;
    return ORCH_OK;
}

static const struct orch_step_vtable cr_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .run = cr_run,
};

static const struct orch_plugin_desc cr_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "crash",
    .version = "1.0.0",
    .description = "test plugin that crashes or hangs on purpose",
    .license = "MIT",
    .options = cr_options,
    .option_count = 1,
    .config_size = sizeof(struct cr_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &cr_vtable,
    .init = cr_init,
};

ORCH_PLUGIN_DEFINE(step, crash, cr_desc, cr_host)
