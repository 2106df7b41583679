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
    const char *server;      /* --server URL or $ORCH_SERVER: talk to orchd */
    const char *token_file;  /* --token-file (else $ORCH_TOKEN) */
    const char *progress;    /* --progress auto|plain|tty (NULL = auto) */
    const char *color;       /* --color auto|always|never (NULL = auto) */
};

/* The whole command line after one getopt_long pass (args.c): global
 * options set in the cli, argv = the positionals (the command first), then
 * the command's options as `--name [value]`, then `--` and what followed
 * it. -1 (printed) on an unknown option or a missing value. */
struct cli_args {
    int argc;
    char **argv;             /* borrowed strings, own array */
    int n_positional;
    int help, version, dashdash;
    char **owned;            /* the "--name" strings made here */
    size_t n_owned;
};
int cli_args_parse(struct cli *c, int argc, char **argv, struct cli_args *out);
/* Whether name ("--json", "-c") is an option of the table, and whether it
 * takes a value (complete.c reads the words of a line with it). */
int cli_option_known(const char *name, int *takes_value);
void cli_args_free(struct cli_args *a);

/* Parse and validate a config file, printing every diagnostic. */
struct oc_config *cli_load_config(const char *path, struct oc_registry *reg);
/* The same, also printing the config's warnings (orch validate). */
struct oc_config *cli_lint_config(const char *path, struct oc_registry *reg);
/* Open the store of cfg (or the default one when cfg is NULL). */
struct oc_store *cli_open_store(struct cli *c, struct oc_registry *reg,
                                const struct oc_config *cfg);
/* For a command that reads or writes the store of -c FILE (or the
 * embedded default) and nothing else of the config: fn with the store
 * open, then everything closed. fn's exit status, or CLI_EXIT_USAGE (said)
 * when the config or the store did not open. */
int cli_with_store(struct cli *c, int (*fn)(struct oc_store *st, void *ud), void *ud);
/* For commands without a FILE argument: the -c config, or NULL (with
 * *failed set when it was given and did not load). */
struct oc_config *cli_global_config(struct cli *c, struct oc_registry *reg,
                                    int *failed);
/* Registry with the config's plugin paths (cfg may be NULL). */
struct oc_registry *cli_registry(const struct oc_config *cfg);

void cli_print_json(json_t *j); /* takes j */
/* json_err.c: with --json, a failed command's error document on stdout
 * (unless it printed data). cli_err's messages are its message and
 * details; cli_fail_code names the error (the first named wins); every
 * writer of JSON data to stdout calls cli_json_printed. finish prints the
 * document when due and returns rc; cli_exit is exit(finish(rc)). */
void cli_json_errors(int on);
void cli_json_printed(void);
void cli_json_said(const char *msg);
void cli_fail_code(const char *code);
void cli_fail_err(const struct orch_error *err); /* the code of err's kind */
int cli_json_finish(int rc);
_Noreturn void cli_exit(int rc);
void cli_err(const char *fmt, ...) ORCH_PRINTF(1, 2);
int cli_wants_help(int argc, char **argv);
/* "1.2s", "350ms" */
void cli_fmt_duration(char *buf, size_t n, int64_t ns);
/* A time of the API ("created", "ts": core/api_json.h) to the second,
 * "2026-12-03T14:00:00Z"; "-" for null or anything else. */
void cli_fmt_time(char *buf, size_t n, const json_t *t);

