/* Commands and files on a machine, through the exec endpoint (which takes
 * an argv and answers with the whole output once the command ends): a
 * step's command runs in a session of its own whose group a timeout or
 * cancel kills with a second exec; its leader records itself in DIR/rec
 * before it execs the command, and the command carries the dir's name as
 * ORCH_EXEC_TOKEN, for reap.c (the exec call goes on on the machine when
 * its caller dies); its stdout and stderr come back base64
 * encoded (so binary output survives JSON); stdin and files travel
 * base64 encoded in the command line, in chunks below the kernel's limit
 * for one argument. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fly-machines.h"
#include <orch/kit_reap.h>

/* Bytes of data per exec call; they travel base64 encoded in the request's
 * stdin (a string in fly-go's MachineExecRequest), so binary survives JSON. */
#define FL_CHUNK (6u << 20)

/* One exec call; the JSON answer in *r (exit_code, stdout, stderr; zero
 * values omitted). ctx NULL for clean-up after a cancel. */
static orch_status fl_exec_call(struct orch_instance *in, struct orch_ctx *ctx, json_t *argv,
                                const char *stdin_text, int64_t timeout_s, int flags,
                                struct fl_resp *r, struct orch_error *err)
{
    json_t *body = json_pack("{s:o,s:I}", "command", argv, "timeout", (json_int_t)timeout_s);
    if (stdin_text)
        json_object_set_new(body, "stdin", json_string(stdin_text));
    orch_status rc = fl_call(in->be, ctx, "POST", body, flags, NULL, r, err,
                             "/apps/%s/machines/%s/exec", in->be->cfg->app, in->id);
    if (rc == ORCH_OK && r->status != 200) {
        char *what = fl_printf("exec on machine %s", in->id);
        rc = fl_fail(r, what ? what : "exec", err);
        fl_host->free(what);
    }
    return rc;
}

static orch_status fl_sh_flags(struct orch_instance *in, struct orch_ctx *ctx,
                               const char *script, int64_t timeout_s, int flags, char **out,
                               int *status, struct orch_error *err)
{
    struct fl_resp r;
    orch_status rc = fl_exec_call(in, ctx, json_pack("[s,s,s]", "sh", "-c", script), NULL,
                                  timeout_s, flags, &r, err);
    if (rc == ORCH_OK) {
        *status = (int)json_integer_value(json_object_get(r.json, "exit_code"));
        const char *o = json_string_value(json_object_get(r.json, "stdout"));
        if (out)
            *out = fl_host->strdup(o ? o : "");
    }
    fl_resp_free(&r);
    return rc;
}

orch_status fl_sh(struct orch_instance *in, struct orch_ctx *ctx, const char *script,
                  int64_t timeout_s, char **out, int *status, struct orch_error *err)
{
    return fl_sh_flags(in, ctx, script, timeout_s, 0, out, status, err);
}

orch_status fl_sh_idem(struct orch_instance *in, struct orch_ctx *ctx, const char *script,
                       int64_t timeout_s, char **out, int *status, struct orch_error *err)
{
    return fl_sh_flags(in, ctx, script, timeout_s, FL_IDEMPOTENT, out, status, err);
}

/* Write data to PATH (a shell word, quoted) on the machine, in chunks. */
static orch_status fl_upload(struct orch_instance *in, struct orch_ctx *ctx, const char *qpath,
                             const char *data, size_t len, struct orch_error *err)
{
    size_t off = 0;
    do {
        size_t n = len - off < FL_CHUNK ? len - off : FL_CHUNK;
        char *b64 = fl_b64(data + off, n);
        char *script = fl_printf("base64 -d %s %s", off ? ">>" : ">", qpath);
        struct fl_resp r;
        orch_status rc = b64 && script
                             ? fl_exec_call(in, ctx, json_pack("[s,s,s]", "sh", "-c", script),
                                            b64, 300, 0, &r, err)
                             : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
        fl_host->free(b64);
        fl_host->free(script);
        if (rc == ORCH_OK && json_integer_value(json_object_get(r.json, "exit_code")) != 0)
            rc = fl_host->error_set(err, ORCH_E_IO, "writing %s on machine %s failed: %s",
                                    qpath, in->id,
                                    json_string_value(json_object_get(r.json, "stderr"))
                                        ? json_string_value(json_object_get(r.json, "stderr"))
                                        : "exit status not 0");
        if (rc == ORCH_OK || rc != ORCH_E_NOMEM)
            fl_resp_free(&r);
        if (rc != ORCH_OK)
            return rc;
        off += n;
    } while (off < len);
    return ORCH_OK;
}

