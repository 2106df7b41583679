/* The secrets and environment variables a config refers to, for
 * /health/env: found by core/template's parser over every value of the
 * config tree and every step's `if:`, so a comment, a key or a
 * `secrets.X` that is not inside a ${{ }} names nothing. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "node.h"
#include "orchd.h"
#include "template.h"
#include "util.h"


static void orchd_refs_add(char ***names, size_t *n, const char *name)
{
    for (size_t k = 0; k < *n; k++)
        if (!strcmp((*names)[k], name))
            return;
    *names = oc_xrealloc(*names, (*n + 1) * sizeof **names);
    (*names)[(*n)++] = oc_xstrdup(name);
}

static int orchd_refs_cb(void *ud, const char *ns, const char *const *parts, size_t n)
{
    struct orchd *d = ud;
    if (n != 1) /* secrets.A.B is not a name: validation said so already */
        return 0;
    if (!strcmp(ns, "secrets"))
        orchd_refs_add(&d->secret_names, &d->n_secret_names, parts[0]);
    else if (!strcmp(ns, "env"))
        orchd_refs_add(&d->env_names, &d->n_env_names, parts[0]);
    return 0;
}

static void orchd_refs_text(struct orchd *d, const char *s, int is_expr)
{
    char *err = NULL;
    oc_template_refs(s, is_expr, orchd_refs_cb, d, &err); /* syntax: validation reported it */
    free(err);
}

static void orchd_refs_tree(struct orchd *d, const struct oc_node *n)
{
    if (!n)
        return;
    if (n->kind == OC_NODE_SCALAR && n->str && oc_template_has(n->str))
        orchd_refs_text(d, n->str, 0);
    for (size_t i = 0; i < n->len; i++)
        orchd_refs_tree(d, n->items[i]);
}

void orchd_collect_refs(struct orchd *d)
{
    orchd_refs_tree(d, d->cfg->root);
    for (size_t w = 0; w < d->cfg->n_workflows; w++)
        for (size_t i = 0; i < d->cfg->workflows[w].n_steps; i++)
            if (d->cfg->workflows[w].steps[i].if_expr)
                orchd_refs_text(d, d->cfg->workflows[w].steps[i].if_expr, 1);
}
