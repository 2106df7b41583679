/* The plugin registry and loader: the search path, the builtin table,
 * dlopen of <kind>-<name>.so on demand or by scan, the entry call, and the
 * list of admitted plugins with their uniqueness. What makes a descriptor
 * admissible is plugin_check.c's; this file only decides where a plugin
 * comes from and keeps it. */
#define _GNU_SOURCE
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins.h"
#include "host.h"
#include "proc_env.h"
#include "util.h"

struct oc_registry {
    char **paths;
    size_t n_paths;
    struct oc_plugin **plugins;
    size_t n;
    int builtins_loaded;
};


void oc_registry_add_path(struct oc_registry *r, const char *dir)
{
    if (!dir || !*dir)
        return;
    for (size_t i = 0; i < r->n_paths; i++)
        if (!strcmp(r->paths[i], dir))
            return;
    r->paths = oc_xrealloc(r->paths, (r->n_paths + 1) * sizeof *r->paths);
    r->paths[r->n_paths++] = oc_xstrdup(dir);
}

static char *oc_exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return oc_xstrdup(dirname(buf));
}

struct oc_registry *oc_registry_new(const char *const *extra, size_t n_extra)
{
    struct oc_registry *r = oc_xcalloc(1, sizeof *r);
    for (size_t i = 0; i < n_extra; i++)
        oc_registry_add_path(r, extra[i]);
    const char *env = oc_env_get("ORCH_PLUGIN_PATH");
    if (env) {
        char *copy = oc_xstrdup(env), *save = NULL;
        for (char *tok = strtok_r(copy, ":", &save); tok;
             tok = strtok_r(NULL, ":", &save))
            oc_registry_add_path(r, tok);
        free(copy);
    }
    char *exe = oc_exe_dir();
    if (exe) {
        char *p = oc_xasprintf("%s/../%s", exe, ORCH_PLUGIN_SUBDIR);
        char real[PATH_MAX];
        if (realpath(p, real))
            oc_registry_add_path(r, real);
        free(p);
        free(exe);
    }
    oc_registry_add_path(r, ORCH_INSTALL_PLUGIN_DIR);
    return r;
}

struct oc_registry *oc_registry_new_builtin(void)
{
    return oc_xcalloc(1, sizeof(struct oc_registry));
}

void oc_registry_free(struct oc_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_paths; i++)
        free(r->paths[i]);
    free(r->paths);
    for (size_t i = 0; i < r->n; i++) {
        /* Never dlclose: code of a plugin may still be referenced. */
        free(r->plugins[i]->id);
        free(r->plugins[i]->path);
        free(r->plugins[i]);
    }
    free(r->plugins);
    free(r);
}

size_t oc_registry_paths(const struct oc_registry *r, const char *const **out)
{
    *out = (const char *const *)r->paths;
    return r->n_paths;
}

static struct oc_plugin *oc_registry_find(struct oc_registry *r,
                                          const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->plugins[i]->id, id))
            return r->plugins[i];
    return NULL;
}


static struct oc_plugin *oc_registry_add(struct oc_registry *r, const char *id,
                                         const char *path, int builtin,
                                         const struct orch_plugin_desc *d)
{
    struct oc_plugin *p = oc_xcalloc(1, sizeof *p);
    p->id = oc_xstrdup(id);
    p->path = oc_xstrdup(path);
    p->builtin = builtin;
    p->desc = d;
    r->plugins = oc_xrealloc(r->plugins, (r->n + 1) * sizeof *r->plugins);
    r->plugins[r->n++] = p;
    return p;
}

/* Steps 3-12 for a descriptor the entry returned: checks, uniqueness, init. */
static const struct oc_plugin *oc_registry_admit(struct oc_registry *r,
                                                 const char *path,
                                                 const char *expected_id,
                                                 int builtin,
                                                 const struct orch_plugin_desc *d,
                                                 struct orch_error *err)
{
    if (oc_plugin_check_desc(d, builtin ? NULL : path, expected_id, err) != ORCH_OK)
        return NULL;
    char *id = oc_xasprintf("%s-%s", oc_kind_name(d->kind), d->name);
    struct oc_plugin *dup = oc_registry_find(r, id);
    if (dup) {
        oc_plugin_refuse(err, ORCH_E_EXISTS, path, id, d,
                  "a plugin named '%s' is already registered (%s)", id, dup->path);
        free(id);
        return NULL;
    }
    if (d->init) {
        struct orch_error ierr;
        oc_error_init(&ierr);
        orch_status rc = d->init(oc_host(), &ierr);
        if (rc != ORCH_OK) {
            oc_plugin_refuse(err, rc, path, id, d, "init failed: %s", oc_error_text(&ierr));
            oc_error_clear(&ierr);
            free(id);
            return NULL;
        }
        oc_error_clear(&ierr);
    }
    struct oc_plugin *p = oc_registry_add(r, id, builtin ? "builtin" : path, builtin, d);
    free(id);
    return p;
}

