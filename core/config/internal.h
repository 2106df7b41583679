/* Private to core/config: the YAML reader and the tree walkers shared by
 * the model builder and the validator. */
#ifndef OC_CONFIG_INTERNAL_H
#define OC_CONFIG_INTERNAL_H

#include "../config.h"
#include "../config_read.h" /* the getters, public for the tools' sections */
#include "../util.h"
#include "../yamltree.h" /* oc_yaml_parse, oc_cfg_check_keys: public for sdk/testing */

/* 0, or -1 with a diagnostic at the position where text passes
 * OC_CONFIG_MAX_BYTES. */
int oc_config_size_check(const char *text, size_t len, const char *file, struct oc_diag *diag);

/* host_paths.c: defaults.host_paths into cfg->host_paths. */
void oc_host_paths_read(struct oc_cfg_reader *b, const struct oc_node *defaults);

/* lint.c: untrusted text pasted into SCRIPT options (warnings) and host:
 * paths against defaults.host_paths (errors). */
void oc_lint_step(const struct oc_config *cfg, const struct oc_step *st, struct oc_diag *diag);
/* env.c: an `env:` mapping of map (NULL when absent), its names and
 * values checked; the top-level env_passthrough list into b->cfg. */
const struct oc_node *oc_env_map_read(struct oc_cfg_reader *b, const struct oc_node *map,
                                      const char *what);
void oc_env_passthrough_read(struct oc_cfg_reader *b, const struct oc_node *root);

/* telemetry.c: telemetry: into cfg->telemetry. */
void oc_telemetry_read(struct oc_cfg_reader *b, const struct oc_node *root);
void oc_telemetry_free(struct oc_telemetry *t);

/* artifact_ns.c: artifacts.namespaces into cfg->artifact_ns. */
void oc_artifact_ns_read(struct oc_cfg_reader *b, const struct oc_node *artifacts);
void oc_artifact_ns_free(struct oc_config *cfg);

/* retention.c: retention: into cfg->retention. */
void oc_retention_read(struct oc_cfg_reader *b, const struct oc_node *root);
/* strategy.c: a step's strategy: (its matrix's shape; the expansion is
 * checked by validate.c when the matrix is static). */
void oc_strategy_read(struct oc_cfg_reader *b, struct oc_strategy *s, const struct oc_node *step,
                      const char *what);

/* calls.c: a call's workflow, or NULL after a diagnostic at pos; its
 * with: against the callee's inputs; the graph of calls (cycles, depth). */
const struct oc_workflow *oc_call_resolve(const struct oc_config *cfg,
                                          const struct oc_workflow *from, const char *uses,
                                          const struct oc_pos *pos, const char *what,
                                          struct oc_diag *diag);
void oc_call_check_with(const struct oc_workflow *callee, const struct oc_step *st,
                        const char *what, struct oc_diag *diag);
void oc_calls_check_graph(const struct oc_config *cfg, struct oc_diag *diag);
/* concurrency_group.c: a workflow's concurrency_group: into w->cgroup
 * (its key's references are checked by validate.c). */
void oc_cgroup_read(struct oc_cfg_reader *b, struct oc_workflow *w, const struct oc_node *wf,
                    const char *what);

/* workflow.c: root's workflows: mapping (of the main file, or of file in
 * workflows_dir) appended to b->cfg's workflows; a present but empty one
 * is an error. */
/* defaults.run of the file or of a workflow (run_defaults.c): its shell
 * node, or NULL; and the step's `shell` option filled from it. */
const struct oc_node *oc_run_defaults_read(struct oc_cfg_reader *b, const struct oc_node *defaults,
                                           const char *what);
void oc_run_defaults_apply(const struct oc_config *cfg, const struct oc_workflow *w,
                           struct oc_step *st);

void oc_workflows_read(struct oc_cfg_reader *b, const struct oc_node *root,
                       const struct oc_config_file *file);
/* A name defined by two files: an error at the second naming the first. */
void oc_workflows_unique(struct oc_cfg_reader *b);
void oc_workflows_free(struct oc_config *cfg);

/* inputs.c: n's inputs: mapping into w's declarations; freeing them. */
void oc_inputs_read(struct oc_cfg_reader *b, struct oc_workflow *w, const struct oc_node *n,
                    const char *what);
void oc_inputs_free(struct oc_workflow *w);

/* wfdir.c: the files of b->cfg->workflows_dir, texts only, into
 * b->cfg->files (errors at `at`, the key's value, or naming the file);
 * then (oc_wfdir_files_read) each file parsed and its workflows read: 0
 * when every file was. */
void oc_wfdir_load(struct oc_cfg_reader *b, const struct oc_pos *at);
int oc_wfdir_files_read(struct oc_cfg_reader *b);
void oc_wfdir_free(struct oc_config *cfg);

/* model.c: source parsed as a config. snapshot: a run's snapshot's rules
 * (oc_config_parse_snapshot): files (taken over, n_files of them) are its
 * workflows_dir's, and no file is read. */
struct oc_config *oc_config_parse_text(const char *source, const char *path,
                                       struct oc_config_file *files, size_t n_files,
                                       int snapshot, struct oc_diag *diag);

#endif
