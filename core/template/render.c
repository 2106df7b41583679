/* ${{ expr }} substitution in strings, `if:` conditions, and the reference
 * walk used by config validation. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "expr.h"

int oc_template_has(const char *s)
{
    return s && strstr(s, "${{") != NULL;
}

/* The end of the expression starting at s: the "}}" not inside a string
 * literal, or NULL. */
static const char *oc_expr_end(const char *s)
{
    int in_str = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            in_str = !in_str;
        else if (!in_str && p[0] == '}' && p[1] == '}')
            return p;
    }
    return NULL;
}

/* The expression quoted in an error, cut short past 60 bytes: a hostile
 * one can be megabytes long. */
static char *oc_tmpl_err(const char *start, size_t len, const char *msg)
{
    if (len > 60)
        return oc_xasprintf("in '${{%.50s...}}' (%zu bytes): %s", start, len, msg);
    return oc_xasprintf("in '${{%.*s}}': %s", (int)len, start, msg);
}

/* Calls fn(ud, expr, len) for each ${{ }} of in; literal text goes to lit. */
static int oc_tmpl_each(const char *in,
                        int (*fn)(void *ud, const char *expr, size_t len, char **err),
                        void (*lit)(void *ud, const char *s, size_t len), void *ud,
                        char **errmsg)
{
    const char *p = in;
    for (;;) {
        const char *open = strstr(p, "${{");
        if (!open) {
            if (lit)
                lit(ud, p, strlen(p));
            return 0;
        }
        if (lit)
            lit(ud, p, (size_t)(open - p));
        const char *body = open + 3;
        const char *close = oc_expr_end(body);
        if (!close) {
            *errmsg = oc_xasprintf("'%.40s': '${{' without a closing '}}'", open);
            return -1;
        }
        char *err = NULL;
        if (fn(ud, body, (size_t)(close - body), &err) != 0) {
            *errmsg = oc_tmpl_err(body, (size_t)(close - body), err ? err : "invalid");
            free(err);
            return -1;
        }
        p = close + 2;
    }
}

struct oc_render {
    const struct oc_scope *sc;
    struct oc_buf out;
    int secret;
    oc_secret_subst_fn subst;    /* NULL: secrets are written as they are */
    void *subst_ud;
};

/* The secret's name when the expression is exactly secrets.NAME. */
static const char *oc_plain_secret(const struct oc_ex *e)
{
    return e->kind == OC_EX_REF && !strcmp(e->name, "secrets") && e->n_parts == 1
               ? e->parts[0]
               : NULL;
}

static void oc_render_lit(void *ud, const char *s, size_t len)
{
    oc_buf_add(&((struct oc_render *)ud)->out, s, len);
}

static int oc_render_expr(void *ud, const char *expr, size_t len, char **err)
{
    struct oc_render *r = ud;
    struct oc_ex *e = oc_ex_parse(expr, len, err);
    if (!e)
        return -1;
    struct oc_val v;
    int secret = 0;
    int rc = oc_ex_eval(e, r->sc, &v, &secret, err);
    if (rc != 0) {
        oc_ex_free(e);
        return -1;
    }
    r->secret |= secret;
    char *t = oc_val_text(&v);
    oc_val_free(&v);
    if (secret && r->subst) {
        char *ref = r->subst(r->subst_ud, r->out.data ? r->out.data : "", r->out.len,
                             oc_plain_secret(e), t, err);
        explicit_bzero(t, strlen(t));
        free(t);
        t = ref;
    }
    oc_ex_free(e);
    if (!t)
        return -1;
    oc_buf_adds(&r->out, t);
    free(t);
    return 0;
}

int oc_template_render(const char *in, const struct oc_scope *sc, char **out,
                       int *secret_out, char **errmsg)
{
    return oc_template_render_subst(in, sc, NULL, NULL, out, secret_out, errmsg);
}

int oc_template_render_subst(const char *in, const struct oc_scope *sc,
                             oc_secret_subst_fn subst, void *ud, char **out,
                             int *secret_out, char **errmsg)
{
    struct oc_render r = {.sc = sc, .subst = subst, .subst_ud = ud};
    *errmsg = NULL;
    if (oc_tmpl_each(in, oc_render_expr, oc_render_lit, &r, errmsg) != 0) {
        oc_buf_free(&r.out);
        return -1;
    }
    if (secret_out)
        *secret_out = r.secret;
    *out = oc_buf_steal(&r.out);
    return 0;
}

/* `if:` text without its optional ${{ }} wrapper. */
static void oc_unwrap(const char *expr, const char **s, size_t *len)
{
    const char *b = expr;
    while (*b == ' ' || *b == '\t' || *b == '\n')
        b++;
    size_t n = strlen(b);
    while (n && (b[n - 1] == ' ' || b[n - 1] == '\t' || b[n - 1] == '\n'))
        n--;
    if (n >= 5 && !strncmp(b, "${{", 3) && !strncmp(b + n - 2, "}}", 2)) {
        b += 3;
        n -= 5;
    }
    *s = b;
    *len = n;
}

