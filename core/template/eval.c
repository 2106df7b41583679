/* Evaluation of ${{ }} expressions. Comparison and truthiness follow
 * GitHub Actions, the syntax users of such files already know: loose
 * equality (values of different types compare as numbers), strings compare
 * case-insensitively. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "../json_limit.h"
#include "../util.h"
#include "expr.h"

void oc_val_free(struct oc_val *v)
{
    if (v) {
        free(v->s);
        v->s = NULL;
        json_decref(v->j);
        v->j = NULL;
    }
}

int oc_val_truthy(const struct oc_val *v)
{
    switch (v->kind) {
    case OC_VAL_NULL: return 0;
    case OC_VAL_BOOL: return v->b;
    case OC_VAL_NUM: return v->num != 0 && !isnan(v->num);
    case OC_VAL_STR: return v->s && *v->s;
    case OC_VAL_JSON: return 1;
    }
    return 0;
}

/* Whether a number prints as an integer: whole and small enough that the
 * cast to long long is defined (a double past 2^63 makes it undefined). */
static int oc_num_is_int(double d)
{
    return fabs(d) < 1e15 && d == floor(d);
}

char *oc_val_text(const struct oc_val *v)
{
    switch (v->kind) {
    case OC_VAL_NULL: return oc_xstrdup("");
    case OC_VAL_BOOL: return oc_xstrdup(v->b ? "true" : "false");
    case OC_VAL_NUM:
        if (oc_num_is_int(v->num))
            return oc_xasprintf("%lld", (long long)v->num);
        return oc_xasprintf("%.15g", v->num);
    case OC_VAL_STR: return oc_xstrdup(v->s ? v->s : "");
    case OC_VAL_JSON: { /* its compact JSON text */
        char *t = json_dumps(v->j, JSON_COMPACT | JSON_ENCODE_ANY);
        return t ? t : oc_xstrdup("");
    }
    }
    return oc_xstrdup("");
}

static double oc_val_num(const struct oc_val *v)
{
    switch (v->kind) {
    case OC_VAL_NULL: return 0;
    case OC_VAL_BOOL: return v->b;
    case OC_VAL_NUM: return v->num;
    case OC_VAL_STR: {
        const char *s = v->s ? v->s : "";
        if (!*s)
            return 0;
        char *end;
        double d = strtod(s, &end);
        return *end ? NAN : d;
    }
    case OC_VAL_JSON: return NAN;
    }
    return NAN;
}

/* <0, 0, >0, or 2 when unordered (NaN). */
static int oc_val_cmp(const struct oc_val *a, const struct oc_val *b)
{
    if (a->kind == OC_VAL_STR && b->kind == OC_VAL_STR) {
        int c = strcasecmp(a->s ? a->s : "", b->s ? b->s : "");
        return c < 0 ? -1 : c > 0;
    }
    if (a->kind == OC_VAL_NULL && b->kind == OC_VAL_NULL)
        return 0;
    if (a->kind == OC_VAL_JSON || b->kind == OC_VAL_JSON) /* as GitHub: never equal */
        return 2;
    double x = oc_val_num(a), y = oc_val_num(b);
    if (isnan(x) || isnan(y))
        return 2;
    return x < y ? -1 : x > y;
}

static void oc_val_set_bool(struct oc_val *v, int b)
{
    oc_val_free(v);
    v->kind = OC_VAL_BOOL;
    v->b = !!b;
}

static void oc_val_set_str(struct oc_val *v, char *s)
{
    oc_val_free(v);
    v->kind = OC_VAL_STR;
    v->s = s;
}

/* A JSON value as an expression value: a scalar of its kind, an array or
 * object held by reference. */
