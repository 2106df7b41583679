/* Opening a backend, creating instances with the suite's labels and
 * running shell commands in them, for the backend cases. */
#ifndef CF_BACKEND_UTIL_H
#define CF_BACKEND_UTIL_H

#include "cf.h"

struct bk {
    struct cf *c;
    const struct orch_backend_vtable *vt;
    void *cfg;
    struct orch_backend *be;
    struct cf_ctx x;
    struct cf_mark live0;
};

struct bk_inst {
    struct orch_instance *inst;
    char *id, *handle;          /* host memory, from create */
    char iid[96];               /* orch's instance id, also a label */
};

struct bk_out {
    struct oc_buf out, err;
};

int bk_open(struct cf *c, struct bk *b);       /* 0, or -1 after cf_fail */
void bk_close(struct bk *b);                    /* also checks for leaks */
int bk_create(struct bk *b, struct bk_inst *i, const char *tag);
/* destroy + release; failures reported. */
void bk_destroy(struct bk *b, struct bk_inst *i);
void bk_release(struct bk *b, struct bk_inst *i);

struct bk_exec_opts {
    const struct orch_kv *env;
    uint32_t env_count;
    const char *cwd;
    int64_t timeout_ms;
    const void *stdin_data;
    uint64_t stdin_len;
    int no_shell;               /* run script as argv[0] without a shell */
};
/* Run script with /bin/sh -c; o is filled with stdout and stderr apart. */
orch_status bk_exec(struct bk *b, struct bk_inst *i, const char *script,
                    const struct bk_exec_opts *opts, struct bk_out *o,
                    struct orch_exec_res *res, struct orch_error *err);
/* bk_exec expecting exit 0; returns stdout (malloc'd) or NULL after cf_fail. */
char *bk_sh(struct bk *b, struct bk_inst *i, const char *script);
void bk_out_free(struct bk_out *o);

/* The ABI 1.1 contract cases (suite_backend11.c). */
void cf_bk_workdir(struct cf *c);
void cf_bk_shell(struct cf *c);
void cf_bk_stream_live(struct cf *c);
void cf_bk_exec_after_stop(struct cf *c);

#endif
