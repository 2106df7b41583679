/* The tree of a workflow file to struct oc_config: shapes, types and
 * unknown keys. Plugins, needs and references are checked by validate.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void oc_plugin_ref_read(struct oc_cfg_reader *b, struct oc_plugin_ref *r,
                               const char *name, const struct oc_node *n,
                               const char *what)
{
    static const char *const keys[] = {"uses", "with", NULL};
    static const char *const store_keys[] = {"uses", "with", "migrate", NULL};
    r->name = oc_xstrdup(name);
    r->pos = n->pos;
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping with 'uses' and 'with'", what);
        return;
    }
    int is_store = !strcmp(what, "store");
    oc_cfg_check_keys(n, is_store ? store_keys : keys, what, b->diag);
    r->uses = oc_dup_scalar(b, n, "uses", what);
    if (!r->uses)
        oc_diag_add(b->diag, &n->pos, "%s: 'uses' is required (the plugin name)", what);
    r->with = oc_node_get(n, "with");
    const struct oc_node *m = is_store ? oc_node_get(n, "migrate") : NULL;
    if (m) {
        if (m->kind == OC_NODE_SCALAR && !strcmp(m->str, "on_start"))
            r->migrate = OC_MIGRATE_ON_START;
        else if (m->kind == OC_NODE_SCALAR && !strcmp(m->str, "manual"))
            r->migrate = OC_MIGRATE_MANUAL;
        else
            oc_diag_add(b->diag, &m->pos, "store: migrate must be on_start or manual");
    }
}

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
                                       "on_unknown", "env", NULL};
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

static void oc_workflow_read(struct oc_cfg_reader *b, struct oc_workflow *w, const char *name,
                             const struct oc_node *n)
{
    static const char *const keys[] = {"description", "concurrency", "backend", "inputs",
                                       "log_limit",
                                       "steps", "env", NULL};
    static const char *const in_keys[] = {"default", "required", "description", NULL};
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
    const struct oc_node *in = oc_get_map(b, n, "inputs", what);
    if (in) {
        w->inputs = oc_xcalloc(in->len + 1, sizeof *w->inputs);
        for (size_t i = 0; i < in->len; i++) {
            struct oc_input_decl *d = &w->inputs[w->n_inputs++];
            const struct oc_node *v = in->items[i];
            d->name = oc_xstrdup(in->keys[i]->str);
            d->pos = in->keys[i]->pos;
            if (v->kind == OC_NODE_NULL)
                continue;
            char *iw = oc_xasprintf("%s, input %s", what, d->name);
            if (v->kind != OC_NODE_MAP) {
                oc_diag_add(b->diag, &v->pos, "%s must be a mapping (default, required, "
                                              "description)", iw);
            } else {
                oc_cfg_check_keys(v, in_keys, iw, b->diag);
                d->default_value = oc_dup_scalar(b, v, "default", iw);
                d->required = oc_get_bool(b, v, "required", 0, iw);
                d->description = oc_dup_scalar(b, v, "description", iw);
            }
            free(iw);
        }
    }
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

/* Plugin directories are relative to the file that names them. */
static char *oc_rel_to_file(const char *file, const char *p)
{
    if (p[0] == '/')
        return oc_xstrdup(p);
    char *copy = oc_xstrdup(file);
    char *r = oc_xasprintf("%s/%s", dirname(copy), p);
    free(copy);
    return r;
}

static void oc_version_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    const struct oc_node *v = oc_node_get(root, "version");
    const char *vs = oc_scalar(b, v, "version");
    if (!v)
        oc_diag_add(b->diag, &root->pos, "'version: 1' is required");
    else if (vs && strcmp(vs, "1"))
        oc_diag_add(b->diag, &v->pos, "unsupported version '%s' (this orch reads version 1)", vs);
}

/* plugins.path: directories searched before the default ones. */
static void oc_plugins_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *pl = oc_get_map(b, root, "plugins", "plugins");
    if (!pl)
        return;
    static const char *const pkeys[] = {"path", NULL};
    oc_cfg_check_keys(pl, pkeys, "plugins", b->diag);
    size_t n;
    char **paths = oc_get_names(b, oc_node_get(pl, "path"), &n, "plugins.path");
    for (size_t i = 0; i < n; i++) {
        char *abs = oc_rel_to_file(cfg->path, paths[i]);
        free(paths[i]);
        paths[i] = abs;
    }
    cfg->plugin_paths = paths;
    cfg->n_plugin_paths = n;
}