int oc_expr_eval_bool(const char *expr, const struct oc_scope *sc, int *result,
                      char **errmsg)
{
    const char *s;
    size_t len;
    oc_unwrap(expr, &s, &len);
    char *err = NULL;
    struct oc_ex *e = oc_ex_parse(s, len, &err);
    if (!e) {
        *errmsg = oc_tmpl_err(s, len, err);
        free(err);
        return -1;
    }
    struct oc_val v;
    int rc = oc_ex_eval(e, sc, &v, NULL, &err);
    if (rc == 0) {
        *result = oc_val_truthy(&v);
        if (!oc_ex_has_status_call(e) && sc && sc->status_fn &&
            !sc->status_fn(sc->ud, "success"))
            *result = 0;
        oc_val_free(&v);
    } else {
        *errmsg = oc_tmpl_err(s, len, err);
        free(err);
    }
    oc_ex_free(e);
    return rc;
}

int oc_template_eval_value(const char *in, const struct oc_scope *sc, struct oc_val *out,
                           char **errmsg)
{
    memset(out, 0, sizeof *out);
    const char *b = in;
    while (*b == ' ' || *b == '\t' || *b == '\n')
        b++;
    /* One ${{ }} and nothing after it but blanks: the end is found as the
     * renderer finds it, so a '}}' inside a string literal is no end. */
    const char *s = NULL, *close = NULL;
    if (!strncmp(b, "${{", 3))
        close = oc_expr_end(s = b + 3);
    const char *t = close ? close + 2 : NULL;
    while (t && (*t == ' ' || *t == '\t' || *t == '\n'))
        t++;
    if (!t || *t) {
        *errmsg = oc_xstrdup("expected exactly one ${{ expression }}");
        return -1;
    }
    size_t len = (size_t)(close - s);
    char *err = NULL;
    struct oc_ex *e = oc_ex_parse(s, len, &err);
    if (!e) {
        *errmsg = oc_tmpl_err(s, len, err);
        free(err);
        return -1;
    }
    int rc = oc_ex_eval(e, sc, out, NULL, &err);
    if (rc != 0) {
        *errmsg = oc_tmpl_err(s, len, err);
        free(err);
    }
    oc_ex_free(e);
    return rc;
}

struct oc_refwalk {
    int (*fn)(void *ud, const char *ns, const char *const *parts, size_t n);
    void *ud;
};

static int oc_refs_expr(void *ud, const char *expr, size_t len, char **err)
{
    struct oc_refwalk *w = ud;
    struct oc_ex *e = oc_ex_parse(expr, len, err);
    if (!e)
        return -1;
    if (oc_ex_check_names(e, err) != 0) {
        oc_ex_free(e);
        return -1;
    }
    int rc = oc_ex_walk_refs(e, w->fn, w->ud);
    oc_ex_free(e);
    if (rc)
        *err = NULL; /* fn reported it */
    return rc ? -1 : 0;
}

struct oc_callwalk {
    const char *name;
    int found;
};

static int oc_calls_expr(void *ud, const char *expr, size_t len, char **err)
{
    struct oc_callwalk *w = ud;
    struct oc_ex *e = oc_ex_parse(expr, len, err);
    if (!e)
        return -1;
    w->found |= oc_ex_calls(e, w->name);
    oc_ex_free(e);
    return 0;
}

int oc_template_calls(const char *s, int is_expr, const char *name)
{
    struct oc_callwalk w = {name, 0};
    char *err = NULL;
    if (!is_expr) {
        oc_tmpl_each(s, oc_calls_expr, NULL, &w, &err);
    } else {
        const char *b;
        size_t len;
        oc_unwrap(s, &b, &len);
        oc_calls_expr(&w, b, len, &err);
    }
    free(err);
    return w.found;
}

int oc_template_refs(const char *s, int is_expr,
                     int (*fn)(void *ud, const char *ns,
                               const char *const *parts, size_t n),
                     void *ud, char **errmsg)
{
    struct oc_refwalk w = {fn, ud};
    *errmsg = NULL;
    if (!is_expr)
        return oc_tmpl_each(s, oc_refs_expr, NULL, &w, errmsg);
    const char *b;
    size_t len;
    oc_unwrap(s, &b, &len);
    char *err = NULL;
    if (oc_refs_expr(&w, b, len, &err) != 0) {
        if (err)
            *errmsg = oc_tmpl_err(b, len, err);
        free(err);
        return -1;
    }
    return 0;
}