/* The session leader of a step's command, `sh -c FL_LEADER DIR/rec CMD...`:
 * its record first (orch/kit_reap.h), then the command in its place,
 * carrying DIR's name as its token. Only the command's session carries it, not the
 * plumbing around it in the exec's own process group. It goes inside
 * single quotes: no ' in it. */
#define FL_LEADER                                                                              \
    "rec() " PK_RECORD_SELF("\"$0\"") "; rec || { echo \"orch: cannot write the record $0 of "  \
    "the command\" >&2; exit 126; }; t=${0%/rec}; export ORCH_EXEC_TOKEN=${t##*/}; "            \
    "exec \"$@\""

/* The script of a step's command: in the work dir (and cwd), the
 * variables from DIR/env, a new session recording its pid in
 * DIR/pgid (for a timeout's kill) and, from its leader, DIR/rec (for a
 * reap), the command with its stdin from DIR/in; then the exit status and
 * both outputs, base64. */
static char *fl_script(struct orch_instance *in, const struct orch_exec_req *req,
                       const char *dir)
{
    struct pk_buf b = {.h = fl_host};
    const char *wd = in->be->cfg->workdir;
    pk_add(&b, "d=");
    pk_add(&b, dir);
    pk_add(&b, "; mkdir -p $d; touch $d/in; (cd");
    pk_add_word(&b, wd);
    if (req->cwd && *req->cwd) {
        pk_add(&b, " && cd");
        pk_add_word(&b, req->cwd);
    }
    /* The variables come from a file (fl_exec wrote it): a command line
     * is readable by every process on the machine. */
    if (req->env_count)
        pk_add(&b, " && . $d/env && rm -f $d/env");
    pk_add(&b, " && exec sh -c '" PK_GROUP_RUN "' $d/pgid sh -c '" FL_LEADER "' $d/rec");
    if (req->flags & ORCH_EXEC_SHELL) {
        pk_add(&b, " sh -c");
        pk_add_word(&b, req->argv[0]);
    } else {
        for (uint32_t i = 0; i < req->argc; i++)
            pk_add_word(&b, req->argv[i]);
    }
    pk_add(&b, ") <$d/in >$d/out 2>$d/err; rc=$?; echo \"orch-rc:$rc\"; base64 $d/out | tr -d "
               "'\\n'; echo; base64 $d/err | tr -d '\\n'; echo; rm -rf $d");
    return pk_buf_take(&b);
}

static void fl_deliver(struct orch_ctx *ctx, const struct orch_exec_req *req, uint32_t stream,
                       const char *b64)
{
    char *data = NULL;
    size_t len = 0;
    if (!b64 || fl_unb64(b64, &data, &len) != 0)
        return;
    for (size_t off = 0; off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        if (req->on_output)
            req->on_output(req->ud, stream, data + off, n);
        else
            fl_host->log_stream(ctx, stream, data + off, n);
    }
    fl_host->free(data);
}

/* TERM to the command's group, the grace, KILL; the scratch dir goes. */
static void fl_kill(struct orch_instance *in, const char *dir)
{
    char *pidfile = fl_printf("%s/pgid", dir);
    char *kill = pidfile ? pk_group_kill(fl_host, pidfile, in->be->cfg->kill_grace_ms) : NULL;
    char *script = kill ? fl_printf("%s; rm -rf %s; true", kill, dir) : NULL;
    struct orch_error e = {0};
    int st;
    if (!script || fl_sh_idem(in, NULL, script, 60, NULL, &st, &e) != ORCH_OK)
        fl_host->log(NULL, ORCH_LOG_WARN, "fly: could not stop the command on machine %s: %s",
                     in->id, e.message ? e.message : "out of memory");
    fl_host->error_set(&e, ORCH_OK, NULL);
    fl_host->free(script);
    fl_host->free(kill);
    fl_host->free(pidfile);
}

/* The request's variables into DIR/env on the machine: the exec request's
 * stdin, not its argv, carries the values. */
