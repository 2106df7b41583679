/* Whole-file checks after the shape is known: plugins exist and accept
 * their options, needs form a DAG, every ${{ }} reference can resolve.
 * Every problem is reported, not just the first. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../options.h"
#include "../template.h"
#include "../matrix.h"
#include "internal.h"

struct oc_vc {
    struct oc_config *cfg;
    struct oc_registry *reg;
    struct oc_diag *diag;
};

static const struct oc_plugin *oc_resolve(struct oc_vc *v, uint32_t kind,
                                          const char *uses, const struct oc_pos *pos,
                                          const char *what)
{
    struct orch_error err;
    oc_error_init(&err);
    const struct oc_plugin *p = oc_registry_get(v->reg, kind, uses, &err);
    if (!p)
        oc_diag_add(v->diag, pos, "%s: %s plugin '%s': %s", what, oc_kind_name(kind), uses,
                    oc_error_text(&err));
    oc_error_clear(&err);
    return p;
}

static void oc_check_ref(struct oc_vc *v, struct oc_plugin_ref *r, uint32_t kind,
                         const char *what)
{
    if (!r->uses)
        return;
    r->plugin = oc_resolve(v, kind, r->uses, &r->pos, what);
    if (r->plugin)
        oc_options_apply(r->plugin->desc, what, r->with, OC_OPTS_DEFER_TEMPLATES, NULL,
                         v->diag);
}

/* The position of key in step i's mapping (for messages), or the step's. */
static const struct oc_pos *oc_step_key_pos(const struct oc_workflow *w, size_t i,
                                            const char *key)
{
    const struct oc_node *steps = oc_node_get(w->node, "steps");
    const struct oc_node *n = steps && i < steps->len ? oc_node_get(steps->items[i], key)
                                                      : NULL;
    return n ? &n->pos : &w->steps[i].pos;
}

static size_t oc_step_index(const struct oc_workflow *w, const char *id)
{
    for (size_t i = 0; i < w->n_steps; i++)
        if (w->steps[i].id && !strcmp(w->steps[i].id, id))
            return i;
    return SIZE_MAX;
}

static void oc_check_needs(struct oc_vc *v, struct oc_workflow *w)
{
    const char **ids = oc_xcalloc(w->n_steps + 1, sizeof *ids);
    for (size_t i = 0; i < w->n_steps; i++) {
        ids[i] = w->steps[i].id ? w->steps[i].id : "";
        for (size_t j = 0; j < i; j++)
            if (w->steps[i].id && !strcmp(ids[j], ids[i]))
                oc_diag_add(v->diag, &w->steps[i].pos,
                            "workflow %s: duplicate step id '%s' (first at line %u)", w->name,
                            ids[i], w->steps[j].pos.line);
    }
    for (size_t i = 0; i < w->n_steps; i++) {
        struct oc_step *st = &w->steps[i];
        st->need_idx = oc_xcalloc(st->n_needs + 1, sizeof *st->need_idx);
        for (size_t k = 0; k < st->n_needs; k++) {
            size_t j = oc_step_index(w, st->needs[k]);
            st->need_idx[k] = j;
            const struct oc_pos *np = oc_step_key_pos(w, i, "needs");
            if (j == i) {
                oc_diag_add(v->diag, np, "step %s needs itself", st->id);
            } else if (j == SIZE_MAX) {
                const char *near = oc_closest(st->needs[k], ids, w->n_steps);
                oc_diag_add(v->diag, np, "step %s needs '%s', which is not a step of "
                                               "workflow %s%s%s%s",
                            st->id, st->needs[k], w->name, near ? " (did you mean '" : "",
                            near ? near : "", near ? "'?)" : "");
            }
        }
    }
    free(ids);
}

/* Kahn's algorithm; what is left over lies on or behind a cycle, which is
 * then walked to name it. */
