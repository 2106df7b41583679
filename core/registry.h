/* Plugin registry and loader: builtins plus .so files found on the search
 * path, loaded on demand by id ("backend-docker") and checked in the order
 * of PLUGIN-ABI-GUIDE 10.1. Plugins are never unloaded. */
#ifndef OC_REGISTRY_H
#define OC_REGISTRY_H

#include <stddef.h>

#include <orch/orch.h>

#include "plugin_check.h"

struct oc_plugin {
    char *id;                          /* "<kind>-<name>" */
    char *path;                        /* the .so, or "builtin" */
    int builtin;
    const struct orch_plugin_desc *desc;
};

struct oc_registry;

/* The search path is, in order: extra (from the config, may be NULL),
 * $ORCH_PLUGIN_PATH (colon-separated), <exe dir>/../lib/orch/plugins, the
 * install dir. */
struct oc_registry *oc_registry_new(const char *const *extra, size_t n_extra);
/* The builtin plugins and no search path: nothing is ever loaded from a
 * file (the fuzz harnesses). */
struct oc_registry *oc_registry_new_builtin(void);
void oc_registry_free(struct oc_registry *r);
void oc_registry_add_path(struct oc_registry *r, const char *dir);

/* Find a plugin of kind by config name ("docker"), loading <kind>-<name>.so
 * from the search path when it is not already registered. NULL with err
 * set (NOT_FOUND naming the places searched, or the load refusal). */
const struct oc_plugin *oc_registry_get(struct oc_registry *r, uint32_t kind,
                                        const char *name,
                                        struct orch_error *err);
/* Leave the builtins out, so the .so build of a builtin plugin can be
 * loaded by itself (orch-plugin). Call before any other use. */
void oc_registry_skip_builtins(struct oc_registry *r);
/* Load one file and register it. */
const struct oc_plugin *oc_registry_load_file(struct oc_registry *r,
                                              const char *path,
                                              struct orch_error *err);

/* Every builtin plus every *.so on the search path. Files that fail to load
 * are reported through on_error (path, err) and the scan goes on. */
void oc_registry_scan(struct oc_registry *r,
                      void (*on_plugin)(void *ud, const struct oc_plugin *p),
                      void (*on_error)(void *ud, const char *path,
                                       const struct orch_error *err),
                      void *ud);

/* The search path, for messages and `orch plugins list`. */
size_t oc_registry_paths(const struct oc_registry *r, const char *const **out);

/* The vtable of a plugin, typed. */
#define OC_VT(p, T) ((const struct T *)(p)->desc->vtable)

#endif
