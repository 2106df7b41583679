/* The workflows: mapping of a file to struct oc_workflow: each workflow's
 * keys and steps (shapes, types and unknown keys); its inputs in
 * inputs.c. Plugins, needs and references are checked by validate.c. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void oc_retry_read(struct oc_cfg_reader *b, struct oc_retry *r, const struct oc_node *n,
                          const char *what)
{
    *r = (struct oc_retry){.attempts = 1, .backoff_ms = 1000, .max_backoff_ms = 60000,
                           .factor = 2.0};
    if (!n || n->kind == OC_NODE_NULL)
        return;
    if (n->kind == OC_NODE_SCALAR) {
        r->attempts = (uint32_t)oc_node_uint(b, n, 1, 1, 1000, what);
        return;
    }
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a number of attempts or a mapping", what);
        return;
    }
    static const char *const keys[] = {"attempts", "backoff", "max_backoff", "factor",
                                       "max_elapsed", NULL};
    oc_cfg_check_keys(n, keys, what, b->diag);
    r->attempts = (uint32_t)oc_get_uint(b, n, "attempts", 3, 1, 1000, what);
    r->backoff_ms = oc_get_duration(b, n, "backoff", 1000, what);
    r->max_backoff_ms = oc_get_duration(b, n, "max_backoff", 60000, what);
    r->max_elapsed_ms = oc_get_duration(b, n, "max_elapsed", 0, what);
    const struct oc_node *f = oc_node_get(n, "factor");
    const char *fs = oc_scalar(b, f, what);
    if (fs) {
        char *end;
        r->factor = strtod(fs, &end);
        if (end == fs || *end || r->factor < 1.0 || r->factor > 10.0) {
            oc_diag_add(b->diag, &f->pos, "%s: factor must be a number from 1 to 10", what);
            r->factor = 2.0;
        }
    }
}

static int oc_valid_id(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static void oc_step_read(struct oc_cfg_reader *b, struct oc_step *st, const struct oc_node *n,
                         const char *wf, size_t idx)
{
    static const char *const keys[] = {"id", "uses", "with", "needs", "backend", "if",
                                       "log_limit",
                                       "timeout", "retry", "continue_on_error",
                                       "on_unknown", "env", "strategy", NULL};
    st->pos = n->pos;
    char *what = oc_xasprintf("workflow %s, step %zu", wf, idx + 1);
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping (id, uses, with, ...)", what);
        free(what);
        return;
    }
    st->id = oc_dup_scalar(b, n, "id", what);
    if (!st->id) {
        oc_diag_add(b->diag, &n->pos, "%s: 'id' is required", what);
    } else if (!oc_valid_id(st->id)) {
        oc_diag_add(b->diag, &oc_node_get(n, "id")->pos,
                    "%s: id '%s' may only use letters, digits, '_' and '-'", what, st->id);
    } else {
        free(what);
        what = oc_xasprintf("step %s", st->id);
    }
    oc_cfg_check_keys(n, keys, what, b->diag);
    st->uses = oc_dup_scalar(b, n, "uses", what);
    if (!st->uses)
        oc_diag_add(b->diag, &n->pos, "%s: 'uses' is required (the step plugin, e.g. exec)",
                    what);
    st->with = oc_node_get(n, "with");
    st->env = oc_env_map_read(b, n, what);
    st->needs = oc_get_names(b, oc_node_get(n, "needs"), &st->n_needs, what);
    st->backend = oc_dup_scalar(b, n, "backend", what);
    st->if_expr = oc_dup_scalar(b, n, "if", what);
    st->timeout_ms = oc_get_duration(b, n, "timeout", 0, what);
    /* 0: the workflow's, filled in by oc_workflow_read. */
    st->log_limit = oc_get_size(b, n, "log_limit", 0, OC_LOG_LIMIT_MIN, OC_LOG_LIMIT_MAX, what);
    oc_retry_read(b, &st->retry, oc_node_get(n, "retry"), what);
    st->continue_on_error = oc_get_bool(b, n, "continue_on_error", 0, what);
    oc_strategy_read(b, &st->strategy, n, what);
    const struct oc_node *ou = oc_node_get(n, "on_unknown");
    const char *ous = oc_scalar(b, ou, what);
    st->on_unknown = OC_ON_UNKNOWN_RETRY;
    if (ous && !strcmp(ous, "fail"))
        st->on_unknown = OC_ON_UNKNOWN_FAIL;
    else if (ous && !strcmp(ous, "ask"))
        st->on_unknown = OC_ON_UNKNOWN_ASK;
    else if (ous && strcmp(ous, "retry"))
        oc_diag_add(b->diag, &ou->pos, "%s: on_unknown must be retry, fail or ask", what);
    free(what);
}

