/* The backend suite: lifecycle after Terraform's acceptance tests
 * (create, attach from another process, stop, destroy, check destroyed),
 * exec cases after Nomad's shared driver suite, and files checked against
 * each other and against exec (fstest.TestFS). */
#define _GNU_SOURCE
#include "backend_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static uint32_t bk_state(struct bk *b, struct bk_inst *i, orch_status *rc_out)
{
    struct orch_instance_status st = {.struct_size = sizeof st};
    if (!b->vt->status) {
        if (rc_out)
            *rc_out = ORCH_E_UNSUPPORTED;
        return ORCH_INST_UNKNOWN;
    }
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b->vt->status(i->inst, &b->x.ctx, &st, &err);
    oc_error_clear(&err);
    oc_host()->free(st.detail);
    if (rc_out)
        *rc_out = rc;
    return rc == ORCH_OK ? st.state : ORCH_INST_UNKNOWN;
}

static void bk_lifecycle(struct cf *c)
{
    BK_BEGIN(c, b, i, "life");
    orch_status rc;
    uint32_t s = bk_state(&b, &i, &rc);
    if (rc != ORCH_E_UNSUPPORTED && (rc != ORCH_OK || s != ORCH_INST_RUNNING))
        cf_fail(c, "status right after create: %s, state %u; want ORCH_OK and running (%u)",
                orch_strerror(rc), s, ORCH_INST_RUNNING);
    char *out = bk_sh(&b, &i, "printf ready");
    if (out && strcmp(out, "ready"))
        cf_fail(c, "exec 'printf ready' printed '%s'", out);
    free(out);
    struct orch_error err;
    oc_error_init(&err);
    rc = b.vt->destroy(i.inst, &b.x.ctx, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "destroy");
    oc_error_clear(&err);
    s = bk_state(&b, &i, &rc);
    if (!(rc == ORCH_E_NOT_FOUND || rc == ORCH_E_UNSUPPORTED || (rc == ORCH_OK && s == ORCH_INST_DESTROYED)))
        cf_fail(c, "status after destroy: %s, state %u; want NOT_FOUND or destroyed",
                orch_strerror(rc), s);
    struct bk_out o = {0};
    struct orch_exec_res res;
    rc = bk_exec(&b, &i, "true", NULL, &o, &res, &err);
    if (rc == ORCH_OK && res.exit_code == 0)
        cf_fail(c, "exec on a destroyed instance succeeded: the instance is not really gone");
    oc_error_clear(&err);
    bk_out_free(&o);
    orch_status second = b.vt->destroy(i.inst, &b.x.ctx, &err);
    oc_error_clear(&err);
    orch_status third = b.vt->destroy(i.inst, &b.x.ctx, &err);
    oc_error_clear(&err);
    if (second != ORCH_OK && second != ORCH_E_NOT_FOUND)
        cf_fail(c, "destroy twice: %s; want ORCH_OK or NOT_FOUND", orch_strerror(second));
    if (second != third)
        cf_fail(c, "destroy twice then three times: %s then %s; want the same answer",
                orch_strerror(second), orch_strerror(third));
    bk_release(&b, &i);
    bk_close(&b);
}

static void bk_exit_codes(struct cf *c)
{
    BK_BEGIN(c, b, i, "exit");
    static const int codes[] = {0, 1, 7, 255};
    for (size_t k = 0; k < sizeof codes / sizeof *codes; k++) {
        char script[32];
        snprintf(script, sizeof script, "exit %d", codes[k]);
        struct bk_out o = {0};
        struct orch_exec_res res;
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = bk_exec(&b, &i, script, NULL, &o, &res, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "exec '%s' (a non-zero exit is ORCH_OK with exit_code)",
                        script);
        else if (res.exit_code != codes[k])
            cf_fail(c, "exec '%s': exit_code %d", script, res.exit_code);
        oc_error_clear(&err);
        bk_out_free(&o);
    }
    BK_END(b, i);
}

