/* Running git in the instance: output to the step log and a tail kept for
 * the error message, which carries git's own words and a plain cause. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "git.h"

struct sg_sink {
    struct sg_out *out;
    struct orch_ctx *ctx;
};

static void sg_on_output(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    struct sg_sink *so = ud;
    struct sg_out *o = so->out;
    if (!o->quiet)
        sg_host->log_stream(so->ctx, stream, data, len);
    if (stream == ORCH_STREAM_STDOUT && o->capture && o->cap_len < o->cap_max) {
        size_t n = o->cap_max - o->cap_len < len ? o->cap_max - o->cap_len : (size_t)len;
        memcpy(o->capture + o->cap_len, data, n);
        o->cap_len += n;
        o->capture[o->cap_len] = 0;
    }
    /* The tail: the last SG_TAIL-1 bytes of both streams together. */
    if (len >= SG_TAIL - 1) {
        memcpy(o->tail, data + len - (SG_TAIL - 1), SG_TAIL - 1);
        o->len = SG_TAIL - 1;
    } else {
        if (o->len + len > SG_TAIL - 1) {
            size_t drop = o->len + (size_t)len - (SG_TAIL - 1);
            memmove(o->tail, o->tail + drop, o->len - drop);
            o->len -= drop;
        }
        memcpy(o->tail + o->len, data, (size_t)len);
        o->len += (size_t)len;
    }
    o->tail[o->len] = 0;
}

struct sg_cause {
    const char *needle;
    const char *cause;
    orch_status code;
};

static const struct sg_cause sg_causes[] = {
    {"not found in upstream", "no such ref", ORCH_E_FAILED},
    {"couldn't find remote ref", "no such ref", ORCH_E_FAILED},
    {"did not match any", "no such ref", ORCH_E_FAILED},
    {"unknown revision", "no such ref", ORCH_E_FAILED},
    {"invalid reference", "no such ref", ORCH_E_FAILED},
    {"[rejected]", "push rejected", ORCH_E_FAILED},
    {"[remote rejected]", "push rejected", ORCH_E_FAILED},
    {"stale info", "push rejected", ORCH_E_FAILED},
    {"Authentication failed", "authentication failed", ORCH_E_AUTH},
    {"could not read Username", "authentication failed", ORCH_E_AUTH},
    {"could not read Password", "authentication failed", ORCH_E_AUTH},
    {"Permission denied (publickey", "authentication failed", ORCH_E_AUTH},
    {"returned error: 401", "authentication failed", ORCH_E_AUTH},
    {"returned error: 403", "authentication failed", ORCH_E_AUTH},
    {"Host key verification failed", "the remote's ssh host key is not the one expected",
     ORCH_E_AUTH},
    {"not an empty directory", "the target directory is not empty", ORCH_E_FAILED},
    {"not a git repository", "not a git repository (clone first, or set 'dir')", ORCH_E_FAILED},
    {"does not appear to be a git repository", "cannot read the remote repository",
     ORCH_E_FAILED},
    {"Could not read from remote repository", "cannot read the remote repository",
     ORCH_E_FAILED},
    {"Could not resolve host", "cannot reach the remote", ORCH_E_TRANSIENT},
    {"Connection refused", "cannot reach the remote", ORCH_E_TRANSIENT},
    {"Connection timed out", "cannot reach the remote", ORCH_E_TRANSIENT},
    {"nothing to commit", "nothing to commit (set allow_empty to commit anyway)",
     ORCH_E_FAILED},
    {"nothing added to commit", "nothing to commit (set allow_empty to commit anyway)",
     ORCH_E_FAILED},
};

/* git's most telling lines: fatal:, error:, and the ref lines of a push. */
static void sg_git_words(const char *tail, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    const char *last = NULL;
    for (const char *p = tail; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *q = p;
        while (len && (*q == ' ' || *q == '\t'))
            q++, len--;
        while (len && (q[len - 1] == '\r' || q[len - 1] == ' '))
            len--;
        if (len) {
            last = q;
            if ((!strncmp(q, "fatal:", 6) || !strncmp(q, "error:", 6) || !strncmp(q, "! [", 3)) &&
                n + len + 3 < cap)
                n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "; " : "", (int)len, q);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!n && last) {
        const char *nl = strchr(last, '\n');
        snprintf(out, cap, "%.*s", (int)(nl ? (size_t)(nl - last) : strlen(last)), last);
    }
}

orch_status sg_git(struct sg_step *s, const char *cwd, const char *const *argv,
                   struct sg_out *out, struct orch_error *err)
{
    struct sg_out local = {0};
    if (!out)
        out = &local;
    struct sg_sink so = {out, s->ctx};
    uint32_t argc = 0;
    while (argv[argc])
        argc++;
    struct orch_kv env[8];
    uint32_t n = 0;
    env[n++] = (struct orch_kv){"GIT_TERMINAL_PROMPT", "0"};
    env[n++] = (struct orch_kv){"LC_ALL", "C"}; /* git's words, in the words matched above */
    for (uint32_t i = 0; i < s->cred.env_count; i++)
        env[n++] = s->cred.env[i];
    struct orch_exec_req req = {
        .struct_size = sizeof req,
        .argc = argc,
        .argv = argv,
        .env = env,
        .env_count = n,
        .cwd = cwd,
        .timeout_ms = s->cfg->timeout_ms,
        .on_output = sg_on_output,
        .ud = &so,
    };
    struct orch_exec_res res = {.struct_size = sizeof res};
    orch_status st = sg_host->inst_exec(s->ctx, &req, &res, err);
    if (st != ORCH_OK)
        return st;
    if (res.exit_code == 0)
        return ORCH_OK;
    char words[1024];
    sg_git_words(out->tail, words, sizeof words);
    if (res.exit_code == 127)
        return sg_host->error_set(err, ORCH_E_FAILED,
                                  "git %s: git is not installed in the instance (%s)", argv[1],
                                  words);
    for (size_t i = 0; i < sizeof sg_causes / sizeof sg_causes[0]; i++)
        if (strstr(out->tail, sg_causes[i].needle))
            return sg_host->error_set(err, sg_causes[i].code, "git %s: %s: %s", argv[1],
                                      sg_causes[i].cause, words);
    return sg_host->error_set(err, ORCH_E_FAILED, "git %s failed (exit %d): %s", argv[1],
                              res.exit_code, words);
}

orch_status sg_git_value(struct sg_step *s, const char *const *argv, int one_line,
                         char **value, struct orch_error *err)
{
    struct sg_out out = {.quiet = 1, .cap_max = 65536};
    out.capture = sg_host->alloc(out.cap_max + 1);
    if (!out.capture)
        return sg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    out.capture[0] = 0;
    orch_status st = sg_git(s, s->cfg->dir, argv, &out, err);
    if (st != ORCH_OK) {
        sg_host->free(out.capture);
        return st;
    }
    char *v = out.capture;
    if (one_line) {
        char *nl = strchr(v, '\n');
        if (nl)
            *nl = 0;
    }
    size_t len = strlen(v);
    while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
        v[--len] = 0;
    *value = v;
    return ORCH_OK;
}