/* store: (the embedded default when absent) and artifacts: (optional). */
static void oc_stores_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *st = oc_node_get(root, "store");
    if (st && st->kind != OC_NODE_NULL) {
        oc_plugin_ref_read(b, &cfg->store, "store", st, "store");
    } else {
        cfg->store.name = oc_xstrdup("store");
        cfg->store.uses = oc_xstrdup("sqlite");
        cfg->store.pos = root->pos;
    }
    const struct oc_node *ar = oc_node_get(root, "artifacts");
    if (ar && ar->kind != OC_NODE_NULL)
        oc_plugin_ref_read(b, &cfg->artifacts, "artifacts", ar, "artifacts");
}

/* backends: by name; one local backend named "local" when absent. */
static void oc_backends_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *be = oc_get_map(b, root, "backends", "backends");
    if (be && be->len) {
        cfg->backends = oc_xcalloc(be->len, sizeof *cfg->backends);
        for (size_t i = 0; i < be->len; i++) {
            char *what = oc_xasprintf("backend %s", be->keys[i]->str);
            oc_plugin_ref_read(b, &cfg->backends[cfg->n_backends++], be->keys[i]->str,
                               be->items[i], what);
            free(what);
        }
        return;
    }
    cfg->backends = oc_xcalloc(1, sizeof *cfg->backends);
    cfg->backends[0] = (struct oc_plugin_ref){.name = oc_xstrdup("local"),
                                              .uses = oc_xstrdup("local"),
                                              .pos = root->pos};
    cfg->n_backends = 1;
}

/* defaults: after backends (the default backend is the first one). */
static void oc_defaults_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *df = oc_get_map(b, root, "defaults", "defaults");
    static const char *const dkeys[] = {"backend", "concurrency", "state_dir",
                                        "log_limit", "host_paths", NULL};
    oc_cfg_check_keys(df, dkeys, "defaults", b->diag);
    cfg->concurrency = (uint32_t)oc_get_uint(b, df, "concurrency", 4, 1, 1024,
                                             "defaults.concurrency");
    cfg->default_backend = oc_dup_scalar(b, df, "backend", "defaults.backend");
    cfg->log_limit = oc_get_size(b, df, "log_limit", OC_LOG_LIMIT_DEFAULT, OC_LOG_LIMIT_MIN,
                                 OC_LOG_LIMIT_MAX, "defaults");
    if (!cfg->default_backend)
        cfg->default_backend = oc_xstrdup(cfg->backends[0].name);
    char *sd = oc_dup_scalar(b, df, "state_dir", "defaults.state_dir");
    if (sd) {
        cfg->state_dir = oc_rel_to_file(cfg->path, sd);
        free(sd);
    }
    oc_host_paths_read(b, df);
}

/* workflows: at least one. 0 when there is none (said in the diag). */
static int oc_workflows_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *wf = oc_get_map(b, root, "workflows", "workflows");
    if (!wf || !wf->len) {
        oc_diag_add(b->diag, wf ? &wf->pos : &root->pos, "no workflows: add a 'workflows:' "
                                                        "mapping with at least one workflow");
        return 0;
    }
    cfg->workflows = oc_xcalloc(wf->len, sizeof *cfg->workflows);
    for (size_t i = 0; i < wf->len; i++)
        oc_workflow_read(b, &cfg->workflows[cfg->n_workflows++], wf->keys[i]->str,
                         wf->items[i]);
    return 1;
}

/* The sections a tool owns (oc_config_sections_set): set once before any
 * config is read. */
static const struct oc_config_sections *oc_tool_sections;

void oc_config_sections_set(const struct oc_config_sections *s)
{
    oc_tool_sections = s;
}