static orch_status fl_exec_env(struct orch_instance *in, struct orch_ctx *ctx,
                               const struct orch_exec_req *req, const char *dir,
                               struct orch_error *err)
{
    char *exports = pk_env_exports(fl_host, req->env, req->env_count);
    char *b64 = exports ? fl_b64(exports, strlen(exports)) : NULL;
    char *put = fl_printf("umask 077 && mkdir -p %s && base64 -d > %s/env", dir, dir);
    struct fl_resp r = {0};
    /* Safe twice (the file is written whole again): a 5xx is retried. */
    orch_status rc = b64 && put ? fl_exec_call(in, ctx, json_pack("[s,s,s]", "sh", "-c", put),
                                               b64, 60, FL_IDEMPOTENT, &r, err)
                                : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (rc == ORCH_OK && json_integer_value(json_object_get(r.json, "exit_code")) != 0)
        rc = fl_host->error_set(err, ORCH_E_IO,
                                "writing the command's variables on machine %s "
                                "failed",
                                in->id);
    fl_resp_free(&r);
    if (exports)
        explicit_bzero(exports, strlen(exports));
    fl_host->free(exports);
    fl_host->free(b64);
    fl_host->free(put);
    return rc;
}

/* The request's stdin into DIR/in on the machine. */
static orch_status fl_exec_stdin(struct orch_instance *in, struct orch_ctx *ctx,
                                 const struct orch_exec_req *req, const char *dir,
                                 struct orch_error *err)
{
    char *mk = fl_printf("mkdir -p %s", dir);
    int st;
    orch_status rc = mk ? fl_sh_idem(in, ctx, mk, 60, NULL, &st, err)
                        : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    fl_host->free(mk);
    char *q = fl_printf("%s/in", dir);
    if (rc == ORCH_OK)
        rc = q ? fl_upload(in, ctx, q, req->stdin_data, (size_t)req->stdin_len, err)
               : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    fl_host->free(q);
    return rc;
}

/* The script's answer: "orch-rc:N", then its stdout and stderr in base64,
 * one a line; delivered to the request, the status into res. */
static orch_status fl_exec_result(struct orch_instance *in, struct orch_ctx *ctx,
                                  const struct orch_exec_req *req, const struct fl_resp *r,
                                  struct orch_exec_res *res, struct orch_error *err)
{
    const char *out = json_string_value(json_object_get(r->json, "stdout"));
    const char *rcl = out ? strstr(out, "orch-rc:") : NULL;
    if (!rcl) {
        const char *stderr_text = json_string_value(json_object_get(r->json, "stderr"));
        return fl_host->error_set(err, ORCH_E_PROTOCOL,
                                  "the command on machine %s ended without its exit "
                                  "status (exit %lld): %s",
                                  in->id,
                                  (long long)json_integer_value(json_object_get(r->json,
                                                                                "exit_code")),
                                  stderr_text ? stderr_text : "");
    }
    res->exit_code = atoi(rcl + 8);
    const char *l1 = strchr(rcl, '\n');
    const char *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;
    char *o64 = l1 && l2 ? fl_printf("%.*s", (int)(l2 - l1 - 1), l1 + 1) : NULL;
    const char *e64 = l2 ? l2 + 1 : NULL;
    fl_deliver(ctx, req, ORCH_STREAM_STDOUT, o64);
    fl_deliver(ctx, req, ORCH_STREAM_STDERR, e64);
    fl_host->free(o64);
    /* 128+N from the shell: killed by signal N. */
    if (res->exit_code > 128 && res->exit_code < 160) {
        res->term_signal = res->exit_code - 128;
        res->exit_code = -1;
    }
    return ORCH_OK;
}

