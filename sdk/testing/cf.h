/* Private to liborch-conformance: cases, the per-case context given to
 * them in the child process, and the harness around plugin calls. */
#ifndef CF_H
#define CF_H

#include <signal.h>
#include <stdio.h>

#include <jansson.h>
#include <orch/conformance.h>
#include <orch/orch.h>

#include "ctx.h"
#include "node.h"
#include "util.h"
#include "errors.h"
#include "slots.h"

/* conformance.yaml */
struct cf_conf {
    struct oc_node *root;
    const struct oc_node *with;     /* plugin options; "${TMP}" = the case's dir */
    const struct oc_node *secrets;  /* name: value, for secret_get */
    const struct oc_node *outputs;  /* step outputs that must appear */
    const char *image, *size, *region;
    int64_t case_timeout_ms, cancel_bound_ms, create_timeout_ms;
    int expect_run_failure;         /* step: run must fail (expect: failure) */
    /* option_sets: [{name, with}]: the suite runs once per set, each set's
     * with in place of with. NULL: once, with `with`. */
    const struct oc_node *option_sets;
    /* setup: a /bin/sh -c command that must exit 0 before the suite (a test
     * server it leaves in the background is killed with its process group
     * after the suite). */
    const char *setup;
};

struct cf {
    const struct orch_plugin_desc *desc;
    const char *plugin_path;
    const struct cf_conf *conf;
    const char *owner;              /* orch.owner label of every instance we make */
    char *tmp;                      /* private directory of the case */
    int out_fd;                     /* result lines to the runner */
    int failed, skipped;
    int torture;
    int verbose;                    /* opts.verbose or $ORCH_CONFORMANCE_VERBOSE */
    int quiet;                      /* torture: failures inside are expected */
    int torture_n;                  /* the allocation failing now, 0 = none */
};

struct cf_case {
    const char *name;
    uint64_t cap;                   /* needed capability, 0 = none */
    int torture_only;
    void (*fn)(struct cf *c);
};

/* Results, from the case's child process. Every failure is reported; a
 * case goes on after cf_fail unless it cannot. */
void cf_fail(struct cf *c, const char *fmt, ...) ORCH_PRINTF(2, 3);
void cf_skip(struct cf *c, const char *fmt, ...) ORCH_PRINTF(2, 3);
/* Progress, quoted by the runner if the child crashes or hangs after it. */
void cf_note(struct cf *c, const char *fmt, ...) ORCH_PRINTF(2, 3);
/* cf_fail with the status name and message of err; returns rc. */
orch_status cf_fail_err(struct cf *c, orch_status rc, const struct orch_error *err,
                        const char *fmt, ...) ORCH_PRINTF(4, 5);

/* The instance a step's host calls go to. */
struct cf_inst_binding {
    const struct orch_backend_vtable *vt;
    struct orch_instance *inst;
    const char *workdir;
};

/* A context for one plugin call sequence. */
struct cf_ctx {
    struct orch_ctx ctx;
    struct cf *c;
    volatile sig_atomic_t cancelled;
    int cancel_pipe[2];
    json_t *outputs;                /* output_set */
    struct oc_buf log;              /* log lines, for --verbose */
    const struct cf_inst_binding *inst;  /* steps: the bound instance */
    int side_effects;               /* instance writes, exec, outputs, artifacts */
    int dry_run;
};
void cf_ctx_init(struct cf_ctx *x, struct cf *c, const char *prefix);
void cf_ctx_fini(struct cf_ctx *x);
/* Cancel x after ms from another thread. Returns the thread to join. */
void cf_cancel_after(struct cf_ctx *x, int64_t ms);
void cf_cancel_join(void);

/* s with "${TMP}" replaced by tmp and "${env.NAME}" by the variable
 * (cf_conf_load refused an unset one). malloc'd. */
char *cf_expand(const char *s, const char *tmp);

/* The plugin's config struct from conf->with (NULL node = defaults), or
 * NULL after cf_fail. Free with oc_options_free(c->desc, cfg). */
void *cf_options(struct cf *c, const struct oc_node *with);

/* Where the host allocations of a case stand, for leak checks: what was
 * made after the mark and is still live is a leak, blamed on the plugin
 * slot that made it (slots.h). CF_MARK_NONE: no check. */
struct cf_mark {
    int64_t live;
    uint64_t seq;
};
#define CF_MARK_NONE ((struct cf_mark){INT64_MAX, 0})
struct cf_mark cf_mark(void);
/* when: where the check is, e.g. "after close". */
void cf_check_leaks(struct cf *c, struct cf_mark before, const char *when);

/* Run fn(c, ud) once per host allocation it makes, failing that one: no
 * crash, an error status or success, and no leak, every time. */
void cf_torture(struct cf *c, const char *what,
                orch_status (*fn)(struct cf *c, void *ud), void *ud);

/* The runner: the cases (those o selects) into rep; -1 after a usage
 * error it printed. cf_run_cases: into a report of their own, finished;
 * returns the ORCH_CONFORMANCE_* code. */
struct cf_report;
int cf_run_into(struct cf_report *rep, const char *path, const struct orch_plugin_desc *desc,
                const struct cf_case *cases, const struct cf_conf *conf,
                const struct orch_conformance_opts *o);
int cf_run_cases(const char *path, const struct orch_plugin_desc *desc,
                 const struct cf_case *cases, const struct cf_conf *conf,
                 const struct orch_conformance_opts *o, const char *suite);

int cf_conf_load(const char *path, struct cf_conf *conf);
void cf_conf_free(struct cf_conf *conf);

/* Load a plugin file in a child first (its constructors may crash), then
 * here. NULL after printing why. */
const struct orch_plugin_desc *cf_load(const char *path, char **id_out);

extern const struct cf_case cf_backend_cases[];
extern const struct cf_case cf_store_cases[];
extern const struct cf_case cf_step_cases[];
extern const struct cf_case cf_check_cases[];

#endif
