/* Recursive-descent parser for ${{ }} expressions. Two bounds keep hostile
 * input from exhausting the stack: the parser's own recursion (p->depth:
 * parentheses, '!', calls) and the height of the tree it builds, which an
 * a && b && c chain grows without recursing (a left-leaning tree as tall
 * as the chain is long) and which the evaluator, the reference walk and
 * oc_ex_free recurse over. Both stop at OC_EX_MAX_DEPTH. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "expr.h"

#define OC_EX_MAX_DEPTH 64

struct oc_px {
    const char *s;
    size_t len, pos;
    int depth;
    char *err;
};

static void oc_px_fail(struct oc_px *p, const char *fmt, ...) ORCH_PRINTF(2, 3);

static void oc_px_fail(struct oc_px *p, const char *fmt, ...)
{
    if (p->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = oc_xvasprintf(fmt, ap);
    va_end(ap);
    p->err = oc_xasprintf("column %zu: %s", p->pos + 1, msg);
    free(msg);
}

static void oc_px_too_deep(struct oc_px *p)
{
    oc_px_fail(p, "expression nested too deeply (the limit is %d levels)", OC_EX_MAX_DEPTH);
}

static void oc_px_ws(struct oc_px *p)
{
    while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static int oc_px_eat(struct oc_px *p, const char *tok)
{
    oc_px_ws(p);
    size_t n = strlen(tok);
    if (p->len - p->pos >= n && !memcmp(p->s + p->pos, tok, n)) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static struct oc_ex *oc_ex_new(enum oc_ex_kind k, size_t col)
{
    struct oc_ex *e = oc_xcalloc(1, sizeof *e);
    e->kind = k;
    e->col = col + 1;
    e->height = 1;
    return e;
}

static void oc_ex_add_arg(struct oc_ex *e, struct oc_ex *a)
{
    e->args = oc_xrealloc(e->args, (e->n_args + 1) * sizeof *e->args);
    e->args[e->n_args++] = a;
}

void oc_ex_free(struct oc_ex *e)
{
    if (!e)
        return;
    oc_val_free(&e->val);
    free(e->name);
    for (size_t i = 0; i < e->n_parts; i++)
        free(e->parts[i]);
    free(e->parts);
    for (size_t i = 0; i < e->n_args; i++)
        oc_ex_free(e->args[i]);
    free(e->args);
    free(e);
}

/* e's height from its arguments'; NULL (e freed) past OC_EX_MAX_DEPTH. */
static struct oc_ex *oc_px_height(struct oc_px *p, struct oc_ex *e)
{
    unsigned h = 0;
    for (size_t i = 0; i < e->n_args; i++)
        if (e->args[i]->height > h)
            h = e->args[i]->height;
    e->height = h + 1;
    if (e->height <= OC_EX_MAX_DEPTH)
        return e;
    oc_px_too_deep(p);
    oc_ex_free(e);
    return NULL;
}

static int oc_is_ident(char c, int first)
{
    return isalpha((unsigned char)c) || c == '_' || (!first && (isdigit((unsigned char)c) || c == '-'));
}

static char *oc_px_ident(struct oc_px *p)
{
    oc_px_ws(p);
    size_t start = p->pos;
    if (p->pos >= p->len || !oc_is_ident(p->s[p->pos], 1))
        return NULL;
    while (p->pos < p->len && oc_is_ident(p->s[p->pos], 0))
        p->pos++;
    return oc_xstrndup(p->s + start, p->pos - start);
}

static char *oc_px_string(struct oc_px *p)
{
    /* 'text', with '' for a quote inside */
    p->pos++;
    struct oc_buf b = {0};
    for (;;) {
        if (p->pos >= p->len) {
            oc_buf_free(&b);
            oc_px_fail(p, "%s", "unterminated string literal");
            return NULL;
        }
        char c = p->s[p->pos++];
        if (c == '\'') {
            if (p->pos < p->len && p->s[p->pos] == '\'') {
                p->pos++;
                oc_buf_addc(&b, '\'');
                continue;
            }
            break;
        }
        oc_buf_addc(&b, c);
    }
    return oc_buf_steal(&b);
}

static struct oc_ex *oc_px_or(struct oc_px *p);

/* ( expr ) */
static struct oc_ex *oc_px_group(struct oc_px *p)
{
    p->pos++;
    struct oc_ex *e = oc_px_or(p);
    if (e && !oc_px_eat(p, ")")) {
        oc_px_fail(p, "%s", "')' expected");
        oc_ex_free(e);
        return NULL;
    }
    return e;
}