static void oc_val_set_json(struct oc_val *v, json_t *j)
{
    oc_val_free(v);
    memset(v, 0, sizeof *v);
    if (json_is_string(j)) {
        v->kind = OC_VAL_STR;
        v->s = oc_xstrdup(json_string_value(j));
    } else if (json_is_number(j)) {
        v->kind = OC_VAL_NUM;
        v->num = json_number_value(j);
    } else if (json_is_boolean(j)) {
        v->kind = OC_VAL_BOOL;
        v->b = json_is_true(j);
    } else if (json_is_array(j) || json_is_object(j)) {
        v->kind = OC_VAL_JSON;
        v->j = json_incref(j);
    } else {
        v->kind = OC_VAL_NULL;
    }
}

struct oc_ev {
    const struct oc_scope *sc;
    int *secret;
    char *err;
};

/* printf-checked: a format with more conversions than arguments read past
 * them (the fuzzer found one, for `${{ inputs }}`). */
static int oc_ev_fail(struct oc_ev *ev, const struct oc_ex *e, const char *fmt, ...)
    ORCH_PRINTF(3, 4);

static int oc_ev_fail(struct oc_ev *ev, const struct oc_ex *e, const char *fmt, ...)
{
    if (!ev->err) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = oc_xvasprintf(fmt, ap);
        va_end(ap);
        ev->err = oc_xasprintf("column %zu: %s", e->col, msg);
        free(msg);
    }
    return -1;
}

static int oc_ev(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out);

static int oc_ev_args(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *v,
                      size_t n)
{
    if (e->n_args != n) {
        char *want = oc_xasprintf("%s() takes %zu argument%s", e->name, n, n == 1 ? "" : "s");
        oc_ev_fail(ev, e, "%s", want);
        free(want);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (oc_ev(ev, e->args[i], &v[i]) != 0) {
            for (size_t k = 0; k < i; k++)
                oc_val_free(&v[k]);
            return -1;
        }
    return 0;
}

static int oc_str_has(const char *h, const char *n, int where)
{
    size_t hl = strlen(h), nl = strlen(n);
    if (nl > hl)
        return 0;
    if (where < 0)
        return !strncasecmp(h, n, nl);
    if (where > 0)
        return !strcasecmp(h + hl - nl, n);
    return strcasestr(h, n) != NULL;
}

static int oc_ev_format(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    if (e->n_args < 1)
        return oc_ev_fail(ev, e, "%s", "format() needs a format string");
    struct oc_val *v = oc_xcalloc(e->n_args, sizeof *v);
    int rc = 0;
    for (size_t i = 0; i < e->n_args && rc == 0; i++)
        rc = oc_ev(ev, e->args[i], &v[i]);
    struct oc_buf b = {0};
    if (rc == 0) {
        char *fmt = oc_val_text(&v[0]);
        for (const char *p = fmt; *p && rc == 0; p++) {
            if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
                oc_buf_addc(&b, *p++);
            } else if (*p == '{') {
                char *end;
                unsigned long k = strtoul(p + 1, &end, 10);
                if (end == p + 1 || *end != '}' || k + 1 >= e->n_args) {
                    rc = oc_ev_fail(ev, e, "format(): bad placeholder in '%s'", fmt);
                    break;
                }
                char *t = oc_val_text(&v[k + 1]);
                oc_buf_adds(&b, t);
                free(t);
                p = end;
            } else {
                oc_buf_addc(&b, *p);
            }
        }
        free(fmt);
    }
    for (size_t i = 0; i < e->n_args; i++)
        oc_val_free(&v[i]);
    free(v);
    if (rc == 0)
        oc_val_set_str(out, oc_buf_steal(&b));
    oc_buf_free(&b);
    return rc;
}

/* The functions there are and how many arguments each takes: what the
 * evaluator runs and what validation checks a call against. */
static const struct oc_fn_arity {
    const char *name;
    size_t min, max;
} oc_fns[] = {
    {"success", 0, 0},    {"failure", 0, 0},    {"always", 0, 0},
    {"cancelled", 0, 0},  {"contains", 2, 2},   {"startsWith", 2, 2},
    {"endsWith", 2, 2},   {"format", 1, SIZE_MAX}, {"toJSON", 1, 1},
    {"fromJSON", 1, 1},   {"join", 1, 2},     {"hashFiles", 1, 64},
};
static const char oc_fn_list[] = "success, failure, always, cancelled, contains, startsWith, "
                                 "endsWith, format, toJSON, fromJSON, join, hashFiles";