/* The top-level keys: the core's own and the tool's. */
static void oc_top_keys_check(struct oc_cfg_reader *b, const struct oc_node *root)
{
    static const char *const own[] = {"version", "plugins", "store", "artifacts", "backends",
                                      "defaults", "workflows", "env_passthrough"};
    enum { N_OWN = sizeof own / sizeof own[0] };
    const char *const *tool = oc_tool_sections ? oc_tool_sections->keys : NULL;
    size_t n_tool = 0;
    while (tool && tool[n_tool])
        n_tool++;
    const char **keys = oc_xcalloc(N_OWN + n_tool + 1, sizeof *keys);
    memcpy(keys, own, sizeof own);
    for (size_t i = 0; i < n_tool; i++)
        keys[N_OWN + i] = tool[i];
    oc_cfg_check_keys(root, keys, "top level", b->diag);
    free(keys);
}

static void oc_config_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    if (root->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &root->pos, "the file must be a mapping (version, workflows, ...)");
        return;
    }
    oc_top_keys_check(b, root);
    oc_version_read(b, root);
    oc_plugins_read(b, root);
    oc_stores_read(b, root);
    oc_backends_read(b, root);
    oc_defaults_read(b, root);
    oc_env_passthrough_read(b, root);
    /* The tool's sections are read only for a file with workflows. */
    if (oc_workflows_read(b, root) && oc_tool_sections) {
        b->cfg->sections_ops = oc_tool_sections;
        b->cfg->sections = oc_tool_sections->read(b, root);
    }
}

struct oc_config *oc_config_parse_string(const char *source, const char *path,
                                         struct oc_diag *diag)
{
    struct oc_config *cfg = oc_xcalloc(1, sizeof *cfg);
    cfg->path = oc_xstrdup(path ? path : "<config>");
    cfg->source = oc_xstrdup(source);
    size_t before = diag->n;
    cfg->root = oc_yaml_parse(cfg->source, strlen(cfg->source), cfg->path, diag);
    if (cfg->root) {
        struct oc_cfg_reader b = {cfg, diag};
        oc_config_read(&b, cfg->root);
    }
    if (!cfg->root || diag->n != before) {
        oc_config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct oc_config *oc_config_parse_file(const char *path, struct oc_diag *diag)
{
    size_t len;
    /* One byte past the limit is enough to know the file is too large. */
    char *text = oc_read_file_max(path, OC_CONFIG_MAX_BYTES + 1, &len);
    if (!text) {
        oc_diag_add(diag, NULL, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    if (oc_config_size_check(text, len, path, diag) != 0) {
        free(text);
        return NULL;
    }
    if (strlen(text) != len) {
        oc_diag_add(diag, NULL, "%s: not a text file (contains NUL bytes)", path);
        free(text);
        return NULL;
    }
    struct oc_config *cfg = oc_config_parse_string(text, path, diag);
    free(text);
    return cfg;
}

static void oc_plugin_ref_free(struct oc_plugin_ref *r)
{
    free(r->name);
    free(r->uses);
}

void oc_config_free(struct oc_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->sections_ops)
        cfg->sections_ops->free(cfg->sections);
    for (size_t i = 0; i < cfg->n_workflows; i++) {
        struct oc_workflow *w = &cfg->workflows[i];
        for (size_t j = 0; j < w->n_inputs; j++) {
            free(w->inputs[j].name);
            free(w->inputs[j].default_value);
            free(w->inputs[j].description);
        }
        free(w->inputs);
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
    }
    free(cfg->workflows);
    for (size_t i = 0; i < cfg->n_backends; i++)
        oc_plugin_ref_free(&cfg->backends[i]);
    free(cfg->backends);
    oc_plugin_ref_free(&cfg->store);
    oc_plugin_ref_free(&cfg->artifacts);
    for (size_t i = 0; i < cfg->n_plugin_paths; i++)
        free(cfg->plugin_paths[i]);
    free(cfg->plugin_paths);
    free(cfg->default_backend);
    free(cfg->state_dir);
    for (size_t i = 0; i < cfg->n_host_paths; i++)
        free(cfg->host_paths[i]);
    free(cfg->host_paths);
    for (size_t i = 0; i < cfg->n_env_passthrough; i++)
        free(cfg->env_passthrough[i]);
    free(cfg->env_passthrough);
    oc_node_free(cfg->root);
    free(cfg->source);
    free(cfg->path);
    free(cfg);
}
