/* A command on the SSH host: run in a session of its own (setsid), its
 * process group id written beside the instance, so a timeout or cancel
 * kills the whole group (TERM, a grace, KILL) through a second channel;
 * stdout and stderr stream apart as they arrive, stdin is written as the
 * remote end takes it. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orch/kit.h>

#include "ssh.h"

/* The remote command line: cd, the request's variables from envfile
 * (sourced, then removed: values never travel in a command line, which
 * every user of the host can read), a new session whose leader records its
 * pid (before the command may run: reap_commands finds it), then the
 * command. */
static char *sb_cmdline(struct orch_instance *in, const struct orch_exec_req *req,
                        const char *pidfile, const char *envfile)
{
    struct pk_buf b = {.h = sb_host};
    pk_add(&b, "cd");
    pk_add_word(&b, in->workdir);
    if (req->cwd && *req->cwd) {
        /* cwd is checked where it ends up, not by its name: a symlink on
         * the way may not lead out of the work dir. */
        pk_add(&b, " && w=$(pwd -P) && cd -P --");
        pk_add_word(&b, req->cwd);
        pk_add(&b, " && case \"$(pwd -P)/\" in \"$w\"/*) ;; *) echo 'orch: cwd leads out "
                   "of the instance work dir (a symbolic link): refused' >&2; exit 125;; esac");
    }
    if (envfile) {
        pk_add(&b, " && exec sh -c");
        pk_add_word(&b, ". \"$1\" && rm -f \"$1\" && shift && exec sh -c '" PK_GROUP_RUN_RECORDED
                        "' \"$@\"");
        pk_add(&b, " sh");
        pk_add_word(&b, envfile);
    } else {
        pk_add(&b, " && exec sh -c '" PK_GROUP_RUN_RECORDED "'");
    }
    pk_add_word(&b, pidfile);
    if (req->flags & ORCH_EXEC_SHELL) {
        pk_add(&b, " sh -c");
        pk_add_word(&b, req->argv[0]);
    } else {
        for (uint32_t i = 0; i < req->argc; i++)
            pk_add_word(&b, req->argv[i]);
    }
    return pk_buf_take(&b);
}

static void sb_deliver(struct orch_ctx *ctx, const struct orch_exec_req *req, uint32_t stream,
                       const char *data, size_t len)
{
    if (req->on_output)
        req->on_output(req->ud, stream, data, len);
    else
        sb_host->log_stream(ctx, stream, data, len);
}

/* TERM to the group, the grace, KILL; over a channel of its own. The
 * script runs under sh whatever the user's login shell is (the kill
 * construct is POSIX sh's; fish or csh would not parse it). */
static void sb_kill_group(struct orch_backend *be, const char *pidfile)
{
    char *q = sb_quote(pidfile);
    char *kill = q ? pk_group_kill(sb_host, q, be->cfg.kill_grace_ms) : NULL;
    char *script = kill ? sb_printf("%s; rm -f %s; true", kill, q) : NULL;
    char *qs = script ? sb_quote(script) : NULL;
    char *cmd = qs ? sb_printf("exec sh -c %s", qs) : NULL;
    struct orch_error e = {0};
    int status;
    if (!cmd || sb_run(be, cmd, NULL, &status, &e) != ORCH_OK)
        sb_host->log(NULL, ORCH_LOG_WARN, "ssh: could not stop the command: %s",
                     e.message ? e.message : "out of memory");
    sb_host->error_set(&e, ORCH_OK, NULL);
    sb_host->free(cmd);
    sb_host->free(qs);
    sb_host->free(script);
    sb_host->free(kill);
    sb_host->free(q);
}

/* The request's variables into envfile, mode 0600, for the command line to
 * source and remove. */