static void bk_streams(struct cf *c)
{
    BK_BEGIN(c, b, i, "streams");
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = bk_exec(&b, &i, "printf out1; printf err1 >&2; printf out2", NULL, &o,
                             &res, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "exec");
    else {
        const char *out = o.out.data ? o.out.data : "", *er = o.err.data ? o.err.data : "";
        if (strstr(out, "err1"))
            cf_fail(c, "exec: stderr bytes appeared on stdout (stdout '%s')", out);
        if (strstr(er, "out"))
            cf_fail(c, "exec: stdout bytes appeared on stderr (stderr '%s')", er);
        if (!strstr(out, "err1") && strcmp(out, "out1out2"))
            cf_fail(c, "exec: stdout is '%s', want 'out1out2'", out);
        if (!strstr(er, "out") && strcmp(er, "err1"))
            cf_fail(c, "exec: stderr is '%s', want 'err1'", er);
    }
    oc_error_clear(&err);
    bk_out_free(&o);
    BK_END(b, i);
}

static void bk_env_cwd(struct cf *c)
{
    BK_BEGIN(c, b, i, "envcwd");
    const struct orch_kv env[] = {{"ORCH_CF_A", "alpha"}, {"ORCH_CF_B", "with space; $x"}};
    struct bk_exec_opts opts = {.env = env, .env_count = 2};
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = bk_exec(&b, &i, "printf '%s|%s' \"$ORCH_CF_A\" \"$ORCH_CF_B\"", &opts,
                             &o, &res, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "exec with env");
    else if (!o.out.data || strcmp(o.out.data, "alpha|with space; $x"))
        cf_fail(c, "env not honoured: printed '%s', want 'alpha|with space; $x'",
                o.out.data ? o.out.data : "");
    oc_error_clear(&err);
    bk_out_free(&o);
    free(bk_sh(&b, &i, "mkdir -p cf-sub/deeper"));
    struct bk_exec_opts in_sub = {.cwd = "cf-sub/deeper"};
    rc = bk_exec(&b, &i, "pwd", &in_sub, &o, &res, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "exec with cwd");
    else {
        size_t n = o.out.len;
        while (n && o.out.data[n - 1] == '\n')
            n--;
        if (n < 13 || strncmp(o.out.data + n - 13, "cf-sub/deeper", 13))
            cf_fail(c, "cwd not honoured: pwd printed '%.*s', want a path ending in "
                       "cf-sub/deeper", (int)n, o.out.data ? o.out.data : "");
    }
    oc_error_clear(&err);
    bk_out_free(&o);
    BK_END(b, i);
}

static void bk_large_binary(struct cf *c)
{
    BK_BEGIN(c, b, i, "large");
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = bk_exec(&b, &i, "dd if=/dev/zero bs=65536 count=64 2>/dev/null", NULL,
                             &o, &res, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "exec producing 4 MiB");
    else if (o.out.len != 4u << 20)
        cf_fail(c, "large output: got %zu bytes of stdout, want %u", o.out.len, 4u << 20);
    else
        for (size_t k = 0; k < o.out.len; k++)
            if (o.out.data[k]) {
                cf_fail(c, "large output: byte %zu is 0x%02x, want 0", k,
                        (unsigned char)o.out.data[k]);
                break;
            }
    oc_error_clear(&err);
    bk_out_free(&o);
    rc = bk_exec(&b, &i, "printf '\\000\\001\\002\\377\\n\\r'", NULL, &o, &res, &err);
    static const char want[] = {0, 1, 2, (char)0xff, '\n', '\r'};
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "exec producing binary output");
    else if (o.out.len != sizeof want || memcmp(o.out.data, want, sizeof want))
        cf_fail(c, "binary output: got %zu bytes, want the 6 bytes 00 01 02 ff 0a 0d intact",
                o.out.len);
    oc_error_clear(&err);
    bk_out_free(&o);
    size_t n = 1u << 20;
    char *in = oc_xmalloc(n);
    for (size_t k = 0; k < n; k++)
        in[k] = (char)(k * 7 + 3);
    struct bk_exec_opts opts = {.stdin_data = in, .stdin_len = n};
    rc = bk_exec(&b, &i, "wc -c", &opts, &o, &res, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "exec with 1 MiB of stdin");
    else if (!o.out.data || atol(o.out.data) != (long)n)
        cf_fail(c, "stdin: the command read %s bytes, want %zu", o.out.data ? o.out.data : "0",
                n);
    free(in);
    oc_error_clear(&err);
    bk_out_free(&o);
    BK_END(b, i);
}