int cmd_validate(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_resume(struct cli *c, int argc, char **argv);
int cmd_runs(struct cli *c, int argc, char **argv);
/* cmd_artifacts.c: orch runs artifacts RUN and orch runs artifact RUN NAME
 * [--output FILE]; argv[0] is the subcommand. */
int cli_runs_artifacts(struct cli *c, struct oc_registry *reg, struct oc_store *st,
                       const struct oc_config *cfg, int argc, char **argv);
int cli_remote_artifacts(struct cli *c, int argc, char **argv);
/* Where an artifact's bytes go: standard output, or a temporary file
 * beside FILE that takes FILE's name only once the bytes checked out
 * (cmd_artifacts.c). */
struct cli_art_out {
    const char *path;        /* FILE, or NULL for standard output */
    char *tmp;
    FILE *f;
};
int cli_art_out_open(struct cli_art_out *o, const char *path); /* 0, or -1 said */
/* Ends the output: rc is the read's; the bytes are kept (renamed into
 * place) only when it and the writes succeeded. The final status. */
orch_status cli_art_out_close(struct cli_art_out *o, orch_status rc, struct orch_error *err);
int32_t cli_art_write(void *ud, const void *buf, uint64_t len); /* ud: the FILE */
/* GET url's bytes to path (NULL: standard output), checked against the
 * answer's ETag; the exit status. */
int cli_remote_download(struct cli *c, const char *url, const char *path);
/* --namespace NS among argv: the shared namespaces' commands
 * (cmd_artifact_ns.c): runs artifacts --namespace NS, runs artifact
 * --namespace NS NAME[@VERSION] [-o FILE], locally and with --server. */
int cli_artns_wanted(int argc, char **argv);
int cli_artns(struct cli *c, struct oc_registry *reg, struct oc_store *st,
              const struct oc_config *cfg, int argc, char **argv);
int cli_remote_artns(struct cli *c, int argc, char **argv);
int cmd_plugins(struct cli *c, int argc, char **argv);

/* Tables of runs (id, workflow, state, created_ns) and of one run with its
 * "attempts" (step, attempt, state, exit_code, started_ns, finished_ns,
 * error, outputs), for the store and the server alike. */
void cli_print_runs(json_t *runs);
void cli_print_run(json_t *doc);

/* runs approve|reject|cancel|requeue against a store. */
int cli_runs_control(struct cli *c, struct oc_store *st, const char *sub, int argc,
                     char **argv);
int cli_input_kv(json_t *obj, const char *kv);
int cli_decision_args(int argc, char **argv, json_t *input, const char **comment);
/* orch runs discard's options: --reason TEXT. 0, or -1 (said). */
int cli_discard_args(int argc, char **argv, const char **reason);

/* remote.c: the daemon's API. */
struct cli_http_res {
    long status;
    json_t *json;            /* the body, when it is JSON */
    char *body;
    size_t len;
    char etag[80];           /* the ETag header, quotes kept; "" without */
};
/* 0 when the server answered (any status), -1 (printed) when it could not
 * be reached. body is taken, may be NULL. */
int cli_http(struct cli *c, const char *method, const char *path, json_t *body,
             struct cli_http_res *res);
/* The same for a stream of server-sent events: on_event gets each one
 * (data parsed as JSON, may be NULL); non-zero from it ends the stream. */
int cli_http_events(struct cli *c, const char *method, const char *path, json_t *body,
                    int (*on_event)(void *ud, const char *event, json_t *data), void *ud,
                    struct cli_http_res *res);
/* A GET whose 200 body is written to out as it arrives (a log can be
 * large); any other answer is buffered in res as cli_http has it. */
int cli_http_to(struct cli *c, const char *path, FILE *out, struct cli_http_res *res);
/* The same, the bytes written also hashed into sha (initialised). */
struct sha256_ctx;
int cli_http_download(struct cli *c, const char *path, FILE *out, struct sha256_ctx *sha,
                      struct cli_http_res *res);
void cli_http_res_free(struct cli_http_res *res);
/* Print the server's error; the exit status for it. */
int cli_http_fail(struct cli *c, const struct cli_http_res *res);
/* A 2xx JSON answer in *out (CLI_EXIT_OK), or the error printed and its
 * exit status. */
int cli_http_call(struct cli *c, const char *method, const char *path, json_t *body,
                  json_t **out);
/* s escaped for a URL path segment; malloc'd. */
char *cli_seg(const char *s);

int cmd_runs_remote(struct cli *c, int argc, char **argv);
int cmd_instances(struct cli *c, int argc, char **argv);
int cmd_control(struct cli *c, int argc, char **argv);
int cmd_migrate(struct cli *c, int argc, char **argv);
int cmd_gc(struct cli *c, int argc, char **argv);
int cmd_health(struct cli *c, int argc, char **argv);
int cmd_admin(struct cli *c, int argc, char **argv);
int cmd_ticks(struct cli *c, int argc, char **argv);
/* complete.c: orch completion SHELL, and orch __complete WORD... (its scripts call it). */
int cmd_completion(struct cli *c, int argc, char **argv);
int cmd_complete(struct cli *c, int argc, char **argv);

/* Progress printing for run/resume: lines as the run goes, and on a
 * terminal a status area redrawn under them (progress.c). total: the
 * workflow's steps, 0 when not known yet (cli_progress_total). */
struct cli_progress;
struct cli_progress *cli_progress_new(const struct cli *c);
void cli_progress_total(struct cli_progress *p, size_t total);
/* The status area erased and gone: before anything else is printed (an
 * error, what a parked or idempotent run says), which the area would
 * otherwise be drawn over or erase. Lines print plain from then on. */
void cli_progress_end(struct cli_progress *p);
void cli_progress_free(struct cli_progress *p);
void cli_progress_cb(void *ud, const struct oc_progress *ev);
/* follow.c: a run followed from its ledger until it ends (through its
 * approvals), printed as orch run prints one (the same lines, status area
 * and --json events). The source reads the ledger and the logs, of the
 * store or of the API (follow_src.c). The exit status: the run's, 130 on
 * SIGINT (the run goes on), or the source's error's. */
typedef void (*cli_log_chunk_fn)(void *ud, uint32_t stream, const char *data, size_t len);
struct cli_follow_src {
    /* The run's ledger events after seq, as the API has them; NULL when
     * they could not be read (said, *rc its exit status). */
    json_t *(*events)(void *ud, int64_t after, int *rc);
    /* An attempt's log after *seq (0: from its start), chunk by chunk,
     * *seq moved past what was passed (nothing when unreadable). */
    void (*log)(void *ud, const char *step, uint32_t attempt, int64_t *seq,
                cli_log_chunk_fn fn, void *fud);
    void *ud;
    /* Whether log can be read while the attempt runs (the store's can: a
     * page after seq); else each log is read once, when its attempt ends. */
    int live;
};
int cli_follow(struct cli *c, const char *run_id, size_t total, const struct cli_follow_src *src);
/* orch runs logs --follow RUN against the store; orch --server URL runs
 * start W --follow and runs logs --follow RUN against the API. total: the
 * run's steps, 0 when not known. */
int cli_follow_store(struct cli *c, struct oc_store *st, const char *run_id, size_t total);
int cli_follow_api(struct cli *c, const char *run_id, size_t total);

/* The "outputs" object of a run document, a line each (nothing without):
 * what orch run prints at the end and orch runs show under the run. */
void cli_print_outputs_of(json_t *doc);

#endif