static int oc_order(struct oc_vc *v, struct oc_workflow *w)
{
    size_t n = w->n_steps;
    size_t *indeg = oc_xcalloc(n, sizeof *indeg);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < w->steps[i].n_needs; k++)
            if (w->steps[i].need_idx[k] < n && w->steps[i].need_idx[k] != i)
                indeg[i]++;
    w->order = oc_xcalloc(n, sizeof *w->order);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i])
            w->order[tail++] = i;
    while (head < tail) {
        size_t u = w->order[head++];
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < w->steps[i].n_needs; k++)
                if (w->steps[i].need_idx[k] == u && --indeg[i] == 0)
                    w->order[tail++] = i;
    }
    int rc = 0;
    if (tail < n) {
        /* Follow unresolved needs from a leftover step until one repeats. */
        size_t start = 0;
        while (!indeg[start])
            start++;
        char *seen = oc_xcalloc(n, 1);
        size_t cur = start;
        while (!seen[cur]) {
            seen[cur] = 1;
            for (size_t k = 0; k < w->steps[cur].n_needs; k++) {
                size_t j = w->steps[cur].need_idx[k];
                if (j < n && indeg[j]) {
                    cur = j;
                    break;
                }
            }
        }
        struct oc_buf b = {0};
        size_t at = cur;
        do {
            oc_buf_addf(&b, "%s -> ", w->steps[at].id);
            for (size_t k = 0; k < w->steps[at].n_needs; k++) {
                size_t j = w->steps[at].need_idx[k];
                if (j < n && indeg[j]) {
                    at = j;
                    break;
                }
            }
        } while (at != cur);
        oc_buf_adds(&b, w->steps[cur].id);
        oc_diag_add(v->diag, &w->steps[cur].pos, "workflow %s: needs form a cycle: %s",
                    w->name, b.data);
        oc_buf_free(&b);
        free(seen);
        rc = -1;
    }
    free(indeg);
    return rc;
}

/* Whether step a (transitively) needs step b. A walk with a stack of its
 * own: recursion went as deep as the chain of needs is long (a chain of
 * 100,000 steps overflowed it). Each step is pushed once (seen). */
static int oc_depends_on(const struct oc_workflow *w, size_t a, size_t b, char *seen)
{
    size_t *stack = oc_xcalloc(w->n_steps + 1, sizeof *stack), top = 0;
    int found = 0;
    stack[top++] = a;
    while (top && !found) {
        const struct oc_step *st = &w->steps[stack[--top]];
        for (size_t k = 0; k < st->n_needs && !found; k++) {
            size_t j = st->need_idx[k];
            if (j >= w->n_steps || seen[j])
                continue;
            seen[j] = 1;
            found = j == b;
            stack[top++] = j;
        }
    }
    free(stack);
    return found;
}

/* Where a template is: a step's with/env/if, the workflow's env:, or one
 * of the workflow's outputs:. Each sees different references. */
enum oc_ref_site { OC_REF_STEP, OC_REF_WF_ENV, OC_REF_OUTPUT, OC_REF_CGROUP };

struct oc_refctx {
    struct oc_vc *v;
    const struct oc_workflow *w;
    enum oc_ref_site site;
    size_t step;                 /* OC_REF_STEP: its index */
    const char *label;           /* "step ID", "workflow W", "workflow W, output O" */
    const struct oc_pos *pos;
    int in_matrix;               /* the step's strategy.matrix itself: no matrix.KEY */
    int hash_ok;                 /* hashFiles() allowed: a run step's with: and env: */
};

/* steps.ID or needs.ID (ns), found: the rest must be outputs.NAME or result. */
static void oc_check_step_ref_shape(struct oc_refctx *c, const char *ns,
                                    const char *const *parts, size_t n)
{
    if ((n == 3 && !strcmp(parts[1], "outputs")) || (n == 2 && !strcmp(parts[1], "result")))
        return;
    oc_diag_add(c->v->diag, c->pos, "%s: write %s.%s.outputs.NAME or %s.%s.result", c->label,
                ns, parts[0], ns, parts[0]);
}

