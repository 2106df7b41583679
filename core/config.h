/* The workflow file: YAML or JSON (one parser, libyaml; JSON is YAML),
 * parsed into a tree with positions, then into this model, then validated
 * against the plugins' option tables. Every error carries file:line:col. */
#ifndef OC_CONFIG_H
#define OC_CONFIG_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "registry.h"

struct oc_cron;

/* An input's type (docs/config.md, "Inputs"); string is the default. */
#define OC_INPUT_STRING 0
#define OC_INPUT_NUMBER 1
#define OC_INPUT_BOOLEAN 2
#define OC_INPUT_CHOICE 3
#define OC_INPUT_JSON 4

struct oc_input_decl {
    char *name;
    char *default_value;         /* NULL = none; its text form (json: compact JSON) */
    json_t *default_json;        /* the same as the value it gives, checked at load */
    int required;
    char *description;
    struct oc_pos pos;
    int type;                    /* OC_INPUT_* */
    char **options;              /* choice: the values allowed */
    size_t n_options;
    char *pattern;               /* string: a POSIX ERE the whole value matches; NULL: any */
    regex_t *re;                 /* pattern, compiled at load */
};

struct oc_retry {
    uint32_t attempts;           /* total tries, >= 1 (default 1) */
    int64_t backoff_ms;          /* first delay (default 1000) */
    int64_t max_backoff_ms;      /* cap (default 60000) */
    int64_t max_elapsed_ms;      /* 0 = no limit */
    double factor;               /* default 2.0 */
};

/* A step's strategy: (docs/config.md, "Matrix"). The expansion rule is
 * core/matrix.c's; the engine expands the matrix when the step becomes
 * ready (core/engine/matrix_run.c), static or not, one code path. */
struct oc_strategy {
    /* strategy.matrix: a MAP (a value may be one ${{ }} giving a list), or
     * a SCALAR that is one ${{ }} giving the whole mapping. NULL: no
     * strategy. Owned by the config root. */
    const struct oc_node *matrix;
    uint32_t max_parallel;       /* instances in flight at once; 0 = no bound of its own */
    int fail_fast;               /* default 1: one instance failed cancels the others */
    uint32_t limit;              /* instances at most (strategy.limit, default 256) */
};

/* strategy.matrix (a MAP) as the JSON object core/matrix.c expands: YAML
 * scalars as oc_node_to_json reads them, except a number with a fraction,
 * which keeps its text ("3.10" stays 3.10, never 3.1 or 3.1000000000000001).
 * A value that is a ${{ }} stays its text. */
json_t *oc_strategy_matrix_json(const struct oc_node *m);

/* log_limit: the bytes of output one step attempt keeps in the store
 * (head and tail past it; docs/security.md, "Bounded logs"). */
#define OC_LOG_LIMIT_DEFAULT (64ll << 20)
#define OC_LOG_LIMIT_MIN (1ll << 10)
#define OC_LOG_LIMIT_MAX (1ll << 30)

#define OC_ON_UNKNOWN_RETRY 0
#define OC_ON_UNKNOWN_FAIL 1
#define OC_ON_UNKNOWN_ASK 2 /* park the run until a human decides */

struct oc_step {
    char *id;
    char *uses;                  /* step plugin name, e.g. "exec" */
    struct oc_node *with;        /* MAP or NULL; owned by the config root */
    const struct oc_node *env;   /* env: MAP or NULL (values may be templates) */
    char **needs;
    size_t n_needs;
    char *backend;               /* NULL = the workflow's/config's default */
    char *if_expr;               /* NULL = success() */
    struct oc_retry retry;
    int64_t timeout_ms;          /* 0 = none */
    int continue_on_error;
    int on_unknown;              /* OC_ON_UNKNOWN_* */
    int64_t log_limit;           /* bytes an attempt's stored log keeps (resolved) */
    struct oc_strategy strategy; /* .matrix NULL: none */
    struct oc_pos pos;
    /* Filled by oc_config_validate: */
    const struct oc_plugin *plugin;
    size_t *need_idx;            /* indexes of needs in the workflow's steps */
    /* uses: workflow:NAME or ./FILE#NAME: the workflow it runs as a child
     * run (core/config/calls.c), or NULL. */
    const struct oc_workflow *call;
};

/* The core's step type a call step has as its plugin (core/call_step.c);
 * `uses:` of that bare name, without a workflow, is refused. */
#define OC_CALL_STEP_NAME "workflow"
/* Calls between workflows nest at most this deep (orch validate). */
#define OC_CALL_MAX_DEPTH 8
/* uses names a workflow to call (workflow:NAME, ./FILE#NAME), not a plugin. */
int oc_call_ref(const char *uses);

