/* Option tables: validate a `with:` block against a plugin's declared
 * options and parse it into the plugin's config struct. */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "json_limit.h"
#include "template.h"
#include "util.h"

const struct orch_option *oc_option_at(const struct orch_plugin_desc *d,
                                       uint32_t i)
{
    if (!d->options || i >= d->option_count)
        return NULL;
    return (const struct orch_option *)((const char *)d->options +
                                        (size_t)i * d->option_size);
}

const struct orch_option *oc_option_find(const struct orch_plugin_desc *d,
                                         const char *name)
{
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        if (o->name && !strcmp(o->name, name))
            return o;
    }
    return NULL;
}

const char *oc_option_type_name(uint32_t type)
{
    static const char *const names[] = {
        "?", "string", "int", "bool", "double", "duration", "size", "enum",
        "string list", "string map", "path", "url", "json"};
    return type <= ORCH_OPT_TYPE_LAST_ ? names[type] : "?";
}

static int oc_opt_is_text(uint32_t t)
{
    return t == ORCH_OPT_STRING || t == ORCH_OPT_PATH || t == ORCH_OPT_URL ||
           t == ORCH_OPT_ENUM || t == ORCH_OPT_JSON;
}

/* Parsed value of one option, before it is stored. */
struct oc_optval {
    char *s;
    int64_t i;
    double d;
    char **items, **values;
    uint32_t count;
};

static void oc_optval_free(struct oc_optval *v)
{
    free(v->s);
    for (uint32_t k = 0; k < v->count; k++) {
        free(v->items ? v->items[k] : NULL);
        free(v->values ? v->values[k] : NULL);
    }
    free(v->items);
    free(v->values);
    memset(v, 0, sizeof *v);
}

static int oc_parse_bool(const char *s, int64_t *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static char *oc_enum_list(const struct orch_option *o)
{
    struct oc_buf b = {0};
    for (const char *const *e = o->enum_values; e && *e; e++)
        oc_buf_addf(&b, "%s%s", e == o->enum_values ? "" : ", ", *e);
    return oc_buf_steal(&b);
}

/* Parse a scalar's text as option o. 0, or -1 with *why (malloc'd). */
static int oc_parse_scalar(const struct orch_option *o, const char *s,
                           struct oc_optval *v, char **why)
{
    char *end;
    switch (o->type) {
    case ORCH_OPT_STRING:
    case ORCH_OPT_PATH:
    case ORCH_OPT_JSON:
        v->s = oc_xstrdup(s);
        if (o->type == ORCH_OPT_JSON) {
            json_error_t je;
            json_t *j = oc_json_loads_bounded(s, JSON_DECODE_ANY, &je);
            if (!j) {
                *why = oc_xasprintf("'%.60s' is not valid JSON: %s", s, je.text);
                return -1;
            }
            json_decref(j);
        }
        v->i = (int64_t)strlen(s);
        return 0;
    case ORCH_OPT_URL:
        if (!strstr(s, "://")) {
            *why = oc_xasprintf("'%s' is not a URL (scheme://...)", s);
            return -1;
        }
        v->s = oc_xstrdup(s);
        v->i = (int64_t)strlen(s);
        return 0;
    case ORCH_OPT_ENUM:
        for (const char *const *e = o->enum_values; e && *e; e++)
            if (!strcmp(*e, s)) {
                v->s = oc_xstrdup(s);
                return 0;
            }
        {
            char *list = oc_enum_list(o);
            *why = oc_xasprintf("'%s' is not one of: %s", s, list);
            free(list);
        }
        return -1;
    case ORCH_OPT_INT:
        errno = 0;
        v->i = strtoll(s, &end, 10);
        if (errno || end == s || *end) {
            *why = oc_xasprintf("'%s' is not an integer", s);
            return -1;
        }
        return 0;
    case ORCH_OPT_BOOL:
        if (oc_parse_bool(s, &v->i) != 0) {
            *why = oc_xasprintf("'%s' is not a boolean (true or false)", s);
            return -1;
        }
        return 0;
    case ORCH_OPT_DOUBLE:
        errno = 0;
        v->d = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v->d)) {
            *why = oc_xasprintf("'%s' is not a number", s);
            return -1;
        }
        return 0;
    case ORCH_OPT_DURATION:
        if (oc_parse_duration_ms(s, &v->i) != 0) {
            *why = oc_xasprintf("'%s' is not a duration (e.g. 250ms, 30s, 5m, 2h)", s);
            return -1;
        }
        return 0;
    case ORCH_OPT_SIZE:
        if (oc_parse_size(s, &v->i) != 0) {
            *why = oc_xasprintf("'%s' is not a size (e.g. 4096, 512K, 256M, 1G)", s);
            return -1;
        }
        return 0;
    }
    *why = oc_xasprintf("a list or mapping is expected");
    return -1;
}

