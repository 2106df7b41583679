/* What the core checks in a plugin before it admits it (docs/abi.md, the
 * load checks; PLUGIN-ABI-GUIDE 10.1, steps 3-11): the descriptor's fields,
 * the ABI major/minor and build signature, each kind's slot table against
 * its capability bits, the option table; and the one refusal message every
 * check produces. The loader (registry.c) and `orch-plugin check` both use
 * it; it knows nothing of files or the search path. */
#define _GNU_SOURCE
#include "plugin_check.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "options.h"
#include "util.h"

const char *oc_kind_name(uint32_t kind)
{
    switch (kind) {
    case ORCH_KIND_BACKEND: return "backend";
    case ORCH_KIND_STEP: return "step";
    case ORCH_KIND_STORE: return "store";
    default: return "?";
    }
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
orch_status oc_plugin_refuse(struct orch_error *err, orch_status code,
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
    OC_SLOT(orch_store_vtable, tick_append, ORCH_STORE_CAP_TICKS),
    OC_SLOT(orch_store_vtable, tick_list, ORCH_STORE_CAP_TICKS),
    OC_SLOT(orch_store_vtable, tick_prune, ORCH_STORE_CAP_TICKS),
    OC_SLOT(orch_store_vtable, run_list_ended, ORCH_STORE_CAP_RETENTION),
    OC_SLOT(orch_store_vtable, run_delete, ORCH_STORE_CAP_RETENTION),
    {NULL, 0, 0},
};

static const struct oc_slot *oc_kind_slots(uint32_t kind, uint64_t *all)
{
    switch (kind) {
    case ORCH_KIND_BACKEND: *all = ORCH_BACKEND_CAPS_ALL; return oc_backend_slots;
    case ORCH_KIND_STEP: *all = ORCH_STEP_CAPS_ALL; return oc_step_slots;
    case ORCH_KIND_STORE: *all = ORCH_STORE_CAPS_ALL; return oc_store_slots;
    default: *all = 0; return NULL;
    }
}

/* The kind was checked: slots is never NULL here. */
static orch_status oc_check_slots(const struct orch_plugin_desc *d,
                                  const char *path, const char *id,
                                  struct orch_error *err)
{
    uint64_t all;
    const struct oc_slot *slots = oc_kind_slots(d->kind, &all);
    const uint32_t vt_size = *(const uint32_t *)d->vtable;
    if (vt_size != d->vtable_size)
        return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                         "vtable struct_size %u differs from the descriptor's vtable_size %u",
                         vt_size, d->vtable_size);
    for (const struct oc_slot *s = slots; s->name; s++) {
        void *fn = NULL;
        if (s->offset + sizeof(void *) <= vt_size)
            memcpy(&fn, (const char *)d->vtable + s->offset, sizeof fn);
        if (s->cap == 0 && !fn)
            return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                             "mandatory %s slot '%s' is NULL", oc_kind_name(d->kind),
                             s->name);
        if (s->cap && (d->caps & s->cap) && !fn)
            return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                             "declares the capability for slot '%s' but the slot is NULL",
                             s->name);
        if (s->cap && !(d->caps & s->cap) && fn)
            oc_log(ORCH_LOG_DEBUG, id, "slot '%s' is set without its capability; the core will not call it", s->name);
    }
    /* A capability the core does not know is a promise it cannot keep
     * (docs/abi.md, check 9): refused, never ignored. */
    if (d->caps & ~all)
        return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d, "unknown capability bits 0x%llx",
                         (unsigned long long)(d->caps & ~all));
    if (d->kind == ORCH_KIND_STEP) {
        const struct orch_step_vtable *vt = d->vtable;
        /* path is NULL for plugins built into orch: the engine's decision
         * logic behind ENGINE_DECIDED is not an ABI a .so can rely on. */
        if ((d->caps & ORCH_STEP_CAP_ENGINE_DECIDED) && path)
            return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                             "capability engine_decided is only for steps built into orch");
        if ((d->caps & ORCH_STEP_CAP_ENGINE_DECIDED) && (d->caps & ORCH_STEP_CAP_NEEDS_BACKEND))
            return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                             "capabilities engine_decided and needs_backend exclude each other");
        if (vt->output_count && (!vt->outputs || vt->output_size < 3 * sizeof(void *)))
            return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                             "declares %u outputs but no valid output table",
                             vt->output_count);
    }
    return ORCH_OK;
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
        case ORCH_STORE_CAP_TICKS: return "ticks";
        case ORCH_STORE_CAP_RETENTION: return "retention";
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
        return oc_plugin_refuse(err, ORCH_E_ABI, path, id, NULL,
                         "the entry returned no descriptor");
    if (d->struct_size < sizeof(struct orch_plugin_desc))
        return oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                         "descriptor struct_size %u is smaller than the ABI 1.0 descriptor (%zu)",
                         d->struct_size, sizeof(struct orch_plugin_desc));
    char *own_id = NULL;
    if (oc_nonempty(d->name) && (d->kind >= ORCH_KIND_BACKEND && d->kind <= ORCH_KIND_STORE))
        own_id = oc_xasprintf("%s-%s", oc_kind_name(d->kind), d->name);
    if (!id)
        id = own_id;
    orch_status rc = ORCH_OK;
    if (d->abi_major != ORCH_ABI_MAJOR)
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                       "ABI major %u is not this orch's major %d: rebuild the plugin against this SDK",
                       d->abi_major, ORCH_ABI_MAJOR);
    else if (d->abi_minor > oc_core_minor)
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                       "built for a newer minor (%u.%u > %d.%u): upgrade orch or rebuild the plugin",
                       d->abi_major, d->abi_minor, ORCH_ABI_MAJOR, oc_core_minor);
    else if (!oc_nonempty(d->build_sig) || strcmp(d->build_sig, ORCH_BUILD_SIG) != 0)
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                       "build signature '%s' differs from orch's '%s' (pointer size or byte order)",
                       d->build_sig ? d->build_sig : "", ORCH_BUILD_SIG);
    else if (!oc_nonempty(d->name) || !oc_nonempty(d->version) ||
             !oc_nonempty(d->description) || !oc_nonempty(d->sdk_version))
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                       "required descriptor field %s is empty",
                       !oc_nonempty(d->name) ? "name"
                       : !oc_nonempty(d->version) ? "version"
                       : !oc_nonempty(d->description) ? "description"
                                                      : "sdk_version");
    else if (d->kind < ORCH_KIND_BACKEND || d->kind > ORCH_KIND_STORE)
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d, "unknown kind %u", d->kind);
    else if (expected_id && own_id && strcmp(expected_id, own_id) != 0)
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                       "file name says '%s' but the descriptor declares '%s'",
                       expected_id, own_id);
    else if (!d->vtable || d->vtable_size < sizeof(uint32_t))
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d, "no vtable");
    else if ((rc = oc_check_slots(d, path, id, err)) != ORCH_OK)
        ;
    else if (d->option_count &&
             (!d->options || d->option_size < offsetof(struct orch_option, enum_values)))
        rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d,
                       "option table missing or option_size %u too small",
                       d->option_size);
    else {
        struct orch_error oerr;
        oc_error_init(&oerr);
        if (oc_options_check_table(d, &oerr) != ORCH_OK)
            rc = oc_plugin_refuse(err, ORCH_E_ABI, path, id, d, "bad option table: %s",
                           oc_error_text(&oerr));
        oc_error_clear(&oerr);
    }
    free(own_id);
    return rc;
}
