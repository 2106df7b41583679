#define _GNU_SOURCE
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins.h"
#include "host.h"
#include "options.h"
#include "proc_env.h"
#include "util.h"

struct oc_registry {
    char **paths;
    size_t n_paths;
    struct oc_plugin **plugins;
    size_t n;
    int builtins_loaded;
};

const char *oc_kind_name(uint32_t kind)
{
    switch (kind) {
    case ORCH_KIND_BACKEND: return "backend";
    case ORCH_KIND_STEP: return "step";
    case ORCH_KIND_STORE: return "store";
    default: return "?";
    }
}

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

/* The minor this core admits plugins up to: ORCH_ABI_MINOR, lowered only by
 * the loader tests to act as an older core (docs/abi.md, "Compatibility
 * both ways"). */
static uint16_t oc_core_minor = ORCH_ABI_MINOR;

void oc_registry_pretend_abi_minor(uint16_t minor)
{
    oc_core_minor = minor;
}

/* The refusal every check produces: names the file, the plugin, both ABIs
 * and the reason (Janus and GStreamer print both versions). */
static orch_status oc_refuse(struct orch_error *err, orch_status code,
                             const char *path, const char *id,
                             const struct orch_plugin_desc *d,
                             const char *fmt, ...) ORCH_PRINTF(6, 7);
static orch_status oc_refuse(struct orch_error *err, orch_status code,
                             const char *path, const char *id,
                             const struct orch_plugin_desc *d,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *why = oc_xvasprintf(fmt, ap);
    va_end(ap);
    char abi[32];
    if (d && d->struct_size >= offsetof(struct orch_plugin_desc, kind))
        snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
    else
        snprintf(abi, sizeof abi, "unknown");
    oc_error_set(err, code, "%s: plugin %s (ABI %s) refused by orch (ABI %d.%u): %s",
                 path ? path : "builtin", id ? id : "?", abi, ORCH_ABI_MAJOR,
                 oc_core_minor, why);
    free(why);
    return code;
}

struct oc_slot {
    const char *name;
    size_t offset;
    uint64_t cap; /* 0 = mandatory */
};

#define OC_SLOT(T, s, cap) {#s, offsetof(struct T, s), cap}

static const struct oc_slot oc_backend_slots[] = {
    OC_SLOT(orch_backend_vtable, open, 0),
    OC_SLOT(orch_backend_vtable, close, 0),
    OC_SLOT(orch_backend_vtable, create, 0),
    OC_SLOT(orch_backend_vtable, attach, ORCH_BACKEND_CAP_ATTACH),
    OC_SLOT(orch_backend_vtable, exec, 0),
    OC_SLOT(orch_backend_vtable, put_file, ORCH_BACKEND_CAP_PUT_FILE),
    OC_SLOT(orch_backend_vtable, get_file, ORCH_BACKEND_CAP_GET_FILE),
    OC_SLOT(orch_backend_vtable, list_dir, ORCH_BACKEND_CAP_LIST_DIR),
    OC_SLOT(orch_backend_vtable, stop, ORCH_BACKEND_CAP_STOP),
    OC_SLOT(orch_backend_vtable, destroy, 0),
    OC_SLOT(orch_backend_vtable, release, 0),
    OC_SLOT(orch_backend_vtable, list_owned, ORCH_BACKEND_CAP_LIST_OWNED),
    OC_SLOT(orch_backend_vtable, reap_commands, ORCH_BACKEND_CAP_REAP),
    {NULL, 0, 0},
};

static const struct oc_slot oc_step_slots[] = {
    OC_SLOT(orch_step_vtable, run, 0),
    OC_SLOT(orch_step_vtable, plan, ORCH_STEP_CAP_DRY_RUN),
    {NULL, 0, 0},
};

