/* Private to core/config: the YAML reader and the tree walkers shared by
 * the model builder and the validator. */
#ifndef OC_CONFIG_INTERNAL_H
#define OC_CONFIG_INTERNAL_H

#include "../config.h"
#include "../util.h"

struct oc_node *oc_yaml_parse(const char *text, size_t len, const char *file,
                              struct oc_diag *diag);

/* Report keys of map that are not in allowed (NULL-terminated), with the
 * closest allowed key as a suggestion. what names the map ("step build"). */
void oc_cfg_check_keys(const struct oc_node *map, const char *const *allowed,
                       const char *what, struct oc_diag *diag);

#endif