static void bk_not_found(struct cf *c)
{
    BK_BEGIN(c, b, i, "nf");
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct orch_error err;
    oc_error_init(&err);
    struct bk_exec_opts opts = {.no_shell = 1};
    orch_status rc = bk_exec(&b, &i, "orch-conformance-no-such-command", &opts, &o, &res,
                             &err);
    const char *er = o.err.data ? o.err.data : "";
    if (rc == ORCH_OK && res.exit_code == 0)
        cf_fail(c, "running a command that does not exist succeeded (exit 0)");
    else if (rc == ORCH_OK && res.exit_code != 127)
        cf_fail(c, "command not found: exit code %d, want 127 (as sh gives)", res.exit_code);
    else if (rc == ORCH_OK && !strstr(er, "orch-conformance-no-such-command"))
        cf_fail(c, "command not found: exit 127 but stderr ('%.200s') does not name the command",
                er);
    else if (rc != ORCH_OK && rc != ORCH_E_NOT_FOUND)
        cf_fail_err(c, rc, &err, "command not found: want ORCH_E_NOT_FOUND or a non-zero "
                                 "exit (127), got");
    else if (rc == ORCH_E_NOT_FOUND &&
             (!err.message || !strstr(err.message, "orch-conformance-no-such-command")))
        cf_fail(c, "command not found: the message '%s' does not name the command",
                err.message ? err.message : "");
    oc_error_clear(&err);
    bk_out_free(&o);
    BK_END(b, i);
}

/* A command that leaves a background child, to see the whole group die. */
#define BK_SLEEPER "sleep 300 & echo $! > cf-child.pid; echo $$ > cf-shell.pid; sleep 300"

/* A zombie waiting for its reaper is gone for our purpose: kill -0 would
 * still see it, /proc/PID/stat says Z. A survivor is reported and then
 * killed, so a failed case leaves nothing running behind the suite. */
static void bk_expect_gone(struct bk *b, struct bk_inst *i, const char *what)
{
    char *out = bk_sh(b, i, "for f in cf-child.pid cf-shell.pid; do p=$(cat $f 2>/dev/null); "
                            "[ -n \"$p\" ] || { echo \"$f missing\"; continue; }; "
                            "s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -c1); "
                            "if [ -n \"$s\" ] && [ \"$s\" != Z ] && [ \"$s\" != X ]; then "
                            "echo \"$f alive ($s)\"; kill -9 -$p 2>/dev/null; kill -9 $p 2>/dev/null; "
                            "fi; done; true");
    if (out && *out)
        cf_fail(b->c, "after %s the command's processes still run: %s", what, out);
    free(out);
}

static void bk_interrupt(struct cf *c, int cancel)
{
    BK_BEGIN(c, b, i, cancel ? "cancel" : "timeout");
    struct bk_out o = {0};
    struct orch_exec_res res;
    struct orch_error err;
    oc_error_init(&err);
    struct bk_exec_opts opts = {.timeout_ms = cancel ? 0 : 500};
    if (cancel)
        cf_cancel_after(&b.x, 500);
    int64_t t0 = oc_now_mono_ns();
    orch_status rc = bk_exec(&b, &i, BK_SLEEPER, &opts, &o, &res, &err);
    int64_t ms = (oc_now_mono_ns() - t0) / 1000000;
    cf_cancel_join();
    orch_status want = cancel ? ORCH_E_CANCELLED : ORCH_E_TIMEOUT;
    if (rc != want)
        cf_fail(c, "%s: got %s, want %s", cancel ? "cancel" : "timeout", orch_strerror(rc),
                orch_strerror(want));
    if (ms > 500 + c->conf->cancel_bound_ms)
        cf_fail(c, "%s took %lld ms to return, more than 500 ms + the %lld ms bound",
                cancel ? "cancel" : "timeout", (long long)ms,
                (long long)c->conf->cancel_bound_ms);
    oc_error_clear(&err);
    bk_out_free(&o);
    b.x.cancelled = 0;
    if (cancel) {
        /* The instance must still serve a fresh context after a cancel. */
        cf_ctx_fini(&b.x);
        cf_ctx_init(&b.x, c, "backend");
    }
    bk_expect_gone(&b, &i, cancel ? "cancel" : "timeout");
    BK_END(b, i);
}

