/* Reading a section of the workflow file: the typed getters core/config
 * uses for its own sections, public so that a tool owns the sections only
 * it acts on (tools/orchd/config reads server, worker, control, schedules,
 * webhooks and notifications) with the same file:line:col diagnostics.
 *
 * A tool registers its section reader once, before it reads a config; the
 * core then accepts those top-level keys and hands the tree to the reader
 * after it has read the workflows. Without a registered reader those keys
 * are unknown, as any other. */
#ifndef OC_CONFIG_READ_H
#define OC_CONFIG_READ_H

#include <stdint.h>

#include "config.h"
#include "node.h"

/* The reader's state: the config being filled and where problems go. */
struct oc_cfg_reader {
    struct oc_config *cfg;
    struct oc_diag *diag;
};

/* Each getter reports a wrong shape or value at its position (what names
 * the key in the message) and returns the default or NULL. */
const char *oc_scalar(struct oc_cfg_reader *b, const struct oc_node *n, const char *what);
char *oc_dup_scalar(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                    const char *what);
int oc_get_bool(struct oc_cfg_reader *b, const struct oc_node *map, const char *key, int def,
                const char *what);
int64_t oc_node_uint(struct oc_cfg_reader *b, const struct oc_node *n, int64_t def, int64_t lo,
                     int64_t hi, const char *what);
int64_t oc_get_uint(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                    int64_t def, int64_t lo, int64_t hi, const char *what);
int64_t oc_get_duration(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                        int64_t def, const char *what);
/* A size (4096, 512K, 64M, 1G) from lo to hi bytes. */
int64_t oc_get_size(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                    int64_t def, int64_t lo, int64_t hi, const char *what);
const struct oc_node *oc_get_map(struct oc_cfg_reader *b, const struct oc_node *map,
                                 const char *key, const char *what);
char **oc_get_names(struct oc_cfg_reader *b, const struct oc_node *n, size_t *count,
                    const char *what);

/* Top-level sections a tool owns. read returns its model (kept in
 * cfg->sections and given to free with the config); it is called only for a
 * file with workflows, after they are read, so that it can check names
 * against them (oc_config_workflow). */
struct oc_config_sections {
    const char *const *keys; /* NULL-terminated top-level keys */
    void *(*read)(struct oc_cfg_reader *r, const struct oc_node *root);
    void (*free)(void *model);
};

/* Set once by a tool's main before any config is read (not thread-safe,
 * like the registration of a signal handler); NULL takes it back. */
void oc_config_sections_set(const struct oc_config_sections *s);

#endif