#define ORCH_STORE_RUNS_SLOT(s) OC_SLOT(orch_store_vtable, s, ORCH_STORE_CAP_RUNS)
static const struct oc_slot oc_store_slots[] = {
    OC_SLOT(orch_store_vtable, open, 0),
    OC_SLOT(orch_store_vtable, close, 0),
    ORCH_STORE_RUNS_SLOT(schema_version),
    ORCH_STORE_RUNS_SLOT(migrate),
    OC_SLOT(orch_store_vtable, txn_begin, ORCH_STORE_CAP_TXN),
    OC_SLOT(orch_store_vtable, txn_commit, ORCH_STORE_CAP_TXN),
    OC_SLOT(orch_store_vtable, txn_rollback, ORCH_STORE_CAP_TXN),
    ORCH_STORE_RUNS_SLOT(run_create),
    ORCH_STORE_RUNS_SLOT(run_get),
    ORCH_STORE_RUNS_SLOT(run_list),
    ORCH_STORE_RUNS_SLOT(run_cas),
    ORCH_STORE_RUNS_SLOT(attempt_cas),
    ORCH_STORE_RUNS_SLOT(attempt_list),
    ORCH_STORE_RUNS_SLOT(event_append),
    ORCH_STORE_RUNS_SLOT(event_list),
    ORCH_STORE_RUNS_SLOT(log_append),
    ORCH_STORE_RUNS_SLOT(log_read),
    ORCH_STORE_RUNS_SLOT(instance_put),
    ORCH_STORE_RUNS_SLOT(instance_list),
    ORCH_STORE_RUNS_SLOT(instance_delete),
    ORCH_STORE_RUNS_SLOT(flag_set),
    ORCH_STORE_RUNS_SLOT(flag_list),
    OC_SLOT(orch_store_vtable, lease_acquire, ORCH_STORE_CAP_LEASES),
    OC_SLOT(orch_store_vtable, lease_release, ORCH_STORE_CAP_LEASES),
    OC_SLOT(orch_store_vtable, lease_list, ORCH_STORE_CAP_LEASES),
    OC_SLOT(orch_store_vtable, run_claim, ORCH_STORE_CAP_LEASES),
    OC_SLOT(orch_store_vtable, run_heartbeat, ORCH_STORE_CAP_LEASES),
    OC_SLOT(orch_store_vtable, blob_put, ORCH_STORE_CAP_BLOBS),
    OC_SLOT(orch_store_vtable, blob_get, ORCH_STORE_CAP_BLOBS),
    OC_SLOT(orch_store_vtable, blob_delete, ORCH_STORE_CAP_BLOBS),
    OC_SLOT(orch_store_vtable, blob_list, ORCH_STORE_CAP_BLOBS),
    OC_SLOT(orch_store_vtable, notify, ORCH_STORE_CAP_NOTIFY),
    OC_SLOT(orch_store_vtable, wait, ORCH_STORE_CAP_NOTIFY),
    OC_SLOT(orch_store_vtable, run_stats, ORCH_STORE_CAP_STATS),
    {NULL, 0, 0},
};

static orch_status oc_check_slots(const struct orch_plugin_desc *d,
                                  const char *path, const char *id,
                                  struct orch_error *err)
{
    const struct oc_slot *slots;
    uint64_t all;
    switch (d->kind) {
    case ORCH_KIND_BACKEND: slots = oc_backend_slots; all = ORCH_BACKEND_CAPS_ALL; break;
    case ORCH_KIND_STEP: slots = oc_step_slots; all = ORCH_STEP_CAPS_ALL; break;
    default: slots = oc_store_slots; all = ORCH_STORE_CAPS_ALL; break;
    }
    const uint32_t vt_size = *(const uint32_t *)d->vtable;
    if (vt_size != d->vtable_size)
        return oc_refuse(err, ORCH_E_ABI, path, id, d,
                         "vtable struct_size %u differs from the descriptor's vtable_size %u",
                         vt_size, d->vtable_size);
    for (const struct oc_slot *s = slots; s->name; s++) {
        void *fn = NULL;
        if (s->offset + sizeof(void *) <= vt_size)
            memcpy(&fn, (const char *)d->vtable + s->offset, sizeof fn);
        if (s->cap == 0 && !fn)
            return oc_refuse(err, ORCH_E_ABI, path, id, d,
                             "mandatory %s slot '%s' is NULL", oc_kind_name(d->kind),
                             s->name);
        if (s->cap && (d->caps & s->cap) && !fn)
            return oc_refuse(err, ORCH_E_ABI, path, id, d,
                             "declares the capability for slot '%s' but the slot is NULL",
                             s->name);
        if (s->cap && !(d->caps & s->cap) && fn)
            oc_log(ORCH_LOG_DEBUG, id, "slot '%s' is set without its capability; the core will not call it", s->name);
    }
    /* A capability the core does not know is a promise it cannot keep
     * (docs/abi.md, check 9): refused, never ignored. */
    if (d->caps & ~all)
        return oc_refuse(err, ORCH_E_ABI, path, id, d, "unknown capability bits 0x%llx",
                         (unsigned long long)(d->caps & ~all));
    if (d->kind == ORCH_KIND_STEP) {
        const struct orch_step_vtable *vt = d->vtable;
        /* path is NULL for plugins built into orch: the engine's decision
         * logic behind ENGINE_DECIDED is not an ABI a .so can rely on. */
        if ((d->caps & ORCH_STEP_CAP_ENGINE_DECIDED) && path)
            return oc_refuse(err, ORCH_E_ABI, path, id, d,
                             "capability engine_decided is only for steps built into orch");
        if ((d->caps & ORCH_STEP_CAP_ENGINE_DECIDED) && (d->caps & ORCH_STEP_CAP_NEEDS_BACKEND))
            return oc_refuse(err, ORCH_E_ABI, path, id, d,
                             "capabilities engine_decided and needs_backend exclude each other");
        if (vt->output_count && (!vt->outputs || vt->output_size < 3 * sizeof(void *)))
            return oc_refuse(err, ORCH_E_ABI, path, id, d,
                             "declares %u outputs but no valid output table",
                             vt->output_count);
    }
    return ORCH_OK;
}

