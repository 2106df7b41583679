/* step-git internals: git runs inside the step's backend instance through
 * host->inst_exec, so the same step works on every backend. */
#ifndef STEP_GIT_H
#define STEP_GIT_H

#include <stddef.h>
#include <orch/orch.h>

extern const struct orch_host *sg_host;

struct sg_cfg {
    const char *action;        /* clone, checkout, commit, push */
    const char *url;
    const char *ref;
    int64_t depth;
    const char *dir;
    const char *branch;
    const char *message;
    const char *author;
    struct orch_strlist paths;
    int32_t allow_empty;
    const char *remote;
    int32_t force_with_lease;
    const char *token;         /* secret */
    const char *ssh_key;       /* secret */
    const char *username;
    const char *known_hosts;
    int64_t timeout_ms;
};

/* What a git command printed: the tail is kept for error messages. */
#define SG_TAIL 4096
struct sg_out {
    char tail[SG_TAIL];
    size_t len;
    char *capture;             /* stdout when asked for, host memory */
    size_t cap_len, cap_max;
    int quiet;                 /* do not copy to the step log */
};

/* The credential files of one step: a 0700 temp dir in the instance. */
struct sg_cred {
    char dir[256];
    char ssh_cmd[1024];
    char askpass[300];
    struct orch_kv env[4];
    uint32_t env_count;
};

struct sg_step {
    struct orch_ctx *ctx;
    const struct sg_cfg *cfg;
    struct sg_cred cred;
};

/* git ARGV... in cwd (NULL = the instance work dir), output to the step
 * log. ORCH_E_FAILED with git's own words and the cause when git fails. */
orch_status sg_git(struct sg_step *s, const char *cwd, const char *const *argv,
                   struct sg_out *out, struct orch_error *err);
/* git ... and its trimmed stdout (first line when one_line) into *value. */
orch_status sg_git_value(struct sg_step *s, const char *const *argv, int one_line,
                         char **value, struct orch_error *err);

orch_status sg_cred_setup(struct sg_step *s, struct orch_error *err);
void sg_cred_teardown(struct sg_step *s);

orch_status sg_clone(struct sg_step *s, struct orch_error *err);
orch_status sg_checkout(struct sg_step *s, struct orch_error *err);
orch_status sg_commit(struct sg_step *s, struct orch_error *err);
orch_status sg_push(struct sg_step *s, struct orch_error *err);
/* Sets the commit and branch outputs from the repository's HEAD. */
orch_status sg_outputs_head(struct sg_step *s, struct orch_error *err);

#endif
