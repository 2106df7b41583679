/* Config-shaped files read into the positioned node tree: the core's
 * config and every other file with the same rules (the conformance
 * suite's conformance.yaml, sdk/testing/conf.c). */
#ifndef OC_YAMLTREE_H
#define OC_YAMLTREE_H

#include <stddef.h>

#include "node.h"
#include "util.h"

/* YAML (or JSON) text into a tree; NULL with diagnostics naming
 * file:line:col. */
struct oc_node *oc_yaml_parse(const char *text, size_t len, const char *file,
                              struct oc_diag *diag);

/* Report keys of map that are not in allowed (NULL-terminated), with the
 * closest allowed key as a suggestion. what names the map ("step build"). */
void oc_cfg_check_keys(const struct oc_node *map, const char *const *allowed,
                       const char *what, struct oc_diag *diag);

#endif
