/* step-file internals. A location is a file in the step's instance (a
 * path under its work dir), one of the run's artifacts ("artifact:NAME")
 * or a file on the orch host ("host:PATH", only inside the directories of
 * defaults.host_paths). */
#ifndef STEP_FILE_H
#define STEP_FILE_H

#include <stdio.h>
#include <nettle/sha2.h>
#include <orch/orch.h>

extern const struct orch_host *sf_host;

struct sf_cfg {
    const char *action;      /* write, copy, read, checksum */
    const char *path;
    const char *content;
    const char *mode;        /* octal text */
    const char *from, *to;
    int64_t max_size;
    const char *expect;      /* checksum: the sha256 it must have */
};

enum sf_where { SF_INSTANCE, SF_ARTIFACT, SF_HOST };

struct sf_loc {
    enum sf_where where;
    char path[4096];         /* normalised; for the instance, relative */
};

/* Parses and checks a location; an instance path or artifact name that
 * leaves its root is ORCH_E_INVALID_ARG naming the option. */
orch_status sf_loc_parse(const char *text, const char *option, struct sf_loc *out,
                         struct orch_error *err);
const char *sf_loc_kind(const struct sf_loc *l);

/* Bytes on their way, in a temporary file, hashed as they arrive. */
struct sf_spool {
    FILE *f;
    uint64_t size, limit;    /* limit 0 = none */
    int over;                /* more than limit arrived */
    struct sha256_ctx sha;   /* Nettle */
    char hex[65];            /* after sf_spool_finish */
};

/* Finishes s: its digest as lowercase hex. */
void sf_sha256_hex(struct sha256_ctx *s, char out[65]);

orch_status sf_spool_open(struct sf_spool *s, uint64_t limit, struct orch_error *err);
void sf_spool_close(struct sf_spool *s);
/* Source to spool. */
orch_status sf_fetch(struct orch_ctx *ctx, const struct sf_loc *from, struct sf_spool *s,
                     struct orch_error *err);
/* host: locations (host_files.c): only inside ctx_get("host_paths"),
 * opened beneath the allowed directory. */
orch_status sf_fetch_host(struct orch_ctx *ctx, const struct sf_loc *from, orch_write_fn wr,
                          void *ud, struct orch_error *err);
orch_status sf_store_host(struct orch_ctx *ctx, const struct sf_loc *to, uint32_t mode,
                          orch_read_fn rd, void *ud, struct orch_error *err);
/* Spool (or a buffer, when s->f is NULL) to destination. */
orch_status sf_store(struct orch_ctx *ctx, const struct sf_loc *to, uint32_t mode,
                     struct sf_spool *s, struct orch_error *err);

#endif
