/* backend-ssh: run steps on any host reachable by SSH. An instance is a
 * directory ROOT/<instance id> on the host (a marker file holds orch's
 * labels, for list_owned); commands run in its work/ subdirectory. The host
 * key is checked against known_hosts, strictly unless told otherwise. */
#define _GNU_SOURCE
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssh.h"

const struct orch_host *sb_host;

static const struct orch_option sb_options[] = {
    ORCH_OPTION(struct sb_cfg, host, "host", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL,
                "host name or address"),
    ORCH_OPTION(struct sb_cfg, port, "port", ORCH_OPT_INT, 0, "22", "SSH port"),
    ORCH_OPTION(struct sb_cfg, user, "user", ORCH_OPT_STRING, 0, NULL,
                "remote user (default: the user orch runs as)"),
    ORCH_OPTION(struct sb_cfg, private_key, "private_key", ORCH_OPT_STRING, ORCH_OPTF_SECRET,
                NULL, "the private key's text: ${{ secrets.NAME }}"),
    ORCH_OPTION(struct sb_cfg, private_key_file, "private_key_file", ORCH_OPT_PATH, 0, NULL,
                "a private key file"),
    ORCH_OPTION(struct sb_cfg, passphrase, "passphrase", ORCH_OPT_STRING, ORCH_OPTF_SECRET,
                NULL, "the private key's passphrase"),
    ORCH_OPTION(struct sb_cfg, use_agent, "use_agent", ORCH_OPT_BOOL, 0, "false",
                "authenticate with the keys of $SSH_AUTH_SOCK's agent"),
    ORCH_OPTION(struct sb_cfg, known_hosts, "known_hosts", ORCH_OPT_PATH, 0, NULL,
                "known_hosts file (default: ~/.ssh/known_hosts)"),
    ORCH_OPTION(struct sb_cfg, trust_on_first_use, "trust_on_first_use", ORCH_OPT_BOOL, 0,
                "false",
                "accept and record the key of a host not in known_hosts (a changed key is "
                "refused regardless)"),
    ORCH_OPTION(struct sb_cfg, connect_timeout_ms, "connect_timeout", ORCH_OPT_DURATION, 0,
                "10s", "TCP connect and SSH handshake"),
    ORCH_OPTION(struct sb_cfg, keepalive_ms, "keepalive", ORCH_OPT_DURATION, 0, "15s",
                "interval of SSH keepalives"),
    ORCH_OPTION(struct sb_cfg, root, "root", ORCH_OPT_STRING, 0, ".orch/instances",
                "remote directory for instance dirs (relative: to the user's home)"),
    ORCH_OPTION(struct sb_cfg, kill_grace_ms, "kill_grace", ORCH_OPT_DURATION, 0, "2s",
                "time between TERM and KILL when a command times out or is cancelled"),
};

static int sb_valid_id(const char *id)
{
    if (!id || !*id || strlen(id) > 128)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return id[0] != '.';
}

static void sb_release(struct orch_instance *in)
{
    if (!in)
        return;
    sb_host->free(in->id);
    sb_host->free(in->dir);
    sb_host->free(in->workdir);
    sb_host->free(in);
}

static struct orch_instance *sb_inst_new(struct orch_backend *be, const char *id)
{
    struct orch_instance *in = sb_host->calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->be = be;
    in->id = sb_host->strdup(id);
    in->dir = sb_printf("%s/%s", be->cfg.root, id);
    in->workdir = sb_printf("%s/%s/work", be->cfg.root, id);
    if (!in->id || !in->dir || !in->workdir) {
        sb_release(in);
        return NULL;
    }
    return in;
}

/* A shell command with one quoted path: "mkdir -p -- 'p'". */
static orch_status sb_path_cmd(struct orch_backend *be, const char *fmt, const char *path,
                               int *status, char **out, struct orch_error *err)
{
    char *q = sb_quote(path);
    char *cmd = q ? sb_printf(fmt, q, q) : NULL;
    sb_host->free(q);
    if (!cmd)
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    orch_status rc = sb_run(be, cmd, out, status, err);
    sb_host->free(cmd);
    return rc;
}