/* outputs: NAME: template. The templates are checked by validate.c. */
static const struct oc_node *oc_outputs_read(struct oc_cfg_reader *b, const struct oc_node *n,
                                             const char *what)
{
    if (!n || n->kind == OC_NODE_NULL)
        return NULL;
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s: outputs must be a mapping of NAME: value", what);
        return NULL;
    }
    for (size_t i = 0; i < n->len; i++) {
        const char *name = n->keys[i]->str;
        if (!oc_valid_id(name) || (name[0] >= '0' && name[0] <= '9') || name[0] == '-') {
            oc_diag_add(b->diag, &n->keys[i]->pos, "%s: output name '%s' must start with a "
                                                   "letter or '_' and hold only letters, "
                                                   "digits, '_' and '-'",
                        what, name);
        }
        if (n->items[i]->kind != OC_NODE_SCALAR)
            oc_diag_add(b->diag, &n->items[i]->pos, "%s: output %s must be a string (a "
                                                    "template such as ${{ steps.ID.outputs."
                                                    "NAME }})",
                        what, name);
    }
    return n; /* the templates are still checked: every error in one pass */
}

static void oc_workflow_read(struct oc_cfg_reader *b, struct oc_workflow *w, const char *name,
                             const struct oc_node *n)
{
    static const char *const keys[] = {"description", "concurrency", "backend", "inputs",
                                       "log_limit", "timeout", "outputs",
                                       "concurrency_group", "steps", "env", "defaults",
                                       NULL};
    w->name = oc_xstrdup(name);
    w->pos = n->pos;
    char *what = oc_xasprintf("workflow %s", name);
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping with 'steps'", what);
        free(what);
        return;
    }
    oc_cfg_check_keys(n, keys, what, b->diag);
    w->description = oc_dup_scalar(b, n, "description", what);
    w->concurrency = (uint32_t)oc_get_uint(b, n, "concurrency", 0, 1, 1024, what);
    w->backend = oc_dup_scalar(b, n, "backend", what);
    w->log_limit = oc_get_size(b, n, "log_limit", b->cfg->log_limit, OC_LOG_LIMIT_MIN,
                               OC_LOG_LIMIT_MAX, what);
    w->env = oc_env_map_read(b, n, what);
    w->timeout_ms = oc_get_duration(b, n, "timeout", 0, what);
    w->outputs = oc_outputs_read(b, oc_node_get(n, "outputs"), what);
    oc_cgroup_read(b, w, n, what);
    static const char *const dkeys[] = {"run", NULL};
    char *dwhat = oc_xasprintf("%s: defaults", what);
    const struct oc_node *df = oc_get_map(b, n, "defaults", dwhat);
    oc_cfg_check_keys(df, dkeys, dwhat, b->diag);
    w->run_shell = oc_run_defaults_read(b, df, dwhat);
    free(dwhat);
    oc_inputs_read(b, w, n, what);
    const struct oc_node *steps = oc_node_get(n, "steps");
    if (!steps || steps->kind != OC_NODE_SEQ || steps->len == 0) {
        oc_diag_add(b->diag, steps ? &steps->pos : &n->pos,
                    "%s: 'steps' must be a non-empty list", what);
    } else if (steps->len > OC_MAX_STEPS) {
        /* Validation and the engine compare steps pairwise: bounded here,
         * a 16 MiB file of 100,000 steps cannot keep them busy for hours. */
        oc_diag_add(b->diag, &steps->items[OC_MAX_STEPS]->pos,
                    "%s has %zu steps; the limit is %d", what, steps->len, OC_MAX_STEPS);
    } else {
        w->steps = oc_xcalloc(steps->len, sizeof *w->steps);
        w->n_steps = steps->len;
        for (size_t i = 0; i < steps->len; i++)
            oc_step_read(b, &w->steps[i], steps->items[i], name, i);
        for (size_t i = 0; i < w->n_steps; i++)
            if (!w->steps[i].log_limit)
                w->steps[i].log_limit = w->log_limit; /* step over workflow over defaults */
    }
    free(what);
}

