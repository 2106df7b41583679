/* S3's XML answers through expat (see s3xml.h). expat checks the syntax
 * and decodes character and the five predefined entity references; the
 * handlers here refuse what a listing never has (a DOCTYPE, so no entity
 * can be declared or expanded) and keep only the few elements orch reads. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "s3xml.h"

/* What a handler is collecting the text of. */
enum s3x_field { S3X_NONE, S3X_KEY, S3X_SIZE, S3X_TRUNCATED, S3X_NEXT };

struct s3x_list {
    XML_Parser p;
    struct s3_list_page *page;
    size_t cap;
    int depth;
    int in_contents, have_key, have_size, saw_truncated, saw_next;
    struct s3_list_item item;
    enum s3x_field field;
    char text[S3_TOKEN_MAX + 1];
    size_t text_len, text_max;
    char *why;
    size_t why_len;
    int failed;
};

static void s3x_refuse(struct s3x_list *x, const char *fmt, ...)
{
    if (x->failed)
        return;
    x->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->why, x->why_len, fmt, ap);
    va_end(ap);
    XML_StopParser(x->p, XML_FALSE);
}

static void s3x_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                        const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    s3x_refuse(ud, "the listing declares a DOCTYPE (entities are not accepted)");
}

static void s3x_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                       int value_len, const XML_Char *base, const XML_Char *sysid,
                       const XML_Char *pubid, const XML_Char *notation)
{
    (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    s3x_refuse(ud, "the listing declares the entity '%s'", name);
}

static void s3x_collect(struct s3x_list *x, enum s3x_field f, size_t max)
{
    x->field = f;
    x->text_len = 0;
    x->text[0] = 0;
    x->text_max = max;
}

static void s3x_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct s3x_list *x = ud;
    (void)atts;
    x->depth++;
    if (x->field != S3X_NONE)
        s3x_refuse(x, "the listing has <%s> inside a text element", name);
    else if (x->depth == 1 && strcmp(name, "ListBucketResult"))
        s3x_refuse(x, "the answer is <%s>, not a <ListBucketResult>", name);
    else if (x->depth == 2 && !strcmp(name, "Contents")) {
        x->in_contents = 1;
        x->have_key = x->have_size = 0;
        x->item = (struct s3_list_item){0};
    } else if (x->depth == 2 && !strcmp(name, "IsTruncated"))
        s3x_collect(x, S3X_TRUNCATED, 5);
    else if (x->depth == 2 && !strcmp(name, "NextContinuationToken"))
        s3x_collect(x, S3X_NEXT, S3_TOKEN_MAX);
    else if (x->depth == 3 && x->in_contents && !strcmp(name, "Key")) {
        if (x->have_key++)
            s3x_refuse(x, "an object of the listing has two <Key>s");
        s3x_collect(x, S3X_KEY, S3_KEY_MAX);
    } else if (x->depth == 3 && x->in_contents && !strcmp(name, "Size")) {
        if (x->have_size++)
            s3x_refuse(x, "an object of the listing has two <Size>s");
        s3x_collect(x, S3X_SIZE, 20);
    }
}

static void s3x_text(void *ud, const XML_Char *s, int len)
{
    struct s3x_list *x = ud;
    if (x->field == S3X_NONE || x->failed)
        return;
    if (len < 0 || x->text_len + (size_t)len > x->text_max) {
        static const char *const what[] = {"", "a key", "a size", "IsTruncated",
                                           "the continuation token"};
        s3x_refuse(x, "%s in the listing is longer than %zu bytes", what[x->field],
                   x->text_max);
        return;
    }
    memcpy(x->text + x->text_len, s, (size_t)len);
    x->text_len += (size_t)len;
    x->text[x->text_len] = 0;
}

static int s3x_size(const char *s, uint64_t *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

static void s3x_push(struct s3x_list *x)
{
    struct s3_list_page *pg = x->page;
    if (!x->item.key) {
        s3x_refuse(x, "an object of the listing has no <Key>");
        return;
    }
    if (pg->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        struct s3_list_item *ni = realloc(pg->items, nc * sizeof *ni);
        if (!ni) {
            s3x_refuse(x, "out of memory");
            return;
        }
        pg->items = ni;
        x->cap = nc;
    }
    pg->items[pg->n++] = x->item;
    x->item = (struct s3_list_item){0};
}

static void s3x_end(void *ud, const XML_Char *name)
{
    struct s3x_list *x = ud;
    enum s3x_field f = x->field;
    x->field = S3X_NONE;
    if (f == S3X_KEY && !(x->item.key = strdup(x->text)))
        s3x_refuse(x, "out of memory");
    else if (f == S3X_SIZE && s3x_size(x->text, &x->item.size) != 0)
        s3x_refuse(x, "the size '%s' in the listing is not a number",
                   x->text);
    else if (f == S3X_TRUNCATED) {
        x->saw_truncated = 1;
        if (!strcmp(x->text, "true"))
            x->page->truncated = 1;
        else if (strcmp(x->text, "false"))
            s3x_refuse(x, "IsTruncated is '%s', not true or false", x->text);
    } else if (f == S3X_NEXT) {
        x->saw_next = 1;
        free(x->page->next);
        if (!(x->page->next = strdup(x->text)))
            s3x_refuse(x, "out of memory");
    }
    if (x->depth == 2 && x->in_contents && !strcmp(name, "Contents")) {
        x->in_contents = 0;
        s3x_push(x);
    }
    x->depth--;
}

void s3_list_page_free(struct s3_list_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].key);
    free(p->items);
    free(p->next);
    *p = (struct s3_list_page){0};
}