static void bk_timeout(struct cf *c)
{
    bk_interrupt(c, 0);
}

static void bk_cancel(struct cf *c)
{
    bk_interrupt(c, 1);
}

struct bk_src {
    const char *data;
    size_t len, off;
};

static int64_t bk_read(void *ud, void *buf, uint64_t len)
{
    struct bk_src *s = ud;
    size_t n = s->len - s->off < len ? s->len - s->off : (size_t)len;
    if (n > 70000)
        n = 70000; /* odd chunks find framing bugs */
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return (int64_t)n;
}

static int32_t bk_write(void *ud, const void *buf, uint64_t len)
{
    oc_buf_add(ud, buf, (size_t)len);
    return 0;
}

struct bk_ls {
    int found;
    uint32_t type, mode;
    uint64_t size;
};

static int32_t bk_on_dirent(void *ud, const struct orch_dirent *e)
{
    struct bk_ls *l = ud;
    if (e->name && !strcmp(e->name, "data.bin")) {
        l->found++;
        l->type = e->type;
        l->mode = e->mode;
        l->size = e->size;
    }
    return 0;
}

static void bk_files(struct cf *c)
{
    BK_BEGIN(c, b, i, "files");
    size_t n = (1u << 20) + 13;
    char *data = oc_xmalloc(n);
    uint32_t x = 2463534242u;
    for (size_t k = 0; k < n; k++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[k] = (char)x;
    }
    data[0] = 0;
    struct bk_src src = {data, n, 0};
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b.vt->put_file(i.inst, &b.x.ctx, "cf-dir/data.bin", 0640, bk_read, &src,
                                    &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "put_file cf-dir/data.bin (the directory does not exist "
                                 "yet: put_file creates it)");
    oc_error_clear(&err);
    if (rc == ORCH_OK && (c->desc->caps & ORCH_BACKEND_CAP_GET_FILE)) {
        struct oc_buf got = {0};
        rc = b.vt->get_file(i.inst, &b.x.ctx, "cf-dir/data.bin", bk_write, &got, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "get_file after put_file");
        else if (got.len != n || memcmp(got.data, data, n))
            cf_fail(c, "get_file after put_file returned different bytes (%zu bytes, want "
                       "%zu)", got.len, n);
        oc_error_clear(&err);
        oc_buf_free(&got);
        rc = b.vt->get_file(i.inst, &b.x.ctx, "cf-dir/no-such-file", bk_write, &got, &err);
        if (rc != ORCH_E_NOT_FOUND)
            cf_fail(c, "get_file of a missing file: %s, want ORCH_E_NOT_FOUND",
                    orch_strerror(rc));
        oc_error_clear(&err);
        oc_buf_free(&got);
    }
    if (c->desc->caps & ORCH_BACKEND_CAP_LIST_DIR) {
        struct bk_ls l = {0};
        rc = b.vt->list_dir(i.inst, &b.x.ctx, "cf-dir", bk_on_dirent, &l, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "list_dir cf-dir");
        else if (l.found != 1)
            cf_fail(c, "list_dir cf-dir after put_file: data.bin listed %d times, want once",
                    l.found);
        else {
            if (l.type != ORCH_FT_FILE)
                cf_fail(c, "list_dir: data.bin has type %u, want file (%u)", l.type,
                        ORCH_FT_FILE);
            if (l.size != n)
                cf_fail(c, "list_dir: data.bin has size %llu, want %zu",
                        (unsigned long long)l.size, n);
            if ((l.mode & 0777) != 0640)
                cf_fail(c, "list_dir: data.bin has mode %o, want the 0640 given to put_file",
                        l.mode & 0777);
        }
        oc_error_clear(&err);
    }
    char *wc = bk_sh(&b, &i, "wc -c < cf-dir/data.bin");
    if (wc && atol(wc) != (long)n)
        cf_fail(c, "exec sees %ld bytes in the file put_file wrote, want %zu", atol(wc), n);
    free(wc);
    free(data);
    BK_END(b, i);
}

