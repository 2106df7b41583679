/* `--version` of orch and orchd: what an operator needs in a bug report,
 * the version, the plugin ABI, and which plugins this binary would load
 * from where (a packaging mistake shows up as a missing or broken line). */
#include <stdio.h>

#include "host.h"
#include "registry.h"
#include "version.h"

static void oc_version_on_plugin(void *ud, const struct oc_plugin *p)
{
    const struct orch_plugin_desc *d = p->desc;
    fprintf(ud, "  %-8s %-13s %-8s abi %u.%u  %s\n", oc_kind_name(d->kind), d->name,
            d->version, d->abi_major, d->abi_minor, p->builtin ? "(builtin)" : p->path);
}

static void oc_version_on_error(void *ud, const char *path, const struct orch_error *err)
{
    fprintf(ud, "  unloadable: %s\n", oc_error_text(err));
    (void)path;
}

void oc_version_print(FILE *out, const char *prog)
{
    fprintf(out, "%s %s\nplugin ABI %d.%d\nplugins:\n", prog, ORCH_VERSION, ORCH_ABI_MAJOR,
            ORCH_ABI_MINOR);
    struct oc_registry *reg = oc_registry_new(NULL, 0);
    oc_registry_scan(reg, oc_version_on_plugin, oc_version_on_error, out);
    const char *const *paths;
    size_t n = oc_registry_paths(reg, &paths);
    fprintf(out, "plugin search path:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %s\n", paths[i]);
    oc_registry_free(reg);
}

const char *oc_version_string(void)
{
    return ORCH_VERSION;
}
