/* Private to core/config: the YAML reader and the tree walkers shared by
 * the model builder and the validator. */
#ifndef OC_CONFIG_INTERNAL_H
#define OC_CONFIG_INTERNAL_H

#include "../config.h"
#include "../config_read.h" /* the getters, public for the tools' sections */
#include "../util.h"
#include "../yamltree.h" /* oc_yaml_parse, oc_cfg_check_keys: public for sdk/testing */

/* 0, or -1 with a diagnostic at the position where text passes
 * OC_CONFIG_MAX_BYTES. */
int oc_config_size_check(const char *text, size_t len, const char *file, struct oc_diag *diag);

/* host_paths.c: defaults.host_paths into cfg->host_paths. */
void oc_host_paths_read(struct oc_cfg_reader *b, const struct oc_node *defaults);

/* lint.c: untrusted text pasted into SCRIPT options (warnings) and host:
 * paths against defaults.host_paths (errors). */
void oc_lint_step(const struct oc_config *cfg, const struct oc_step *st, struct oc_diag *diag);
/* env.c: an `env:` mapping of map (NULL when absent), its names and
 * values checked; the top-level env_passthrough list into b->cfg. */
const struct oc_node *oc_env_map_read(struct oc_cfg_reader *b, const struct oc_node *map,
                                      const char *what);
void oc_env_passthrough_read(struct oc_cfg_reader *b, const struct oc_node *root);

/* workflow.c: root's workflows: mapping into b->cfg (0 when there is none,
 * said in the diag), and every workflow of a config freed. */
int oc_workflows_read(struct oc_cfg_reader *b, const struct oc_node *root);
void oc_workflows_free(struct oc_config *cfg);

#endif