static int oc_ref_cb(void *ud, const char *ns, const char *const *parts, size_t n)
{
    struct oc_refctx *c = ud;
    const struct oc_workflow *w = c->w;
    const char *who = c->label;
    /* Rendered when the run is created, before anything else exists. */
    if (c->site == OC_REF_CGROUP && strcmp(ns, "inputs")) {
        oc_diag_add(c->v->diag, c->pos, "%s: may use only inputs.NAME and literals (it is "
                                        "rendered before the run starts), not %s%s%s",
                    who, ns, n ? "." : "", n ? parts[0] : "");
        return 0;
    }
    if (!strcmp(ns, "inputs")) {
        for (size_t i = 0; i < w->n_inputs; i++)
            if (n && !strcmp(w->inputs[i].name, parts[0]))
                return 0;
        oc_diag_add(c->v->diag, c->pos, "%s: inputs.%s is not an input of workflow %s",
                    who, n ? parts[0] : "", w->name);
        return 0;
    }
    if (!strcmp(ns, "steps") && c->site == OC_REF_WF_ENV) {
        oc_diag_add(c->v->diag, c->pos, "workflow %s: env: cannot use steps.%s (the "
                                        "workflow's env: is set before any step runs; use "
                                        "the step's env:)",
                    w->name, n ? parts[0] : "");
        return 0;
    }
    if (!strcmp(ns, "event")) {
        oc_diag_add(c->v->diag, c->pos, "%s: event.%s is a webhook delivery's: map it to an "
                                        "input in the webhook's inputs: and use inputs.NAME",
                    who, n ? parts[0] : "");
        return 0;
    }
    if (!strcmp(ns, "secrets") && c->site == OC_REF_STEP && oc_call_ref(w->steps[c->step].uses)) {
        oc_diag_add(c->v->diag, c->pos, "%s: cannot pass secrets.%s to a child run (its "
                                        "inputs are stored with it and shown by orch runs "
                                        "show): the called workflow reads secrets.%s itself",
                    who, n ? parts[0] : "", n ? parts[0] : "");
        return 0;
    }
    if (!strcmp(ns, "secrets") && c->site == OC_REF_OUTPUT) {
        oc_diag_add(c->v->diag, c->pos, "%s: cannot use secrets.%s (a run's outputs are "
                                        "shown by orch runs show and the API)",
                    who, n ? parts[0] : "");
        return 0;
    }
    if (!strcmp(ns, "run")) {
        if (n != 1 || (strcmp(parts[0], "id") && strcmp(parts[0], "workflow")))
            oc_diag_add(c->v->diag, c->pos, "%s: write run.id or run.workflow", who);
        return 0;
    }
    if (!strcmp(ns, "matrix")) {
        const struct oc_step *st = c->site == OC_REF_STEP ? &w->steps[c->step] : NULL;
        if (!st || !st->strategy.matrix || c->in_matrix)
            oc_diag_add(c->v->diag, c->pos, "%s: matrix.%s: %s", who, n ? parts[0] : "",
                        c->in_matrix ? "a matrix cannot use its own values"
                        : st         ? "this step has no strategy.matrix"
                                     : "there is a matrix only in a step with "
                                       "strategy.matrix");
        else if (n != 1)
            oc_diag_add(c->v->diag, c->pos, "%s: write matrix.KEY", who);
        return 0;
    }
    if (!strcmp(ns, "needs")) {
        const struct oc_step *st = c->site == OC_REF_STEP ? &w->steps[c->step] : NULL;
        int direct = 0;
        for (size_t k = 0; st && n && k < st->n_needs; k++)
            direct |= !strcmp(st->needs[k], parts[0]);
        if (!direct)
            oc_diag_add(c->v->diag, c->pos, "%s: needs.%s: %s", who, n ? parts[0] : "",
                        st ? "not one of this step's needs (list it in needs:, or write "
                             "steps.ID for a step needed through another)"
                           : "there are needs only in a step");
        else
            oc_check_step_ref_shape(c, ns, parts, n);
        return 0;
    }
    if (!strcmp(ns, "steps")) {
        size_t j = n ? oc_step_index(w, parts[0]) : SIZE_MAX;
        if (j == SIZE_MAX) {
            oc_diag_add(c->v->diag, c->pos, "%s: steps.%s is not a step of workflow %s",
                        who, n ? parts[0] : "", w->name);
            return 0;
        }
        /* Outputs are evaluated once every step has ended: any step. */
        int dep = c->site == OC_REF_OUTPUT;
        if (!dep) {
            char *seen = oc_xcalloc(w->n_steps, 1);
            dep = oc_depends_on(w, c->step, j, seen);
            free(seen);
        }
        if (!dep)
            oc_diag_add(c->v->diag, c->pos, "%s: uses steps.%s, so it must list %s in "
                                            "its needs (directly or through another step)",
                        who, parts[0], parts[0]);
        else
            oc_check_step_ref_shape(c, ns, parts, n);
        return 0;
    }
    if (n != 1)
        oc_diag_add(c->v->diag, c->pos, "%s: write %s.NAME", who, ns);
    return 0;
}

static void oc_check_text(struct oc_refctx *c, const char *s, int is_expr,
                          const struct oc_pos *pos)
{
    char *err = NULL;
    c->pos = pos;
    if (oc_template_refs(s, is_expr, oc_ref_cb, c, &err) != 0 && err)
        oc_diag_add(c->v->diag, pos, "%s: %s", c->label, err);
    else if (!c->hash_ok && oc_template_calls(s, is_expr, "hashFiles"))
        oc_diag_add(c->v->diag, pos, "%s: hashFiles() reads the files of the step's "
                    "instance, so it is only in the with: and env: of a step that runs "
                    "on one (not in if:, a matrix, outputs, a workflow's env:, an approval "
                    "or a call)", c->label);
    free(err);
}

