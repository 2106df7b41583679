/* Typed getters over the positioned tree: each reports a wrong shape or
 * value at its file:line:col and returns the default. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *oc_scalar(struct oc_cfg_reader *b, const struct oc_node *n,
                      const char *what)
{
    if (!n || n->kind == OC_NODE_NULL)
        return NULL;
    if (n->kind != OC_NODE_SCALAR) {
        oc_diag_add(b->diag, &n->pos, "%s must be a value, not a %s", what,
                    oc_node_kind_name(n->kind));
        return NULL;
    }
    return n->str;
}

char *oc_dup_scalar(struct oc_cfg_reader *b, const struct oc_node *map,
                    const char *key, const char *what)
{
    const char *s = oc_scalar(b, oc_node_get(map, key), what);
    return s ? oc_xstrdup(s) : NULL;
}

int oc_get_bool(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                int def, const char *what)
{
    const struct oc_node *n = oc_node_get(map, key);
    const char *s = oc_scalar(b, n, what);
    if (!s)
        return def;
    if (!strcmp(s, "true"))
        return 1;
    if (!strcmp(s, "false"))
        return 0;
    oc_diag_add(b->diag, &n->pos, "%s must be true or false, not '%s'", what, s);
    return def;
}

int64_t oc_node_uint(struct oc_cfg_reader *b, const struct oc_node *n,
                     int64_t def, int64_t lo, int64_t hi, const char *what)
{
    const char *s = oc_scalar(b, n, what);
    if (!s)
        return def;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        oc_diag_add(b->diag, &n->pos, "%s must be an integer from %lld to %lld, not '%s'",
                    what, (long long)lo, (long long)hi, s);
        return def;
    }
    return v;
}

int64_t oc_get_uint(struct oc_cfg_reader *b, const struct oc_node *map,
                    const char *key, int64_t def, int64_t lo, int64_t hi,
                    const char *what)
{
    return oc_node_uint(b, oc_node_get(map, key), def, lo, hi, what);
}

int64_t oc_get_duration(struct oc_cfg_reader *b, const struct oc_node *map,
                        const char *key, int64_t def, const char *what)
{
    const struct oc_node *n = oc_node_get(map, key);
    const char *s = oc_scalar(b, n, what);
    int64_t ms;
    if (!s)
        return def;
    if (oc_parse_duration_ms(s, &ms) != 0 || ms < 0) {
        oc_diag_add(b->diag, &n->pos,
                    "%s: %s: '%s' is not a duration (e.g. 250ms, 30s, 5m, 2h)", what, key, s);
        return def;
    }
    return ms;
}

/* 1G, 64M, 4K or a number of bytes: the largest unit that divides v. */
static void oc_size_text(char *out, size_t cap, int64_t v)
{
    static const char units[] = "GMK";
    for (int i = 0; i < 3; i++) {
        int64_t u = 1ll << (10 * (3 - i));
        if (v && v % u == 0) {
            snprintf(out, cap, "%lld%c", (long long)(v / u), units[i]);
            return;
        }
    }
    snprintf(out, cap, "%lld", (long long)v);
}

int64_t oc_get_size(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                    int64_t def, int64_t lo, int64_t hi, const char *what)
{
    const struct oc_node *n = oc_node_get(map, key);
    const char *s = oc_scalar(b, n, what);
    int64_t v;
    if (!s)
        return def;
    if (oc_parse_size(s, &v) != 0 || v < lo || v > hi) {
        char los[32], his[32];
        oc_size_text(los, sizeof los, lo);
        oc_size_text(his, sizeof his, hi);
        oc_diag_add(b->diag, &n->pos, "%s: %s: '%s' is not a size from %s to %s (e.g. 512K, 64M)",
                    what, key, s, los, his);
        return def;
    }
    return v;
}

const struct oc_node *oc_get_map(struct oc_cfg_reader *b, const struct oc_node *map,
                                 const char *key, const char *what)
{
    const struct oc_node *n = oc_node_get(map, key);
    if (!n || n->kind == OC_NODE_NULL)
        return NULL;
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping, not a %s", what,
                    oc_node_kind_name(n->kind));
        return NULL;
    }
    return n;
}

/* A list of names, also accepted as a single name. */
char **oc_get_names(struct oc_cfg_reader *b, const struct oc_node *n, size_t *count,
                    const char *what)
{
    *count = 0;
    if (!n || n->kind == OC_NODE_NULL)
        return NULL;
    if (n->kind == OC_NODE_SCALAR) {
        char **v = oc_xcalloc(1, sizeof *v);
        v[0] = oc_xstrdup(n->str);
        *count = 1;
        return v;
    }
    if (n->kind != OC_NODE_SEQ) {
        oc_diag_add(b->diag, &n->pos, "%s must be a list", what);
        return NULL;
    }
    char **v = oc_xcalloc(n->len + 1, sizeof *v);
    for (size_t i = 0; i < n->len; i++) {
        const char *s = oc_scalar(b, n->items[i], what);
        if (s)
            v[(*count)++] = oc_xstrdup(s);
    }
    return v;
}