/* The contexts a reference may start with. */
static const char *const oc_contexts[] = {"inputs", "steps", "needs", "secrets", "env", "run",
                                          "event", "matrix"};
static const char oc_context_list[] = "inputs, steps, needs, secrets, env, run, (in a "
                                      "matrix step) matrix or (in a webhook) event";

static const struct oc_fn_arity *oc_fn_find(const char *name)
{
    for (size_t i = 0; i < sizeof oc_fns / sizeof *oc_fns; i++)
        if (!strcmp(oc_fns[i].name, name))
            return &oc_fns[i];
    return NULL;
}

static int oc_context_known(const char *name)
{
    for (size_t i = 0; i < sizeof oc_contexts / sizeof *oc_contexts; i++)
        if (!strcmp(oc_contexts[i], name))
            return 1;
    return 0;
}

int oc_ex_check_names(const struct oc_ex *e, char **errmsg)
{
    struct oc_ev ev = {0};
    int rc = 0;
    if (e->kind == OC_EX_CALL) {
        const struct oc_fn_arity *f = oc_fn_find(e->name);
        if (!f)
            rc = oc_ev_fail(&ev, e, "unknown function '%s' (functions: %s)", e->name,
                            oc_fn_list);
        else if (e->n_args < f->min || e->n_args > f->max)
            rc = f->min == f->max
                     ? oc_ev_fail(&ev, e, "%s() takes %zu argument%s, not %zu", e->name,
                                  f->min, f->min == 1 ? "" : "s", e->n_args)
                     : oc_ev_fail(&ev, e, "%s() takes at least %zu argument%s", e->name,
                                  f->min, f->min == 1 ? "" : "s");
    } else if (e->kind == OC_EX_REF && !oc_context_known(e->name)) {
        rc = oc_ev_fail(&ev, e, "unknown name '%s' (expected %s)", e->name, oc_context_list);
    }
    for (size_t i = 0; rc == 0 && i < e->n_args; i++)
        rc = oc_ex_check_names(e->args[i], &ev.err);
    if (rc)
        *errmsg = ev.err;
    return rc;
}

/* toJSON(v): the value as JSON text ("a \"b\"", 3, true, null), for a
 * value handed to a tool that reads JSON. */
static int oc_ev_to_json(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    struct oc_val v = {0};
    if (oc_ev_args(ev, e, &v, 1) != 0)
        return -1;
    if (v.kind == OC_VAL_NUM && !isfinite(v.num)) { /* JSON has no NaN or Infinity */
        oc_val_free(&v);
        return oc_ev_fail(ev, e, "%s", "toJSON(): the number is not finite (JSON has no form for it)");
    }
    json_t *j = v.kind == OC_VAL_JSON   ? json_incref(v.j)
                : v.kind == OC_VAL_STR  ? json_string(v.s ? v.s : "")
                : v.kind == OC_VAL_NUM  ? (oc_num_is_int(v.num) ? json_integer((json_int_t)v.num)
                                                                : json_real(v.num))
                : v.kind == OC_VAL_BOOL ? json_boolean(v.b)
                                        : json_null();
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    oc_val_free(&v);
    if (!text) /* a string that is not UTF-8 */
        return oc_ev_fail(ev, e, "%s", "toJSON(): the value is not UTF-8 text");
    oc_val_set_str(out, text);
    return 0;
}

/* fromJSON(text): the value the JSON text stands for ('[1,2]' a list,
 * '{"a":1}' an object, '3' a number), nesting at most OC_MAX_NESTING. */
