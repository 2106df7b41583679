/* The secrets and environment variables a config refers to, for
 * /health/env: found by core/template's parser over every value of the
 * config tree and every step's `if:`, so a comment, a key or a
 * `secrets.X` that is not inside a ${{ }} names nothing. */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "config.h"
#include "node.h"
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
    struct orchd_conf *c = ud;
    if (n != 1) /* secrets.A.B is not a name: validation said so already */
        return 0;
    if (!strcmp(ns, "secrets"))
        orchd_refs_add(&c->secret_names, &c->n_secret_names, parts[0]);
    else if (!strcmp(ns, "env"))
        orchd_refs_add(&c->env_names, &c->n_env_names, parts[0]);
    return 0;
}

static void orchd_refs_text(struct orchd_conf *c, const char *s, int is_expr)
{
    char *err = NULL;
    oc_template_refs(s, is_expr, orchd_refs_cb, c, &err); /* syntax: validation reported it */
    free(err);
}

static void orchd_refs_tree(struct orchd_conf *c, const struct oc_node *n)
{
    if (!n)
        return;
    if (n->kind == OC_NODE_SCALAR && n->str && oc_template_has(n->str))
        orchd_refs_text(c, n->str, 0);
    for (size_t i = 0; i < n->len; i++)
        orchd_refs_tree(c, n->items[i]);
}

void orchd_collect_refs(struct orchd_conf *c)
{
    const struct oc_config *cfg = c->cfg;
    orchd_refs_tree(c, cfg->root);
    for (size_t f = 0; f < cfg->n_files; f++)
        orchd_refs_tree(c, cfg->files[f].root); /* workflows_dir's */
    for (size_t w = 0; w < cfg->n_workflows; w++)
        for (size_t i = 0; i < cfg->workflows[w].n_steps; i++)
            if (cfg->workflows[w].steps[i].if_expr)
                orchd_refs_text(c, cfg->workflows[w].steps[i].if_expr, 1);
}