static void bk_attach(struct cf *c)
{
    BK_BEGIN(c, b, i, "attach");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* A fresh backend handle knowing only the id and handle text. */
        struct bk b2;
        if (bk_open(c, &b2) != 0)
            _exit(1);
        struct bk_inst j = {0};
        snprintf(j.iid, sizeof j.iid, "%s", i.iid);
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = b2.vt->attach(b2.be, &b2.x.ctx, i.id, i.handle, &j.inst, &err);
        if (rc != ORCH_OK) {
            cf_fail_err(c, rc, &err, "attach by id '%s' from another process", i.id);
            _exit(1);
        }
        char *out = bk_sh(&b2, &j, "printf attached");
        if (out && strcmp(out, "attached"))
            cf_fail(c, "exec after attach printed '%s'", out);
        free(out);
        b2.vt->release(j.inst);
        oc_error_clear(&err);
        rc = b2.vt->attach(b2.be, &b2.x.ctx, "orch-conformance-no-such-instance", NULL, &j.inst,
                           &err);
        if (rc != ORCH_E_NOT_FOUND)
            cf_fail(c, "attach to an id that does not exist: %s, want ORCH_E_NOT_FOUND",
                    orch_strerror(rc));
        if (rc == ORCH_OK)
            b2.vt->release(j.inst);
        oc_error_clear(&err);
        bk_close(&b2);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st))
        cf_fail(c, "the attaching process died with signal %d", WTERMSIG(st));
    BK_END(b, i);
}

static void bk_stop(struct cf *c)
{
    BK_BEGIN(c, b, i, "stop");
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b.vt->stop(i.inst, &b.x.ctx, 2000, &err);
    if (rc != ORCH_OK)
        cf_fail_err(c, rc, &err, "stop with a 2 s grace");
    oc_error_clear(&err);
    uint32_t s = bk_state(&b, &i, &rc);
    if (rc != ORCH_E_UNSUPPORTED && (rc != ORCH_OK || s != ORCH_INST_STOPPED))
        cf_fail(c, "status after stop: %s, state %u; want stopped (%u)", orch_strerror(rc), s,
                ORCH_INST_STOPPED);
    BK_END(b, i);
}

struct bk_owned {
    const char *want, *gone;
    int saw_want, saw_gone, total;
};

static int32_t bk_on_owned(void *ud, const struct orch_owned_instance *o)
{
    struct bk_owned *w = ud;
    w->total++;
    const char *iid = NULL;
    for (uint32_t k = 0; k < o->label_count; k++)
        if (!strcmp(o->labels[k].key, "orch.instance"))
            iid = o->labels[k].value;
    if (iid && w->want && !strcmp(iid, w->want))
        w->saw_want++;
    if (iid && w->gone && !strcmp(iid, w->gone))
        w->saw_gone++;
    return 0;
}

static orch_status bk_list(struct bk *b, struct bk_owned *w, int by_run)
{
    const struct orch_kv match[] = {{"orch.owner", b->c->owner},
                                    {"orch.run", "conformance-run"}};
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = b->vt->list_owned(b->be, &b->x.ctx, match, by_run ? 2 : 1, bk_on_owned,
                                       w, &err);
    if (rc != ORCH_OK)
        cf_fail_err(b->c, rc, &err, "list_owned");
    oc_error_clear(&err);
    return rc;
}

