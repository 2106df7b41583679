/* libFuzzer target: bytes -> the ${{ }} template and expression parser and
 * evaluator: rendering, `if:` conditions and the reference walk config
 * validation uses. The scope answers every reference (numbers, text,
 * secrets), so evaluation goes past the lookups. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_lookup(void *ud, const char *ns, const char *const *parts, size_t n,
                     struct oc_val *out, int *is_secret)
{
    (void)ud;
    memset(out, 0, sizeof *out);
    if (!n)
        return -1;
    const char *last = parts[n - 1];
    if (!strcmp(ns, "secrets")) {
        out->kind = OC_VAL_STR;
        out->s = oc_xstrdup("s3cr3t-value");
        *is_secret = 1;
        return 0;
    }
    if (!strcmp(last, "missing"))
        return -1;
    if (!strcmp(last, "num")) {
        out->kind = OC_VAL_NUM;
        out->num = 42;
        return 0;
    }
    if (!strcmp(last, "flag")) {
        out->kind = OC_VAL_BOOL;
        out->b = 1;
        return 0;
    }
    if (!strcmp(last, "nothing"))
        return 0; /* OC_VAL_NULL */
    out->kind = OC_VAL_STR;
    out->s = oc_xstrdup(last);
    return 0;
}

static int fz_status(void *ud, const char *name)
{
    (void)ud;
    return !strcmp(name, "success") || !strcmp(name, "always");
}

static int fz_ref(void *ud, const char *ns, const char *const *parts, size_t n)
{
    (void)ud;
    (void)parts;
    return n > 8 || !strcmp(ns, "stop"); /* non-zero stops the walk */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size || memchr(data + 1, 0, size - 1))
        return 0;
    /* The first byte picks the entry point; the rest is the text. */
    unsigned mode = data[0] % 4;
    char *text = oc_xstrndup((const char *)data + 1, size - 1);
    const struct oc_scope sc = {.lookup = fz_lookup, .status_fn = fz_status};
    char *out = NULL, *err = NULL;
    int secret = 0, result = 0;
    switch (mode) {
    case 0:
        oc_template_render(text, &sc, &out, &secret, &err);
        break;
    case 1:
        oc_expr_eval_bool(text, &sc, &result, &err);
        break;
    default:
        oc_template_refs(text, mode == 3, fz_ref, NULL, &err);
        break;
    }
    free(out);
    free(err);
    free(text);
    return 0;
}
