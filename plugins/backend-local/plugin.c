/* backend-local: the embedded default backend. An instance is a directory
 * <root>/<instance id> holding a marker file (its labels, so leftovers can
 * be found and reaped) and work/, where commands run as local processes.
 * It is made under a staging name and destroyed under a doomed one, each
 * reached by one rename, so that a create or destroy killed at any point
 * leaves the whole instance, nothing, or a directory whose name says what
 * it is and which instance it was. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <orch/kit.h>

#include "local.h"

const struct orch_host *lb_host;

#define LB_MARKER ".orch-instance"
#define LB_STAGING ".creating" /* suffix of an instance being made */
#define LB_DOOMED ".destroying" /* suffix of an instance being removed */

static const struct orch_option lb_options[] = {
    ORCH_OPTION(struct lb_cfg, root, "root", ORCH_OPT_PATH, 0, NULL,
                "directory holding instance dirs (default: <state dir>/work)"),
    ORCH_OPTION(struct lb_cfg, kill_grace_ms, "kill_grace", ORCH_OPT_DURATION, 0, "2s",
                "time between SIGTERM and SIGKILL when a command times out or is cancelled"),
};

static int lb_mkdir_p(const char *path)
{
    /* The root exists on every open but the first: one call then. */
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -1;
    char *p = lb_host->strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    int rc = mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
    lb_host->free(p);
    return rc;
}

static int lb_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) && errno != ENOENT ? -1 : 0;
    return unlink(path) && errno != ENOENT ? -1 : 0;
}

