/* The workflow file: YAML or JSON (one parser, libyaml; JSON is YAML),
 * parsed into a tree with positions, then into this model, then validated
 * against the plugins' option tables. Every error carries file:line:col. */
#ifndef OC_CONFIG_H
#define OC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "registry.h"

struct oc_input_decl {
    char *name;
    char *default_value;         /* NULL = none */
    int required;
    char *description;
    struct oc_pos pos;
};

struct oc_retry {
    uint32_t attempts;           /* total tries, >= 1 (default 1) */
    int64_t backoff_ms;          /* first delay (default 1000) */
    int64_t max_backoff_ms;      /* cap (default 60000) */
    int64_t max_elapsed_ms;      /* 0 = no limit */
    double factor;               /* default 2.0 */
};

#define OC_ON_UNKNOWN_RETRY 0
#define OC_ON_UNKNOWN_FAIL 1

struct oc_step {
    char *id;
    char *uses;                  /* step plugin name, e.g. "exec" */
    struct oc_node *with;        /* MAP or NULL; owned by the config root */
    char **needs;
    size_t n_needs;
    char *backend;               /* NULL = the workflow's/config's default */
    char *if_expr;               /* NULL = success() */
    struct oc_retry retry;
    int64_t timeout_ms;          /* 0 = none */
    int continue_on_error;
    int on_unknown;              /* OC_ON_UNKNOWN_* */
    struct oc_pos pos;
    /* Filled by oc_config_validate: */
    const struct oc_plugin *plugin;
    size_t *need_idx;            /* indexes of needs in the workflow's steps */
};

struct oc_workflow {
    char *name;
    char *description;
    struct oc_input_decl *inputs;
    size_t n_inputs;
    struct oc_step *steps;
    size_t n_steps;
    uint32_t concurrency;        /* 0 = the config default */
    char *backend;               /* NULL = the config default */
    struct oc_pos pos;
    size_t *order;               /* filled by validate: a topological order */
};

/* A plugin use: `store:`, `artifacts:` or one entry of `backends:`. */
struct oc_plugin_ref {
    char *name;                  /* backends: the key; store: "store" */
    char *uses;                  /* plugin config name */
    struct oc_node *with;
    struct oc_pos pos;
    const struct oc_plugin *plugin; /* filled by validate */
};

struct oc_config {
    char *path;
    char *source;                /* the file's text (kept for run snapshots) */
    struct oc_node *root;
    struct oc_plugin_ref store;      /* default: uses sqlite */
    struct oc_plugin_ref artifacts;  /* uses NULL: artifacts go to the store */
    struct oc_plugin_ref *backends;  /* default: one "local" using local */
    size_t n_backends;
    struct oc_workflow *workflows;
    size_t n_workflows;
    char **plugin_paths;
    size_t n_plugin_paths;
    uint32_t concurrency;        /* defaults.concurrency, default 4 */
    char *default_backend;       /* defaults.backend, default the first backend */
    char *state_dir;             /* defaults.state_dir, NULL = ORCH_STATE_DIR or ./.orch */
};

/* Parse; NULL with diag filled on a syntax or shape error. path is used
 * in messages (and to read the file for _file). */
struct oc_config *oc_config_parse_file(const char *path, struct oc_diag *diag);
struct oc_config *oc_config_parse_string(const char *source, const char *path,
                                         struct oc_diag *diag);
/* Resolve plugins (through reg), check every option block, needs (unknown,
 * cycles: the cycle is named), template references (unknown steps, steps not
 * in needs, unknown inputs), duplicate ids, capabilities (a store without
 * RUNS, a backend step on a step plugin without NEEDS_BACKEND is fine, a
 * step needing a backend with none configured is not). 0 when valid. */
int oc_config_validate(struct oc_config *cfg, struct oc_registry *reg,
                       struct oc_diag *diag);
void oc_config_free(struct oc_config *cfg);

const struct oc_workflow *oc_config_workflow(const struct oc_config *cfg,
                                             const char *name);
const struct oc_plugin_ref *oc_config_backend(const struct oc_config *cfg,
                                              const char *name);
/* The backend a step uses (its own, the workflow's, or the default), or
 * NULL when the step's plugin needs none. */
const struct oc_plugin_ref *oc_step_backend(const struct oc_config *cfg,
                                            const struct oc_workflow *wf,
                                            const struct oc_step *st);

#endif
