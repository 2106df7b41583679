/* Commands through the exec API. The engine cannot signal an exec, so every
 * command runs under a small sh wrapper that first writes its record (its
 * pid, which leads the exec's session and so its process group, and its
 * start time) to DK_REC_DIR/OWNER.TOKEN, then reports its pid on stderr,
 * carries a random token in its environment, runs the command, and removes
 * the record when the command ends. A timeout or cancel kills the group
 * and anything still carrying the token with a second exec; a record left
 * behind by an exec whose caller died is what reap.c ends. Stdin, which
 * would need a hijacked connection, goes in as a file the wrapper opens
 * and unlinks before the command starts. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include <orch/kit_reap.h>

#define DK_PID_MARK "\001orch-pid "

/* sh -c WRAP sh RECORD CWD [STDIN-FILE] ARGV... The command runs as the
 * wrapper's child (not exec'd) so that the wrapper can remove the record
 * once it ended; a command killed by signal N exits 128+N either way. */
#define DK_WRAP_HEAD                                                                           \
    "r=$1; shift; rec() " PK_RECORD_SELF("\"$r\"") "; { [ -d " DK_REC_DIR " ] || mkdir -p -m "  \
    "1777 " DK_REC_DIR "; } && rec || { echo \"orch: cannot write the command's record $r\" "    \
    ">&2; exit 126; }; printf '\\001orch-pid %s\\n' $$ >&2; cd -- \"$1\" || { rm -f -- \"$r\"; " \
    "exit 126; }; shift; "
#define DK_WRAP_STDIN "exec 0<\"$1\" && rm -f -- \"$1\" || { rm -f -- \"$r\"; exit 126; }; shift; "
#define DK_WRAP_TAIL "\"$@\"; s=$?; rm -f -- \"$r\"; exit $s"

struct dk_demux {
    unsigned char hdr[8];
    size_t hlen;
    uint32_t left;      /* payload bytes left in the current frame */
    unsigned stream;
    int pid_seen;       /* the wrapper's first stderr line was consumed */
    char pidline[48];
    size_t pidlen;
    long pid;
    orch_output_fn out;
    void *ud;
    struct orch_ctx *ctx;
};

static void dk_deliver(struct dk_demux *d, unsigned stream, const char *p, size_t n)
{
    if (!n)
        return;
    uint32_t s = stream == 2 ? ORCH_STREAM_STDERR : ORCH_STREAM_STDOUT;
    if (d->out)
        d->out(d->ud, s, p, n);
    else
        dk_host->log_stream(d->ctx, s, p, n);
}

/* The first stderr line is the wrapper's pid report, not the command's. */
static size_t dk_take_pid(struct dk_demux *d, const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && !d->pid_seen) {
        char ch = p[k++];
        if (ch == '\n' || d->pidlen == sizeof d->pidline - 1) {
            d->pidline[d->pidlen] = 0;
            d->pid_seen = 1;
            if (!strncmp(d->pidline, DK_PID_MARK, strlen(DK_PID_MARK)))
                d->pid = atol(d->pidline + strlen(DK_PID_MARK));
            else /* not ours after all: hand it on */
                dk_deliver(d, 2, d->pidline, d->pidlen);
        } else {
            d->pidline[d->pidlen++] = ch;
        }
    }
    return k;
}

/* Frames of [stream u8][0 0 0][size u32 big-endian][payload]. */
static size_t dk_on_stream(char *p, size_t size, size_t n, void *ud)
{
    struct dk_demux *d = ud;
    size_t len = size * n, off = 0;
    while (off < len) {
        if (d->left == 0) {
            size_t k = sizeof d->hdr - d->hlen < len - off ? sizeof d->hdr - d->hlen : len - off;
            memcpy(d->hdr + d->hlen, p + off, k);
            d->hlen += k;
            off += k;
            if (d->hlen == sizeof d->hdr) {
                d->stream = d->hdr[0];
                d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                          (uint32_t)d->hdr[6] << 8 | d->hdr[7];
                d->hlen = 0;
            }
            continue;
        }
        size_t k = d->left < len - off ? d->left : len - off;
        size_t used = 0;
        if (d->stream == 2 && !d->pid_seen)
            used = dk_take_pid(d, p + off, k);
        dk_deliver(d, d->stream, p + off + used, k - used);
        d->left -= (uint32_t)k;
        off += k;
    }
    return len;
}

