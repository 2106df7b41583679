/* step-exec: run a command on the step's backend instance. Output streams
 * to the step log; `::set-output name=NAME::VALUE` lines on stdout set
 * outputs (GitHub Actions' spelling, which users of such files know);
 * capture: true also keeps stdout (up to 64 KiB) as the `stdout` output. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <orch/orch.h>

#include "exec.h"

static const struct orch_host *se_host;

#define SE_CAPTURE_MAX (64 * 1024)
/* The script travels in one environment variable, and Linux takes at most
 * 128 KiB for one (MAX_ARG_STRLEN, name and '=' included). */
#define SE_SCRIPT_MAX (128 * 1024 - 256)

struct se_cfg {
    const char *run;
    const char *shell;
    struct orch_strlist argv;
    struct orch_strmap env;
    const char *cwd;
    int64_t timeout_ms;
    int32_t allow_failure;
    int32_t capture;
    const char *stdin_data;
};

static const struct orch_option se_options[] = {
    ORCH_OPTION(struct se_cfg, run, "run", ORCH_OPT_STRING, ORCH_OPTF_SCRIPT, NULL,
                "script, run by 'shell' from a file (default sh -e: stops at the first "
                "failing command); give run or argv"),
    ORCH_OPTION(struct se_cfg, shell, "shell", ORCH_OPT_STRING, 0, NULL,
                "what runs the run: script: sh (sh -e {0}), bash (bash --noprofile --norc "
                "-eo pipefail {0}), python3, or a command line with {0} for the script's "
                "file; default defaults.run.shell, else sh"),
    ORCH_OPTION(struct se_cfg, argv, "argv", ORCH_OPT_STRING_LIST, 0, NULL,
                "program and arguments, run without a shell; give run or argv"),
    ORCH_OPTION(struct se_cfg, env, "env", ORCH_OPT_STRING_MAP, 0, NULL,
                "environment variables added for the command"),
    ORCH_OPTION(struct se_cfg, cwd, "cwd", ORCH_OPT_STRING, 0, NULL,
                "directory relative to the instance's work dir"),
    ORCH_OPTION(struct se_cfg, timeout_ms, "timeout", ORCH_OPT_DURATION, 0, NULL,
                "kill the command's process group after this long"),
    ORCH_OPTION(struct se_cfg, allow_failure, "allow_failure", ORCH_OPT_BOOL, 0, "false",
                "a non-zero exit does not fail the step (exit_code says what happened)"),
    ORCH_OPTION(struct se_cfg, capture, "capture", ORCH_OPT_BOOL, 0, "false",
                "keep stdout (up to 64 KiB, trailing newlines removed) as output 'stdout'"),
    ORCH_OPTION(struct se_cfg, stdin_data, "stdin", ORCH_OPT_STRING, 0, NULL,
                "text given to the command on standard input"),
};

static const struct orch_output_decl se_outputs[] = {
    {sizeof(struct orch_output_decl), "exit_code", "the command's exit status"},
    {sizeof(struct orch_output_decl), "stdout", "standard output, when capture is true"},
    {sizeof(struct orch_output_decl), "stdout_truncated", "true when stdout exceeded 64 KiB"},
};

struct se_run {
    struct orch_ctx *ctx;
    char line[4096];         /* the current stdout line, for ::set-output */
    size_t line_len;
    int line_long;           /* the line overflowed: not a directive */
    char *cap;
    size_t cap_len;
    int truncated;
};

static void se_directive(struct se_run *r)
{
    static const char pre[] = "::set-output name=";
    r->line[r->line_len] = 0;
    if (r->line_long || strncmp(r->line, pre, sizeof pre - 1))
        return;
    char *name = r->line + sizeof pre - 1;
    char *sep = strstr(name, "::");
    if (!sep || sep == name)
        return;
    *sep = 0;
    char *end = sep + 2 + strlen(sep + 2);
    if (end > sep + 2 && end[-1] == '\r')
        end[-1] = 0;
    se_host->output_set(r->ctx, name, sep + 2);
}

static void se_on_output(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    struct se_run *r = ud;
    se_host->log_stream(r->ctx, stream, data, len);
    if (stream != ORCH_STREAM_STDOUT)
        return;
    if (r->cap) {
        size_t room = SE_CAPTURE_MAX - r->cap_len;
        size_t n = len < room ? (size_t)len : room;
        memcpy(r->cap + r->cap_len, data, n);
        r->cap_len += n;
        if (n < len)
            r->truncated = 1;
    }
    for (uint64_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            se_directive(r);
            r->line_len = 0;
            r->line_long = 0;
        } else if (r->line_len < sizeof r->line - 1) {
            r->line[r->line_len++] = data[i];
        } else {
            r->line_long = 1;
        }
    }
}

