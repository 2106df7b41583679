/* YAML (and so JSON) text to an oc_node tree with 1-based line:col
 * positions, using libyaml's event parser. Anchors/aliases and tags are
 * refused: a workflow file should read the same to a person as to orch
 * (and an alias cannot multiply a small file into a huge tree). Nesting
 * deeper than OC_MAX_NESTING and files larger than OC_CONFIG_MAX_BYTES are
 * refused with their position: the tree and every walker over it recurse
 * once per level, and libyaml hands events over one at a time, so the
 * reader stops at the first level too deep without reading further. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../json_limit.h"
#include "internal.h"

struct oc_yp {
    yaml_parser_t parser;
    const char *file;
    struct oc_diag *diag;
    int failed;
    size_t depth; /* collections open around the current event */
};

static struct oc_pos oc_yp_pos(const struct oc_yp *y, yaml_mark_t m)
{
    return (struct oc_pos){y->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1};
}

static int oc_yp_next(struct oc_yp *y, yaml_event_t *ev)
{
    if (yaml_parser_parse(&y->parser, ev))
        return 0;
    struct oc_pos pos = oc_yp_pos(y, y->parser.problem_mark);
    if (y->parser.context)
        oc_diag_add(y->diag, &pos, "YAML syntax error: %s %s", y->parser.problem,
                    y->parser.context);
    else
        oc_diag_add(y->diag, &pos, "YAML syntax error: %s",
                    y->parser.problem ? y->parser.problem : "invalid document");
    y->failed = 1;
    return -1;
}

static int oc_plain_null(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static struct oc_node *oc_yp_node(struct oc_yp *y, yaml_event_t *ev);

/* The keys of the mapping being read, hashed: a linear search per key made
 * a mapping of n keys cost n^2/2 comparisons (a 16 MiB file of a million
 * keys: hours). Open addressing; a slot holds a key's index + 1. */
struct oc_keyset {
    size_t *slots;
    size_t cap; /* a power of two, or 0 */
};

static size_t oc_key_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

/* The index of key in map, or -1 after adding it (as map->keys[map->len],
 * which the caller puts there next). */
static long oc_keyset_find_add(struct oc_keyset *ks, const struct oc_node *map, const char *key)
{
    if ((map->len + 1) * 2 > ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        size_t *slots = oc_xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < map->len; i++) {
            size_t j = oc_key_hash(map->keys[i]->str) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = i + 1;
        }
        free(ks->slots);
        ks->slots = slots;
        ks->cap = cap;
    }
    size_t j = oc_key_hash(key) & (ks->cap - 1);
    for (; ks->slots[j]; j = (j + 1) & (ks->cap - 1))
        if (!strcmp(map->keys[ks->slots[j] - 1]->str, key))
            return (long)(ks->slots[j] - 1);
    ks->slots[j] = map->len + 1;
    return -1;
}

static struct oc_node *oc_yp_collection(struct oc_yp *y, yaml_event_t *start)
{
    int is_map = start->type == YAML_MAPPING_START_EVENT;
    struct oc_pos pos = oc_yp_pos(y, start->start_mark);
    if (y->depth >= OC_MAX_NESTING) {
        oc_diag_add(y->diag, &pos, "nested deeper than %d levels (the limit for a config "
                    "file)", OC_MAX_NESTING);
        y->failed = 1;
        return NULL;
    }
    y->depth++;
    struct oc_node *n = oc_node_new(is_map ? OC_NODE_MAP : OC_NODE_SEQ, &pos);
    yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    struct oc_keyset keys = {0};
    for (;;) {
        yaml_event_t ev;
        if (oc_yp_next(y, &ev) != 0)
            goto fail;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            y->depth--;
            free(keys.slots);
            return n;
        }
        struct oc_node *item = oc_yp_node(y, &ev);
        yaml_event_delete(&ev);
        if (!item)
            goto fail;
        if (!is_map) {
            oc_node_append(n, item);
            continue;
        }
        if (item->kind != OC_NODE_SCALAR) {
            oc_diag_add(y->diag, &item->pos, "a mapping key must be a plain name, not a %s",
                        oc_node_kind_name(item->kind));
            oc_node_free(item);
            goto fail;
        }
        long first_at = oc_keyset_find_add(&keys, n, item->str);
        if (first_at >= 0) {
            const struct oc_node *first = n->keys[first_at];
            oc_diag_add(y->diag, &item->pos, "duplicate key '%s' (first at line %u)",
                        item->str, first->pos.line);
            oc_node_free(item);
            goto fail;
        }
        if (oc_yp_next(y, &ev) != 0) {
            oc_node_free(item);
            goto fail;
        }
        struct oc_node *val = oc_yp_node(y, &ev);
        yaml_event_delete(&ev);
        if (!val) {
            oc_node_free(item);
            goto fail;
        }
        oc_node_map_put(n, item, val);
    }