static void dk_token(char *out, size_t cap)
{
    unsigned char r[8] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)dk_host->now_real_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(r, &x, sizeof r);
    }
    if (fd >= 0)
        close(fd);
    snprintf(out, cap, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

struct dk_mem_src {
    const char *p;
    uint64_t len, off;
};

static int64_t dk_mem_read(void *ud, void *buf, uint64_t len)
{
    struct dk_mem_src *s = ud;
    uint64_t k = s->len - s->off < len ? s->len - s->off : len;
    memcpy(buf, s->p + s->off, (size_t)k);
    s->off += k;
    return (int64_t)k;
}

static json_t *dk_exec_body(struct orch_instance *in, const struct orch_exec_req *req,
                            const char *token, const char *record, const char *stdin_file)
{
    json_t *cmd = json_array(), *env = json_array();
    json_array_append_new(cmd, json_string("/bin/sh"));
    json_array_append_new(cmd, json_string("-c"));
    char *wrap = dk_printf("%s%s%s", DK_WRAP_HEAD, stdin_file ? DK_WRAP_STDIN : "", DK_WRAP_TAIL);
    json_array_append_new(cmd, json_string(wrap ? wrap : "exit 126"));
    dk_host->free(wrap);
    json_array_append_new(cmd, json_string("sh"));
    json_array_append_new(cmd, json_string(record));
    char *cwd = dk_abs_path(in, req->cwd ? req->cwd : ".");
    json_array_append_new(cmd, json_string(cwd ? cwd : "/"));
    dk_host->free(cwd);
    if (stdin_file)
        json_array_append_new(cmd, json_string(stdin_file));
    if (req->flags & ORCH_EXEC_SHELL) {
        json_array_append_new(cmd, json_string("/bin/sh"));
        json_array_append_new(cmd, json_string("-c"));
        json_array_append_new(cmd, json_string(req->argv[0]));
    } else {
        for (uint32_t i = 0; i < req->argc; i++)
            json_array_append_new(cmd, json_string(req->argv[i]));
    }
    for (uint32_t i = 0; i < req->env_count; i++) {
        char *kv = dk_printf("%s=%s", req->env[i].key, req->env[i].value ? req->env[i].value : "");
        json_array_append_new(env, json_string(kv ? kv : ""));
        dk_host->free(kv);
    }
    char tok[64];
    snprintf(tok, sizeof tok, "ORCH_EXEC_TOKEN=%s", token);
    json_array_append_new(env, json_string(tok));
    return json_pack("{s:b,s:b,s:b,s:o,s:o}", "AttachStdin", 0, "AttachStdout", 1,
                     "AttachStderr", 1, "Cmd", cmd, "Env", env);
}

/* Kills the command's process group and every process still carrying its
 * token: TERM, kill_grace, then KILL. Runs after a cancel, so it ignores it. */
static void dk_kill_exec(struct orch_instance *in, struct orch_ctx *ctx, long pid,
                         const char *token, const char *record)
{
    long ticks = (long)(in->be->cfg->kill_grace_ms / 100);
    char *script = dk_printf(
        "t=%s; g=%ld\n"
        "own() { for d in /proc/[0-9]*; do grep -qs \"ORCH_EXEC_TOKEN=$t\" $d/environ && "
        "echo ${d#/proc/}; done; }\n"
        "k() { [ $g -gt 0 ] && kill -$1 -$g 2>/dev/null; for p in $(own); do kill -$1 $p "
        "2>/dev/null; done; }\n"
        "alive() { [ $g -gt 0 ] && kill -0 -$g 2>/dev/null && return 0; [ -n \"$(own)\" ]; }\n"
        "k TERM; i=0; while alive && [ $i -lt %ld ]; do sleep 0.1; i=$((i+1)); done; k KILL; "
        "rm -f -- %s; true",
        token, pid, ticks, record);
    if (!script)
        return;
    struct orch_error e = {.struct_size = sizeof e};
    int code;
    struct pk_buf out = {.h = dk_host};
    if (dk_sh(in, ctx, 1, script, &code, &out, &e) != ORCH_OK)
        dk_host->log(ctx, ORCH_LOG_WARN, "docker: killing the command in %s: %s", in->name,
                     e.message ? e.message : "failed");
    dk_host->free(e.message);
    pk_buf_free(&out);
    dk_host->free(script);
}

static orch_status dk_exec_create(struct orch_instance *in, struct orch_ctx *ctx, json_t *body,
                                  char **exec_id, struct orch_error *err)
{
    char *path = dk_printf("/containers/%s/exec", in->id);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    long code = 0;
    json_t *ans = NULL;
    orch_status st = dk_call(in->be, ctx, "POST", path, body, &code, &ans, err);
    dk_host->free(path);
    if (st != ORCH_OK)
        return st;
    const char *id = json_string_value(json_object_get(ans, "Id"));
    if (code == 201 && id)
        *exec_id = dk_host->strdup(id);
    else if (code == 404)
        st = dk_engine_error(err, code, ans, "container %s", in->name);
    else
        st = dk_engine_error(err, code, ans, "exec in container %s", in->name);
    json_decref(ans);
    if (st == ORCH_OK && !*exec_id)
        st = dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    return st;
}

/* The exit code, once the engine has noticed the process ended. */
static orch_status dk_exec_exit(struct orch_instance *in, struct orch_ctx *ctx,
                                const char *exec_id, int *exit_code, struct orch_error *err)
{
    char *path = dk_printf("/exec/%s/json", exec_id);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    orch_status st = ORCH_OK;
    for (int tries = 0;; tries++) {
        long code = 0;
        json_t *ans = NULL;
        st = dk_call(in->be, ctx, "GET", path, NULL, &code, &ans, err);
        if (st != ORCH_OK)
            break;
        if (code != 200) {
            st = dk_engine_error(err, code, ans, "inspecting exec in %s", in->name);
            json_decref(ans);
            break;
        }
        int running = json_is_true(json_object_get(ans, "Running"));
        *exit_code = (int)json_integer_value(json_object_get(ans, "ExitCode"));
        json_decref(ans);
        if (!running)
            break;
        if (tries == 200) {
            st = dk_host->error_set(err, ORCH_E_PROTOCOL,
                                    "exec in %s still running after its output ended",
                                    in->name);
            break;
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    dk_host->free(path);
    return st;
}

struct dk_run {
    const struct orch_exec_req *req;
    int ignore_cancel;
    int64_t timeout_ms;  /* -1: none but the ctx's */
};

static orch_status dk_exec_run(struct orch_instance *in, struct orch_ctx *ctx,
                               const struct dk_run *run, struct dk_demux *d, int *exit_code,
                               struct orch_error *err)
{
    const struct orch_exec_req *req = run->req;
    /* Engine calls see no ctx when they must outlive a cancel. */
    struct orch_ctx *hctx = run->ignore_cancel ? NULL : ctx;
    char token[32], stdin_file[64], owner[96], record[192];
    dk_token(token, sizeof token);
    /* Who called: a reap leaves this command alone while its caller lives. */
    if (pk_owner_self(owner, sizeof owner) != 0)
        return dk_host->error_set(err, ORCH_E_IO,
                                  "cannot read this process's /proc/self/stat (for the "
                                  "command's record)");
    snprintf(record, sizeof record, DK_REC_DIR "/%s.%s", owner, token);
    const char *sfile = NULL;
    orch_status st;
    if (req->stdin_data && req->stdin_len) {
        snprintf(stdin_file, sizeof stdin_file, "/tmp/.orch-stdin-%s", token);
        struct dk_mem_src src = {req->stdin_data, req->stdin_len, 0};
        /* /tmp exists: no mkdir, so no call back into dk_sh. */
        st = dk_put_path(in, hctx, stdin_file, 0600, dk_mem_read, &src, NULL, err);
        if (st != ORCH_OK)
            return st;
        sfile = stdin_file;
    }
    json_t *body = dk_exec_body(in, req, token, record, sfile);
    char *exec_id = NULL;
    st = body ? dk_exec_create(in, hctx, body, &exec_id, err)
              : dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    json_decref(body);
    if (st != ORCH_OK)
        return st;
    char *path = dk_printf("/exec/%s/start", exec_id);
    static const char start[] = "{\"Detach\":false,\"Tty\":false}";
    struct dk_req rq = {.method = "POST", .path = path, .ctx = hctx,
                        .content_type = "application/json", .body = start,
                        .body_len = sizeof start - 1, .write_cb = dk_on_stream, .write_ud = d,
                        .timeout_ms = run->timeout_ms};
    struct dk_resp rs;
    st = path ? dk_http(in->be, &rq, &rs, err)
              : dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    dk_host->free(path);
    if (st == ORCH_E_TIMEOUT || st == ORCH_E_CANCELLED) {
        dk_kill_exec(in, ctx, d->pid, token, record);
        if (st == ORCH_E_TIMEOUT)
            dk_host->error_set(err, st, "command in %s timed out; its processes were "
                                        "killed", in->name);
        else
            dk_host->error_set(err, st, "command in %s cancelled; its processes were "
                                        "killed", in->name);
    } else if (st == ORCH_OK) {
        if (rs.code != 200 && rs.code != 101) {
            json_t *ans = rs.http.body.len ? json_loadb(rs.http.body.p, rs.http.body.len, 0, NULL) : NULL;
            st = dk_engine_error(err, rs.code, ans, "starting exec in %s", in->name);
            json_decref(ans);
        }
        dk_resp_free(&rs);
        if (st == ORCH_OK)
            st = dk_exec_exit(in, hctx, exec_id, exit_code, err);
    }
    dk_host->free(exec_id);
    return st;
}

/* A stop kills the commands a moment before the engine marks the
 * container stopped: give it that moment. */
static int dk_stopping(struct orch_instance *in)
{
    for (int i = 0; i < 20; i++) {
        int r = dk_running(in);
        if (r != 1)
            return r == 0;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

orch_status dk_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err)
{
    if (req->argc == 0 || !req->argv || !req->argv[0] || !*req->argv[0])
        return dk_host->error_set(err, ORCH_E_INVALID_ARG, "empty command");
    int64_t t0 = dk_host->now_mono_ns();
    struct dk_demux d = {.out = req->on_output, .ud = req->ud, .ctx = ctx};
    struct dk_run run = {.req = req, .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : -1};
    int code = -1;
    orch_status st = dk_exec_run(in, ctx, &run, &d, &code, err);
    /* Killed by a signal: say so when it was the container that went. */
    if (st == ORCH_OK && (code == 137 || code == 143) && dk_stopping(in))
        st = dk_host->error_set(err, ORCH_E_FAILED,
                                "container %s stopped while the command ran (it "
                                "exited with status %d)",
                                in->name, code);
    if (res) {
        res->exit_code = st == ORCH_OK ? code : -1;
        res->term_signal = 0;
        res->duration_ns = dk_host->now_mono_ns() - t0;
    }
    return st;
}

static void dk_collect_out(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    (void)stream;
    struct pk_buf *b = ud;
    if (b->len + len <= 65536)
        pk_add_mem(b, data, (size_t)len);
}

orch_status dk_sh(struct orch_instance *in, struct orch_ctx *ctx, int ignore_cancel,
                  const char *script, int *exit_code, struct pk_buf *out,
                  struct orch_error *err)
{
    const char *argv[] = {script};
    struct orch_exec_req req = {.struct_size = sizeof req, .argc = 1, .argv = argv,
                                .flags = ORCH_EXEC_SHELL, .cwd = "/"};
    struct dk_demux d = {.out = dk_collect_out, .ud = out, .ctx = ctx};
    struct dk_run run = {.req = &req, .ignore_cancel = ignore_cancel};
    *exit_code = -1;
    return dk_exec_run(in, ctx, &run, &d, exit_code, err);
}

orch_status dk_sh_for(struct orch_instance *in, struct orch_ctx *ctx, const char *script,
                      int64_t timeout_ms, int *exit_code, struct pk_buf *out,
                      struct orch_error *err)
{
    const char *argv[] = {script};
    struct orch_exec_req req = {.struct_size = sizeof req, .argc = 1, .argv = argv,
                                .flags = ORCH_EXEC_SHELL, .cwd = "/"};
    struct dk_demux d = {.out = dk_collect_out, .ud = out, .ctx = ctx};
    struct dk_run run = {.req = &req, .timeout_ms = timeout_ms};
    *exit_code = -1;
    return dk_exec_run(in, ctx, &run, &d, exit_code, err);
}