static int oc_ev_from_json(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    struct oc_val v = {0};
    if (oc_ev_args(ev, e, &v, 1) != 0)
        return -1;
    char *text = oc_val_text(&v);
    oc_val_free(&v);
    json_error_t jerr;
    json_t *j = oc_json_loads_bounded(text, JSON_DECODE_ANY, &jerr);
    free(text);
    if (!j)
        return oc_ev_fail(ev, e, "fromJSON(): not JSON: %s (line %d, column %d)", jerr.text,
                          jerr.line, jerr.column);
    oc_val_set_json(out, j);
    json_decref(j);
    return 0;
}

/* join(list, separator = ','): the items' texts between separators; any
 * other value is its own text. */
/* hashFiles(patterns...): the files are the step's instance's, read where
 * the step runs (tools/orch-exec/hash_files.c); here the scope gives the
 * text that stands for the hash until then. */
static int oc_ev_hash_files(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    if (!ev->sc || !ev->sc->hash_files)
        return oc_ev_fail(ev, e, "%s", "hashFiles() reads the files of the step's instance: "
                                       "use it in a step's with: or env:");
    struct oc_val *v = oc_xcalloc(e->n_args + 1, sizeof *v);
    char **pats = oc_xcalloc(e->n_args + 1, sizeof *pats);
    int rc = oc_ev_args(ev, e, v, e->n_args);
    for (size_t i = 0; rc == 0 && i < e->n_args; i++)
        pats[i] = oc_val_text(&v[i]);
    char *text = NULL, *why = NULL;
    if (rc == 0 && ev->sc->hash_files(ev->sc->ud, (const char *const *)pats, e->n_args, &text,
                                      &why) != 0)
        rc = oc_ev_fail(ev, e, "hashFiles(): %s", why ? why : "refused");
    else if (rc == 0)
        oc_val_set_str(out, text);
    free(why);
    for (size_t i = 0; i < e->n_args; i++) {
        free(pats[i]);
        oc_val_free(&v[i]);
    }
    free(pats);
    free(v);
    return rc;
}

int oc_ex_calls(const struct oc_ex *e, const char *name)
{
    if (e->kind == OC_EX_CALL && !strcmp(e->name, name))
        return 1;
    for (size_t i = 0; i < e->n_args; i++)
        if (oc_ex_calls(e->args[i], name))
            return 1;
    return 0;
}

static int oc_ev_join(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    struct oc_val v[2] = {0};
    if (e->n_args < 1 || e->n_args > 2)
        return oc_ev_fail(ev, e, "join() takes 1 or 2 arguments, not %zu", e->n_args);
    if (oc_ev_args(ev, e, v, e->n_args) != 0)
        return -1;
    char *sep = e->n_args > 1 ? oc_val_text(&v[1]) : oc_xstrdup(",");
    struct oc_buf b = {0};
    if (v[0].kind == OC_VAL_JSON && json_is_array(v[0].j)) {
        size_t i;
        json_t *item;
        json_array_foreach(v[0].j, i, item) {
            struct oc_val iv = {0};
            oc_val_set_json(&iv, item);
            char *t = oc_val_text(&iv);
            oc_buf_adds(&b, i ? sep : "");
            oc_buf_adds(&b, t);
            free(t);
            oc_val_free(&iv);
        }
    } else {
        char *t = oc_val_text(&v[0]);
        oc_buf_adds(&b, t);
        free(t);
    }
    free(sep);
    oc_val_free(&v[0]);
    oc_val_free(&v[1]);
    char *s = oc_buf_steal(&b);
    oc_val_set_str(out, s ? s : oc_xstrdup(""));
    oc_buf_free(&b);
    return 0;
}

/* contains(list, item): an item of the list equal to item (== rules). */
static int oc_list_has(const json_t *list, const struct oc_val *want)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        struct oc_val iv = {0};
        oc_val_set_json(&iv, item);
        int eq = oc_val_cmp(&iv, want) == 0;
        oc_val_free(&iv);
        if (eq)
            return 1;
    }
    return 0;
}