static orch_status se_validate(const void *cfgp, struct orch_error *err)
{
    const struct se_cfg *c = cfgp;
    if (!c->run == !c->argv.count)
        return se_host->error_set(err, ORCH_E_CONFIG,
                                  c->run ? "give either 'run' or 'argv', not both"
                                         : "'run' (a shell command) or 'argv' is required");
    if (c->shell && !c->run)
        return se_host->error_set(err, ORCH_E_CONFIG,
                                  "option 'shell' runs a 'run' script; with 'argv' no shell runs");
    if (c->run && strlen(c->run) > SE_SCRIPT_MAX)
        return se_host->error_set(err, ORCH_E_CONFIG,
                                  "option 'run': the script is %zu bytes, more than %d (it "
                                  "reaches the instance in one environment variable); put it "
                                  "in a file",
                                  strlen(c->run), SE_SCRIPT_MAX);
    return c->run ? se_shell_check(se_host, c->shell, err) : ORCH_OK;
}

static orch_status se_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct se_cfg *c = cfgp;
    orch_status rc = se_validate(c, err);
    if (rc != ORCH_OK)
        return rc;
    /* The script's variable last: it wins over an env: entry of its name. */
    uint32_t n_env = c->env.count + (c->run ? 1 : 0);
    struct orch_kv *env = n_env ? se_host->calloc(n_env, sizeof *env) : NULL;
    char *boot = c->run ? se_shell_bootstrap(se_host, c->shell) : NULL;
    struct se_run r = {.ctx = ctx};
    if ((n_env && !env) || (c->run && !boot) ||
        (c->capture && !(r.cap = se_host->alloc(SE_CAPTURE_MAX)))) {
        se_host->free(env);
        se_host->free(boot);
        se_host->free(r.cap);
        return se_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < c->env.count; i++)
        env[i] = (struct orch_kv){c->env.keys[i], c->env.values[i]};
    if (c->run)
        env[c->env.count] = (struct orch_kv){SE_SCRIPT_VAR, c->run};
    const char *shell_argv[1] = {boot};
    struct orch_exec_req req = {
        .struct_size = sizeof req,
        .argc = c->run ? 1 : c->argv.count,
        .argv = c->run ? shell_argv : c->argv.items,
        .env = env,
        .env_count = n_env,
        .flags = c->run ? ORCH_EXEC_SHELL : 0,
        .cwd = c->cwd,
        .timeout_ms = c->timeout_ms,
        .stdin_data = c->stdin_data,
        .stdin_len = c->stdin_data ? strlen(c->stdin_data) : 0,
        .on_output = se_on_output,
        .ud = &r,
    };
    struct orch_exec_res res = {.struct_size = sizeof res};
    rc = se_host->inst_exec(ctx, &req, &res, err);
    se_host->free(env);
    se_host->free(boot);
    if (r.line_len)
        se_directive(&r); /* a last line without a newline */
    if (rc == ORCH_OK) {
        char num[16];
        snprintf(num, sizeof num, "%d", res.exit_code);
        se_host->output_set(ctx, "exit_code", num);
        if (r.cap) {
            while (r.cap_len && (r.cap[r.cap_len - 1] == '\n' || r.cap[r.cap_len - 1] == '\r'))
                r.cap_len--;
            /* Outputs are text: stop at a NUL byte. */
            r.cap[r.cap_len < SE_CAPTURE_MAX ? r.cap_len : SE_CAPTURE_MAX - 1] = 0;
            se_host->output_set(ctx, "stdout", r.cap);
            se_host->output_set(ctx, "stdout_truncated", r.truncated ? "true" : "false");
        }
        if (res.term_signal)
            rc = se_host->error_set(err, ORCH_E_FAILED, "command killed by signal %d",
                                    res.term_signal);
        else if (res.exit_code != 0 && !c->allow_failure)
            rc = se_host->error_set(err, ORCH_E_FAILED, "command exited with status %d",
                                    res.exit_code);
    }
    se_host->free(r.cap);
    return rc;
}

static orch_status se_plan(struct orch_ctx *ctx, const void *cfgp, char **text,
                           struct orch_error *err)
{
    const struct se_cfg *c = cfgp;
    orch_status rc = se_validate(c, err);
    if (rc != ORCH_OK)
        return rc;
    (void)ctx;
    char buf[8192];
    size_t n = 0;
    if (c->run) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "would run with %s: %s",
                              se_shell_line(c->shell), c->run);
    } else {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "would run:");
        for (uint32_t i = 0; i < c->argv.count && n < sizeof buf; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, " %s", c->argv.items[i]);
    }
    /* Names only: values may hold secrets. */
    for (uint32_t i = 0; i < c->env.count && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : " with env ",
                              c->env.keys[i]);
    if (c->cwd && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, " in %s", c->cwd);
    if (c->timeout_ms && n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, " (timeout %lldms)", (long long)c->timeout_ms);
    *text = se_host->strdup(buf);
    return *text ? ORCH_OK : se_host->error_set(err, ORCH_E_NOMEM, "out of memory");
}

static const struct orch_step_vtable se_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .validate = se_validate,
    .run = se_run,
    .plan = se_plan,
    .outputs = se_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = sizeof se_outputs / sizeof se_outputs[0],
};

static const struct orch_plugin_desc se_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "exec",
    .version = "1.0.0",
    .description = "run a command on the step's backend",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN | ORCH_STEP_CAP_NEEDS_BACKEND,
    .options = se_options,
    .option_count = sizeof se_options / sizeof se_options[0],
    .config_size = sizeof(struct se_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &se_vtable,
};

ORCH_PLUGIN_DEFINE(step, exec, se_desc, se_host)
