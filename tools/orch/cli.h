/* Shared pieces of the orch command-line tool. */
#ifndef ORCH_CLI_H
#define ORCH_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "config.h"
#include "engine.h"
#include "registry.h"
#include "store.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1  /* the run failed or was cancelled */
#define CLI_EXIT_USAGE 2   /* bad usage, bad config, cannot start */

struct cli {
    const char *state_dir;   /* --state-dir */
    const char *config;      /* -c FILE for commands that take one */
    int json;                /* --json */
};

/* Parse and validate a config file, printing every diagnostic. */
struct oc_config *cli_load_config(const char *path, struct oc_registry *reg);
/* Open the store of cfg (or the default one when cfg is NULL). */
struct oc_store *cli_open_store(struct cli *c, struct oc_registry *reg,
                                const struct oc_config *cfg);
/* For commands without a FILE argument: the -c config, or NULL (with
 * *failed set when it was given and did not load). */
struct oc_config *cli_global_config(struct cli *c, struct oc_registry *reg,
                                    int *failed);
/* Registry with the config's plugin paths (cfg may be NULL). */
struct oc_registry *cli_registry(const struct oc_config *cfg);

void cli_print_json(json_t *j); /* takes j */
void cli_err(const char *fmt, ...) ORCH_PRINTF(1, 2);
int cli_wants_help(int argc, char **argv);
/* "1.2s", "350ms" */
void cli_fmt_duration(char *buf, size_t n, int64_t ns);
void cli_fmt_time(char *buf, size_t n, int64_t real_ns);

int cmd_validate(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_resume(struct cli *c, int argc, char **argv);
int cmd_runs(struct cli *c, int argc, char **argv);
int cmd_plugins(struct cli *c, int argc, char **argv);

/* runs approve|reject|cancel|requeue against a store. */
int cli_runs_control(struct cli *c, struct oc_store *st, const char *sub, int argc,
                     char **argv);
int cli_input_kv(json_t *obj, const char *kv);
int cli_decision_args(int argc, char **argv, json_t *input, const char **comment);

/* Progress printing for run/resume. */
struct cli_progress;
struct cli_progress *cli_progress_new(int json);
void cli_progress_free(struct cli_progress *p);
void cli_progress_cb(void *ud, const struct oc_progress *ev);

#endif
