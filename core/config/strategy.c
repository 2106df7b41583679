/* A step's strategy: (docs/config.md, "Matrix"): its keys and shapes. The
 * combinations are core/matrix.c's; a static matrix is expanded once by
 * validate.c (the limit, an empty result, at the file's position), a
 * dynamic one by the engine when the step becomes ready. */
#include <stdlib.h>
#include <string.h>

#include "../matrix.h"
#include "../template.h"
#include "internal.h"

void oc_strategy_read(struct oc_cfg_reader *b, struct oc_strategy *s, const struct oc_node *step,
                      const char *what)
{
    static const char *const keys[] = {"matrix", "max_parallel", "fail_fast", "limit", NULL};
    memset(s, 0, sizeof *s);
    s->fail_fast = 1;
    s->limit = OC_MATRIX_LIMIT_DEFAULT;
    const struct oc_node *n = oc_node_get(step, "strategy");
    if (!n)
        return;
    char *swhat = oc_xasprintf("%s: strategy", what);
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping (matrix, max_parallel, fail_fast, "
                                      "limit)", swhat);
        free(swhat);
        return;
    }
    oc_cfg_check_keys(n, keys, swhat, b->diag);
    s->max_parallel = (uint32_t)oc_get_uint(b, n, "max_parallel", 0, 1, 1 << 16, swhat);
    s->fail_fast = oc_get_bool(b, n, "fail_fast", 1, swhat);
    /* Bounded: every instance is a step of the run, with its rows. */
    s->limit = (uint32_t)oc_get_uint(b, n, "limit", OC_MATRIX_LIMIT_DEFAULT, 1, OC_MAX_STEPS,
                                     swhat);
    const struct oc_node *m = oc_node_get(n, "matrix");
    if (!m) {
        oc_diag_add(b->diag, &n->pos, "%s: 'matrix' is required", swhat);
    } else if (m->kind == OC_NODE_SCALAR && oc_template_has(m->str)) {
        s->matrix = m; /* the whole matrix from one expression, when ready */
    } else if (m->kind != OC_NODE_MAP || !m->len) {
        oc_diag_add(b->diag, &m->pos, "%s: matrix must be a mapping of KEY: [values] (and "
                                      "include, exclude), or one ${{ }} expression giving one",
                    swhat);
    } else {
        for (size_t i = 0; i < m->len; i++) {
            const struct oc_node *v = m->items[i];
            const char *k = m->keys[i]->str;
            if (v->kind == OC_NODE_SCALAR && oc_template_has(v->str))
                continue; /* a list from an expression, when ready */
            if (v->kind != OC_NODE_SEQ || !v->len)
                oc_diag_add(b->diag, &v->pos, "%s: matrix %s%s%s must be a non-empty list, or "
                                              "one ${{ }} expression giving one",
                            swhat, strcmp(k, "include") && strcmp(k, "exclude") ? "'" : "",
                            k, strcmp(k, "include") && strcmp(k, "exclude") ? "'" : "");
        }
        s->matrix = m;
    }
    free(swhat);
}

json_t *oc_strategy_matrix_json(const struct oc_node *m)
{
    if (!m)
        return json_null();
    if (m->kind == OC_NODE_SEQ || m->kind == OC_NODE_MAP) {
        json_t *out = m->kind == OC_NODE_SEQ ? json_array() : json_object();
        for (size_t i = 0; i < m->len; i++) {
            json_t *v = oc_strategy_matrix_json(m->items[i]);
            if (m->kind == OC_NODE_SEQ)
                json_array_append_new(out, v);
            else
                json_object_set_new(out, m->keys[i]->str, v);
        }
        return out;
    }
    json_t *j = oc_node_to_json(m);
    if (json_is_real(j) && m->kind == OC_NODE_SCALAR) {
        json_decref(j);
        return json_string(m->str);
    }
    return j;
}
