/* backend-ssh internals: an instance is a directory on an SSH host
 * (ROOT/<instance id>, commands run in its work/ subdirectory), reached
 * over one libssh2 session per backend handle, reopened when it drops. */
#ifndef BACKEND_SSH_H
#define BACKEND_SSH_H

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <orch/orch.h>

#include <orch/kit.h>

extern const struct orch_host *sb_host;

struct sb_cfg {
    const char *host;
    int64_t port;
    const char *user;
    const char *private_key;     /* PEM/OpenSSH text (a secret) */
    const char *private_key_file;
    const char *passphrase;
    int32_t use_agent;
    const char *known_hosts;
    int32_t trust_on_first_use;
    int64_t connect_timeout_ms;
    int64_t keepalive_ms;
    const char *root;
    int64_t kill_grace_ms;
};

struct orch_backend {
    struct sb_cfg cfg;           /* strings owned (host memory) */
    int sock;
    LIBSSH2_SESSION *s;
    LIBSSH2_SFTP *sftp;
    int broken;                  /* the connection died: reopen it before the next use */
};

struct orch_instance {
    struct orch_backend *be;
    char *id;
    char *dir;                   /* ROOT/<id> */
    char *workdir;               /* ROOT/<id>/work */
};

#define SB_MARKER ".orch-instance"

#define sb_printf(...) pk_printf(sb_host, __VA_ARGS__)
#define sb_quote(s) pk_shquote(sb_host, (s))

/* session.c: the connection, (re)opened on demand. */
orch_status sb_session(struct orch_backend *be, struct orch_error *err);
void sb_disconnect(struct orch_backend *be);
/* The SFTP subsystem of the session. */
orch_status sb_sftp(struct orch_backend *be, struct orch_error *err);
/* libssh2's last error as an orch error; a dead connection is TRANSIENT
 * and marks the session broken, so the next sb_session reconnects (the
 * caller frees its channels first). */
orch_status sb_fail(struct orch_backend *be, const char *what, struct orch_error *err);
/* Wait until the session's socket is ready in the direction libssh2 is
 * blocked on, at most ms, or until cancel_fd is readable. */
void sb_wait(struct orch_backend *be, int ms, int cancel_fd);
/* Run a short shell command to its end (blocking), its stdout in *out
 * (host memory, may be NULL), its exit status in *status. Reconnects once
 * when the session had dropped. */
orch_status sb_run(struct orch_backend *be, const char *cmd, char **out, int *status,
                   struct orch_error *err);

/* exec.c */
orch_status sb_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err);
/* reap.c: kill the recorded groups of interrupted execs, confirm gone. */
orch_status sb_reap_commands(struct orch_instance *in, struct orch_ctx *ctx,
                             struct orch_error *err);
/* files.c */
char *sb_resolve(const struct orch_instance *in, const char *rel, struct orch_error *err);
int sb_rel_ok(const char *rel); /* relative, no ".." component */
/* Write data to the absolute path (a file of orch's, beside the work dir),
 * readable by the login user only. */
orch_status sb_put_private(struct orch_backend *be, const char *path, const char *data,
                           size_t len, struct orch_error *err);
orch_status sb_put_file(struct orch_instance *, struct orch_ctx *, const char *, uint32_t,
                        orch_read_fn, void *, struct orch_error *);
orch_status sb_get_file(struct orch_instance *, struct orch_ctx *, const char *,
                        orch_write_fn, void *, struct orch_error *);
orch_status sb_list_dir(struct orch_instance *, struct orch_ctx *, const char *,
                        orch_dirent_fn, void *, struct orch_error *);

#endif
