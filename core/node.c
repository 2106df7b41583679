#include "node.h"

#include <stdlib.h>
#include <string.h>

struct oc_node *oc_node_new(enum oc_node_kind kind, const struct oc_pos *pos)
{
    struct oc_node *n = oc_xcalloc(1, sizeof *n);
    n->kind = kind;
    if (pos)
        n->pos = *pos;
    return n;
}

struct oc_node *oc_node_scalar(const char *s, const struct oc_pos *pos)
{
    struct oc_node *n = oc_node_new(OC_NODE_SCALAR, pos);
    n->str = oc_xstrdup(s ? s : "");
    return n;
}

void oc_node_free(struct oc_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->len; i++) {
        oc_node_free(n->items[i]);
        if (n->keys)
            oc_node_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->str);
    free(n);
}

struct oc_node *oc_node_clone(const struct oc_node *n)
{
    if (!n)
        return NULL;
    struct oc_node *c = oc_node_new(n->kind, &n->pos);
    c->str = oc_xstrdup(n->str);
    c->quoted = n->quoted;
    for (size_t i = 0; i < n->len; i++) {
        if (n->kind == OC_NODE_MAP)
            oc_node_map_put(c, oc_node_clone(n->keys[i]),
                            oc_node_clone(n->items[i]));
        else
            oc_node_append(c, oc_node_clone(n->items[i]));
    }
    return c;
}

/* Room for one more item, doubling: growing by one each time copied the
 * whole array per item, n^2 for a long sequence or a large mapping (under
 * ASan, whose realloc always moves, minutes for 100,000 keys). */
static void oc_node_grow(struct oc_node *n)
{
    if (n->len < n->cap)
        return;
    n->cap = n->cap ? n->cap * 2 : 4;
    n->items = oc_xrealloc(n->items, n->cap * sizeof *n->items);
    if (n->kind == OC_NODE_MAP)
        n->keys = oc_xrealloc(n->keys, n->cap * sizeof *n->keys);
}

void oc_node_append(struct oc_node *seq, struct oc_node *item)
{
    oc_node_grow(seq);
    seq->items[seq->len++] = item;
}

void oc_node_map_put(struct oc_node *map, struct oc_node *key,
                     struct oc_node *value)
{
    oc_node_grow(map);
    map->keys[map->len] = key;
    map->items[map->len++] = value;
}

const struct oc_node *oc_node_key(const struct oc_node *map, const char *key)
{
    if (!map || map->kind != OC_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->len; i++)
        if (map->keys[i]->str && strcmp(map->keys[i]->str, key) == 0)
            return map->keys[i];
    return NULL;
}

struct oc_node *oc_node_get(const struct oc_node *map, const char *key)
{
    if (!map || map->kind != OC_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->len; i++)
        if (map->keys[i]->str && strcmp(map->keys[i]->str, key) == 0)
            return map->items[i];
    return NULL;
}

const char *oc_node_kind_name(enum oc_node_kind k)
{
    switch (k) {
    case OC_NODE_NULL: return "null";
    case OC_NODE_SCALAR: return "scalar";
    case OC_NODE_SEQ: return "list";
    case OC_NODE_MAP: return "mapping";
    }
    return "?";
}

int oc_json_number_text(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

json_t *oc_node_to_json(const struct oc_node *n)
{
    if (!n)
        return json_null();
    switch (n->kind) {
    case OC_NODE_NULL:
        return json_null();
    case OC_NODE_SCALAR:
        if (!n->quoted) {
            if (strcmp(n->str, "true") == 0)
                return json_true();
            if (strcmp(n->str, "false") == 0)
                return json_false();
            if (oc_json_number_text(n->str)) {
                json_t *j = json_loads(n->str, JSON_DECODE_ANY, NULL);
                if (j)
                    return j;
            }
        }
        return json_string(n->str);
    case OC_NODE_SEQ: {
        json_t *a = json_array();
        for (size_t i = 0; i < n->len; i++)
            json_array_append_new(a, oc_node_to_json(n->items[i]));
        return a;
    }
    case OC_NODE_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; i < n->len; i++)
            json_object_set_new(o, n->keys[i]->str, oc_node_to_json(n->items[i]));
        return o;
    }
    }
    return json_null();
}

struct oc_node *oc_node_from_json(const json_t *j, const char *file)
{
    struct oc_pos pos = {file, 0, 0};
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        struct oc_node *m = oc_node_new(OC_NODE_MAP, &pos);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
            oc_node_map_put(m, oc_node_scalar(k, &pos), oc_node_from_json(v, file));
        return m;
    }
    case JSON_ARRAY: {
        struct oc_node *s = oc_node_new(OC_NODE_SEQ, &pos);
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v)
            oc_node_append(s, oc_node_from_json(v, file));
        return s;
    }
    case JSON_STRING: {
        struct oc_node *s = oc_node_new(OC_NODE_SCALAR, &pos);
        s->str = oc_xstrndup(json_string_value(j), json_string_length(j));
        s->quoted = 1;
        return s;
    }
    case JSON_INTEGER:
    case JSON_REAL:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL:
        break;
    }
    if (json_is_null(j))
        return oc_node_new(OC_NODE_NULL, &pos);
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    struct oc_node *s = oc_node_scalar(text ? text : "", &pos);
    free(text);
    return s;
}