static const struct oc_slot *oc_kind_slots(uint32_t kind, uint64_t *all)
{
    switch (kind) {
    case ORCH_KIND_BACKEND: *all = ORCH_BACKEND_CAPS_ALL; return oc_backend_slots;
    case ORCH_KIND_STEP: *all = ORCH_STEP_CAPS_ALL; return oc_step_slots;
    case ORCH_KIND_STORE: *all = ORCH_STORE_CAPS_ALL; return oc_store_slots;
    default: *all = 0; return NULL;
    }
}

const char *oc_cap_slot_name(uint32_t kind, uint64_t bit)
{
    if (kind == ORCH_KIND_BACKEND) {
        switch (bit) {
        case ORCH_BACKEND_CAP_EXEC: return "exec";
        case ORCH_BACKEND_CAP_EXEC_STREAM: return "exec_stream";
        case ORCH_BACKEND_CAP_SIGNAL: return "signal";
        case ORCH_BACKEND_CAP_VOLUMES: return "volumes";
        }
    } else if (kind == ORCH_KIND_STEP) {
        switch (bit) {
        case ORCH_STEP_CAP_DRY_RUN: return "dry_run";
        case ORCH_STEP_CAP_NEEDS_BACKEND: return "needs_backend";
        case ORCH_STEP_CAP_IDEMPOTENT: return "idempotent";
        case ORCH_STEP_CAP_OPTIONAL_BACKEND: return "optional_backend";
        case ORCH_STEP_CAP_ENGINE_DECIDED: return "engine_decided";
        }
    } else if (kind == ORCH_KIND_STORE) {
        switch (bit) {
        case ORCH_STORE_CAP_RUNS: return "runs";
        case ORCH_STORE_CAP_TXN: return "txn";
        case ORCH_STORE_CAP_LEASES: return "leases";
        case ORCH_STORE_CAP_BLOBS: return "blobs";
        case ORCH_STORE_CAP_CAS: return "cas";
        case ORCH_STORE_CAP_NOTIFY: return "notify";
        case ORCH_STORE_CAP_STATS: return "stats";
        case ORCH_STORE_CAP_EMBEDDED: return "embedded";
        }
    }
    uint64_t all;
    const struct oc_slot *s = oc_kind_slots(kind, &all);
    for (; s && s->name; s++)
        if (s->cap == bit)
            return s->name;
    return NULL;
}

int oc_plugin_slot_report(const struct orch_plugin_desc *d,
                          void (*fn)(void *ud, const char *msg), void *ud)
{
    uint64_t all;
    const struct oc_slot *slots = oc_kind_slots(d->kind, &all);
    if (!slots || !d->vtable)
        return 0;
    const uint32_t vt_size = *(const uint32_t *)d->vtable;
    int n = 0;
    for (const struct oc_slot *s = slots; s->name; s++) {
        void *f = NULL;
        if (s->offset + sizeof(void *) <= vt_size)
            memcpy(&f, (const char *)d->vtable + s->offset, sizeof f);
        char *msg = NULL;
        if (!s->cap && !f)
            msg = oc_xasprintf("mandatory %s slot '%s' is NULL", oc_kind_name(d->kind), s->name);
        else if (s->cap && (d->caps & s->cap) && !f)
            msg = oc_xasprintf("declares the capability for slot '%s' but the slot is NULL", s->name);
        else if (s->cap && !(d->caps & s->cap) && f)
            msg = oc_xasprintf("slot '%s' is set but its capability is not declared: the core will never call it", s->name);
        if (msg) {
            fn(ud, msg);
            free(msg);
            n++;
        }
    }
    if (d->caps & ~all) {
        char *msg = oc_xasprintf("unknown capability bits 0x%llx",
                                 (unsigned long long)(d->caps & ~all));
        fn(ud, msg);
        free(msg);
        n++;
    }
    return n;
}

static int oc_nonempty(const char *s)
{
    return s && *s;
}