int s3_list_parse(const char *xml, size_t len, struct s3_list_page *out, char *why,
                  size_t why_len)
{
    *out = (struct s3_list_page){0};
    if (len > INT_MAX) {
        snprintf(why, why_len, "the listing is too large (%zu bytes)", len);
        return -1;
    }
    struct s3x_list x = {.page = out, .why = why, .why_len = why_len};
    if (!(x.p = XML_ParserCreate(NULL))) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    XML_SetUserData(x.p, &x);
    XML_SetStartDoctypeDeclHandler(x.p, s3x_doctype);
    XML_SetEntityDeclHandler(x.p, s3x_entity);
    XML_SetElementHandler(x.p, s3x_start, s3x_end);
    XML_SetCharacterDataHandler(x.p, s3x_text);
    int ok = XML_Parse(x.p, xml, (int)len, 1) == XML_STATUS_OK;
    if (!ok && !x.failed)
        snprintf(why, why_len, "the listing is not well-formed XML: %s at line %lu column %lu",
                 XML_ErrorString(XML_GetErrorCode(x.p)),
                 (unsigned long)XML_GetCurrentLineNumber(x.p),
                 (unsigned long)XML_GetCurrentColumnNumber(x.p) + 1);
    else if (ok && !x.saw_truncated)
        ok = 0, snprintf(why, why_len, "the listing has no <IsTruncated>");
    else if (ok && out->truncated && (!out->next || !*out->next))
        ok = 0, snprintf(why, why_len,
                         "the listing is truncated but gives no NextContinuationToken");
    XML_ParserFree(x.p);
    free(x.item.key);
    if (!ok)
        s3_list_page_free(out);
    return ok ? 0 : -1;
}

/* The first element named tag: its text, then the parser stops. Longer
 * text than this is refused (no S3 answer carries that much in one
 * element). */
#define S3_TEXT_MAX 65536

struct s3x_first {
    XML_Parser p;
    const char *tag;
    int depth_in;                /* > 0 inside the element */
    char *text;
    size_t len;
    int done, failed;
};

static void s3x_first_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                              const XML_Char *pubid, int has_internal_subset)
{
    struct s3x_first *f = ud;
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    f->failed = 1;
    XML_StopParser(f->p, XML_FALSE);
}

static void s3x_first_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct s3x_first *f = ud;
    (void)atts;
    if (f->depth_in)
        f->depth_in++;
    else if (!strcmp(name, f->tag))
        f->depth_in = 1;
}

static void s3x_first_text(void *ud, const XML_Char *s, int len)
{
    struct s3x_first *f = ud;
    if (!f->depth_in || len <= 0 || f->failed)
        return;
    char *n = f->len + (size_t)len <= S3_TEXT_MAX ? realloc(f->text, f->len + (size_t)len + 1)
                                                   : NULL;
    if (!n) {
        f->failed = 1;
        XML_StopParser(f->p, XML_FALSE);
        return;
    }
    memcpy(n + f->len, s, (size_t)len);
    f->len += (size_t)len;
    n[f->len] = 0;
    f->text = n;
}

static void s3x_first_end(void *ud, const XML_Char *name)
{
    struct s3x_first *f = ud;
    (void)name;
    if (f->depth_in && !--f->depth_in) {
        f->done = 1;
        XML_StopParser(f->p, XML_FALSE);
    }
}

char *s3_xml_text(const char *xml, size_t len, const char *tag)
{
    struct s3x_first f = {.tag = tag};
    if (len > INT_MAX || !(f.p = XML_ParserCreate(NULL)))
        return NULL;
    XML_SetUserData(f.p, &f);
    XML_SetStartDoctypeDeclHandler(f.p, s3x_first_doctype);
    XML_SetElementHandler(f.p, s3x_first_start, s3x_first_end);
    XML_SetCharacterDataHandler(f.p, s3x_first_text);
    /* Not final: a body cut after the element still gives it. */
    XML_Parse(f.p, xml, (int)len, 0);
    XML_ParserFree(f.p);
    if (!f.done || f.failed) {
        free(f.text);
        return NULL;
    }
    return f.text ? f.text : strdup("");
}