static void oc_check_tree(struct oc_refctx *c, const struct oc_node *n)
{
    if (!n)
        return;
    if (n->kind == OC_NODE_SCALAR && oc_template_has(n->str))
        oc_check_text(c, n->str, 0, &n->pos);
    for (size_t i = 0; i < n->len; i++)
        oc_check_tree(c, n->items[i]);
}

static void oc_check_outputs(struct oc_vc *v, const struct oc_workflow *w)
{
    for (size_t i = 0; w->outputs && i < w->outputs->len; i++) {
        char *label = oc_xasprintf("workflow %s, output %s", w->name,
                                   w->outputs->keys[i]->str);
        struct oc_refctx c = {v, w, OC_REF_OUTPUT, SIZE_MAX, label, &w->outputs->items[i]->pos, 0, 0};
        oc_check_tree(&c, w->outputs->items[i]);
        free(label);
    }
}

/* A static matrix is expanded here as the engine will (core/matrix.c):
 * its limit, an empty result or a bad shape refuse the file at the
 * matrix's position. A dynamic one is expanded when the step is ready. */
static void oc_check_matrix(struct oc_vc *v, const struct oc_step *st, const char *what)
{
    const struct oc_node *m = st->strategy.matrix;
    if (m->kind != OC_NODE_MAP)
        return;
    for (size_t i = 0; i < m->len; i++)
        if (m->items[i]->kind == OC_NODE_SCALAR && oc_template_has(m->items[i]->str))
            return;
    json_t *mj = oc_strategy_matrix_json(m), *combos = NULL;
    char *why = NULL;
    json_t *names = NULL;
    if (oc_matrix_expand(mj, st->strategy.limit, &combos, &why) != 0 ||
        oc_matrix_names(st->id, combos, &names, &why) != 0)
        oc_diag_add(v->diag, &m->pos, "%s: strategy.matrix: %s", what, why);
    free(why);
    json_decref(names);
    json_decref(combos);
    json_decref(mj);
}

static void oc_check_step(struct oc_vc *v, struct oc_workflow *w, size_t i)
{
    struct oc_step *st = &w->steps[i];
    char *what = oc_xasprintf("step %s", st->id ? st->id : "?");
    int call = oc_call_ref(st->uses);
    if (call) {
        /* The core's `workflow` step stands for it, so every part that
         * asks a step's plugin (listings, logs, caps) has one. */
        st->call = oc_call_resolve(v->cfg, w, st->uses, oc_step_key_pos(w, i, "uses"), what,
                                   v->diag);
        st->plugin = oc_resolve(v, ORCH_KIND_STEP, OC_CALL_STEP_NAME, &st->pos, what);
        if (st->call)
            oc_call_check_with(st->call, st, what, v->diag);
        if (st->backend)
            oc_diag_add(v->diag, oc_step_key_pos(w, i, "backend"), "%s: a call step has no "
                        "backend: workflow %s's steps choose theirs", what,
                        st->call ? st->call->name : st->uses);
    } else if (st->uses && !strcmp(st->uses, OC_CALL_STEP_NAME)) {
        oc_diag_add(v->diag, oc_step_key_pos(w, i, "uses"), "%s: uses: %s needs the workflow "
                    "to run: write workflow:NAME or ./FILE#NAME", what, st->uses);
    } else if (st->uses) {
        st->plugin = oc_resolve(v, ORCH_KIND_STEP, st->uses,
                                oc_step_key_pos(w, i, "uses"), what);
    }
    oc_run_defaults_apply(v->cfg, w, st);
    if (st->plugin && !call)
        oc_options_apply(st->plugin->desc, what, st->with, OC_OPTS_DEFER_TEMPLATES, NULL,
                         v->diag);
    const char *bname = st->backend ? st->backend : w->backend;
    if (bname && !oc_config_backend(v->cfg, bname))
        oc_diag_add(v->diag, st->backend ? oc_step_key_pos(w, i, "backend") : &w->pos,
                    "%s: no backend named '%s'", what, bname);
    else if (st->plugin && (st->plugin->desc->caps & ORCH_STEP_CAP_NEEDS_BACKEND) &&
             !oc_step_backend(v->cfg, w, st))
        oc_diag_add(v->diag, &st->pos, "%s: plugin %s runs on a backend, but there is no "
                                       "backend '%s'",
                    what, st->uses, v->cfg->default_backend);
    oc_lint_step(v->cfg, st, v->diag);
    struct oc_refctx c = {v, w, OC_REF_STEP, i, what, &st->pos, 0, 0};
    c.hash_ok = st->plugin && !(st->plugin->desc->caps & ORCH_STEP_CAP_ENGINE_DECIDED);
    oc_check_tree(&c, st->with);
    oc_check_tree(&c, st->env);
    c.hash_ok = 0;
    if (st->if_expr)
        oc_check_text(&c, st->if_expr, 1, oc_step_key_pos(w, i, "if"));
    if (st->strategy.matrix) {
        c.in_matrix = 1;
        oc_check_tree(&c, st->strategy.matrix);
        oc_check_matrix(v, st, what);
    }
    free(what);
}