/* A file of workflows_dir: (docs/config.md, "Workflows as files"). */
struct oc_config_file {
    char *path;                  /* the directory's path and the file's name */
    char *text;                  /* kept for the snapshot of a run of its workflows */
    struct oc_node *root;
};

/* concurrency_group: runs of any workflow that render the same key share
 * `limit` slots, enforced through the store (core/concurrency.h). */
enum oc_cg_conflict {
    OC_CG_QUEUE,           /* wait, without running a step, until admitted */
    OC_CG_CANCEL_RUNNING,  /* cancel the oldest holders, then take a slot */
    OC_CG_SKIP,            /* end cancelled at once, naming the holders */
};
struct oc_cgroup_decl {
    char *key;             /* a template over inputs; NULL = no group */
    uint32_t limit;        /* 1.. ; default 1 */
    enum oc_cg_conflict on_conflict;
    struct oc_pos pos;     /* the key's position */
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
    int64_t log_limit;           /* the steps' default (resolved) */
    const struct oc_node *env;   /* env: MAP or NULL, under every step's env: */
    int64_t timeout_ms;          /* the whole run's; 0 = none */
    const struct oc_node *run_shell; /* defaults.run.shell, or NULL */
    /* outputs: MAP of NAME -> template (strings, names checked), or NULL. */
    const struct oc_node *outputs;
    struct oc_cgroup_decl cgroup; /* concurrency_group:, key NULL = none */
    struct oc_pos pos;
    struct oc_pos name_pos;      /* its key under workflows: */
    const struct oc_node *node;  /* its mapping, for the positions of its keys */
    const struct oc_config_file *file; /* where it is defined; NULL: the main file */
    size_t *order;               /* filled by validate: a topological order */
};

/* A plugin use: `store:`, `artifacts:` or one entry of `backends:`. */
struct oc_plugin_ref {
    char *name;                  /* backends: the key; store: "store" */
    char *uses;                  /* plugin config name */
    struct oc_node *with;
    struct oc_pos pos;
    const struct oc_plugin *plugin; /* filled by validate */
    int migrate;                 /* store: OC_MIGRATE_* */
};

/* store: migrate: when a store's schema is older than the code. The
 * embedded SQLite store migrates on start; a shared one only when told
 * (orch migrate, or migrate: on_start), since every daemon on it must be
 * new enough for the new schema. */
#define OC_MIGRATE_DEFAULT 0
#define OC_MIGRATE_MANUAL 1
#define OC_MIGRATE_ON_START 2

/* An export request's timeout when neither telemetry.traces.timeout nor
 * OTEL_EXPORTER_OTLP_TIMEOUT says. */
#define OC_TRACE_TIMEOUT_DEFAULT_MS 10000

/* telemetry.traces: the OTLP exporter's settings, in place of the OTEL_*
 * variables (core/trace reads them; docs/observability.md says which of
 * the two wins). Checked where the file is read. */
struct oc_telemetry {
    int set;                     /* telemetry.traces is in the file */
    char *endpoint;              /* the URL spans are POSTed to, as written */
    int json;                    /* protocol: http/json; else http/protobuf */
    const struct oc_node *headers; /* MAP name: value, or NULL; a value may be
                                      ${{ secrets.X }}, resolved by the exporter */
    char *service_name;          /* NULL: the process's own ("orch", "orchd") */
    char *sampler;               /* NULL: parentbased_always_on */
    char *sampler_arg;           /* the traceidratio samplers' ratio as written, or NULL */
    int64_t timeout_ms;          /* of each export request */
    const struct oc_node *resource_attributes; /* MAP name: value, or NULL */
    struct oc_pos pos;           /* the traces: mapping */
};

/* retention: how long ended runs and their artifacts are kept (read by
 * core/config/retention.c; applied by core/retention.c for orch gc and
 * orchd's sweep). 0 = kept forever, the default of each key. */
struct oc_retention {
    int set;                     /* retention: is in the file */
    int64_t succeeded_ms;        /* a succeeded run, from its end */
    int64_t failed_ms;           /* a failed one (dead letters, discarded runs too) */
    int64_t cancelled_ms;        /* a cancelled one; absent: as failed */
    int64_t artifacts_ms;        /* an ended run's artifact blobs (the run stays) */
    struct oc_pos pos;
};

/* artifacts: namespaces: one shared namespace (core/config/artifact_ns.c). */
struct oc_artifact_ns_decl {
    char *name;
    uint64_t keep;               /* stored versions kept per name; 0 = all */
    int fail_on_conflict;        /* on_conflict: fail (default warn) */
    struct oc_pos pos;           /* its key */
};

struct oc_config_sections; /* config_read.h */

