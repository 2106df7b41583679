#include "matrix.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int oc_mx_fail(char **why, const char *fmt, ...) ORCH_PRINTF(2, 3);
static int oc_mx_fail(char **why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *why = oc_xvasprintf(fmt, ap);
    va_end(ap);
    return -1;
}

static int oc_mx_is_vector(const char *key)
{
    return strcmp(key, "include") && strcmp(key, "exclude");
}

/* A vector's name is read as matrix.KEY: an identifier, nothing a name
 * or a reference could misread. */
static int oc_mx_key_ok(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
              (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
            return 0;
    return 1;
}

/* Whether c has every key:value of part. */
static int oc_mx_has_all(const json_t *c, const json_t *part)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)part, k, v) {
        const json_t *cv = json_object_get(c, k);
        if (!cv || !json_equal(cv, v))
            return 0;
    }
    return 1;
}

/* The product of the vectors, first key outermost. */
static int oc_mx_product(const json_t *matrix, size_t limit, json_t *out, char **why)
{
    size_t total = 1, nvec = 0;
    int past = 0; /* the product does not fit a size_t */
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)matrix, k, v) {
        if (!oc_mx_is_vector(k))
            continue;
        if (!oc_mx_key_ok(k))
            return oc_mx_fail(why, "matrix key '%s' may only use letters, digits, '_' and "
                                   "'-', starting with a letter or '_' (it is read as "
                                   "matrix.KEY)", k);
        if (!json_is_array(v) || !json_array_size(v))
            return oc_mx_fail(why, "matrix '%s' must be a list of at least one value", k);
        size_t n = json_array_size(v);
        /* The exact count while it fits (the refusal says it), and never a
         * product that overflows. */
        if (total > SIZE_MAX / n)
            past = 1;
        else
            total *= n;
        nvec++;
    }
    if (!nvec)
        return 0;
    if (past)
        return oc_mx_fail(why,
                          "the matrix makes more than %zu instances (the product of its "
                          "lists); the limit is %zu",
                          limit, limit);
    if (total > limit)
        return oc_mx_fail(why,
                          "the matrix makes %zu instances (the product of its lists); the "
                          "limit is %zu",
                          total, limit);
    for (size_t i = 0; i < total; i++) {
        json_t *c = json_object();
        size_t rest = total;
        json_object_foreach((json_t *)matrix, k, v) {
            if (!oc_mx_is_vector(k))
                continue;
            size_t n = json_array_size(v);
            rest /= n;
            json_object_set(c, k, json_array_get(v, (i / rest) % n));
        }
        json_array_append_new(out, c);
    }
    return 0;
}

static int oc_mx_objects(const json_t *list, const char *key, char **why)
{
    if (!list)
        return 0;
    if (!json_is_array(list))
        return oc_mx_fail(why, "matrix %s must be a list of mappings", key);
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e) {
        if (!json_is_object(e) || !json_object_size(e))
            return oc_mx_fail(why, "matrix %s[%zu] must be a mapping of at least one key",
                              key, i);
    }
    return 0;
}

/* Adds inc to every combination whose vector values it keeps; 1 when it
 * was added to one at least. */
static int oc_mx_include_into(const json_t *matrix, json_t *combos, size_t n_orig,
                              const json_t *inc)
{
    int added = 0;
    for (size_t i = 0; i < n_orig; i++) {
        json_t *c = json_array_get(combos, i);
        int fits = 1;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)inc, k, v) {
            if (oc_mx_is_vector(k) && json_object_get(matrix, k) &&
                !json_equal(json_object_get(c, k), v))
                fits = 0;
        }
        if (!fits)
            continue;
        json_object_foreach((json_t *)inc, k, v) json_object_set(c, k, (json_t *)v);
        added = 1;
    }
    return added;
}

int oc_matrix_expand(const json_t *matrix, size_t limit, json_t **out, char **why)
{
    *out = NULL;
    *why = NULL;
    if (!json_is_object(matrix) || !json_object_size(matrix))
        return oc_mx_fail(why, "matrix must be a mapping of lists (and include, exclude)");
    const json_t *exclude = json_object_get(matrix, "exclude");
    const json_t *include = json_object_get(matrix, "include");
    if (oc_mx_objects(exclude, "exclude", why) || oc_mx_objects(include, "include", why))
        return -1;
    json_t *combos = json_array();
    if (oc_mx_product(matrix, limit, combos, why) != 0) {
        json_decref(combos);
        return -1;
    }
    /* exclude, on the product only. */
    for (size_t i = json_array_size(combos); i-- > 0;) {
        size_t j;
        const json_t *ex;
        json_array_foreach(exclude, j, ex) {
            if (oc_mx_has_all(json_array_get(combos, i), ex)) {
                json_array_remove(combos, i);
                break;
            }
        }
    }
    size_t n_orig = json_array_size(combos), j;
    const json_t *inc;
    json_array_foreach(include, j, inc) {
        if (!oc_mx_include_into(matrix, combos, n_orig, inc))
            json_array_append_new(combos, json_deep_copy(inc));
    }
    if (!json_array_size(combos)) {
        json_decref(combos);
        return oc_mx_fail(why, "the matrix makes no instance (exclude removed every one)");
    }
    if (json_array_size(combos) > limit) {
        size_t n = json_array_size(combos);
        json_decref(combos);
        return oc_mx_fail(why, "the matrix makes %zu instances; the limit is %zu", n, limit);
    }
    *out = combos;
    return 0;
}

static int oc_mx_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

char *oc_matrix_instance_id(const char *id, const json_t *c)
{
    struct oc_buf b = {0};
    oc_buf_addf(&b, "%s (", id);
    const char *k;
    const json_t *v;
    int first = 1;
    json_object_foreach((json_t *)c, k, v) {
        if (!first)
            oc_buf_addf(&b, ", ");
        first = 0;
        if (json_is_string(v) && !oc_mx_has_control(json_string_value(v))) {
            oc_buf_addf(&b, "%s", json_string_value(v));
        } else {
            /* A control character (a value from a step's output may hold
             * one) would reach terminals and log lines as it is: such a
             * string is named as JSON, escaped. */
            /* 15 digits: 3.12 from fromJSON is named 3.12, not 3.1200000000000001. */
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            oc_buf_addf(&b, "%s", t ? t : "");
            free(t);
        }
    }
    oc_buf_addf(&b, ")");
    return oc_buf_steal(&b);
}

int oc_matrix_names(const char *id, const json_t *combos, json_t **names, char **why)
{
    *names = json_array();
    *why = NULL;
    json_t *seen = json_object();
    size_t i;
    const json_t *c;
    int rc = 0;
    json_array_foreach((json_t *)combos, i, c) {
        char *name = oc_matrix_instance_id(id, c);
        if (json_object_get(seen, name)) {
            /* The name is the instance's key in the store, the ledger and
             * resume: two alike would be one instance run twice. */
            rc = oc_mx_fail(why, "two of its instances would both be named '%.200s' (values "
                                 "with ', ' in them can make it so): give them distinct values",
                            name);
            free(name);
            break;
        }
        json_object_set_new(seen, name, json_true());
        json_array_append_new(*names, json_string(name));
        free(name);
    }
    json_decref(seen);
    if (rc) {
        json_decref(*names);
        *names = NULL;
    }
    return rc;
}