void oc_workflows_read(struct oc_cfg_reader *b, const struct oc_node *root,
                       const struct oc_config_file *file)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *key = oc_node_get(root, "workflows");
    const struct oc_node *wf = oc_get_map(b, root, "workflows", "workflows");
    /* 'workflows:' with nothing after it is the empty mapping, not no key:
     * a file that says it holds workflows and holds none is a mistake. */
    if (key && (key->kind == OC_NODE_NULL || (wf && !wf->len))) {
        oc_diag_add(b->diag, &key->pos, "no workflows: this 'workflows:' mapping is empty "
                                        "(add at least one workflow, or remove it)");
        return;
    }
    if (!wf)
        return;
    cfg->workflows = oc_xrealloc(cfg->workflows,
                                 (cfg->n_workflows + wf->len) * sizeof *cfg->workflows);
    memset(cfg->workflows + cfg->n_workflows, 0, wf->len * sizeof *cfg->workflows);
    for (size_t i = 0; i < wf->len; i++) {
        struct oc_workflow *w = &cfg->workflows[cfg->n_workflows++];
        oc_workflow_read(b, w, wf->keys[i]->str, wf->items[i]);
        w->name_pos = wf->keys[i]->pos;
        w->node = wf->items[i];
        w->file = file;
    }
}

/* By name, then in the order read (the main file first, then the files
 * by name), so that the first of a name is the one read first. */
static int oc_workflow_cmp(const void *a, const void *b)
{
    const struct oc_workflow *x = *(const struct oc_workflow *const *)a;
    const struct oc_workflow *y = *(const struct oc_workflow *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x > y) - (x < y);
}

void oc_workflows_unique(struct oc_cfg_reader *b)
{
    /* Sorted, not compared pairwise: a directory of files may hold many
     * thousands of workflows. One file's duplicates the parser refused. */
    struct oc_config *cfg = b->cfg;
    if (cfg->n_workflows < 2)
        return;
    const struct oc_workflow **by = oc_xcalloc(cfg->n_workflows, sizeof *by);
    for (size_t i = 0; i < cfg->n_workflows; i++)
        by[i] = &cfg->workflows[i];
    qsort(by, cfg->n_workflows, sizeof *by, oc_workflow_cmp);
    const struct oc_workflow *first = by[0];
    for (size_t i = 1; i < cfg->n_workflows; i++) {
        if (strcmp(by[i]->name, first->name)) {
            first = by[i];
            continue;
        }
        const struct oc_pos *at = &first->name_pos;
        oc_diag_add(b->diag, &by[i]->name_pos, "workflow '%s' is defined twice: here and at "
                    "%s:%u:%u", by[i]->name, at->file ? at->file : cfg->path, at->line, at->col);
    }
    free(by);
}

void oc_workflows_free(struct oc_config *cfg)
{
    for (size_t i = 0; i < cfg->n_workflows; i++) {
        struct oc_workflow *w = &cfg->workflows[i];
        oc_inputs_free(w);
        for (size_t j = 0; j < w->n_steps; j++) {
            struct oc_step *s = &w->steps[j];
            free(s->id);
            free(s->uses);
            for (size_t k = 0; k < s->n_needs; k++)
                free(s->needs[k]);
            free(s->needs);
            free(s->backend);
            free(s->if_expr);
            free(s->need_idx);
        }
        free(w->steps);
        free(w->order);
        free(w->name);
        free(w->description);
        free(w->backend);
        free(w->cgroup.key);
    }
    free(cfg->workflows);
}
