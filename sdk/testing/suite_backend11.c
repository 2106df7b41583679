/* Backend cases for the ABI 1.1 contracts written next to the slots in
 * backend.h: the work dir a backend reports, ORCH_EXEC_SHELL's meaning, a
 * declared stream that really streams, and exec after stop. */
#define _GNU_SOURCE
#include "backend_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

#define BK_BEGIN(c, b, i, tag)                                                 \
    struct bk b;                                                               \
    struct bk_inst i;                                                          \
    if (bk_open(c, &b) != 0)                                                   \
        return;                                                                \
    if (bk_create(&b, &i, tag) != 0) {                                         \
        bk_close(&b);                                                          \
        return;                                                                \
    }

#define BK_END(b, i)                                                           \
    bk_destroy(&b, &i);                                                        \
    bk_close(&b)

static void bk_chomp(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* workdir: absolute, and where a command without cwd runs. */
void cf_bk_workdir(struct cf *c)
{
    BK_BEGIN(c, b, i, "workdir");
    const char *wd = ORCH_HAS(struct orch_backend_vtable, b.vt, workdir)
                         ? b.vt->workdir(i.inst)
                         : NULL;
    if (!wd) {
        cf_skip(c, "the backend reports no work dir (workdir slot NULL, as in ABI 1.0): "
                   "steps see host->inst_workdir NULL");
    } else if (wd[0] != '/') {
        cf_fail(c, "workdir slot: '%s' is not an absolute path", wd);
    } else {
        char *want = oc_xstrdup(wd);
        char *out = bk_sh(&b, &i, "pwd");
        bk_chomp(out);
        if (out && strcmp(out, want))
            cf_fail(c, "workdir slot says '%s' but a command without cwd runs in '%s'", want,
                    out);
        free(out);
        free(want);
    }
    BK_END(b, i);
}

/* ORCH_EXEC_SHELL: argv[0] is a script for /bin/sh -c. */
void cf_bk_shell(struct cf *c)
{
    BK_BEGIN(c, b, i, "shell");
    char *out = bk_sh(&b, &i, "a='x y'; printf '%s|' \"$a\" && echo ok | tr a-z A-Z; "
                              "false || printf 'or\\n'");
    if (out && strcmp(out, "x y|OK\nor\n"))
        cf_fail(c, "exec with ORCH_EXEC_SHELL: the script printed '%s', want 'x y|OK\\nor\\n' "
                   "(variables, quotes, &&, || and a pipe through /bin/sh -c)", out);
    free(out);
    BK_END(b, i);
}

struct bk_live {
    struct cf_ctx *x;
    struct oc_buf out;
    int saw_first;
};

/* The first bytes cancel the exec: only a backend that delivers output
 * while the command runs gets cancelled before the command ends. */
static void bk_live_output(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    struct bk_live *l = ud;
    if (stream != ORCH_STREAM_STDOUT)
        return;
    oc_buf_add(&l->out, data, (size_t)len);
    if (!l->saw_first && l->out.data && strstr(l->out.data, "cf-first")) {
        l->saw_first = 1;
        l->x->cancelled = 1;
        if (l->x->cancel_pipe[1] >= 0 && write(l->x->cancel_pipe[1], "c", 1) < 0) {
            /* the flag alone still cancels a backend that polls it */
        }
    }
}

void cf_bk_stream_live(struct cf *c)
{
    BK_BEGIN(c, b, i, "live");
    static const char *const argv[] = {"printf cf-first; sleep 30; printf cf-late", NULL};
    struct bk_live l = {.x = &b.x};
    struct orch_exec_req req = {.struct_size = sizeof req, .argc = 1, .argv = argv,
                                .flags = ORCH_EXEC_SHELL, .timeout_ms = 20000,
                                .on_output = bk_live_output, .ud = &l};
    struct orch_exec_res res = {.struct_size = sizeof res, .exit_code = -1};
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b.vt->exec(i.inst, &b.x.ctx, &req, &res, &err);
    if (!l.saw_first)
        cf_fail(c, "exec: 'cf-first' never reached on_output (%s)", orch_strerror(rc));
    else if (rc != ORCH_E_CANCELLED)
        cf_fail(c, "exec: output arrived only when the command ended (%s, not cancelled "
                   "by the cancel its first bytes raised): a backend with CAP_EXEC_STREAM "
                   "must deliver output while the command runs",
                orch_strerror(rc));
    oc_error_clear(&err);
    oc_buf_free(&l.out);
    /* A fresh context, as after any cancel. */
    cf_ctx_fini(&b.x);
    cf_ctx_init(&b.x, c, "backend");
    BK_END(b, i);
}

/* exec after stop fails (any status but OK), returns, and does not crash. */
void cf_bk_exec_after_stop(struct cf *c)
{
    BK_BEGIN(c, b, i, "stopexec");
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b.vt->stop(i.inst, &b.x.ctx, 2000, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "stop with a 2 s grace");
    oc_error_clear(&err);
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct bk_exec_opts opts = {.timeout_ms = 30000};
    rc = bk_exec(&b, &i, "printf ran", &opts, &o, &res, &err);
    if (rc == ORCH_OK && res.exit_code == 0)
        cf_fail(c, "exec on a stopped instance succeeded; the contract (backend.h) is a "
                   "failure status");
    else if (rc == ORCH_E_TIMEOUT)
        cf_fail(c, "exec on a stopped instance hung until its timeout");
    oc_error_clear(&err);
    bk_out_free(&o);
    BK_END(b, i);
}