static orch_status lb_open(struct orch_ctx *ctx, const void *cfgp, struct orch_backend **out,
                           struct orch_error *err)
{
    const struct lb_cfg *cfg = cfgp;
    char *root = NULL;
    if (cfg->root) {
        root = lb_host->strdup(cfg->root);
    } else {
        /* No root: the instance dirs live in orch's state directory. */
        const char *sd = lb_host->ctx_get(ctx, "state_dir");
        if (!sd || !*sd)
            return lb_host->error_set(err, ORCH_E_CONFIG,
                                      "option 'root' is not set and orch "
                                      "gave no state directory");
        root = lb_host->strdup_printf("%s/work", sd);
    }
    if (!root)
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (!*root) {
        lb_host->free(root);
        return lb_host->error_set(err, ORCH_E_CONFIG, "option 'root' is empty");
    }
    if (lb_mkdir_p(root) != 0) {
        orch_status rc = lb_host->error_set(err, ORCH_E_IO, "cannot create %s: %s",
                                            root, strerror(errno));
        lb_host->free(root);
        return rc;
    }
    struct orch_backend *be = lb_host->calloc(1, sizeof *be);
    if (!be) {
        lb_host->free(root);
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    be->root = root;
    be->kill_grace_ms = cfg->kill_grace_ms;
    *out = be;
    return ORCH_OK;
}

static void lb_close_be(struct orch_backend *be)
{
    if (be) {
        lb_host->free(be->root);
        lb_host->free(be);
    }
}

static int lb_valid_id(const char *id)
{
    if (!id || !*id || !strcmp(id, ".") || !strcmp(id, ".."))
        return 0;
    for (const char *p = id; *p; p++)
        if (*p == '/')
            return 0;
    return 1;
}

/* The length of the instance id in a staging or doomed name ".ID<suffix>",
 * 0 when name is not one. */
static size_t lb_id_in(const char *name, const char *suffix)
{
    size_t nl = strlen(name), sl = strlen(suffix);
    return name[0] == '.' && nl > sl + 1 && !strcmp(name + nl - sl, suffix) ? nl - sl - 1 : 0;
}

static struct orch_instance *lb_inst_new(struct orch_backend *be, const char *id)
{
    struct orch_instance *in = lb_host->calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->be = be;
    in->id = lb_host->strdup(id);
    in->dir = pk_printf(lb_host, "%s/%s", be->root, id);
    in->workdir = pk_printf(lb_host, "%s/%s/work", be->root, id);
    if (!in->id || !in->dir || !in->workdir) {
        lb_host->free(in->id);
        lb_host->free(in->dir);
        lb_host->free(in->workdir);
        lb_host->free(in);
        return NULL;
    }
    return in;
}

static void lb_release(struct orch_instance *in)
{
    if (!in)
        return;
    lb_host->free(in->id);
    lb_host->free(in->dir);
    lb_host->free(in->workdir);
    lb_host->free(in);
}

static int lb_write_env(const struct orch_instance *in, const struct orch_instance_spec *spec)
{
    char *path = pk_printf(lb_host, "%s/" LB_ENV_FILE, in->dir);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    lb_host->free(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    for (uint32_t i = 0; i < spec->env_count; i++) {
        const char *v = spec->env[i].value ? spec->env[i].value : "";
        fwrite(spec->env[i].key, 1, strlen(spec->env[i].key) + 1, f);
        fwrite(v, 1, strlen(v) + 1, f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Write the marker (labels) atomically: a temporary file, fsync, rename,
 * fsync of the directory. Labels are orch's ids and names: no tabs or
 * newlines in them. */
static int lb_write_marker(const struct orch_instance *in, const struct orch_instance_spec *spec)
{
    char *tmp = pk_printf(lb_host, "%s/" LB_MARKER ".tmp", in->dir);
    char *final = pk_printf(lb_host, "%s/" LB_MARKER, in->dir);
    int fd = tmp && final ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = -1;
    if (f) {
        fprintf(f, "orch-instance 1\n");
        for (uint32_t i = 0; i < spec->label_count; i++)
            fprintf(f, "%s\t%s\n", spec->labels[i].key,
                    spec->labels[i].value ? spec->labels[i].value : "");
        rc = fflush(f) == 0 && fsync(fd) == 0 ? 0 : -1;
        if (fclose(f) != 0)
            rc = -1;
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        rc = rename(tmp, final);
    if (rc == 0) {
        int dfd = open(in->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc = dfd >= 0 && fsync(dfd) == 0 ? 0 : -1;
        if (dfd >= 0)
            close(dfd);
    }
    lb_host->free(tmp);
    lb_host->free(final);
    return rc;
}

static orch_status lb_create(struct orch_backend *be, struct orch_ctx *ctx,
                             const struct orch_instance_spec *spec, struct orch_instance **out,
                             struct orch_instance_ref *ref, struct orch_error *err)
{
    (void)ctx;
    if (!lb_valid_id(spec->instance_id))
        return lb_host->error_set(err, ORCH_E_INVALID_ARG, "bad instance id");
    /* Silently ignoring them would hand back something other than asked. */
    if (spec->image || spec->size || spec->region)
        return lb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "a directory on this host has no %s",
                                  spec->image ? "image" : spec->size ? "size" : "region");
    struct orch_instance *in = lb_inst_new(be, spec->instance_id);
    if (!in)
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* Built under a staging name (".ID.creating", which list_owned reports
     * by the id in its name) and renamed into place when whole: a create
     * killed at any point leaves nothing, a staging directory the reaper
     * finds by its orch.instance label, or the finished instance. */
    char *final = in->dir;
    char *staging = pk_printf(lb_host, "%s/." "%s" LB_STAGING, be->root, in->id);
    char *work = staging ? pk_printf(lb_host, "%s/work", staging) : NULL;
    orch_status rc = ORCH_OK;
    if (!work)
        rc = lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    else if (mkdir(staging, 0700) != 0 || mkdir(work, 0700) != 0)
        rc = lb_host->error_set(err, ORCH_E_IO, "%s: %s", staging,
                                strerror(errno));
    in->dir = staging;
    if (rc == ORCH_OK && (lb_write_marker(in, spec) != 0 ||
                          (spec->env_count && lb_write_env(in, spec) != 0)))
        rc = lb_host->error_set(err, ORCH_E_IO, "%s: %s", staging,
                                strerror(errno));
    in->dir = final;
    if (rc == ORCH_OK && rename(staging, final) != 0)
        rc = lb_host->error_set(err, ORCH_E_IO, "%s: %s", final,
                                errno == EEXIST || errno == ENOTEMPTY ? "exists already"
                                                                      : strerror(errno));
    if (rc != ORCH_OK && staging)
        nftw(staging, lb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    lb_host->free(work);
    lb_host->free(staging);
    if (rc != ORCH_OK) {
        lb_release(in);
        return rc;
    }
    ref->id = lb_host->strdup(in->id);
    ref->handle = lb_host->strdup(in->dir);
    if (!ref->id || !ref->handle) {
        /* orch could neither attach nor reap an instance it has no id for. */
        lb_host->free(ref->id);
        lb_host->free(ref->handle);
        ref->id = ref->handle = NULL;
        nftw(in->dir, lb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        lb_release(in);
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    *out = in;
    return ORCH_OK;
}

static orch_status lb_destroy(struct orch_instance *in, struct orch_ctx *ctx,
                              struct orch_error *err)
{
    orch_status rc;
    /* Out of the way in one step before anything is reaped or removed. Removed in
     * place, a destroy killed part-way left a directory without work/ (so
     * attach said "no instance" and the next destroy succeeded at once)
     * and often without its marker (so list_owned did not report it):
     * leaked for good. Under the doomed name, what a kill leaves is found
     * again, by attach of the id (which finishes it) and by list_owned. */
    if (!in->leftover) {
        char *doomed = pk_printf(lb_host, "%s/.%s" LB_DOOMED, in->be->root, in->id);
        if (!doomed)
            return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
        /* ENOENT: gone, or renamed by another destroy: whatever is left
         * under the doomed name is removed below either way. */
        if (rename(in->dir, doomed) != 0 && errno != ENOENT) {
            rc = lb_host->error_set(err, ORCH_E_IO, "renaming %s to %s: %s", in->dir, doomed,
                                    strerror(errno));
            lb_host->free(doomed);
            return rc;
        }
        lb_host->free(in->dir);
        in->dir = doomed;
        in->leftover = 1;
    }
    /* Nothing an interrupted exec left may outlive its directory. Reaped
     * after the rename: a command recorded before it moved with the
     * directory and is found here; an exec after it cannot record its
     * command (the instance's path is gone), so the command never starts. */
    if ((rc = lb_reap_commands(in, ctx, err)) != ORCH_OK)
        return rc;
    if (nftw(in->dir, lb_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return lb_host->error_set(err, ORCH_E_IO, "removing %s: %s", in->dir,
                                  strerror(errno));
    return ORCH_OK;
}

/* Attach of an id whose directory is gone: a destroy killed after its
 * rename left the rest under the doomed name. It is finished here, so
 * that "no instance" is true when attach says it (the caller then records
 * the instance destroyed, or makes a new one). */
static orch_status lb_finish_doomed(struct orch_instance *in, struct orch_ctx *ctx,
                                    struct orch_error *err)
{
    char *doomed = pk_printf(lb_host, "%s/.%s" LB_DOOMED, in->be->root, in->id);
    if (!doomed)
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct stat sb;
    /* Only a directory this backend renamed: anything else under that
     * name (a link, a file) is not an instance and is left alone. */
    if (lstat(doomed, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        lb_host->free(doomed);
        return ORCH_OK;
    }
    lb_host->free(in->dir);
    in->dir = doomed;
    in->leftover = 1;
    return lb_destroy(in, ctx, err);
}

static orch_status lb_attach(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                             const char *handle, struct orch_instance **out,
                             struct orch_error *err)
{
    (void)handle;
    if (!lb_valid_id(id))
        return lb_host->error_set(err, ORCH_E_INVALID_ARG, "bad instance id");
    struct orch_instance *in = lb_inst_new(be, id);
    if (!in)
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct stat sb;
    /* A staging or doomed directory (listed by list_owned after a killed
     * create or destroy) is attached only to be destroyed: it may have no
     * work dir left. */
    in->leftover = lb_id_in(id, LB_STAGING) || lb_id_in(id, LB_DOOMED);
    if (stat(in->leftover ? in->dir : in->workdir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        *out = in;
        return ORCH_OK;
    }
    orch_status rc = in->leftover ? ORCH_OK : lb_finish_doomed(in, ctx, err);
    lb_release(in);
    if (rc != ORCH_OK)
        return rc;
    return lb_host->error_set(err, ORCH_E_NOT_FOUND, "no instance %s", id);
}

static orch_status lb_status(struct orch_instance *in, struct orch_ctx *ctx,
                             struct orch_instance_status *out, struct orch_error *err)
{
    (void)ctx;
    (void)err;
    struct stat sb;
    out->state = stat(in->workdir, &sb) == 0 ? ORCH_INST_RUNNING : ORCH_INST_DESTROYED;
    out->detail = lb_host->strdup(in->dir);
    return ORCH_OK;
}

/* Labels of a marker file; count 0 when it is not one of ours. */
static uint32_t lb_read_marker(const char *path, struct orch_kv *kv, char lines[][256],
                               uint32_t max)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    uint32_t n = 0;
    char first[64];
    if (!fgets(first, sizeof first, f) || strncmp(first, "orch-instance", 13)) {
        fclose(f);
        return 0;
    }
    while (n < max && fgets(lines[n], 256, f)) {
        char *tab = strchr(lines[n], '\t');
        char *nl = strchr(lines[n], '\n');
        if (nl)
            *nl = 0;
        if (!tab)
            continue;
        *tab = 0;
        kv[n].key = lines[n];
        kv[n].value = tab + 1;
        n++;
    }
    fclose(f);
    return n;
}

static orch_status lb_list_owned(struct orch_backend *be, struct orch_ctx *ctx,
                                 const struct orch_kv *match, uint32_t match_count,
                                 orch_owned_fn fn, void *ud, struct orch_error *err)
{
    (void)ctx;
    DIR *d = opendir(be->root);
    if (!d)
        return errno == ENOENT ? ORCH_OK
                               : lb_host->error_set(err, ORCH_E_IO, "%s: %s",
                                                    be->root, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[4096];
        struct orch_kv kv[32];
        char lines[32][256];
        uint32_t n = 0;
        size_t idl = lb_id_in(de->d_name, LB_STAGING);
        if (!idl)
            idl = lb_id_in(de->d_name, LB_DOOMED);
        if (idl) {
            /* A create or destroy killed before it finished: its id is in
             * the name. */
            snprintf(lines[0], sizeof lines[0], "%.*s", (int)idl, de->d_name + 1);
            kv[0].key = "orch.instance";
            kv[0].value = lines[0];
            n = 1;
        } else if (de->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s/" LB_MARKER, be->root, de->d_name);
            n = lb_read_marker(path, kv, lines, 32);
        }
        if (!n)
            continue;
        int ok = 1;
        for (uint32_t m = 0; m < match_count && ok; m++) {
            ok = 0;
            for (uint32_t i = 0; i < n && !ok; i++)
                ok = !strcmp(kv[i].key, match[m].key) &&
                     !strcmp(kv[i].value, match[m].value ? match[m].value : "");
        }
        if (!ok)
            continue;
        char handle[4096];
        snprintf(handle, sizeof handle, "%s/%s", be->root, de->d_name);
        struct orch_owned_instance o = {.struct_size = sizeof o, .state = ORCH_INST_RUNNING,
                                        .id = de->d_name, .handle = handle, .labels = kv,
                                        .label_count = n};
        if (fn(ud, &o) != 0)
            break;
    }
    closedir(d);
    return ORCH_OK;
}

static orch_status lb_probe(struct orch_backend *be, struct orch_ctx *ctx,
                            struct orch_probe *out, struct orch_error *err)
{
    (void)ctx;
    (void)err;
    int ok = access(be->root, W_OK | X_OK) == 0;
    out->health = ok ? ORCH_PROBE_HEALTHY : ORCH_PROBE_UNHEALTHY;
    out->message = ok ? pk_printf(lb_host, "%s is writable", be->root)
                      : pk_printf(lb_host, "%s: %s", be->root, strerror(errno));
    return ORCH_OK;
}

/* <root>/<id>/work, where commands run. */
static const char *lb_workdir(struct orch_instance *in)
{
    return in ? in->workdir : NULL;
}

static const struct orch_backend_vtable lb_vtable = {
    .struct_size = sizeof(struct orch_backend_vtable),
    .open = lb_open,
    .close = lb_close_be,
    .create = lb_create,
    .attach = lb_attach,
    .exec = lb_exec,
    .put_file = lb_put_file,
    .get_file = lb_get_file,
    .list_dir = lb_list_dir,
    .status = lb_status,
    .destroy = lb_destroy,
    .release = lb_release,
    .workdir = lb_workdir,
    .list_owned = lb_list_owned,
    .probe = lb_probe,
    .reap_commands = lb_reap_commands,
};

static const struct orch_plugin_desc lb_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_BACKEND,
    .name = "local",
    .version = "1.0.0",
    .description = "local processes, one work directory per instance",
    .license = "MIT",
    .caps = ORCH_BACKEND_CAP_EXEC | ORCH_BACKEND_CAP_EXEC_STREAM | ORCH_BACKEND_CAP_PUT_FILE |
            ORCH_BACKEND_CAP_GET_FILE | ORCH_BACKEND_CAP_LIST_DIR | ORCH_BACKEND_CAP_ATTACH |
            ORCH_BACKEND_CAP_LIST_OWNED | ORCH_BACKEND_CAP_SIGNAL |
            ORCH_BACKEND_CAP_REAP,
    .options = lb_options,
    .option_count = sizeof lb_options / sizeof lb_options[0],
    .config_size = sizeof(struct lb_cfg),
    .vtable_size = sizeof(struct orch_backend_vtable),
    .vtable = &lb_vtable,
};

ORCH_PLUGIN_DEFINE(backend, local, lb_desc, lb_host)