static void bk_list_owned(struct cf *c)
{
    BK_BEGIN(c, b, a, "owned-a");
    struct bk_inst gone;
    if (bk_create(&b, &gone, "owned-b") == 0) {
        bk_destroy(&b, &gone);
        struct bk_owned w = {.want = a.iid, .gone = gone.iid};
        if (bk_list(&b, &w, 1) == ORCH_OK) {
            if (w.saw_want != 1)
                cf_fail(c, "list_owned lists live instance %s %d times, want once (labels "
                           "orch.instance/orch.run/orch.owner must come back)", a.iid,
                        w.saw_want);
            if (w.saw_gone)
                cf_fail(c, "list_owned still lists destroyed instance %s", gone.iid);
        }
    }
    bk_destroy(&b, &a);
    struct bk_owned after = {.want = a.iid};
    if (bk_list(&b, &after, 0) == ORCH_OK && after.saw_want)
        cf_fail(c, "list_owned lists %s after it was destroyed", a.iid);
    bk_close(&b);
}

static void bk_no_leftovers(struct cf *c)
{
    struct bk b;
    if (bk_open(c, &b) != 0)
        return;
    struct bk_owned w = {0};
    if (bk_list(&b, &w, 0) == ORCH_OK && w.total)
        cf_fail(c, "%d instance%s labelled orch.owner=%s still exist after the suite "
                   "(leaked by the cases above)", w.total, w.total == 1 ? "" : "s", c->owner);
    bk_close(&b);
}

static orch_status bk_torture_once(struct cf *c, void *ud)
{
    (void)ud;
    struct bk b;
    orch_status rc = ORCH_E_NOMEM;
    if (bk_open(c, &b) != 0) {
        b.live0 = CF_MARK_NONE; /* the torture loop does the leak check */
        bk_close(&b);
        return rc;
    }
    struct bk_inst i;
    char tag[32];
    snprintf(tag, sizeof tag, "torture%d", c->torture_n);
    if (bk_create(&b, &i, tag) == 0) {
        struct bk_out o = {0};
        struct orch_exec_res res;
        struct orch_error err;
        oc_error_init(&err);
        rc = bk_exec(&b, &i, "printf x", NULL, &o, &res, &err);
        if (rc == ORCH_OK && (o.out.len != 1 || res.exit_code != 0))
            rc = ORCH_E_FAILED;
        oc_error_clear(&err);
        bk_out_free(&o);
        orch_status drc = b.vt->destroy(i.inst, &b.x.ctx, &err);
        if (rc == ORCH_OK)
            rc = drc;
        oc_error_clear(&err);
        bk_release(&b, &i);
    }
    b.live0 = CF_MARK_NONE;
    bk_close(&b);
    return rc;
}

static void bk_torture(struct cf *c)
{
    cf_torture(c, "open, create, exec, destroy, close", bk_torture_once, NULL);
}

/* An exec whose caller dies mid-command (kill -9 of its executor) leaves
 * the command running; reap_commands must kill it and return only once it
 * is gone, so a re-run never runs beside it. Backend-neutral: the command
 * names its own pid in the instance, and the check runs there too. */