struct oc_config {
    char *path;
    char *source;                /* the file's text (kept for run snapshots) */
    struct oc_node *root;
    char *workflows_dir;         /* workflows_dir:, from the file's directory; NULL: none */
    struct oc_config_file *files; /* its *.yaml and *.yml files, sorted by name */
    size_t n_files;
    struct oc_plugin_ref store;      /* default: uses sqlite */
    struct oc_plugin_ref artifacts;  /* uses NULL: artifacts go to the store */
    struct oc_artifact_ns_decl *artifact_ns; /* artifacts.namespaces */
    size_t n_artifact_ns;
    struct oc_plugin_ref *backends;  /* default: one "local" using local */
    size_t n_backends;
    struct oc_workflow *workflows;
    size_t n_workflows;
    char **plugin_paths;
    size_t n_plugin_paths;
    uint32_t concurrency;        /* defaults.concurrency, default 4 */
    char *default_backend;       /* defaults.backend, default the first backend */
    char *state_dir;             /* defaults.state_dir, NULL = ORCH_STATE_DIR or ./.orch */
    int64_t log_limit;           /* defaults.log_limit, default OC_LOG_LIMIT_DEFAULT */
    const struct oc_node *run_shell; /* defaults.run.shell, or NULL (run_defaults.c) */
    char **host_paths;           /* defaults.host_paths: where host: paths may go; */
    size_t n_host_paths;         /* none = host: paths are off */
    char **env_passthrough;      /* variables of orch's environment steps get */
    size_t n_env_passthrough;
    struct oc_telemetry telemetry;
    struct oc_retention retention;
    /* The model of the sections a tool owns (config_read.h), and who frees it. */
    void *sections;
    const struct oc_config_sections *sections_ops;
};

/* The largest config file read: larger is refused at the byte past it. */
#define OC_CONFIG_MAX_BYTES (16 << 20)
/* The most steps one workflow may have: the step at this index is refused. */
#define OC_MAX_STEPS 10000
/* The most files workflows_dir may hold; the main file and all of them
 * together are at most OC_CONFIG_MAX_BYTES (docs/design.md says why). */
#define OC_WORKFLOWS_DIR_MAX_FILES 1000

/* Parse; NULL with diag filled on a syntax or shape error. path is used
 * in messages (and to read the file for _file); workflows_dir: is read
 * from the directory relative to path's. */
struct oc_config *oc_config_parse_file(const char *path, struct oc_diag *diag);
/* The same, the config kept when it has errors (NULL only when the text is
 * no YAML or cannot be read): oc_config_load validates it anyway, so one
 * pass reports a file's shape errors and its reference errors together.
 * Such a config is for diagnostics only, never to run. */
struct oc_config *oc_config_parse_file_partial(const char *path, struct oc_diag *diag);
struct oc_config *oc_config_parse_string_partial(const char *source, const char *path,
                                                 struct oc_diag *diag);
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
/* Parse path, add its plugin paths to reg, validate: NULL with diag filled
 * on any error. */
struct oc_config *oc_config_load(const char *path, struct oc_registry *reg,
                                 struct oc_diag *diag);

/* The text a run of wf is queued with (its record's source, free()d by
 * the caller): all that its resume needs, so that a file changed or
 * removed since cannot change the run. The file's own text when wf is
 * defined there; otherwise the file's text and wf's file's, in one JSON
 * document. NULL only when that document cannot be built. */
char *oc_config_snapshot(const struct oc_config *cfg, const struct oc_workflow *wf);
/* A run's snapshot (oc_config_snapshot's text, or a whole file of older
 * runs) parsed, reading no file: workflows_dir: names a directory that is
 * not read, and the tool's sections are not read (they are the running
 * daemon's concern, never a run's; the main file's may name workflows of
 * other files, which a snapshot does not hold). */
struct oc_config *oc_config_parse_snapshot(const char *snapshot, const char *path,
                                           struct oc_diag *diag);

/* Any one-document YAML (or JSON) text as JSON, with the config reader's
 * rules for scalars (quoted = string; unquoted numbers, true/false/null
 * typed). For documents orch ships, such as orchd's OpenAPI description.
 * NULL with diag filled on a syntax error. */
json_t *oc_yaml_to_json(const char *text, size_t len, const char *file, struct oc_diag *diag);

const struct oc_workflow *oc_config_workflow(const struct oc_config *cfg,
                                             const char *name);
/* The declaration of shared artifact namespace ns, or NULL. */
const struct oc_artifact_ns_decl *oc_config_artifact_ns(const struct oc_config *cfg,
                                                        const char *ns);
const struct oc_plugin_ref *oc_config_backend(const struct oc_config *cfg,
                                              const char *name);
/* The backend a step uses (its own, the workflow's, or the default), or
 * NULL when the step's plugin needs none. */
const struct oc_plugin_ref *oc_step_backend(const struct oc_config *cfg,
                                            const struct oc_workflow *wf,
                                            const struct oc_step *st);

#endif
