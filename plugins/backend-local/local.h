/* backend-local internals: an instance is a directory under `root`. */
#ifndef BACKEND_LOCAL_H
#define BACKEND_LOCAL_H

#include <orch/orch.h>

extern const struct orch_host *lb_host;

/* Beside an instance's work dir: the create spec's env, as KEY\0VALUE\0
 * pairs, 0600 (values may be secrets). */
#define LB_ENV_FILE ".orch-env"

/* Beside an instance's work dir: one record per running command (cmds.c). */
#define LB_CMDS_DIR ".orch-cmds"

struct lb_cfg {
    const char *root;
    int64_t kill_grace_ms;
};

struct orch_backend {
    char *root;
    int64_t kill_grace_ms;
};

struct orch_instance {
    struct orch_backend *be;
    char *id;      /* orch's instance id: the directory name */
    char *dir;     /* <root>/<id> */
    char *workdir; /* <root>/<id>/work: where commands run */
    /* dir is a staging or doomed directory, attached only to be destroyed:
     * removed where it is, not renamed again. */
    int leftover;
};

/* The directory rel (relative to the work dir; "" or "." is the work dir)
 * opened with O_NOFOLLOW on every component, so no symlink leads out; -1
 * with err set. For exec's cwd: the command starts there by fchdir. */
int lb_open_dir(const struct orch_instance *in, const char *rel, struct orch_error *err);

orch_status lb_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err);
orch_status lb_put_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err);
orch_status lb_get_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_write_fn wr, void *ud, struct orch_error *err);
orch_status lb_list_dir(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_dirent_fn fn, void *ud, struct orch_error *err);

/* Code that runs in an exec's child before its exec, in the executor's
 * memory (clone with CLONE_VM): no sanitizer instrumentation, which is
 * not code to run on the child's stack, and never inlined into code that
 * is instrumented. */
#if defined(__SANITIZE_ADDRESS__)
#define LB_CHILD_FN __attribute__((no_sanitize_address, noinline))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LB_CHILD_FN __attribute__((no_sanitize("address"), noinline))
#endif
#endif
#ifndef LB_CHILD_FN
#define LB_CHILD_FN __attribute__((noinline))
#endif

/* What an exec's child needs to record itself (cmds.c). The executor
 * fills it before the clone (lb_cmd_slot_init) and reads it once the child
 * has exec'd or exited; the child writes pid, start, path's tail and
 * written meanwhile (the executor's thread waits: CLONE_VFORK). */
struct lb_cmd_slot {
    char path[4096];          /* "<instance dir>/.orch-cmds", then "/PID" */
    size_t dir_len;           /* the length of the directory part */
    char boot[40];            /* the kernel's boot id, "-" when unknown */
    long parent;              /* the executor: the record counts only while it lives */
    long pid;                 /* the child's */
    unsigned long long start; /* its start time, field 22 of /proc/PID/stat */
    int written;              /* the record is in place */
};

orch_status lb_cmd_slot_init(struct lb_cmd_slot *s, const struct orch_instance *in,
                             struct orch_error *err);
/* In the child, in its own group already: write the record, then check
 * that the executor still lives. 0 (the command may run), or an errno
 * with no record left (ESRCH: the executor died, so a reap may have
 * missed the record). */
LB_CHILD_FN int lb_cmd_record_self(struct lb_cmd_slot *s);
/* The command's exec returned: remove its record and free the path. */
void lb_cmd_forget(char *record);
/* SIGKILL what is left of the group pgid (leader pid, started at start)
 * until nothing of it runs (zombies are gone), up to 30 s: ORCH_OK, or
 * err (ORCH_E_TIMEOUT: a process the kernel would not let die). */
orch_status lb_group_kill_wait(long pid, long pgid, unsigned long long start,
                               struct orch_error *err);
/* Kill every recorded command's group and wait until it is gone. */
orch_status lb_reap_commands(struct orch_instance *in, struct orch_ctx *ctx,
                             struct orch_error *err);

#endif