static int oc_ev_call(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    static const char *const status_fns[] = {"success", "failure", "always", "cancelled"};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(e->name, status_fns[i])) {
            if (e->n_args)
                return oc_ev_fail(ev, e, "%s() takes no arguments", e->name);
            int r = ev->sc && ev->sc->status_fn ? ev->sc->status_fn(ev->sc->ud, e->name)
                                                : i == 0 || i == 2;
            oc_val_set_bool(out, r);
            return 0;
        }
    if (!strcmp(e->name, "format"))
        return oc_ev_format(ev, e, out);
    if (!strcmp(e->name, "toJSON"))
        return oc_ev_to_json(ev, e, out);
    if (!strcmp(e->name, "fromJSON"))
        return oc_ev_from_json(ev, e, out);
    if (!strcmp(e->name, "join"))
        return oc_ev_join(ev, e, out);
    if (!strcmp(e->name, "hashFiles"))
        return oc_ev_hash_files(ev, e, out);
    int where = !strcmp(e->name, "contains") ? 0 : !strcmp(e->name, "startsWith") ? -1
              : !strcmp(e->name, "endsWith") ? 1 : 2;
    if (where == 2)
        return oc_ev_fail(ev, e, "unknown function '%s' (functions: %s)", e->name, oc_fn_list);
    struct oc_val v[2] = {0};
    if (oc_ev_args(ev, e, v, 2) != 0)
        return -1;
    if (where == 0 && v[0].kind == OC_VAL_JSON && json_is_array(v[0].j)) {
        oc_val_set_bool(out, oc_list_has(v[0].j, &v[1]));
    } else {
        char *h = oc_val_text(&v[0]), *n = oc_val_text(&v[1]);
        oc_val_set_bool(out, oc_str_has(h, n, where));
        free(h);
        free(n);
    }
    oc_val_free(&v[0]);
    oc_val_free(&v[1]);
    return 0;
}

/* list[N] and object.name / object['name']: the item, or null where
 * there is none (GitHub's rule: a missing property is null, not an error).
 * Indexing anything but a list or an object is an error that says so. */
static int oc_ev_index(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    struct oc_val base = {0}, key = {0};
    if (oc_ev(ev, e->args[0], &base) != 0)
        return -1;
    if (oc_ev(ev, e->args[1], &key) != 0) {
        oc_val_free(&base);
        return -1;
    }
    int rc = 0;
    json_t *item = NULL;
    if (base.kind == OC_VAL_JSON && json_is_array(base.j)) {
        double d = oc_val_num(&key);
        if (!isnan(d) && d >= 0 && d == floor(d) && d < (double)json_array_size(base.j))
            item = json_array_get(base.j, (size_t)d);
    } else if (base.kind == OC_VAL_JSON) {
        char *k = oc_val_text(&key);
        item = json_object_get(base.j, k);
        free(k);
    } else {
        rc = oc_ev_fail(ev, e, "%s", "only a list or an object (fromJSON's) can be indexed");
    }
    if (rc == 0)
        oc_val_set_json(out, item);
    oc_val_free(&base);
    oc_val_free(&key);
    return rc;
}

static int oc_ev_ref(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    if (!oc_context_known(e->name))
        return oc_ev_fail(ev, e, "unknown name '%s' (expected %s)", e->name, oc_context_list);
    if (e->n_parts == 0)
        return oc_ev_fail(ev, e, "'%s' needs a name after it, e.g. %s.NAME", e->name,
                          e->name);
    int is_secret = 0;
    struct oc_val v = {0};
    int found = ev->sc && ev->sc->lookup
                    ? ev->sc->lookup(ev->sc->ud, e->name, (const char *const *)e->parts,
                                     e->n_parts, &v, &is_secret)
                    : -1;
    if (found == OC_LOOKUP_REFUSED) {
        oc_ev_fail(ev, e, "%s", v.s ? v.s : "refused");
        oc_val_free(&v);
        return -1;
    }
    if (found != 0) {
        struct oc_buf b = {0};
        oc_buf_adds(&b, e->name);
        for (size_t i = 0; i < e->n_parts; i++)
            oc_buf_addf(&b, ".%s", e->parts[i]);
        oc_ev_fail(ev, e, "'%s' does not exist", b.data);
        oc_buf_free(&b);
        return -1;
    }
    if (is_secret && ev->secret)
        *ev->secret = 1;
    oc_val_free(out);
    *out = v;
    return 0;
}

