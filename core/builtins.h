#ifndef OC_BUILTINS_H
#define OC_BUILTINS_H
#include <orch/plugin.h>

/* Plugins compiled into the core: the embedded defaults. */
struct oc_builtin {
    const char *id; /* "store-sqlite" */
    orch_plugin_entry_fn entry;
};
extern const struct oc_builtin oc_builtins[]; /* NULL-terminated */
#endif