static orch_status sb_write_env(struct orch_backend *be, const struct orch_exec_req *req,
                                const char *envfile, struct orch_error *err)
{
    char *exports = pk_env_exports(sb_host, req->env, req->env_count);
    orch_status wrc = exports ? ORCH_E_TRANSIENT
                              : sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* A connection that dropped since the last step: a new one, once. */
    for (int attempt = 0; attempt < 2 && wrc == ORCH_E_TRANSIENT; attempt++)
        wrc = sb_put_private(be, envfile, exports, strlen(exports), err);
    if (exports) {
        explicit_bzero(exports, strlen(exports));
        sb_host->free(exports);
    }
    return wrc;
}

/* A session channel running cmd; NULL with rc set when there is none. */
static LIBSSH2_CHANNEL *sb_start_command(struct orch_backend *be, const char *cmd,
                                         orch_status *rc, struct orch_error *err)
{
    LIBSSH2_CHANNEL *ch = NULL;
    *rc = ORCH_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((*rc = sb_session(be, err)) != ORCH_OK)
            break;
        libssh2_session_set_blocking(be->s, 1);
        ch = libssh2_channel_open_session(be->s);
        if (ch)
            break;
        /* A connection that dropped since the last step: a new one, once. */
        if ((*rc = sb_fail(be, "open a channel", err)) != ORCH_E_TRANSIENT)
            break;
    }
    if (ch && libssh2_channel_exec(ch, cmd) != 0) {
        *rc = sb_fail(be, "exec", err);
        libssh2_channel_free(ch);
        ch = NULL;
    }
    return ch;
}

/* The request's timeout from start, or the ctx's deadline when sooner;
 * 0 = none. */
/* How the streaming of a command ended. */
enum sb_end { SB_END_EOF, SB_END_TIMEOUT, SB_END_CANCELLED, SB_END_READ_FAILED };

/* Stream stdout and stderr out and stdin in, without blocking, until the
 * channel's EOF, a cancel, the deadline or a read error (rc set then). */
static enum sb_end sb_stream(struct orch_backend *be, LIBSSH2_CHANNEL *ch, struct orch_ctx *ctx,
                             const struct orch_exec_req *req, int64_t deadline,
                             orch_status *rc, struct orch_error *err)
{
    int cancel_fd = sb_host->cancel_fd(ctx);
    const char *in_data = req->stdin_data;
    uint64_t in_left = req->stdin_data ? req->stdin_len : 0;
    int in_eof = 0;
    char buf[32768];
    for (;;) {
        int progress = 0;
        for (int stream = 0; stream < 2; stream++) {
            ssize_t n;
            while ((n = libssh2_channel_read_ex(ch, stream, buf, sizeof buf)) > 0) {
                sb_deliver(ctx, req, stream ? ORCH_STREAM_STDERR : ORCH_STREAM_STDOUT, buf,
                           (size_t)n);
                progress = 1;
            }
            if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
                *rc = sb_fail(be, "read", err);
                return SB_END_READ_FAILED;
            }
        }
        if (!in_eof) {
            ssize_t w = in_left ? libssh2_channel_write(ch, in_data, in_left) : 0;
            if (w > 0) {
                in_data += w;
                in_left -= (uint64_t)w;
                progress = 1;
            }
            if (!in_left && libssh2_channel_send_eof(ch) != LIBSSH2_ERROR_EAGAIN)
                in_eof = 1;
        }
        if (libssh2_channel_eof(ch))
            return SB_END_EOF;
        if (sb_host->is_cancelled(ctx))
            return SB_END_CANCELLED;
        if (deadline && sb_host->now_mono_ns() >= deadline)
            return SB_END_TIMEOUT;
        if (!progress)
            sb_wait(be, 100, cancel_fd);
    }
}

/* A timeout or cancel: the group killed, the channel closed, the error. */
static orch_status sb_stop_command(struct orch_backend *be, LIBSSH2_CHANNEL *ch,
                                   const char *pidfile, enum sb_end end, int64_t start,
                                   struct orch_error *err)
{
    sb_kill_group(be, pidfile);
    libssh2_session_set_blocking(be->s, 1);
    libssh2_channel_close(ch);
    libssh2_channel_free(ch);
    int64_t ms = (sb_host->now_mono_ns() - start) / 1000000;
    return end == SB_END_TIMEOUT
               ? sb_host->error_set(err, ORCH_E_TIMEOUT,
                                    "command timed out after %lldms; its process "
                                    "group was killed", (long long)ms)
               : sb_host->error_set(err, ORCH_E_CANCELLED,
                                    "cancelled; the command's process group was "
                                    "killed");
}

