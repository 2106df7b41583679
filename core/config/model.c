/* The tree of a workflow file to struct oc_config: the top-level sections'
 * shapes, types and unknown keys (the workflows: mapping is workflow.c's).
 * Plugins, needs and references are checked by validate.c. */
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
    static const char *const artifacts_keys[] = {"uses", "with", "namespaces", NULL};
    r->name = oc_xstrdup(name);
    r->pos = n->pos;
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping with 'uses' and 'with'", what);
        return;
    }
    int is_store = !strcmp(what, "store"), is_artifacts = !strcmp(what, "artifacts");
    oc_cfg_check_keys(n, is_store ? store_keys : is_artifacts ? artifacts_keys : keys, what,
                      b->diag);
    r->uses = oc_dup_scalar(b, n, "uses", what);
    /* artifacts: {namespaces: ...} alone keeps the bytes in the state
     * store, as a file without artifacts: does. */
    if (is_artifacts && !oc_node_get(n, "uses") && !oc_node_get(n, "with") &&
        oc_node_get(n, "namespaces"))
        return;
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
    if (ar && ar->kind != OC_NODE_NULL) {
        oc_plugin_ref_read(b, &cfg->artifacts, "artifacts", ar, "artifacts");
        if (ar->kind == OC_NODE_MAP)
            oc_artifact_ns_read(b, ar);
    }
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
                                        "log_limit", "host_paths", "run", NULL};
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
    cfg->run_shell = oc_run_defaults_read(b, df, "defaults");
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
                                      "defaults", "workflows", "workflows_dir",
                                      "env_passthrough", "telemetry", "retention"};
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

/* workflows_dir: into cfg->workflows_dir and, unless snapshot, its files. */
static void oc_workflows_dir_read(struct oc_cfg_reader *b, const struct oc_node *root,
                                  int snapshot)
{
    struct oc_config *cfg = b->cfg;
    const struct oc_node *n = oc_node_get(root, "workflows_dir");
    const char *dir = n ? oc_scalar(b, n, "workflows_dir") : NULL;
    if (!dir)
        return;
    if (!*dir) {
        oc_diag_add(b->diag, &n->pos, "workflows_dir: an empty path (a directory, relative "
                                      "to this file's)");
        return;
    }
    /* Relative to this file's directory, as plugins.path; a file named
     * without a directory keeps its files' paths as short as its own. */
    cfg->workflows_dir = dir[0] == '/' || !strchr(cfg->path, '/')
                             ? oc_xstrdup(dir)
                             : oc_rel_to_file(cfg->path, dir);
    if (!snapshot)
        oc_wfdir_load(b, &n->pos);
}

/* The main file's workflows, then workflows_dir's; one name once. */
static void oc_all_workflows_read(struct oc_cfg_reader *b, const struct oc_node *root,
                                  int snapshot, int *files_ok)
{
    size_t before = b->diag->n;
    oc_workflows_read(b, root, NULL);
    size_t before_dir = b->diag->n;
    oc_workflows_dir_read(b, root, snapshot);
    *files_ok = oc_wfdir_files_read(b) == 0 && b->diag->n == before_dir;
    oc_workflows_unique(b);
    if (b->cfg->n_workflows || b->diag->n != before)
        return;
    const struct oc_node *dir = oc_node_get(root, "workflows_dir");
    if (dir)
        oc_diag_add(b->diag, &dir->pos, "no workflows: neither this file nor a file of "
                    "workflows_dir (%s) defines one", b->cfg->workflows_dir);
    else
        oc_diag_add(b->diag, &root->pos, "no workflows: add a 'workflows:' mapping with at "
                    "least one workflow (or a workflows_dir: of files holding them)");
}

static void oc_config_read(struct oc_cfg_reader *b, const struct oc_node *root, int snapshot)
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
    oc_telemetry_read(b, root);
    oc_retention_read(b, root);
    int files_ok;
    oc_all_workflows_read(b, root, snapshot, &files_ok);
    /* The tool's sections are read only when every workflow could be:
     * otherwise each schedule or webhook naming a workflow of a file that
     * did not parse would add an error saying less than the file's. */
    if (b->cfg->n_workflows && files_ok && !snapshot && oc_tool_sections) {
        b->cfg->sections_ops = oc_tool_sections;
        b->cfg->sections = oc_tool_sections->read(b, root);
    }
}

/* keep: the config is returned even with errors (not when the text is no
 * YAML), for validation to find the rest in the same pass. */
static struct oc_config *oc_config_parse_mode(const char *source, const char *path,
                                              struct oc_config_file *files, size_t n_files,
                                              int snapshot, int keep, struct oc_diag *diag)
{
    struct oc_config *cfg = oc_xcalloc(1, sizeof *cfg);
    cfg->path = oc_xstrdup(path ? path : "<config>");
    cfg->source = oc_xstrdup(source);
    cfg->files = files;
    cfg->n_files = n_files;
    size_t before = diag->n;
    cfg->root = oc_yaml_parse(cfg->source, strlen(cfg->source), cfg->path, diag);
    if (cfg->root) {
        struct oc_cfg_reader b = {cfg, diag};
        oc_config_read(&b, cfg->root, snapshot);
    }
    if (!cfg->root || (diag->n != before && !keep)) {
        oc_config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct oc_config *oc_config_parse_text(const char *source, const char *path,
                                       struct oc_config_file *files, size_t n_files,
                                       int snapshot, struct oc_diag *diag)
{
    return oc_config_parse_mode(source, path, files, n_files, snapshot, 0, diag);
}

struct oc_config *oc_config_parse_string(const char *source, const char *path,
                                         struct oc_diag *diag)
{
    return oc_config_parse_text(source, path, NULL, 0, 0, diag);
}

static struct oc_config *oc_config_read_file(const char *path, int keep, struct oc_diag *diag)
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
    struct oc_config *cfg = oc_config_parse_mode(text, path, NULL, 0, 0, keep, diag);
    free(text);
    return cfg;
}

struct oc_config *oc_config_parse_file(const char *path, struct oc_diag *diag)
{
    return oc_config_read_file(path, 0, diag);
}

struct oc_config *oc_config_parse_file_partial(const char *path, struct oc_diag *diag)
{
    return oc_config_read_file(path, 1, diag);
}

struct oc_config *oc_config_parse_string_partial(const char *source, const char *path,
                                                 struct oc_diag *diag)
{
    return oc_config_parse_mode(source, path, NULL, 0, 0, 1, diag);
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
    oc_workflows_free(cfg);
    for (size_t i = 0; i < cfg->n_backends; i++)
        oc_plugin_ref_free(&cfg->backends[i]);
    free(cfg->backends);
    oc_plugin_ref_free(&cfg->store);
    oc_plugin_ref_free(&cfg->artifacts);
    oc_artifact_ns_free(cfg);
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
    oc_telemetry_free(&cfg->telemetry);
    oc_wfdir_free(cfg);
    oc_node_free(cfg->root);
    free(cfg->source);
    free(cfg->path);
    free(cfg);
}
