/* Calls between workflows: a step `uses: workflow:NAME` (a workflow of the
 * same config) or `uses: ./FILE#NAME` (the workflow NAME defined in FILE,
 * relative to the file the step is in) runs that workflow as a child run
 * (docs/config.md, "Reusable workflows"). This file owns the reference's
 * syntax, its resolution, the check of `with:` against the callee's
 * inputs, and the graph rule: no cycle, no chain deeper than
 * OC_CALL_MAX_DEPTH. A FILE is one the config already reads (the main
 * file or a workflows_dir file): a call never makes orch read another
 * path, so what a run may execute is what the operator put there. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../inputs.h"
#include "../template.h"
#include "internal.h"

int oc_call_ref(const char *uses)
{
    return uses && (!strncmp(uses, "workflow:", 9) || !strncmp(uses, "./", 2) ||
                    !strncmp(uses, "../", 3));
}

/* path without "." and empty parts, ".." taking its parent away. */
static char *oc_path_lexical(const char *path)
{
    char *copy = oc_xstrdup(path), *save = NULL;
    const char **parts = oc_xcalloc(strlen(path) + 1, sizeof *parts);
    size_t n = 0;
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (!strcmp(p, "."))
            continue;
        if (!strcmp(p, "..") && n && strcmp(parts[n - 1], ".."))
            n--;
        else
            parts[n++] = p;
    }
    struct oc_buf b = {0};
    if (path[0] == '/')
        oc_buf_addf(&b, "/");
    for (size_t i = 0; i < n; i++)
        oc_buf_addf(&b, "%s%s", i ? "/" : "", parts[i]);
    free(parts);
    free(copy);
    char *out = oc_xstrdup(b.data ? b.data : ".");
    oc_buf_free(&b);
    return out;
}

static const char *oc_wf_file_path(const struct oc_config *cfg, const struct oc_workflow *w)
{
    return w->file ? w->file->path : cfg->path;
}

/* FILE of `./FILE#NAME` as the path the config knows it by. */
static char *oc_call_file(const struct oc_config *cfg, const struct oc_workflow *from,
                          const char *rel)
{
    const char *base = oc_wf_file_path(cfg, from);
    const char *slash = strrchr(base, '/');
    char *joined = slash ? oc_xasprintf("%.*s/%s", (int)(slash - base), base, rel)
                         : oc_xstrdup(rel);
    char *norm = oc_path_lexical(joined);
    free(joined);
    return norm;
}

static int oc_file_is(const char *a_norm, const char *b)
{
    char *nb = oc_path_lexical(b);
    int same = !strcmp(a_norm, nb);
    free(nb);
    return same;
}

const struct oc_workflow *oc_call_resolve(const struct oc_config *cfg,
                                          const struct oc_workflow *from, const char *uses,
                                          const struct oc_pos *pos, const char *what,
                                          struct oc_diag *diag)
{
    if (!strncmp(uses, "workflow:", 9)) {
        const char *name = uses + 9;
        const struct oc_workflow *t = *name ? oc_config_workflow(cfg, name) : NULL;
        if (!t)
            oc_diag_add(diag, pos, "%s: uses: %s: %s", what, uses,
                        *name ? "no workflow of that name in this config"
                              : "write workflow:NAME");
        return t;
    }
    const char *hash = strchr(uses, '#');
    if (!hash || !hash[1] || hash == uses + 2) {
        oc_diag_add(diag, pos, "%s: uses: %s: write ./FILE#NAME (a file of this config and "
                    "the name of a workflow in it)", what, uses);
        return NULL;
    }
    char *rel = oc_xasprintf("%.*s", (int)(hash - uses), uses);
    char *file = oc_call_file(cfg, from, rel);
    const char *name = hash + 1;
    int known = oc_file_is(file, cfg->path);
    for (size_t i = 0; !known && i < cfg->n_files; i++)
        known = oc_file_is(file, cfg->files[i].path);
    const struct oc_workflow *t = oc_config_workflow(cfg, name);
    if (!known)
        oc_diag_add(diag, pos, "%s: uses: %s: %s is not a file of this config (a call names "
                    "the main file or a file of workflows_dir; orch reads no other)",
                    what, uses, rel);
    else if (!t || !oc_file_is(file, oc_wf_file_path(cfg, t)))
        oc_diag_add(diag, pos, "%s: uses: %s: %s defines no workflow '%s'", what, uses, rel,
                    name);
    int ok = known && t && oc_file_is(file, oc_wf_file_path(cfg, t));
    free(rel);
    free(file);
    return ok ? t : NULL;
}