int oc_config_validate(struct oc_config *cfg, struct oc_registry *reg,
                       struct oc_diag *diag)
{
    size_t before = diag->n;
    struct oc_vc v = {cfg, reg, diag};
    oc_check_ref(&v, &cfg->store, ORCH_KIND_STORE, "store");
    if (cfg->store.plugin && !(cfg->store.plugin->desc->caps & ORCH_STORE_CAP_RUNS))
        oc_diag_add(diag, &cfg->store.pos, "store: plugin '%s' cannot hold runs (it lacks "
                                           "the runs capability); use it under artifacts:",
                    cfg->store.uses);
    if (cfg->artifacts.uses) {
        oc_check_ref(&v, &cfg->artifacts, ORCH_KIND_STORE, "artifacts");
        if (cfg->artifacts.plugin && !(cfg->artifacts.plugin->desc->caps & ORCH_STORE_CAP_BLOBS))
            oc_diag_add(diag, &cfg->artifacts.pos, "artifacts: plugin '%s' cannot hold blobs",
                        cfg->artifacts.uses);
    }
    for (size_t i = 0; i < cfg->n_backends; i++) {
        char *what = oc_xasprintf("backend %s", cfg->backends[i].name);
        oc_check_ref(&v, &cfg->backends[i], ORCH_KIND_BACKEND, what);
        free(what);
    }
    if (!oc_config_backend(cfg, cfg->default_backend)) {
        const struct oc_node *df = oc_node_get(cfg->root, "defaults");
        const struct oc_node *b = oc_node_get(df, "backend");
        oc_diag_add(diag, b ? &b->pos : NULL, "defaults.backend: no backend named '%s'",
                    cfg->default_backend);
    }
    for (size_t i = 0; i < cfg->n_workflows; i++) {
        struct oc_workflow *w = &cfg->workflows[i];
        if (w->backend && !oc_config_backend(cfg, w->backend))
            oc_diag_add(diag, &w->pos, "workflow %s: no backend named '%s'", w->name,
                        w->backend);
        oc_check_needs(&v, w);
        if (oc_order(&v, w) != 0)
            continue;
        char *label = oc_xasprintf("workflow %s", w->name);
        struct oc_refctx wc = {&v, w, OC_REF_WF_ENV, SIZE_MAX, label, &w->pos, 0, 0};
        oc_check_tree(&wc, w->env);
        for (size_t j = 0; j < w->n_steps; j++)
            oc_check_step(&v, w, j);
        oc_check_outputs(&v, w);
        if (w->cgroup.key) {
            char *cl = oc_xasprintf("workflow %s, concurrency_group.key", w->name);
            struct oc_refctx cc = {&v, w, OC_REF_CGROUP, SIZE_MAX, cl, &w->cgroup.pos, 0, 0};
            if (oc_template_has(w->cgroup.key))
                oc_check_text(&cc, w->cgroup.key, 0, &w->cgroup.pos);
            free(cl);
        }
        free(label);
    }
    oc_calls_check_graph(cfg, diag);
    return diag->n != before ? -1 : 0;
}

struct oc_config *oc_config_load(const char *path, struct oc_registry *reg,
                                 struct oc_diag *diag)
{
    size_t before = diag->n;
    struct oc_config *cfg = oc_config_parse_file_partial(path, diag);
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < cfg->n_plugin_paths; i++)
        oc_registry_add_path(reg, cfg->plugin_paths[i]);
    /* Validated even when the shape had errors: every error in one pass. */
    if (oc_config_validate(cfg, reg, diag) != 0 || diag->n != before) {
        oc_config_free(cfg);
        return NULL;
    }
    return cfg;
}