orch_status fl_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err)
{
    int64_t start = fl_host->now_mono_ns();
    char dir[160], owner[96];
    /* Who called: a reap leaves the command alone while its caller lives. */
    if (pk_owner_self(owner, sizeof owner) != 0)
        return fl_host->error_set(err, ORCH_E_IO,
                                  "cannot read this process's /proc/self/stat (for the "
                                  "command's record)");
    snprintf(dir, sizeof dir, FL_XDIR_PREFIX "%s-%llx", owner, (unsigned long long)start);
    orch_status rc = req->env_count ? fl_exec_env(in, ctx, req, dir, err) : ORCH_OK;
    if (rc == ORCH_OK && req->stdin_data && req->stdin_len)
        rc = fl_exec_stdin(in, ctx, req, dir, err);
    if (rc != ORCH_OK)
        return rc;
    char *script = fl_script(in, req, dir);
    if (!script)
        return fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* The API's own timeout outlasts ours: we end the command first. */
    int64_t deadline = pk_deadline(fl_host, ctx, start, req->timeout_ms);
    int64_t api_s = deadline ? (deadline - start) / 1000000000 + 10 : 3600;
    struct fl_resp r;
    /* The command's own timeout ends the request like the step's deadline. */
    in->be->deadline_ns = deadline;
    rc = fl_exec_call(in, ctx, json_pack("[s,s,s]", "sh", "-c", script), NULL, api_s, 0, &r,
                      err);
    in->be->deadline_ns = 0;
    fl_host->free(script);
    int64_t now = fl_host->now_mono_ns();
    if (rc == ORCH_OK) {
        rc = fl_exec_result(in, ctx, req, &r, res, err);
        if (rc == ORCH_OK)
            res->duration_ns = now - start;
    } else if (rc == ORCH_E_TIMEOUT || rc == ORCH_E_CANCELLED) {
        fl_kill(in, dir);
        int64_t ms = (fl_host->now_mono_ns() - start) / 1000000;
        rc = rc == ORCH_E_TIMEOUT
                 ? fl_host->error_set(err, ORCH_E_TIMEOUT,
                                      "command timed out after %lldms; its process group was "
                                      "killed", (long long)ms)
                 : fl_host->error_set(err, ORCH_E_CANCELLED,
                                      "cancelled; the command's process group was killed");
    }
    fl_resp_free(&r);
    return rc;
}

/* "WORKDIR/rel" quoted, after refusing absolute paths and "..". */
static char *fl_path(struct orch_instance *in, const char *rel, struct orch_error *err)
{
    int bad = rel && rel[0] == '/';
    for (const char *p = rel; p && *p && !bad; p++)
        bad = p[0] == '.' && p[1] == '.' && (p == rel || p[-1] == '/') && (p[2] == '/' || !p[2]);
    if (bad) {
        fl_host->error_set(err, ORCH_E_INVALID_ARG,
                           "path '%s' leaves the instance (absolute or '..')", rel);
        return NULL;
    }
    char *full = rel && *rel && strcmp(rel, ".") ? fl_printf("%s/%s", in->be->cfg->workdir, rel)
                                                 : fl_host->strdup(in->be->cfg->workdir);
    char *q = full ? fl_quote(full) : NULL;
    fl_host->free(full);
    if (!q)
        fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    return q;
}