static int oc_ev(struct oc_ev *ev, const struct oc_ex *e, struct oc_val *out)
{
    switch (e->kind) {
    case OC_EX_LIT:
        oc_val_free(out);
        *out = e->val;
        out->s = e->val.s ? oc_xstrdup(e->val.s) : NULL;
        return 0;
    case OC_EX_REF:
        return oc_ev_ref(ev, e, out);
    case OC_EX_CALL:
        return oc_ev_call(ev, e, out);
    case OC_EX_INDEX:
        return oc_ev_index(ev, e, out);
    case OC_EX_NOT: {
        struct oc_val a = {0};
        if (oc_ev(ev, e->args[0], &a) != 0)
            return -1;
        int t = oc_val_truthy(&a);
        oc_val_free(&a);
        oc_val_set_bool(out, !t);
        return 0;
    }
    case OC_EX_BIN:
        break;
    }
    struct oc_val a = {0};
    if (oc_ev(ev, e->args[0], &a) != 0)
        return -1;
    if (e->op == OC_OP_AND || e->op == OC_OP_OR) {
        /* Short-circuit, returning the deciding operand as JS does. */
        int t = oc_val_truthy(&a);
        if ((e->op == OC_OP_AND && !t) || (e->op == OC_OP_OR && t)) {
            oc_val_free(out);
            *out = a;
            return 0;
        }
        oc_val_free(&a);
        return oc_ev(ev, e->args[1], out);
    }
    struct oc_val b = {0};
    if (oc_ev(ev, e->args[1], &b) != 0) {
        oc_val_free(&a);
        return -1;
    }
    int c = oc_val_cmp(&a, &b);
    int r = 0;
    switch (e->op) {
    case OC_OP_EQ: r = c == 0; break;
    case OC_OP_NE: r = c != 0; break;
    case OC_OP_LT: r = c == -1; break;
    case OC_OP_LE: r = c == -1 || c == 0; break;
    case OC_OP_GT: r = c == 1; break;
    case OC_OP_GE: r = c == 1 || c == 0; break;
    default: break;
    }
    oc_val_free(&a);
    oc_val_free(&b);
    oc_val_set_bool(out, r);
    return 0;
}

int oc_ex_eval(const struct oc_ex *e, const struct oc_scope *sc,
               struct oc_val *out, int *secret, char **errmsg)
{
    struct oc_ev ev = {.sc = sc, .secret = secret};
    memset(out, 0, sizeof *out);
    if (oc_ev(&ev, e, out) != 0) {
        oc_val_free(out);
        *errmsg = ev.err;
        return -1;
    }
    return 0;
}

int oc_ex_has_status_call(const struct oc_ex *e)
{
    if (e->kind == OC_EX_CALL &&
        (!strcmp(e->name, "success") || !strcmp(e->name, "failure") ||
         !strcmp(e->name, "always") || !strcmp(e->name, "cancelled")))
        return 1;
    for (size_t i = 0; i < e->n_args; i++)
        if (oc_ex_has_status_call(e->args[i]))
            return 1;
    return 0;
}

int oc_ex_walk_refs(const struct oc_ex *e,
                    int (*fn)(void *ud, const char *ns, const char *const *parts,
                              size_t n),
                    void *ud)
{
    if (e->kind == OC_EX_REF) {
        int rc = fn(ud, e->name, (const char *const *)e->parts, e->n_parts);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < e->n_args; i++) {
        int rc = oc_ex_walk_refs(e->args[i], fn, ud);
        if (rc)
            return rc;
    }
    return 0;
}