static struct oc_ex *oc_px_string_lit(struct oc_px *p, size_t col)
{
    char *s = oc_px_string(p);
    if (!s)
        return NULL;
    struct oc_ex *e = oc_ex_new(OC_EX_LIT, col);
    e->val.kind = OC_VAL_STR;
    e->val.s = s;
    return e;
}

static struct oc_ex *oc_px_number(struct oc_px *p, size_t col)
{
    char *end;
    double d = strtod(p->s + p->pos, &end);
    if (end == p->s + p->pos) {
        oc_px_fail(p, "%s", "number expected");
        return NULL;
    }
    p->pos = (size_t)(end - p->s);
    struct oc_ex *e = oc_ex_new(OC_EX_LIT, col);
    e->val.kind = OC_VAL_NUM;
    e->val.num = d;
    return e;
}

/* true, false or null; NULL (and id kept) for any other name. */
static struct oc_ex *oc_px_keyword(char *id, size_t col)
{
    if (strcmp(id, "true") && strcmp(id, "false") && strcmp(id, "null"))
        return NULL;
    struct oc_ex *e = oc_ex_new(OC_EX_LIT, col);
    e->val.kind = id[0] == 'n' ? OC_VAL_NULL : OC_VAL_BOOL;
    e->val.b = id[0] == 't';
    free(id);
    return e;
}

/* name(args...), after the '(': takes id. */
static struct oc_ex *oc_px_call(struct oc_px *p, char *id, size_t col)
{
    struct oc_ex *e = oc_ex_new(OC_EX_CALL, col);
    e->name = id;
    if (oc_px_eat(p, ")"))
        return e;
    do {
        struct oc_ex *a = oc_px_or(p);
        if (!a) {
            oc_ex_free(e);
            return NULL;
        }
        oc_ex_add_arg(e, a);
    } while (oc_px_eat(p, ","));
    if (!oc_px_eat(p, ")")) {
        oc_px_fail(p, "%s", "')' or ',' expected in the function call");
        oc_ex_free(e);
        return NULL;
    }
    return oc_px_height(p, e);
}

/* name.part['part']...: takes id. */
static struct oc_ex *oc_px_ref(struct oc_px *p, char *id, size_t col)
{
    struct oc_ex *e = oc_ex_new(OC_EX_REF, col);
    e->name = id;
    for (;;) {
        char *part = NULL;
        if (oc_px_eat(p, ".")) {
            part = oc_px_ident(p);
            if (!part) {
                oc_px_fail(p, "%s", "a name is expected after '.'");
                oc_ex_free(e);
                return NULL;
            }
        } else if (oc_px_eat(p, "[")) {
            oc_px_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '\'' || !(part = oc_px_string(p)) ||
                !oc_px_eat(p, "]")) {
                free(part);
                oc_px_fail(p, "%s", "['name'] expected");
                oc_ex_free(e);
                return NULL;
            }
        } else {
            return e;
        }
        e->parts = oc_xrealloc(e->parts, (e->n_parts + 1) * sizeof *e->parts);
        e->parts[e->n_parts++] = part;
    }
}

/* After a call or a parenthesised expression: .name, ['name'] or [expr]
 * index its value (fromJSON(x).items[0]). Takes e. */
static struct oc_ex *oc_px_postfix(struct oc_px *p, struct oc_ex *e)
{
    while (e) {
        oc_px_ws(p);
        size_t col = p->pos;
        struct oc_ex *key = NULL;
        if (oc_px_eat(p, ".")) {
            char *name = oc_px_ident(p);
            if (!name) {
                oc_px_fail(p, "%s", "a name is expected after '.'");
                oc_ex_free(e);
                return NULL;
            }
            key = oc_ex_new(OC_EX_LIT, col);
            key->val.kind = OC_VAL_STR;
            key->val.s = name;
        } else if (oc_px_eat(p, "[")) {
            key = oc_px_or(p);
            if (key && !oc_px_eat(p, "]")) {
                oc_px_fail(p, "%s", "']' expected");
                oc_ex_free(key);
                key = NULL;
            }
            if (!key) {
                oc_ex_free(e);
                return NULL;
            }
        } else {
            return e;
        }
        struct oc_ex *ix = oc_ex_new(OC_EX_INDEX, col);
        oc_ex_add_arg(ix, e);
        oc_ex_add_arg(ix, key);
        e = oc_px_height(p, ix);
    }
    return NULL;
}