/* Parse a node as option o. 0, or -1 with *why and *where (the node at
 * fault). */
static int oc_parse_node(const struct orch_option *o, const struct oc_node *n,
                         struct oc_optval *v, char **why,
                         const struct oc_node **where)
{
    *where = n;
    if (o->type == ORCH_OPT_STRING_LIST) {
        if (n->kind != OC_NODE_SEQ) {
            *why = oc_xasprintf("expected a list, got a %s", oc_node_kind_name(n->kind));
            return -1;
        }
        v->items = oc_xcalloc(n->len + 1, sizeof *v->items);
        for (size_t k = 0; k < n->len; k++) {
            if (n->items[k]->kind != OC_NODE_SCALAR) {
                *where = n->items[k];
                *why = oc_xasprintf("list items must be strings, got a %s",
                                    oc_node_kind_name(n->items[k]->kind));
                return -1;
            }
            v->items[v->count++] = oc_xstrdup(n->items[k]->str);
        }
        v->i = v->count;
        return 0;
    }
    if (o->type == ORCH_OPT_STRING_MAP) {
        if (n->kind != OC_NODE_MAP) {
            *why = oc_xasprintf("expected a mapping, got a %s", oc_node_kind_name(n->kind));
            return -1;
        }
        v->items = oc_xcalloc(n->len + 1, sizeof *v->items);
        v->values = oc_xcalloc(n->len + 1, sizeof *v->values);
        for (size_t k = 0; k < n->len; k++) {
            const struct oc_node *val = n->items[k];
            if (val->kind == OC_NODE_MAP || val->kind == OC_NODE_SEQ) {
                *where = val;
                *why = oc_xasprintf("value of '%s' must be a string, got a %s",
                                    n->keys[k]->str, oc_node_kind_name(val->kind));
                return -1;
            }
            v->items[v->count] = oc_xstrdup(n->keys[k]->str);
            v->values[v->count++] = oc_xstrdup(val->kind == OC_NODE_NULL ? "" : val->str);
        }
        v->i = v->count;
        return 0;
    }
    if (o->type == ORCH_OPT_JSON && n->kind != OC_NODE_SCALAR) {
        json_t *j = oc_node_to_json(n);
        v->s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        return 0;
    }
    if (n->kind != OC_NODE_SCALAR) {
        *why = oc_xasprintf("expected a %s, got a %s", oc_option_type_name(o->type),
                            oc_node_kind_name(n->kind));
        return -1;
    }
    if (o->type == ORCH_OPT_JSON && n->quoted) {
        /* A quoted scalar is a JSON string value, not JSON text. */
        json_t *j = json_string(n->str);
        v->s = json_dumps(j, JSON_ENCODE_ANY);
        json_decref(j);
        return 0;
    }
    return oc_parse_scalar(o, n->str, v, why);
}

static int oc_check_bounds(const struct orch_option *o, const struct oc_optval *v,
                           char **why)
{
    if (o->type == ORCH_OPT_BOOL || o->type == ORCH_OPT_ENUM || o->type == ORCH_OPT_JSON)
        return 0;
    double x = o->type == ORCH_OPT_DOUBLE ? v->d : (double)v->i;
    const char *unit = o->type == ORCH_OPT_DURATION ? " ms"
                       : o->type == ORCH_OPT_SIZE   ? " bytes"
                       : oc_opt_is_text(o->type)    ? " characters"
                       : o->type == ORCH_OPT_INT || o->type == ORCH_OPT_DOUBLE ? ""
                                                    : " items";
    if ((o->flags & ORCH_OPTF_MIN) && x < (double)o->min) {
        *why = oc_xasprintf("must be at least %lld%s", (long long)o->min, unit);
        return -1;
    }
    if ((o->flags & ORCH_OPTF_MAX) && x > (double)o->max) {
        *why = oc_xasprintf("must be at most %lld%s", (long long)o->max, unit);
        return -1;
    }
    return 0;
}

