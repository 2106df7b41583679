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

/* cmds.c: field 22 of /proc/PID/stat, 0 when there is no such process. */
unsigned long long lb_proc_start(long pid);
/* Record command pid (its own group leader) durably before it may run: the
 * record's path (host-allocated), or NULL with err set. */
char *lb_cmd_record(const struct orch_instance *in, long pid, unsigned long long start,
                    struct orch_error *err);
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