static struct oc_ex *oc_px_primary(struct oc_px *p)
{
    oc_px_ws(p);
    size_t col = p->pos;
    if (p->pos >= p->len) {
        oc_px_fail(p, "%s", "expression expected");
        return NULL;
    }
    char c = p->s[p->pos];
    if (c == '(')
        return oc_px_postfix(p, oc_px_group(p));
    if (c == '\'')
        return oc_px_string_lit(p, col);
    if (isdigit((unsigned char)c) || c == '-' || c == '.')
        return oc_px_number(p, col);
    char *id = oc_px_ident(p);
    if (!id) {
        char tok[2] = {c, 0};
        oc_px_fail(p, "unexpected '%s'", tok);
        return NULL;
    }
    struct oc_ex *kw = oc_px_keyword(id, col);
    if (kw)
        return kw;
    if (oc_px_eat(p, "("))
        return oc_px_postfix(p, oc_px_call(p, id, col));
    return oc_px_ref(p, id, col);
}

static struct oc_ex *oc_px_unary(struct oc_px *p)
{
    oc_px_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '!' &&
        !(p->pos + 1 < p->len && p->s[p->pos + 1] == '=')) {
        size_t col = p->pos++;
        if (++p->depth > OC_EX_MAX_DEPTH) {
            oc_px_too_deep(p);
            return NULL;
        }
        struct oc_ex *a = oc_px_unary(p);
        p->depth--;
        if (!a)
            return NULL;
        struct oc_ex *e = oc_ex_new(OC_EX_NOT, col);
        oc_ex_add_arg(e, a);
        return oc_px_height(p, e);
    }
    if (++p->depth > OC_EX_MAX_DEPTH) {
        oc_px_too_deep(p);
        return NULL;
    }
    struct oc_ex *e = oc_px_primary(p);
    p->depth--;
    return e;
}

/* Takes l and r; NULL when the tree grows too tall. */
static struct oc_ex *oc_px_bin(struct oc_px *p, struct oc_ex *l, enum oc_ex_op op,
                               struct oc_ex *r, size_t col)
{
    struct oc_ex *e = oc_ex_new(OC_EX_BIN, col);
    e->op = op;
    oc_ex_add_arg(e, l);
    oc_ex_add_arg(e, r);
    return oc_px_height(p, e);
}

static struct oc_ex *oc_px_cmp(struct oc_px *p)
{
    struct oc_ex *l = oc_px_unary(p);
    if (!l)
        return NULL;
    static const struct { const char *tok; enum oc_ex_op op; } ops[] = {
        {"==", OC_OP_EQ}, {"!=", OC_OP_NE}, {"<=", OC_OP_LE},
        {">=", OC_OP_GE}, {"<", OC_OP_LT}, {">", OC_OP_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t col = p->pos;
        if (oc_px_eat(p, ops[i].tok)) {
            struct oc_ex *r = oc_px_unary(p);
            if (!r) {
                oc_ex_free(l);
                return NULL;
            }
            return oc_px_bin(p, l, ops[i].op, r, col);
        }
    }
    return l;
}

static struct oc_ex *oc_px_and(struct oc_px *p)
{
    struct oc_ex *l = oc_px_cmp(p);
    size_t col = p->pos;
    while (l && oc_px_eat(p, "&&")) {
        struct oc_ex *r = oc_px_cmp(p);
        if (!r) {
            oc_ex_free(l);
            return NULL;
        }
        l = oc_px_bin(p, l, OC_OP_AND, r, col);
        col = p->pos;
    }
    return l;
}

static struct oc_ex *oc_px_or(struct oc_px *p)
{
    if (++p->depth > OC_EX_MAX_DEPTH) {
        oc_px_too_deep(p);
        return NULL;
    }
    struct oc_ex *l = oc_px_and(p);
    size_t col = p->pos;
    while (l && oc_px_eat(p, "||")) {
        struct oc_ex *r = oc_px_and(p);
        if (!r) {
            oc_ex_free(l);
            return NULL;
        }
        l = oc_px_bin(p, l, OC_OP_OR, r, col);
        col = p->pos;
    }
    p->depth--;
    return l;
}

struct oc_ex *oc_ex_parse(const char *src, size_t len, char **errmsg)
{
    struct oc_px p = {.s = src, .len = len};
    struct oc_ex *e = oc_px_or(&p);
    oc_px_ws(&p);
    if (e && p.pos < p.len) {
        char tok[2] = {p.s[p.pos], 0};
        oc_px_fail(&p, "unexpected '%s' after the expression", tok);
        oc_ex_free(e);
        e = NULL;
    }
    if (!e) {
        if (!p.err)
            oc_px_fail(&p, "%s", "invalid expression");
        *errmsg = p.err;
        return NULL;
    }
    return e;
}