fail:
    y->depth--;
    free(keys.slots);
    oc_node_free(n);
    return NULL;
}

static struct oc_node *oc_yp_node(struct oc_yp *y, yaml_event_t *ev)
{
    struct oc_pos pos = oc_yp_pos(y, ev->start_mark);
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor) {
            oc_diag_add(y->diag, &pos, "YAML anchors are not supported");
            y->failed = 1;
            return NULL;
        }
        const char *s = (const char *)ev->data.scalar.value;
        int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && oc_plain_null(s))
            return oc_node_new(OC_NODE_NULL, &pos);
        struct oc_node *n = oc_node_new(OC_NODE_SCALAR, &pos);
        n->str = oc_xstrndup(s, ev->data.scalar.length);
        n->quoted = !plain;
        return n;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if ((ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                   : ev->data.mapping_start.anchor)) {
            oc_diag_add(y->diag, &pos, "YAML anchors are not supported");
            y->failed = 1;
            return NULL;
        }
        return oc_yp_collection(y, ev);
    case YAML_ALIAS_EVENT:
        oc_diag_add(y->diag, &pos, "YAML aliases (*name) are not supported");
        y->failed = 1;
        return NULL;
    default:
        oc_diag_add(y->diag, &pos, "unexpected YAML event");
        y->failed = 1;
        return NULL;
    }
}

/* The line:col of byte off of text. */
static struct oc_pos oc_text_pos(const char *text, size_t off, const char *file)
{
    struct oc_pos pos = {file, 1, 1};
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            pos.line++;
            pos.col = 1;
        } else {
            pos.col++;
        }
    }
    return pos;
}

int oc_config_size_check(const char *text, size_t len, const char *file, struct oc_diag *diag)
{
    if (len <= OC_CONFIG_MAX_BYTES)
        return 0;
    struct oc_pos pos = oc_text_pos(text, OC_CONFIG_MAX_BYTES, file);
    oc_diag_add(diag, &pos, "the file is larger than %d MiB (the limit for a config file); "
                "it is not read past here", OC_CONFIG_MAX_BYTES >> 20);
    return -1;
}

struct oc_node *oc_yaml_parse(const char *text, size_t len, const char *file,
                              struct oc_diag *diag)
{
    if (oc_config_size_check(text, len, file, diag) != 0)
        return NULL;
    struct oc_yp y = {.file = file, .diag = diag};
    yaml_parser_initialize(&y.parser);
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
    struct oc_node *root = NULL;
    yaml_event_t ev;
    /* stream start, document start */
    if (oc_yp_next(&y, &ev) != 0)
        goto out;
    yaml_event_delete(&ev);
    if (oc_yp_next(&y, &ev) != 0)
        goto out;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        struct oc_pos pos = {file, 1, 1};
        oc_diag_add(diag, &pos, "the file is empty");
        goto out;
    }
    yaml_event_delete(&ev);
    if (oc_yp_next(&y, &ev) != 0)
        goto out;
    root = oc_yp_node(&y, &ev);
    yaml_event_delete(&ev);
    if (!root)
        goto out;
    if (oc_yp_next(&y, &ev) != 0)
        goto fail;
    yaml_event_delete(&ev); /* document end */
    if (oc_yp_next(&y, &ev) != 0)
        goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        struct oc_pos pos = oc_yp_pos(&y, ev.start_mark);
        oc_diag_add(diag, &pos, "only one YAML document is allowed per file");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    goto out;
fail:
    oc_node_free(root);
    root = NULL;
out:
    yaml_parser_delete(&y.parser);
    return root;
}

json_t *oc_yaml_to_json(const char *text, size_t len, const char *file, struct oc_diag *diag)
{
    struct oc_node *root = oc_yaml_parse(text, len, file, diag);
    if (!root)
        return NULL;
    json_t *j = oc_node_to_json(root);
    oc_node_free(root);
    return j;
}