static void oc_store_val(const struct orch_option *o, char *cfg, struct oc_optval *v)
{
    char *at = cfg + o->offset;
    switch (o->type) {
    case ORCH_OPT_INT:
    case ORCH_OPT_DURATION:
    case ORCH_OPT_SIZE:
        memcpy(at, &v->i, sizeof v->i);
        break;
    case ORCH_OPT_BOOL: {
        int32_t b = v->i ? 1 : 0;
        memcpy(at, &b, sizeof b);
        break;
    }
    case ORCH_OPT_DOUBLE:
        memcpy(at, &v->d, sizeof v->d);
        break;
    case ORCH_OPT_STRING_LIST: {
        struct orch_strlist l = {(const char *const *)v->items, v->count};
        memcpy(at, &l, sizeof l);
        v->items = NULL;
        break;
    }
    case ORCH_OPT_STRING_MAP: {
        struct orch_strmap m = {(const char *const *)v->items,
                                (const char *const *)v->values, v->count};
        memcpy(at, &m, sizeof m);
        v->items = v->values = NULL;
        break;
    }
    default: {
        const char *s = v->s;
        memcpy(at, &s, sizeof s);
        v->s = NULL;
        break;
    }
    }
    v->count = 0;
}

/* Defaults of lists and maps are written as JSON text ('["a","b"]'). */
static int oc_parse_default(const struct orch_option *o, struct oc_optval *v,
                            char **why)
{
    if (o->type != ORCH_OPT_STRING_LIST && o->type != ORCH_OPT_STRING_MAP)
        return oc_parse_scalar(o, o->default_value, v, why);
    json_t *j = json_loads(o->default_value, JSON_DECODE_ANY, NULL);
    if (!j) {
        *why = oc_xasprintf("default '%s' is not JSON", o->default_value);
        return -1;
    }
    struct oc_node *n = oc_node_from_json(j, NULL);
    json_decref(j);
    const struct oc_node *where;
    int rc = oc_parse_node(o, n, v, why, &where);
    oc_node_free(n);
    return rc;
}

static int oc_is_secret_ref(const char *s)
{
    const char *p = strstr(s, "${{");
    return p && strstr(p, "secrets.") != NULL;
}

static void oc_unknown_key(const struct orch_plugin_desc *d, const char *what,
                           const struct oc_node *key, struct oc_diag *diag)
{
    const char **names = oc_xcalloc(d->option_count + 1, sizeof *names);
    struct oc_buf list = {0};
    for (uint32_t i = 0; i < d->option_count; i++) {
        names[i] = oc_option_at(d, i)->name;
        oc_buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
    }
    const char *near = oc_closest(key->str, names, d->option_count);
    if (near)
        oc_diag_add(diag, &key->pos, "%s: unknown option '%s'; did you mean '%s'? (options: %s)",
                    what, key->str, near, list.data ? list.data : "none");
    else
        oc_diag_add(diag, &key->pos, "%s: unknown option '%s' (options: %s)", what,
                    key->str, list.data ? list.data : "none");
    oc_buf_free(&list);
    free(names);
}

int oc_options_apply(const struct orch_plugin_desc *d, const char *what,
                     const struct oc_node *with, uint32_t flags,
                     void **cfg_out, struct oc_diag *diag)
{
    size_t before = diag->n;
    if (with && with->kind != OC_NODE_MAP && with->kind != OC_NODE_NULL) {
        oc_diag_add(diag, &with->pos, "%s: `with` must be a mapping, got a %s", what,
                    oc_node_kind_name(with->kind));
        return -1;
    }
    size_t nkeys = with && with->kind == OC_NODE_MAP ? with->len : 0;
    for (size_t k = 0; k < nkeys; k++)
        if (!oc_option_find(d, with->keys[k]->str))
            oc_unknown_key(d, what, with->keys[k], diag);
    char *cfg = oc_xcalloc(1, d->config_size ? d->config_size : 1);
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        const struct oc_node *n = nkeys ? oc_node_get(with, o->name) : NULL;
        const struct oc_node *key = nkeys ? oc_node_key(with, o->name) : NULL;
        struct oc_optval v = {0};
        char *why = NULL;
        if (n && n->kind == OC_NODE_NULL)
            n = NULL;
        if (!n) {
            if (o->flags & ORCH_OPTF_REQUIRED)
                oc_diag_add(diag, with ? &with->pos : NULL,
                            "%s: option '%s' is required (%s)", what, o->name,
                            o->description ? o->description : oc_option_type_name(o->type));
            else if (o->default_value && oc_parse_default(o, &v, &why) == 0)
                oc_store_val(o, cfg, &v);
            oc_optval_free(&v);
            free(why);
            continue;
        }
        if ((flags & OC_OPTS_DEFER_TEMPLATES) && (o->flags & ORCH_OPTF_SECRET) &&
            !(n->kind == OC_NODE_SCALAR && oc_is_secret_ref(n->str))) {
            oc_diag_add(diag, &n->pos,
                        "%s: option '%s' is a secret: write it as ${{ secrets.NAME }}, "
                        "never literally",
                        what, o->name);
            continue;
        }
        if ((flags & OC_OPTS_DEFER_TEMPLATES) && n->kind == OC_NODE_SCALAR &&
            oc_template_has(n->str))
            continue; /* checked again once rendered */
        const struct oc_node *where = n;
        if (oc_parse_node(o, n, &v, &why, &where) != 0 || oc_check_bounds(o, &v, &why) != 0) {
            /* A secret's value never goes into a message. */
            if (o->flags & ORCH_OPTF_SECRET) {
                free(why);
                why = oc_xstrdup("invalid value");
            }
            oc_diag_add(diag, &where->pos, "%s: option '%s': %s", what, o->name, why);
            free(why);
            oc_optval_free(&v);
            continue;
        }
        if (o->flags & ORCH_OPTF_DEPRECATED)
            oc_log(ORCH_LOG_WARN, what, "%s:%u:%u: option '%s' is deprecated%s%s",
                   key && key->pos.file ? key->pos.file : "-", key ? key->pos.line : 0,
                   key ? key->pos.col : 0, o->name,
                   o->deprecated_by ? "; use " : "", o->deprecated_by ? o->deprecated_by : "");
        oc_store_val(o, cfg, &v);
        oc_optval_free(&v);
    }
    if (diag->n != before || !cfg_out) {
        oc_options_free(d, cfg);
        return diag->n != before ? -1 : 0;
    }
    *cfg_out = cfg;
    return 0;
}

