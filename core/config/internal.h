/* Private to core/config: the YAML reader and the tree walkers shared by
 * the model builder and the validator. */
#ifndef OC_CONFIG_INTERNAL_H
#define OC_CONFIG_INTERNAL_H

#include "../config.h"
#include "../util.h"
#include "../yamltree.h" /* oc_yaml_parse, oc_cfg_check_keys: public for sdk/testing */

/* 0, or -1 with a diagnostic at the position where text passes
 * OC_CONFIG_MAX_BYTES. */
int oc_config_size_check(const char *text, size_t len, const char *file, struct oc_diag *diag);

/* The model builder's state: the config being filled and where problems
 * go. */
struct oc_mb {
    struct oc_config *cfg;
    struct oc_diag *diag;
};

/* getters.c */
const char *oc_scalar(struct oc_mb *b, const struct oc_node *n, const char *what);
char *oc_dup_scalar(struct oc_mb *b, const struct oc_node *map, const char *key,
                    const char *what);
int oc_get_bool(struct oc_mb *b, const struct oc_node *map, const char *key, int def,
                const char *what);
int64_t oc_node_uint(struct oc_mb *b, const struct oc_node *n, int64_t def, int64_t lo,
                     int64_t hi, const char *what);
int64_t oc_get_uint(struct oc_mb *b, const struct oc_node *map, const char *key,
                    int64_t def, int64_t lo, int64_t hi, const char *what);
int64_t oc_get_duration(struct oc_mb *b, const struct oc_node *map, const char *key,
                        int64_t def, const char *what);
/* A size (4096, 512K, 64M, 1G) from lo to hi bytes. */
int64_t oc_get_size(struct oc_mb *b, const struct oc_node *map, const char *key,
                    int64_t def, int64_t lo, int64_t hi, const char *what);
const struct oc_node *oc_get_map(struct oc_mb *b, const struct oc_node *map,
                                 const char *key, const char *what);
char **oc_get_names(struct oc_mb *b, const struct oc_node *n, size_t *count,
                    const char *what);

/* host_paths.c: defaults.host_paths into cfg->host_paths. */
void oc_host_paths_read(struct oc_mb *b, const struct oc_node *defaults);

/* lint.c: untrusted text pasted into SCRIPT options (warnings) and host:
 * paths against defaults.host_paths (errors). */
void oc_lint_step(const struct oc_config *cfg, const struct oc_step *st, struct oc_diag *diag);
/* env.c: an `env:` mapping of map (NULL when absent), its names and
 * values checked; the top-level env_passthrough list into b->cfg. */
const struct oc_node *oc_env_map_read(struct oc_mb *b, const struct oc_node *map,
                                      const char *what);
void oc_env_passthrough_read(struct oc_mb *b, const struct oc_node *root);

/* daemon.c: the orchd sections (server, worker, control, schedules,
 * webhooks, notifications). */
void oc_daemon_config_read(struct oc_mb *b, const struct oc_node *root);
void oc_daemon_config_free(struct oc_daemon_cfg *d);

#endif