/* The exit status or signal of a command whose channel reached EOF. */
static void sb_exit_status(LIBSSH2_CHANNEL *ch, struct orch_exec_res *res)
{
    libssh2_channel_close(ch);
    libssh2_channel_wait_closed(ch);
    res->exit_code = libssh2_channel_get_exit_status(ch);
    char *sig = NULL;
    size_t siglen = 0;
    if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL) == 0 &&
        sig) {
        static const char *const names[] = {"", "HUP", "INT", "QUIT", "ILL", "TRAP",
                                            "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
                                            "USR2", "PIPE", "ALRM", "TERM"};
        for (int i = 1; i < 16; i++)
            if (!strcmp(sig, names[i]))
                res->term_signal = i;
        res->exit_code = -1;
        sb_host->free(sig);
    }
    /* The wrapper's `wait` reports a command killed by signal N as
     * 128+N, the shell's convention (an exit of 129..159 by choice
     * reads the same). */
    if (res->exit_code > 128 && res->exit_code < 160 && !res->term_signal) {
        res->term_signal = res->exit_code - 128;
        res->exit_code = -1;
    }
}

/* The group's pid file is the session leader's business no more; the
 * variables' file goes too, had the command failed before reading it. */
static void sb_remove_files(struct orch_backend *be, const char *pidfile, const char *envfile)
{
    char *qp = sb_quote(pidfile);
    char *qe = envfile ? sb_quote(envfile) : NULL;
    char *rm = qp ? sb_printf("rm -f %s %s", qp, qe ? qe : "") : NULL;
    sb_host->free(qp);
    sb_host->free(qe);
    int st;
    struct orch_error e = {0};
    if (rm)
        sb_run(be, rm, NULL, &st, &e);
    sb_host->error_set(&e, ORCH_OK, NULL);
    sb_host->free(rm);
}

orch_status sb_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err)
{
    struct orch_backend *be = in->be;
    int64_t start = sb_host->now_mono_ns();
    char tag[32];
    snprintf(tag, sizeof tag, "%llx", (unsigned long long)start);
    if (req->cwd && *req->cwd && !sb_rel_ok(req->cwd))
        return sb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "cwd '%s' leaves the instance (absolute or '..')", req->cwd);
    char *pidfile = sb_printf("%s/.orch-pgid-%s", in->dir, tag);
    char *envfile = req->env_count ? sb_printf("%s/.orch-env-%s", in->dir, tag) : NULL;
    char *cmd = pidfile && (envfile || !req->env_count) ? sb_cmdline(in, req, pidfile, envfile)
                                                        : NULL;
    orch_status rc = cmd ? ORCH_OK : sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (rc == ORCH_OK && envfile)
        rc = sb_write_env(be, req, envfile, err);
    LIBSSH2_CHANNEL *ch = rc == ORCH_OK ? sb_start_command(be, cmd, &rc, err) : NULL;
    sb_host->free(cmd);
    if (ch) {
        libssh2_session_set_blocking(be->s, 0);
        int64_t deadline = pk_deadline(sb_host, ctx, start, req->timeout_ms);
        enum sb_end end = sb_stream(be, ch, ctx, req, deadline, &rc, err);
        if (end == SB_END_TIMEOUT || end == SB_END_CANCELLED) {
            rc = sb_stop_command(be, ch, pidfile, end, start, err);
        } else {
            libssh2_session_set_blocking(be->s, 1);
            if (end == SB_END_EOF) {
                sb_exit_status(ch, res);
                res->duration_ns = sb_host->now_mono_ns() - start;
                sb_remove_files(be, pidfile, envfile);
            }
            libssh2_channel_free(ch);
        }
    }
    sb_host->free(pidfile);
    sb_host->free(envfile);
    return rc;
}