static orch_status sb_create(struct orch_backend *be, struct orch_ctx *ctx,
                             const struct orch_instance_spec *spec, struct orch_instance **out,
                             struct orch_instance_ref *ref, struct orch_error *err)
{
    (void)ctx;
    if (!sb_valid_id(spec->instance_id))
        return sb_host->error_set(err, ORCH_E_INVALID_ARG, "bad instance id");
    if (spec->image || spec->size || spec->region)
        return sb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "a directory on a host has no %s",
                                  spec->image ? "image" : spec->size ? "size" : "region");
    struct orch_instance *in = sb_inst_new(be, spec->instance_id);
    if (!in)
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* The marker, with orch's labels, written in one command with the
     * directory; labels are orch's ids and names (no tabs or newlines). */
    size_t cap = 256;
    for (uint32_t i = 0; i < spec->label_count; i++)
        cap += strlen(spec->labels[i].key) + strlen(spec->labels[i].value ? spec->labels[i].value : "") + 2;
    char *marker = sb_host->alloc(cap);
    if (!marker) {
        sb_release(in);
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    size_t len = (size_t)snprintf(marker, cap, "orch-instance 1\n");
    for (uint32_t i = 0; i < spec->label_count; i++)
        len += (size_t)snprintf(marker + len, cap - len, "%s\t%s\n", spec->labels[i].key,
                                spec->labels[i].value ? spec->labels[i].value : "");
    char *qm = sb_quote(marker);
    char *qd = sb_quote(in->dir);
    char *qw = sb_quote(in->workdir);
    char *cmd = qm && qd && qw ? sb_printf("mkdir -p %s && printf %%s %s > %s/" SB_MARKER,
                                           qw, qm, qd)
                               : NULL;
    sb_host->free(marker);
    sb_host->free(qm);
    sb_host->free(qd);
    sb_host->free(qw);
    int status = -1;
    char *outp = NULL;
    orch_status rc = cmd ? sb_run(be, cmd, &outp, &status, err)
                         : sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    sb_host->free(cmd);
    if (rc == ORCH_OK && status != 0)
        rc = sb_host->error_set(err, ORCH_E_IO, "creating %s on %s: %s", in->dir,
                                be->cfg.host, outp && *outp ? outp : "failed");
    sb_host->free(outp);
    if (rc != ORCH_OK) {
        sb_release(in);
        return rc;
    }
    ref->id = sb_host->strdup(in->id);
    ref->handle = NULL;
    if (!ref->id) {
        sb_path_cmd(be, "rm -rf -- %s", in->dir, &status, NULL, err);
        sb_release(in);
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    *out = in;
    return ORCH_OK;
}

static orch_status sb_attach(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                             const char *handle, struct orch_instance **out,
                             struct orch_error *err)
{
    (void)ctx;
    (void)handle;
    if (!sb_valid_id(id))
        return sb_host->error_set(err, ORCH_E_INVALID_ARG, "bad instance id");
    struct orch_instance *in = sb_inst_new(be, id);
    if (!in)
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    int status = -1;
    orch_status rc = sb_path_cmd(be, "test -d %s", in->workdir, &status, NULL, err);
    if (rc == ORCH_OK && status != 0)
        rc = sb_host->error_set(err, ORCH_E_NOT_FOUND, "no instance %s on %s",
                                id, be->cfg.host);
    if (rc != ORCH_OK) {
        sb_release(in);
        return rc;
    }
    *out = in;
    return ORCH_OK;
}

static orch_status sb_destroy(struct orch_instance *in, struct orch_ctx *ctx,
                              struct orch_error *err)
{
    /* Commands still running in it (their groups recorded) go first, and
     * are confirmed gone. */
    orch_status rc = sb_reap_commands(in, ctx, err);
    if (rc != ORCH_OK)
        return rc;
    int status = -1;
    char *out = NULL;
    rc = sb_path_cmd(in->be, "rm -rf -- %s", in->dir, &status, &out, err);
    if (rc == ORCH_OK && status != 0)
        rc = sb_host->error_set(err, ORCH_E_IO, "removing %s: %s", in->dir,
                                out && *out ? out : "failed");
    sb_host->free(out);
    return rc;
}

static orch_status sb_status(struct orch_instance *in, struct orch_ctx *ctx,
                             struct orch_instance_status *out, struct orch_error *err)
{
    (void)ctx;
    int status = -1;
    orch_status rc = sb_path_cmd(in->be, "test -d %s", in->workdir, &status, NULL, err);
    if (rc != ORCH_OK)
        return rc;
    out->state = status == 0 ? ORCH_INST_RUNNING : ORCH_INST_DESTROYED;
    out->detail = sb_printf("%s:%s", in->be->cfg.host, in->dir);
    return ORCH_OK;
}

/* Every marker under root in one command: "==> <id>" then its lines. */
static orch_status sb_list_owned(struct orch_backend *be, struct orch_ctx *ctx,
                                 const struct orch_kv *match, uint32_t match_count,
                                 orch_owned_fn fn, void *ud, struct orch_error *err)
{
    (void)ctx;
    int status = -1;
    char *out = NULL;
    orch_status rc = sb_path_cmd(be,
                                 "cd %s 2>/dev/null || exit 0; for d in *; do [ -f "
                                 "\"$d/" SB_MARKER "\" ] && { echo \"==> $d\"; cat \"$d/"
                                 SB_MARKER "\"; echo; }; done; true",
                                 be->cfg.root, &status, &out, err);
    if (rc != ORCH_OK)
        return rc;
    char *save = NULL;
    struct orch_kv kv[32];
    uint32_t n = 0;
    const char *id = NULL;
    int stop = 0;
    /* Lines: "==> id", "orch-instance 1", "key\tvalue"..., "" */
    for (char *line = strtok_r(out, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        if ((!line || !strncmp(line, "==> ", 4)) && id && !stop) {
            int ok = 1;
            for (uint32_t m = 0; m < match_count && ok; m++) {
                ok = 0;
                for (uint32_t i = 0; i < n && !ok; i++)
                    ok = !strcmp(kv[i].key, match[m].key) &&
                         !strcmp(kv[i].value, match[m].value ? match[m].value : "");
            }
            struct orch_owned_instance o = {.struct_size = sizeof o,
                                            .state = ORCH_INST_RUNNING, .id = id,
                                            .labels = kv, .label_count = n};
            if (ok && fn(ud, &o) != 0)
                stop = 1;
        }
        if (!line)
            break;
        if (!strncmp(line, "==> ", 4)) {
            id = line + 4;
            n = 0;
            continue;
        }
        char *tab = strchr(line, '\t');
        if (tab && n < 32) {
            *tab = 0;
            kv[n++] = (struct orch_kv){line, tab + 1};
        }
    }
    sb_host->free(out);
    return ORCH_OK;
}

static orch_status sb_probe(struct orch_backend *be, struct orch_ctx *ctx,
                            struct orch_probe *out, struct orch_error *err)
{
    (void)ctx;
    int status = -1;
    orch_status rc = sb_run(be, "true", NULL, &status, err);
    out->health = rc == ORCH_OK && status == 0 ? ORCH_PROBE_HEALTHY : ORCH_PROBE_UNHEALTHY;
    out->message = sb_printf("%s@%s:%lld %s", be->cfg.user, be->cfg.host,
                             (long long)be->cfg.port, rc == ORCH_OK ? "answers" : err->message);
    return ORCH_OK;
}

static void sb_close(struct orch_backend *be)
{
    if (!be)
        return;
    sb_disconnect(be);
    const char **strs[] = {&be->cfg.host, &be->cfg.user, &be->cfg.private_key,
                           &be->cfg.private_key_file, &be->cfg.passphrase,
                           &be->cfg.known_hosts, &be->cfg.root};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if (*strs[i]) {
            memset((char *)*strs[i], 0, strlen(*strs[i])); /* keys do not linger */
            sb_host->free((char *)*strs[i]);
        }
    sb_host->free(be);
}

static orch_status sb_open(struct orch_ctx *ctx, const void *cfgp, struct orch_backend **out,
                           struct orch_error *err)
{
    (void)ctx;
    const struct sb_cfg *c = cfgp;
    struct orch_backend *be = sb_host->calloc(1, sizeof *be);
    if (!be)
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    be->sock = -1;
    be->cfg = *c;
    struct passwd *pw = getpwuid(getuid());
    const char *home = getenv("HOME") ? getenv("HOME") : pw ? pw->pw_dir : "/";
    char kh[4096];
    snprintf(kh, sizeof kh, "%s/.ssh/known_hosts", home);
    be->cfg.host = sb_host->strdup(c->host);
    be->cfg.user = sb_host->strdup(c->user ? c->user : pw ? pw->pw_name : "root");
    be->cfg.private_key = c->private_key ? sb_host->strdup(c->private_key) : NULL;
    be->cfg.private_key_file = c->private_key_file ? sb_host->strdup(c->private_key_file)
                                                   : NULL;
    be->cfg.passphrase = c->passphrase ? sb_host->strdup(c->passphrase) : NULL;
    be->cfg.known_hosts = sb_host->strdup(c->known_hosts ? c->known_hosts : kh);
    be->cfg.root = sb_host->strdup(c->root);
    if (!be->cfg.host || !be->cfg.user || !be->cfg.known_hosts || !be->cfg.root ||
        (c->private_key && !be->cfg.private_key)) {
        sb_close(be);
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    *out = be;
    return ORCH_OK;
}

/* ROOT/<id>/work on the remote host, where commands run. */
static const char *sb_workdir(struct orch_instance *in)
{
    return in ? in->workdir : NULL;
}

static const struct orch_backend_vtable sb_vtable = {
    .struct_size = sizeof(struct orch_backend_vtable),
    .open = sb_open,
    .close = sb_close,
    .create = sb_create,
    .attach = sb_attach,
    .exec = sb_exec,
    .put_file = sb_put_file,
    .get_file = sb_get_file,
    .list_dir = sb_list_dir,
    .status = sb_status,
    .destroy = sb_destroy,
    .release = sb_release,
    .workdir = sb_workdir,
    .list_owned = sb_list_owned,
    .probe = sb_probe,
    .reap_commands = sb_reap_commands,
};

static const struct orch_plugin_desc sb_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_BACKEND,
    .name = "ssh",
    .version = "1.0.0",
    .description = "commands on any host reachable by SSH (libssh2), one directory per "
                   "instance",
    .license = "MIT",
    .caps = ORCH_BACKEND_CAP_EXEC | ORCH_BACKEND_CAP_EXEC_STREAM | ORCH_BACKEND_CAP_PUT_FILE |
            ORCH_BACKEND_CAP_GET_FILE | ORCH_BACKEND_CAP_LIST_DIR | ORCH_BACKEND_CAP_ATTACH |
            ORCH_BACKEND_CAP_LIST_OWNED | ORCH_BACKEND_CAP_SIGNAL | ORCH_BACKEND_CAP_REAP,
    .options = sb_options,
    .option_count = sizeof sb_options / sizeof sb_options[0],
    .config_size = sizeof(struct sb_cfg),
    .vtable_size = sizeof(struct orch_backend_vtable),
    .vtable = &sb_vtable,
};

ORCH_PLUGIN_DEFINE(backend, ssh, sb_desc, sb_host)