void oc_options_free(const struct orch_plugin_desc *d, void *cfg)
{
    if (!cfg)
        return;
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        char *at = (char *)cfg + o->offset;
        if (oc_opt_is_text(o->type)) {
            char *s;
            memcpy(&s, at, sizeof s);
            free(s);
        } else if (o->type == ORCH_OPT_STRING_LIST) {
            struct orch_strlist l;
            memcpy(&l, at, sizeof l);
            for (uint32_t k = 0; k < l.count; k++)
                free((char *)l.items[k]);
            free((void *)l.items);
        } else if (o->type == ORCH_OPT_STRING_MAP) {
            struct orch_strmap m;
            memcpy(&m, at, sizeof m);
            for (uint32_t k = 0; k < m.count; k++) {
                free((char *)m.keys[k]);
                free((char *)m.values[k]);
            }
            free((void *)m.keys);
            free((void *)m.values);
        }
    }
    free(cfg);
}

static size_t oc_opt_csize(uint32_t type)
{
    switch (type) {
    case ORCH_OPT_INT:
    case ORCH_OPT_DURATION:
    case ORCH_OPT_SIZE: return sizeof(int64_t);
    case ORCH_OPT_BOOL: return sizeof(int32_t);
    case ORCH_OPT_DOUBLE: return sizeof(double);
    case ORCH_OPT_STRING_LIST: return sizeof(struct orch_strlist);
    case ORCH_OPT_STRING_MAP: return sizeof(struct orch_strmap);
    default: return sizeof(char *);
    }
}