orch_status fl_put_file(struct orch_instance *in, struct orch_ctx *ctx, const char *rel,
                        uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err)
{
    if (!rel || !*rel)
        return fl_host->error_set(err, ORCH_E_INVALID_ARG, "put_file: no path");
    char *q = fl_path(in, rel, err);
    if (!q)
        return err->code;
    size_t len = 0, cap = 65536;
    char *buf = fl_host->alloc(cap);
    orch_status rc = buf ? ORCH_OK : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    while (rc == ORCH_OK) {
        if (cap - len < 65536) {
            char *nb = fl_host->realloc(buf, cap * 2);
            if (!nb) {
                rc = fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int64_t n = rd(ud, buf + len, cap - len);
        if (n < 0)
            rc = fl_host->error_set(err, ORCH_E_IO, "put_file %s: reading the source failed", rel);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    char *tmp = rc == ORCH_OK ? fl_printf("%s.orch-part", q) : NULL;
    /* The parent directories first; the file lands whole (a rename). */
    char *mk = tmp ? fl_printf("mkdir -p \"$(dirname %s)\"", q) : NULL;
    int st = 0;
    if (rc == ORCH_OK && (!tmp || !mk))
        rc = fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (rc == ORCH_OK)
        rc = fl_sh_idem(in, ctx, mk, 60, NULL, &st, err);
    if (rc == ORCH_OK)
        rc = fl_upload(in, ctx, tmp, buf, len, err);
    if (rc == ORCH_OK) {
        char *mv = fl_printf("mv %s %s && chmod %o %s", tmp, q, mode ? mode : 0644, q);
        rc = mv ? fl_sh(in, ctx, mv, 60, NULL, &st, err)
                : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
        fl_host->free(mv);
        if (rc == ORCH_OK && st != 0)
            rc = fl_host->error_set(err, ORCH_E_IO, "put_file %s on machine %s failed", rel,
                                    in->id);
    }
    fl_host->free(mk);
    fl_host->free(tmp);
    fl_host->free(buf);
    fl_host->free(q);
    return rc;
}

orch_status fl_get_file(struct orch_instance *in, struct orch_ctx *ctx, const char *rel,
                        orch_write_fn wr, void *ud, struct orch_error *err)
{
    char *q = fl_path(in, rel, err);
    if (!q)
        return err->code;
    char *script = fl_printf("[ -f %s ] || exit 3; base64 %s | tr -d '\\n'", q, q);
    fl_host->free(q);
    char *out = NULL;
    int st = 0;
    orch_status rc = script ? fl_sh_idem(in, ctx, script, 300, &out, &st, err)
                            : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    fl_host->free(script);
    if (rc == ORCH_OK && st == 3)
        rc = fl_host->error_set(err, ORCH_E_NOT_FOUND, "no file %s on machine %s", rel,
                                in->id);
    else if (rc == ORCH_OK && st != 0)
        rc = fl_host->error_set(err, ORCH_E_IO, "reading %s on machine %s failed", rel,
                                in->id);
    char *data = NULL;
    size_t len = 0;
    if (rc == ORCH_OK && fl_unb64(out, &data, &len) != 0)
        rc = fl_host->error_set(err, ORCH_E_PROTOCOL, "%s came back garbled", rel);
    for (size_t off = 0; rc == ORCH_OK && off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        if (wr(ud, data + off, n) != 0)
            rc = fl_host->error_set(err, ORCH_E_CANCELLED, "get_file %s: the reader stopped",
                                    rel);
    }
    fl_host->free(data);
    fl_host->free(out);
    return rc;
}

orch_status fl_list_dir(struct orch_instance *in, struct orch_ctx *ctx, const char *rel,
                        orch_dirent_fn fn, void *ud, struct orch_error *err)
{
    char *q = fl_path(in, rel, err);
    if (!q)
        return err->code;
    /* One line an entry: type mode size mtime name (names with newlines
     * are not listed correctly). */
    char *script = fl_printf(
        "cd %s 2>/dev/null || exit 3; for f in * .*; do case \"$f\" in .|..) continue;; esac; "
        "[ -e \"$f\" ] || [ -L \"$f\" ] || continue; if [ -L \"$f\" ]; then t=l; elif [ -d "
        "\"$f\" ]; then t=d; elif [ -f \"$f\" ]; then t=f; else t=o; fi; echo \"$t $(stat -c "
        "'%%a %%s %%Y' \"$f\") $f\"; done",
        q);
    fl_host->free(q);
    char *out = NULL;
    int st = 0;
    orch_status rc = script ? fl_sh_idem(in, ctx, script, 60, &out, &st, err)
                            : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    fl_host->free(script);
    if (rc == ORCH_OK && st == 3)
        rc = fl_host->error_set(err, ORCH_E_NOT_FOUND, "no directory %s on machine %s",
                                rel ? rel : ".", in->id);
    char *save = NULL;
    for (char *line = rc == ORCH_OK ? strtok_r(out, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char t;
        unsigned mode;
        unsigned long long size;
        long long mtime;
        int name_at = 0;
        if (sscanf(line, "%c %o %llu %lld %n", &t, &mode, &size, &mtime, &name_at) != 4 ||
            !name_at)
            continue;
        struct orch_dirent e = {
            .struct_size = sizeof e,
            .type = t == 'f' ? ORCH_FT_FILE : t == 'd' ? ORCH_FT_DIR : t == 'l' ? ORCH_FT_LINK
                                                                                : ORCH_FT_OTHER,
            .name = line + name_at,
            .mode = mode,
            .size = size,
            .mtime_ns = mtime * 1000000000LL,
        };
        if (fn(ud, &e) != 0)
            break;
    }
    fl_host->free(out);
    return rc;
}
