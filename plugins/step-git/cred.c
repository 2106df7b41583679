/* Credentials for clone and push, only from secrets: an https token behind
 * a GIT_ASKPASS script, or an ssh key for GIT_SSH_COMMAND, each in a 0600
 * file of a 0700 temp dir in the instance that lives as long as the step.
 * The secret travels on the setup command's stdin, so it never shows in a
 * process list, the step log or an output. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "git.h"

/* Not secret: the script text. The secret is stdin. */
static const char sg_setup_script[] =
    "umask 077; d=$(mktemp -d) || exit 1\n"
    "cat > \"$d/secret\" || exit 1\n"
    "cat > \"$d/askpass\" <<'ORCH_ASKPASS_END'\n"
    "#!/bin/sh\n"
    "case \"$1\" in Username*) echo \"${ORCH_GIT_USERNAME:-x-access-token}\" ;;\n"
    "*) cat \"${0%/*}/secret\" ;; esac\n"
    "ORCH_ASKPASS_END\n"
    "chmod 700 \"$d/askpass\" && : > \"$d/known_hosts\" && echo \"$d\"\n";

struct sg_collect {
    char buf[256];
    size_t len;
};

static void sg_collect(void *ud, uint32_t stream, const char *data, uint64_t len)
{
    struct sg_collect *c = ud;
    if (stream != ORCH_STREAM_STDOUT)
        return;
    size_t n = sizeof c->buf - 1 - c->len < len ? sizeof c->buf - 1 - c->len : (size_t)len;
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = 0;
}

static orch_status sg_sh(struct sg_step *s, const char *script, const char *in, size_t in_len,
                         struct sg_collect *out, struct orch_error *err)
{
    const char *argv[] = {script};
    struct orch_exec_req req = {.struct_size = sizeof req, .argc = 1, .argv = argv,
                                .flags = ORCH_EXEC_SHELL, .stdin_data = in,
                                .stdin_len = in_len, .on_output = sg_collect, .ud = out};
    struct orch_exec_res res = {.struct_size = sizeof res};
    orch_status st = sg_host->inst_exec(s->ctx, &req, &res, err);
    if (st == ORCH_OK && res.exit_code != 0)
        st = sg_host->error_set(err, ORCH_E_FAILED,
                                "setting up credentials in the instance failed (exit %d)",
                                res.exit_code);
    return st;
}

orch_status sg_cred_setup(struct sg_step *s, struct orch_error *err)
{
    const struct sg_cfg *c = s->cfg;
    const char *secret = c->token ? c->token : c->ssh_key;
    if (!secret)
        return ORCH_OK;
    /* ssh refuses a key without its final newline. */
    size_t len = strlen(secret);
    char *data = sg_host->alloc(len + 2);
    if (!data)
        return sg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    memcpy(data, secret, len);
    if (c->ssh_key && (len == 0 || secret[len - 1] != '\n'))
        data[len++] = '\n';
    struct sg_collect out = {0};
    orch_status st = sg_sh(s, sg_setup_script, data, len, &out, err);
    memset(data, 0, len);
    sg_host->free(data);
    if (st != ORCH_OK)
        return st;
    char *nl = strchr(out.buf, '\n');
    if (nl)
        *nl = 0;
    if (out.buf[0] != '/')
        return sg_host->error_set(err, ORCH_E_FAILED,
                                  "credentials: mktemp gave no directory");
    snprintf(s->cred.dir, sizeof s->cred.dir, "%s", out.buf);
    if (c->known_hosts) {
        char script[512];
        snprintf(script, sizeof script, "cat > '%s/known_hosts'", s->cred.dir);
        st = sg_sh(s, script, c->known_hosts, strlen(c->known_hosts), &out, err);
        if (st != ORCH_OK) {
            sg_cred_teardown(s);
            return st;
        }
    }
    struct sg_cred *cr = &s->cred;
    if (c->token) {
        snprintf(cr->askpass, sizeof cr->askpass, "%s/askpass", cr->dir);
        cr->env[cr->env_count++] = (struct orch_kv){"GIT_ASKPASS", cr->askpass};
        cr->env[cr->env_count++] =
            (struct orch_kv){"ORCH_GIT_USERNAME", c->username ? c->username : "x-access-token"};
    } else {
        snprintf(cr->ssh_cmd, sizeof cr->ssh_cmd,
                 "ssh -i '%s/secret' -o IdentitiesOnly=yes -o BatchMode=yes "
                 "-o UserKnownHostsFile='%s/known_hosts' -o StrictHostKeyChecking=%s",
                 cr->dir, cr->dir, c->known_hosts ? "yes" : "accept-new");
        cr->env[cr->env_count++] = (struct orch_kv){"GIT_SSH_COMMAND", cr->ssh_cmd};
    }
    return ORCH_OK;
}

void sg_cred_teardown(struct sg_step *s)
{
    if (!s->cred.dir[0])
        return;
    char script[400];
    snprintf(script, sizeof script, "rm -rf -- '%s'", s->cred.dir);
    struct sg_collect out = {0};
    struct orch_error e = {.struct_size = sizeof e};
    if (sg_sh(s, script, NULL, 0, &out, &e) != ORCH_OK)
        sg_host->log(s->ctx, ORCH_LOG_WARN, "removing the credential files %s: %s",
                     s->cred.dir, e.message ? e.message : "failed");
    sg_host->free(e.message);
    s->cred.dir[0] = 0;
    s->cred.env_count = 0;
}
