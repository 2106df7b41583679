/* A configuration value tree with source positions: what the YAML/JSON
 * parser produces, what option validation and templating consume, and what
 * travels to executors (as JSON, positions dropped). */
#ifndef OC_NODE_H
#define OC_NODE_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"

enum oc_node_kind { OC_NODE_NULL, OC_NODE_SCALAR, OC_NODE_SEQ, OC_NODE_MAP };

struct oc_node {
    enum oc_node_kind kind;
    struct oc_pos pos;
    char *str;              /* SCALAR: its text */
    int quoted;             /* SCALAR was quoted: a string, never a number/bool */
    size_t len;             /* SEQ/MAP: number of items */
    size_t cap;             /* SEQ/MAP: room in items (and keys) */
    struct oc_node **items; /* SEQ items; MAP values */
    struct oc_node **keys;  /* MAP keys (SCALAR nodes with their positions) */
};

struct oc_node *oc_node_new(enum oc_node_kind kind, const struct oc_pos *pos);
struct oc_node *oc_node_scalar(const char *s, const struct oc_pos *pos);
void oc_node_free(struct oc_node *n);
struct oc_node *oc_node_clone(const struct oc_node *n);
/* Appends; for MAP, key is taken over (a SCALAR node). */
void oc_node_append(struct oc_node *seq, struct oc_node *item);
void oc_node_map_put(struct oc_node *map, struct oc_node *key,
                     struct oc_node *value);
/* Value of key in a MAP, or NULL (also NULL for a non-MAP). */
struct oc_node *oc_node_get(const struct oc_node *map, const char *key);
/* The key node of key in a MAP (for its position), or NULL. */
const struct oc_node *oc_node_key(const struct oc_node *map, const char *key);
const char *oc_node_kind_name(enum oc_node_kind k);

/* JSON conversion. Scalars become JSON strings unless unquoted and
 * spelled as a JSON number/true/false/null (to_json) ; from_json keeps
 * numbers' text. file may be NULL. */
json_t *oc_node_to_json(const struct oc_node *n);
/* Whether s is spelled as a JSON number, exactly (no space, no sign '+'). */
int oc_json_number_text(const char *s);
struct oc_node *oc_node_from_json(const json_t *j, const char *file);

#endif