static void oc_registry_load_builtins(struct oc_registry *r)
{
    if (r->builtins_loaded)
        return;
    r->builtins_loaded = 1;
    for (const struct oc_builtin *b = oc_builtins; b->id; b++) {
        const struct orch_plugin_desc *d = NULL;
        struct orch_error err;
        oc_error_init(&err);
        if (b->entry(oc_host(), &d, &err) != ORCH_OK ||
            !oc_registry_admit(r, "builtin", b->id, 1, d, &err))
            oc_log(ORCH_LOG_ERROR, NULL, "builtin %s: %s", b->id, oc_error_text(&err));
        oc_error_clear(&err);
    }
}

/* "<dir>/backend-docker.so" -> "backend-docker" */
static char *oc_id_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".so"))
        n -= 3;
    return oc_xstrndup(base, n);
}

void oc_registry_skip_builtins(struct oc_registry *r)
{
    r->builtins_loaded = 1;
}

const struct oc_plugin *oc_registry_load_file(struct oc_registry *r,
                                              const char *path,
                                              struct orch_error *err)
{
    oc_registry_load_builtins(r);
    char *id = oc_id_from_path(path);
    const struct oc_plugin *res = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        oc_plugin_refuse(err, ORCH_E_NOT_FOUND, path, id, NULL, "%s", strerror(errno));
        goto out;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        oc_plugin_refuse(err, ORCH_E_ABI, path, id, NULL, "dlopen failed: %s", dlerror());
        goto out;
    }
    orch_plugin_entry_fn entry;
    void *sym = dlsym(h, ORCH_PLUGIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    if (!sym) {
        oc_plugin_refuse(err, ORCH_E_ABI, path, id, NULL,
                  "no exported %s() (was it built with ORCH_PLUGIN_DEFINE and default visibility?)",
                  ORCH_PLUGIN_ENTRY_SYMBOL);
        goto out; /* never dlclose: see registry.h */
    }
    const struct orch_plugin_desc *d = NULL;
    struct orch_error eerr;
    oc_error_init(&eerr);
    orch_status rc = entry(oc_host(), &d, &eerr);
    if (rc != ORCH_OK) {
        oc_plugin_refuse(err, rc == ORCH_E_ABI ? ORCH_E_ABI : rc, path, id, d,
                  "its entry refused to load: %s", oc_error_text(&eerr));
        oc_error_clear(&eerr);
        goto out;
    }
    oc_error_clear(&eerr);
    res = oc_registry_admit(r, path, id, 0, d, err);
out:
    free(id);
    return res;
}

const struct oc_plugin *oc_registry_get(struct oc_registry *r, uint32_t kind,
                                        const char *name,
                                        struct orch_error *err)
{
    oc_registry_load_builtins(r);
    char *id = oc_xasprintf("%s-%s", oc_kind_name(kind), name);
    const struct oc_plugin *p = oc_registry_find(r, id);
    if (p)
        goto out;
    for (size_t i = 0; i < r->n_paths; i++) {
        char *path = oc_xasprintf("%s/%s.so", r->paths[i], id);
        if (access(path, F_OK) == 0) {
            p = oc_registry_load_file(r, path, err);
            free(path);
            goto out;
        }
        free(path);
    }
    struct oc_buf b = {0};
    for (size_t i = 0; i < r->n_paths; i++)
        oc_buf_addf(&b, "%s%s", i ? ":" : "", r->paths[i]);
    oc_error_set(err, ORCH_E_NOT_FOUND,
                 "no %s plugin named '%s' (not builtin, no %s.so in %s)",
                 oc_kind_name(kind), name, id, b.data ? b.data : "(empty path)");
    oc_buf_free(&b);
out:
    free(id);
    return p;
}

static int oc_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void oc_registry_scan(struct oc_registry *r,
                      void (*on_plugin)(void *ud, const struct oc_plugin *p),
                      void (*on_error)(void *ud, const char *path,
                                       const struct orch_error *err),
                      void *ud)
{
    oc_registry_load_builtins(r);
    for (size_t i = 0; i < r->n_paths; i++) {
        DIR *dir = opendir(r->paths[i]);
        if (!dir)
            continue;
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len > 3 && !strcmp(e->d_name + len - 3, ".so")) {
                names = oc_xrealloc(names, (n + 1) * sizeof *names);
                names[n++] = oc_xstrdup(e->d_name);
            }
        }
        closedir(dir);
        qsort(names, n, sizeof *names, oc_cmp_str);
        for (size_t j = 0; j < n; j++) {
            char *path = oc_xasprintf("%s/%s", r->paths[i], names[j]);
            char *id = oc_id_from_path(path);
            if (!oc_registry_find(r, id)) {
                struct orch_error err;
                oc_error_init(&err);
                if (!oc_registry_load_file(r, path, &err) && on_error)
                    on_error(ud, path, &err);
                oc_error_clear(&err);
            }
            free(id);
            free(path);
            free(names[j]);
        }
        free(names);
    }
    if (on_plugin)
        for (size_t i = 0; i < r->n; i++)
            on_plugin(ud, r->plugins[i]);
}