void oc_call_check_with(const struct oc_workflow *callee, const struct oc_step *st,
                        const char *what, struct oc_diag *diag)
{
    const struct oc_node *with = st->with;
    for (size_t i = 0; with && i < with->len; i++) {
        const char *k = with->keys[i]->str;
        const struct oc_input_decl *d = NULL;
        for (size_t j = 0; j < callee->n_inputs && !d; j++)
            if (!strcmp(callee->inputs[j].name, k))
                d = &callee->inputs[j];
        const struct oc_node *v = with->items[i];
        if (!d) {
            oc_diag_add(diag, &with->keys[i]->pos, "%s: with.%s: workflow %s has no input "
                        "'%s'", what, k, callee->name, k);
        } else if (v->kind == OC_NODE_SCALAR && !oc_template_has(v->str)) {
            /* A literal is checked now, as --input would be at the start. */
            json_t *out = NULL;
            char *why = oc_input_text(d, v->str, strlen(v->str), &out);
            if (why)
                oc_diag_add(diag, &v->pos, "%s: with.%s: %s", what, k, why);
            free(why);
            json_decref(out);
        }
    }
    for (size_t j = 0; j < callee->n_inputs; j++) {
        const struct oc_input_decl *d = &callee->inputs[j];
        if (d->required && !d->default_value && !oc_node_get(with, d->name))
            oc_diag_add(diag, &st->pos, "%s: workflow %s needs its input '%s' (with.%s)",
                        what, callee->name, d->name, d->name);
    }
}

static size_t oc_wf_index(const struct oc_config *cfg, const struct oc_workflow *w)
{
    return (size_t)(w - cfg->workflows);
}

/* The depth of the longest chain of calls from workflow i (0: it calls
 * none), or OC_CYCLIC when a cycle is reachable from it. A cycle is
 * reported once, at the step whose call closes it. state: 0 unseen, 1 on
 * the walk's path, 2 done (depth[i] known). Recursion is bounded: a
 * config holds at most a few thousand workflows. */
#define OC_CYCLIC SIZE_MAX
static size_t oc_call_depth(const struct oc_config *cfg, size_t i, unsigned char *state,
                            size_t *depth, struct oc_diag *diag)
{
    if (state[i] == 2)
        return depth[i];
    state[i] = 1;
    size_t best = 0;
    const struct oc_workflow *w = &cfg->workflows[i];
    for (size_t s = 0; s < w->n_steps; s++) {
        const struct oc_step *st = &w->steps[s];
        if (!st->call)
            continue;
        size_t j = oc_wf_index(cfg, st->call);
        size_t d;
        if (state[j] == 1) {
            oc_diag_add(diag, &st->pos, "step %s of workflow %s: uses: %s makes a cycle of "
                        "calls (workflow %s is already on the way here)", st->id, w->name,
                        st->uses, st->call->name);
            d = OC_CYCLIC;
        } else {
            d = oc_call_depth(cfg, j, state, depth, diag);
        }
        if (d == OC_CYCLIC)
            best = OC_CYCLIC;
        else if (best != OC_CYCLIC && d + 1 > best)
            best = d + 1;
    }
    state[i] = 2;
    depth[i] = best;
    return best;
}

void oc_calls_check_graph(const struct oc_config *cfg, struct oc_diag *diag)
{
    size_t n = cfg->n_workflows;
    unsigned char *state = oc_xcalloc(n + 1, 1);
    size_t *depth = oc_xcalloc(n + 1, sizeof *depth);
    for (size_t i = 0; i < n; i++) {
        size_t d = oc_call_depth(cfg, i, state, depth, diag);
        /* Reported once, where the chain first passes the limit. */
        if (d == OC_CALL_MAX_DEPTH + 1)
            oc_diag_add(diag, &cfg->workflows[i].name_pos, "workflow %s: its calls nest more "
                        "than %d deep (a workflow calling a workflow that calls ...; the "
                        "limit)", cfg->workflows[i].name, OC_CALL_MAX_DEPTH);
    }
    free(state);
    free(depth);
}