orch_status oc_plugin_check_desc(const struct orch_plugin_desc *d,
                                 const char *path, const char *expected_id,
                                 struct orch_error *err)
{
    const char *id = expected_id;
    if (!d)
        return oc_refuse(err, ORCH_E_ABI, path, id, NULL,
                         "the entry returned no descriptor");
    if (d->struct_size < sizeof(struct orch_plugin_desc))
        return oc_refuse(err, ORCH_E_ABI, path, id, d,
                         "descriptor struct_size %u is smaller than the ABI 1.0 descriptor (%zu)",
                         d->struct_size, sizeof(struct orch_plugin_desc));
    char *own_id = NULL;
    if (oc_nonempty(d->name) && (d->kind >= ORCH_KIND_BACKEND && d->kind <= ORCH_KIND_STORE))
        own_id = oc_xasprintf("%s-%s", oc_kind_name(d->kind), d->name);
    if (!id)
        id = own_id;
    orch_status rc = ORCH_OK;
    if (d->abi_major != ORCH_ABI_MAJOR)
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d,
                       "ABI major %u is not this orch's major %d: rebuild the plugin against this SDK",
                       d->abi_major, ORCH_ABI_MAJOR);
    else if (d->abi_minor > oc_core_minor)
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d,
                       "built for a newer minor (%u.%u > %d.%u): upgrade orch or rebuild the plugin",
                       d->abi_major, d->abi_minor, ORCH_ABI_MAJOR, oc_core_minor);
    else if (!oc_nonempty(d->build_sig) || strcmp(d->build_sig, ORCH_BUILD_SIG) != 0)
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d,
                       "build signature '%s' differs from orch's '%s' (pointer size or byte order)",
                       d->build_sig ? d->build_sig : "", ORCH_BUILD_SIG);
    else if (!oc_nonempty(d->name) || !oc_nonempty(d->version) ||
             !oc_nonempty(d->description) || !oc_nonempty(d->sdk_version))
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d,
                       "required descriptor field %s is empty",
                       !oc_nonempty(d->name) ? "name"
                       : !oc_nonempty(d->version) ? "version"
                       : !oc_nonempty(d->description) ? "description"
                                                      : "sdk_version");
    else if (d->kind < ORCH_KIND_BACKEND || d->kind > ORCH_KIND_STORE)
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d, "unknown kind %u", d->kind);
    else if (expected_id && own_id && strcmp(expected_id, own_id) != 0)
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d,
                       "file name says '%s' but the descriptor declares '%s'",
                       expected_id, own_id);
    else if (!d->vtable || d->vtable_size < sizeof(uint32_t))
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d, "no vtable");
    else if ((rc = oc_check_slots(d, path, id, err)) != ORCH_OK)
        ;
    else if (d->option_count &&
             (!d->options || d->option_size < offsetof(struct orch_option, enum_values)))
        rc = oc_refuse(err, ORCH_E_ABI, path, id, d,
                       "option table missing or option_size %u too small",
                       d->option_size);
    else {
        struct orch_error oerr;
        oc_error_init(&oerr);
        if (oc_options_check_table(d, &oerr) != ORCH_OK)
            rc = oc_refuse(err, ORCH_E_ABI, path, id, d, "bad option table: %s",
                           oc_error_text(&oerr));
        oc_error_clear(&oerr);
    }
    free(own_id);
    return rc;
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
        oc_refuse(err, ORCH_E_EXISTS, path, id, d,
                  "a plugin named '%s' is already registered (%s)", id, dup->path);
        free(id);
        return NULL;
    }
    if (d->init) {
        struct orch_error ierr;
        oc_error_init(&ierr);
        orch_status rc = d->init(oc_host(), &ierr);
        if (rc != ORCH_OK) {
            oc_refuse(err, rc, path, id, d, "init failed: %s", oc_error_text(&ierr));
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
        oc_refuse(err, ORCH_E_NOT_FOUND, path, id, NULL, "%s", strerror(errno));
        goto out;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        oc_refuse(err, ORCH_E_ABI, path, id, NULL, "dlopen failed: %s", dlerror());
        goto out;
    }
    orch_plugin_entry_fn entry;
    void *sym = dlsym(h, ORCH_PLUGIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    if (!sym) {
        oc_refuse(err, ORCH_E_ABI, path, id, NULL,
                  "no exported %s() (was it built with ORCH_PLUGIN_DEFINE and default visibility?)",
                  ORCH_PLUGIN_ENTRY_SYMBOL);
        goto out; /* never dlclose: see registry.h */
    }
    const struct orch_plugin_desc *d = NULL;
    struct orch_error eerr;
    oc_error_init(&eerr);
    orch_status rc = entry(oc_host(), &d, &eerr);
    if (rc != ORCH_OK) {
        oc_refuse(err, rc == ORCH_E_ABI ? ORCH_E_ABI : rc, path, id, d,
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