static void bk_reap(struct cf *c)
{
    BK_BEGIN(c, b, i, "reap");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* A process of its own (as an executor is), attached by id. */
        struct bk b2;
        if (bk_open(c, &b2) != 0)
            _exit(1);
        struct bk_inst j = {0};
        struct orch_error err;
        oc_error_init(&err);
        if (b2.vt->attach(b2.be, &b2.x.ctx, i.id, i.handle, &j.inst, &err) != ORCH_OK)
            _exit(1);
        struct bk_out o = {0};
        struct orch_exec_res res;
        bk_exec(&b2, &j, "echo $$ > reap.pid; exec sleep 300", NULL, &o, &res, &err);
        _exit(0); /* not reached unless the exec ended: the parent says so */
    }
    /* The command is running once it has named itself. */
    int started = 0;
    for (int k = 0; k < 600 && !started; k++) {
        struct bk_out o = {0};
        struct orch_exec_res res;
        struct orch_error err;
        oc_error_init(&err);
        started = bk_exec(&b, &i, "test -s reap.pid", NULL, &o, &res, &err) == ORCH_OK &&
                  res.exit_code == 0;
        oc_error_clear(&err);
        bk_out_free(&o);
        if (!started)
            usleep(100000);
    }
    int st = 0;
    pid_t ended = waitpid(pid, &st, WNOHANG);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    if (!started) {
        cf_fail(c, "the command 'echo $$ > reap.pid; exec sleep 300' did not write reap.pid "
                   "within 60 s");
    } else if (ended == pid) {
        cf_fail(c, "the exec of 'exec sleep 300' returned before it was killed");
    } else {
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = b.vt->reap_commands(i.inst, &b.x.ctx, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "reap_commands after the exec's process was killed");
        oc_error_clear(&err);
        struct bk_out o = {0};
        struct orch_exec_res res;
        /* Exit 0 while it lives; a zombie is gone (it waits only for init,
         * which may be slow to reap it, to collect its status). */
        static const char check[] =
            "p=$(cat reap.pid); kill -0 \"$p\" 2>/dev/null || exit 1; "
            "case \"$(sed 's/.*) //' /proc/$p/stat 2>/dev/null)\" in Z*|X*) exit 1;; esac";
        rc = bk_exec(&b, &i, check, NULL, &o, &res, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "exec 'kill -0 $(cat reap.pid)' after reap_commands");
        else if (res.exit_code == 0)
            cf_fail(c, "the command of the killed exec still runs after reap_commands "
                       "returned ORCH_OK (kill -0 of its pid succeeded, not a zombie)");
        oc_error_clear(&err);
        bk_out_free(&o);
        /* A second reap finds nothing and says ORCH_OK. */
        rc = b.vt->reap_commands(i.inst, &b.x.ctx, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "reap_commands a second time (nothing left to reap)");
        oc_error_clear(&err);
    }
    BK_END(b, i);
}

const struct cf_case cf_backend_cases[] = {
    {"backend/lifecycle", 0, 0, bk_lifecycle},
    {"backend/exec/exit-codes", 0, 0, bk_exit_codes},
    {"backend/exec/streams-apart", 0, 0, bk_streams},
    {"backend/exec/env-and-cwd", 0, 0, bk_env_cwd},
    {"backend/exec/large-binary-stdin", 0, 0, bk_large_binary},
    {"backend/exec/not-found", 0, 0, bk_not_found},
    {"backend/exec/shell", 0, 0, cf_bk_shell},
    {"backend/exec/streams-live", ORCH_BACKEND_CAP_EXEC_STREAM, 0, cf_bk_stream_live},
    {"backend/workdir", 0, 0, cf_bk_workdir},
    {"backend/exec/timeout", 0, 0, bk_timeout},
    {"backend/exec/cancel", 0, 0, bk_cancel},
    {"backend/files/put-get-list", ORCH_BACKEND_CAP_PUT_FILE, 0, bk_files},
    {"backend/attach/fresh-process", ORCH_BACKEND_CAP_ATTACH, 0, bk_attach},
    {"backend/stop", ORCH_BACKEND_CAP_STOP, 0, bk_stop},
    {"backend/stop/exec-after", ORCH_BACKEND_CAP_STOP, 0, cf_bk_exec_after_stop},
    {"backend/list-owned", ORCH_BACKEND_CAP_LIST_OWNED, 0, bk_list_owned},
    {"backend/reap", ORCH_BACKEND_CAP_REAP | ORCH_BACKEND_CAP_ATTACH, 0, bk_reap},
    {"backend/torture", 0, 1, bk_torture},
    {"backend/no-leftovers", ORCH_BACKEND_CAP_LIST_OWNED, 0, bk_no_leftovers},
    {NULL, 0, 0, NULL},
};