static int oc_valid_name(const char *s)
{
    if (!s || *s < 'a' || *s > 'z')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

orch_status oc_options_check_table(const struct orch_plugin_desc *d,
                                   struct orch_error *err)
{
    if (d->option_count && (!d->options || d->option_size < sizeof(struct orch_option)))
        return oc_error_set(err, ORCH_E_ABI, "option table missing or its option_size "
                                             "(%u) is smaller than ABI 1.0's (%zu)",
                            d->option_size, sizeof(struct orch_option));
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        const char *n = o->name ? o->name : "(null)";
        if (!oc_valid_name(o->name))
            return oc_error_set(err, ORCH_E_ABI, "option %u: name '%s' is not [a-z][a-z0-9_]*", i, n);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(oc_option_at(d, j)->name, o->name))
                return oc_error_set(err, ORCH_E_ABI, "option '%s' is declared twice", n);
        if (o->type < 1 || o->type > ORCH_OPT_TYPE_LAST_)
            return oc_error_set(err, ORCH_E_ABI, "option '%s': unknown type %u", n, o->type);
        if (o->flags & ~ORCH_OPTF_ALL_)
            return oc_error_set(err, ORCH_E_ABI, "option '%s': unknown flags 0x%x", n,
                                o->flags & ~ORCH_OPTF_ALL_);
        if (!o->description || !*o->description)
            return oc_error_set(err, ORCH_E_ABI, "option '%s' has no description", n);
        if ((size_t)o->offset + oc_opt_csize(o->type) > d->config_size)
            return oc_error_set(err, ORCH_E_ABI, "option '%s': offset %u outside the "
                                                 "config struct (%u bytes)",
                                n, o->offset, d->config_size);
        if (o->type == ORCH_OPT_ENUM && (!o->enum_values || !o->enum_values[0]))
            return oc_error_set(err, ORCH_E_ABI, "option '%s': enum without values", n);
        if ((o->flags & (ORCH_OPTF_REQUIRED | ORCH_OPTF_SECRET)) && o->default_value)
            return oc_error_set(err, ORCH_E_ABI, "option '%s': a %s option cannot have a default",
                                n, o->flags & ORCH_OPTF_REQUIRED ? "required" : "secret");
        if ((o->flags & ORCH_OPTF_MIN) && (o->flags & ORCH_OPTF_MAX) && o->min > o->max)
            return oc_error_set(err, ORCH_E_ABI, "option '%s': min > max", n);
        if (o->default_value) {
            struct oc_optval v = {0};
            char *why = NULL;
            int bad = oc_parse_default(o, &v, &why) != 0 || oc_check_bounds(o, &v, &why) != 0;
            oc_optval_free(&v);
            if (bad) {
                orch_status rc = oc_error_set(err, ORCH_E_ABI, "option '%s': default: %s", n, why);
                free(why);
                return rc;
            }
        }
    }
    return ORCH_OK;
}

static void oc_opt_flags_text(const struct orch_option *o, struct oc_buf *b)
{
    if (o->flags & ORCH_OPTF_REQUIRED)
        oc_buf_adds(b, " required");
    if (o->flags & ORCH_OPTF_SECRET)
        oc_buf_adds(b, " secret");
    if (o->flags & ORCH_OPTF_DEPRECATED)
        oc_buf_adds(b, " deprecated");
    if (o->flags & ORCH_OPTF_EXPERIMENTAL)
        oc_buf_adds(b, " experimental");
}

void oc_options_print(const struct orch_plugin_desc *d, FILE *out)
{
    if (!d->option_count) {
        fputs("  (none)\n", out);
        return;
    }
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        struct oc_buf fl = {0};
        oc_opt_flags_text(o, &fl);
        fprintf(out, "  %-18s %-11s%s%s%s\n", o->name, oc_option_type_name(o->type),
                fl.data ? fl.data : "", o->default_value ? "  default: " : "",
                o->default_value ? o->default_value : "");
        fprintf(out, "      %s\n", o->description);
        if (o->type == ORCH_OPT_ENUM) {
            char *l = oc_enum_list(o);
            fprintf(out, "      one of: %s\n", l);
            free(l);
        }
        if (o->flags & (ORCH_OPTF_MIN | ORCH_OPTF_MAX))
            fprintf(out, "      range: %s%lld .. %s%lld\n", "",
                    (long long)((o->flags & ORCH_OPTF_MIN) ? o->min : 0), "",
                    (long long)((o->flags & ORCH_OPTF_MAX) ? o->max : INT64_MAX));
        if (o->deprecated_by)
            fprintf(out, "      replaced by: %s\n", o->deprecated_by);
        oc_buf_free(&fl);
    }
}

json_t *oc_options_to_json(const struct orch_plugin_desc *d)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s?,s:b,s:b,s:b,s:b}", "name", o->name, "type",
                              oc_option_type_name(o->type), "description", o->description,
                              "default", o->default_value, "required",
                              !!(o->flags & ORCH_OPTF_REQUIRED), "secret",
                              !!(o->flags & ORCH_OPTF_SECRET), "deprecated",
                              !!(o->flags & ORCH_OPTF_DEPRECATED), "experimental",
                              !!(o->flags & ORCH_OPTF_EXPERIMENTAL));
        if (o->flags & ORCH_OPTF_MIN)
            json_object_set_new(j, "min", json_integer(o->min));
        if (o->flags & ORCH_OPTF_MAX)
            json_object_set_new(j, "max", json_integer(o->max));
        if (o->type == ORCH_OPT_ENUM) {
            json_t *e = json_array();
            for (const char *const *v = o->enum_values; v && *v; v++)
                json_array_append_new(e, json_string(*v));
            json_object_set_new(j, "values", e);
        }
        if (o->deprecated_by)
            json_object_set_new(j, "deprecated_by", json_string(o->deprecated_by));
        json_array_append_new(a, j);
    }
    return a;
}
