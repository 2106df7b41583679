/* The plugin descriptor and the one exported entry function. */
#ifndef ORCH_PLUGIN_H
#define ORCH_PLUGIN_H

#include "abi.h"
#include "host.h"
#include "option.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_KIND_BACKEND 1u
#define ORCH_KIND_STEP 2u
#define ORCH_KIND_STORE 3u

/* One static const struct per plugin; the core never writes it. */
struct orch_plugin_desc {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;   /* set by ORCH_PLUGIN_DESC_INIT */
    uint32_t kind;                   /* ORCH_KIND_* */
    const char *name;                /* config name, e.g. "docker"; id is kind-name */
    const char *version;             /* the plugin's own version */
    const char *description;
    const char *license;
    const char *sdk_version;         /* set by ORCH_PLUGIN_DESC_INIT */
    const char *build_sig;           /* set by ORCH_PLUGIN_DESC_INIT */
    uint64_t caps;                   /* ORCH_<KIND>_CAP_*; each is a promise */
    const struct orch_option *options;
    uint32_t option_size;            /* sizeof(struct orch_option) at build */
    uint32_t option_count;
    uint32_t config_size;            /* the core allocates this, zeroed */
    uint32_t vtable_size;            /* sizeof the kind's vtable at build */
    const void *vtable;              /* struct orch_<kind>_vtable */
    /* Optional, run once on the loading thread before any other slot /
     * after the last one. */
    orch_status (*init)(const struct orch_host *host, struct orch_error *err);
    void (*fini)(void);
};

/* The ABI-relevant header of a descriptor, so an author cannot forget it. */
#define ORCH_PLUGIN_DESC_INIT                                                  \
    .struct_size = sizeof(struct orch_plugin_desc),                            \
    .abi_major = ORCH_ABI_MAJOR, .abi_minor = ORCH_ABI_MINOR,                  \
    .sdk_version = ORCH_SDK_VERSION, .build_sig = ORCH_BUILD_SIG,              \
    .option_size = sizeof(struct orch_option)

#define ORCH_PLUGIN_ENTRY_SYMBOL "orch_plugin_entry"

/* The entry: the plugin may look at host->abi_minor and refuse politely.
 * *out is static. Called once per process. */
typedef orch_status (*orch_plugin_entry_fn)(const struct orch_host *host,
                                            const struct orch_plugin_desc **out,
                                            struct orch_error *err);

/* ORCH_PLUGIN_DEFINE(backend, local, desc, host_var): emits the entry.
 * host_var is a `const struct orch_host *` the plugin declares (static, or
 * a plugin-prefixed global shared by its files); the entry stores the host
 * in it. Built with ORCH_PLUGIN_STATIC the entry is named
 * orch_builtin_<kind>_<name> so several plugins link into one binary. */
#ifdef ORCH_PLUGIN_STATIC
#define ORCH_PLUGIN_ENTRY_NAME_(kind, name) orch_builtin_##kind##_##name
#define ORCH_PLUGIN_ENTRY_DECL_(kind, name) ORCH_PLUGIN_ENTRY_NAME_(kind, name)
#define ORCH_PLUGIN_VIS_
#else
#define ORCH_PLUGIN_ENTRY_DECL_(kind, name) orch_plugin_entry
#define ORCH_PLUGIN_VIS_ ORCH_EXPORT
#endif

#define ORCH_PLUGIN_DEFINE(kind, name, desc, host_var)                         \
    ORCH_PLUGIN_VIS_ orch_status ORCH_PLUGIN_ENTRY_DECL_(kind, name)(          \
        const struct orch_host *host, const struct orch_plugin_desc **out,     \
        struct orch_error *err);                                               \
    ORCH_PLUGIN_VIS_ orch_status ORCH_PLUGIN_ENTRY_DECL_(kind, name)(          \
        const struct orch_host *host, const struct orch_plugin_desc **out,     \
        struct orch_error *err)                                                \
    {                                                                          \
        if (host == NULL || out == NULL)                                       \
            return ORCH_E_INVALID_ARG;                                         \
        if (host->abi_major != ORCH_ABI_MAJOR)                                 \
            return host->error_set(err, ORCH_E_ABI,                            \
                                   "plugin built for orch ABI %d.%d",          \
                                   ORCH_ABI_MAJOR, ORCH_ABI_MINOR);            \
        (host_var) = host;                                                     \
        *out = &(desc);                                                        \
        return ORCH_OK;                                                        \
    }

#ifdef __cplusplus
}
#endif
#endif
