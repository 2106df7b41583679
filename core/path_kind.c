/* Kinds of PATH_KIND option values: decided by the literal text, kept by
 * the rendered one (path_kind.h). */
#include "path_kind.h"

#include <string.h>

#include "util.h"

size_t oc_path_kind(const char *text, char *kind, size_t cap)
{
    if (cap)
        kind[0] = 0;
    if (!text || !(text[0] >= 'a' && text[0] <= 'z'))
        return 0;
    size_t n = 1;
    while ((text[n] >= 'a' && text[n] <= 'z') || (text[n] >= '0' && text[n] <= '9') ||
           text[n] == '_')
        n++;
    if (text[n] != ':')
        return 0;
    if (cap) {
        size_t c = n < cap ? n : cap - 1; /* a long word is shown cut */
        memcpy(kind, text, c);
        kind[c] = 0;
    }
    return n + 1;
}

/* rest without "." and empty components; -1 on a ".." component. */
static int oc_path_clean(const char *rest, struct oc_buf *out)
{
    if (rest[0] == '/')
        oc_buf_adds(out, "/");
    size_t parts = 0;
    for (const char *p = rest; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (n && !(n == 1 && p[0] == '.')) {
            if (parts++)
                oc_buf_adds(out, "/");
            oc_buf_add(out, p, n);
        }
        p += n + (slash ? 1 : 0);
    }
    return 0;
}

char *oc_path_kind_confine(const char *literal, const char *rendered, char **why)
{
    char lit_kind[32], got_kind[32];
    size_t lit_len = oc_path_kind(literal, lit_kind, sizeof lit_kind);
    size_t got_len = oc_path_kind(rendered, got_kind, sizeof got_kind);
    *why = NULL;
    if (lit_len != got_len || memcmp(literal, rendered, lit_len)) {
        *why = oc_xasprintf("a template made it %s%s%s, but the kind of a path is only what "
                            "the workflow file writes (here %s%s%s); a template can fill "
                            "the rest of a path, never choose its kind",
                            got_len ? "a '" : "an instance path",
                            got_len ? got_kind : "", got_len ? ":' path" : "",
                            lit_len ? "'" : "an instance path", lit_len ? lit_kind : "",
                            lit_len ? ":'" : "");
        return NULL;
    }
    const char *lit_rest = literal + lit_len, *rest = rendered + got_len;
    if (rest[0] == '/' && lit_rest[0] != '/') {
        *why = oc_xstrdup("a template made it an absolute path; write the directory "
                          "literally in the workflow file and let the template fill "
                          "what lies below it");
        return NULL;
    }
    struct oc_buf b = {0};
    oc_buf_add(&b, rendered, got_len);
    if (oc_path_clean(rest, &b) != 0) {
        oc_buf_free(&b);
        *why = oc_xstrdup("a templated path may not hold a '..' component");
        return NULL;
    }
    return oc_buf_steal(&b);
}
