/* What a plugin is and how to configure it: shared by `orch plugins info`
 * and `orch-plugin info`, so both print the same thing. */
#ifndef OC_PLUGIN_INFO_H
#define OC_PLUGIN_INFO_H

#include <jansson.h>
#include <stdio.h>

#include "registry.h"

/* id, kind, name, version, description, license, abi, sdk_version, path,
 * builtin, caps (names), options, and for steps the declared outputs. */
json_t *oc_plugin_info_json(const struct oc_plugin *p);
void oc_plugin_info_print(const struct oc_plugin *p, FILE *out);

#endif
