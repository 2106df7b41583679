/* See backup.h. */
#define _GNU_SOURCE
#include "backup.h"

#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "json_limit.h"
#include "util.h"
#include "version.h"

#define OC_BACKUP_FORMAT 1
#define OC_BACKUP_CHUNK (1u << 20) /* blob bytes a line */
#define OC_BACKUP_PAGE 1000        /* events read at a time */
/* The longest line a restore reads: a 1 MiB chunk in base64 or a run with
 * its config text are far below; a longer line is no backup of ours, and
 * reading it whole would let a file exhaust memory. */
#define OC_BACKUP_MAX_LINE (64u << 20)

/* ---- writing ---- */

struct oc_bk_w {
    struct oc_store *st;
    FILE *out;
    struct oc_backup_counts *n;
    json_t *keys;      /* what a listing collected, read after it returned */
    int64_t last_seq;  /* paging of events and logs */
    uint32_t page_n;
    const char *run_id, *step_id;
    uint32_t attempt;
    char *blob;        /* a blob's bytes, up to one chunk */
    size_t blob_len;
    const char *blob_key;
    int failed;        /* a write to out failed */
};

static char *oc_bk_b64(const void *data, size_t len)
{
    char *s = oc_xmalloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    base64_encode_raw(s, len, data);
    s[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    return s;
}

static void oc_bk_line(struct oc_bk_w *w, const char *kind, json_t *obj)
{
    json_t *line = json_pack("{s:o}", kind, obj);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (!text || fputs(text, w->out) == EOF || fputc('\n', w->out) == EOF)
        w->failed = 1;
    free(text);
    json_decref(line);
}

static int32_t oc_bk_run(void *ud, const struct orch_run_rec *r)
{
    struct oc_bk_w *w = ud;
    oc_bk_line(w, "run",
               json_pack("{s:s,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:I}", "id", r->id,
                         "state", (int)r->state, "workflow", r->workflow, "idempotency_key",
                         r->idempotency_key, "inputs_json", r->inputs_json, "source", r->source,
                         "source_path", r->source_path, "owner", r->owner, "error", r->error,
                         "created_ns", (json_int_t)r->created_ns, "updated_ns",
                         (json_int_t)r->updated_ns, "not_before_ns",
                         (json_int_t)r->not_before_ns));
    json_array_append_new(w->keys, json_string(r->id));
    w->n->runs++;
    return 0;
}

static int32_t oc_bk_attempt(void *ud, const struct orch_attempt_rec *a)
{
    struct oc_bk_w *w = ud;
    oc_bk_line(w, "attempt",
               json_pack("{s:s,s:s,s:i,s:i,s:i,s:s?,s:s?,s:s?,s:s?,s:i,s:I,s:I}", "run_id",
                         a->run_id, "step_id", a->step_id, "attempt", (int)a->attempt, "state",
                         (int)a->state, "exit_code", (int)a->exit_code, "owner", a->owner,
                         "instance_id", a->instance_id, "outputs_json", a->outputs_json, "error",
                         a->error, "status", (int)a->status, "started_ns",
                         (json_int_t)a->started_ns, "finished_ns", (json_int_t)a->finished_ns));
    json_array_append_new(w->keys, json_pack("[s,i]", a->step_id, (int)a->attempt));
    w->n->attempts++;
    return 0;
}

static int32_t oc_bk_log(void *ud, const struct orch_log_rec *l)
{
    struct oc_bk_w *w = ud;
    char *data = oc_bk_b64(l->data, l->len);
    oc_bk_line(w, "log",
               json_pack("{s:s,s:s,s:i,s:i,s:I,s:s}", "run_id", w->run_id, "step_id", w->step_id,
                         "attempt", (int)w->attempt, "stream", (int)l->stream, "ts_ns",
                         (json_int_t)l->ts_ns, "data", data));
    free(data);
    w->last_seq = l->seq;
    w->page_n++;
    w->n->log_chunks++;
    return 0;
}

static int32_t oc_bk_event(void *ud, const struct orch_event_rec *e)
{
    struct oc_bk_w *w = ud;
    oc_bk_line(w, "event", json_pack("{s:s?,s:s,s:s?,s:I}", "run_id", e->run_id, "type", e->type,
                                     "data_json", e->data_json, "ts_ns", (json_int_t)e->ts_ns));
    w->last_seq = e->seq;
    w->page_n++;
    w->n->events++;
    return 0;
}

static int32_t oc_bk_instance(void *ud, const struct orch_instance_rec *i)
{
    struct oc_bk_w *w = ud;
    oc_bk_line(w, "instance",
               json_pack("{s:s,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:I}", "id", i->id,
                         "state", (int)i->state, "backend", i->backend, "run_id", i->run_id,
                         "backend_id", i->backend_id, "handle", i->handle, "labels_json",
                         i->labels_json, "owner", i->owner, "created_ns",
                         (json_int_t)i->created_ns, "updated_ns", (json_int_t)i->updated_ns,
                         "last_used_ns", (json_int_t)i->last_used_ns));
    w->n->instances++;
    return 0;
}

static int32_t oc_bk_flag(void *ud, const char *name, const char *value)
{
    struct oc_bk_w *w = ud;
    oc_bk_line(w, "flag", json_pack("{s:s,s:s?}", "name", name, "value", value));
    w->n->flags++;
    return 0;
}

static int32_t oc_bk_blob_key(void *ud, const char *key, uint64_t size)
{
    (void)size;
    json_array_append_new(((struct oc_bk_w *)ud)->keys, json_string(key));
    return 0;
}

static void oc_bk_blob_flush(struct oc_bk_w *w)
{
    char *data = oc_bk_b64(w->blob, w->blob_len);
    oc_bk_line(w, "blob", json_pack("{s:s,s:s}", "key", w->blob_key, "data", data));
    free(data);
    w->blob_len = 0;
}

static int32_t oc_bk_blob_write(void *ud, const void *buf, uint64_t len)
{
    struct oc_bk_w *w = ud;
    const char *p = buf;
    while (len) {
        size_t take = OC_BACKUP_CHUNK - w->blob_len;
        if (take > len)
            take = (size_t)len;
        memcpy(w->blob + w->blob_len, p, take);
        w->blob_len += take;
        p += take;
        len -= take;
        if (w->blob_len == OC_BACKUP_CHUNK)
            oc_bk_blob_flush(w);
    }
    return w->failed ? -1 : 0;
}

/* Each run's attempts, and each attempt's log. */
static orch_status oc_bk_runs(struct oc_bk_w *w, struct orch_error *err)
{
    const struct orch_store_vtable *vt = w->st->vt;
    struct orch_run_filter f = {.struct_size = sizeof f};
    json_t *runs = w->keys = json_array();
    orch_status rc = vt->run_list(w->st->h, &f, oc_bk_run, w, err);
    size_t i, k;
    json_t *id, *at;
    json_array_foreach(runs, i, id) {
        if (rc != ORCH_OK)
            break;
        json_t *attempts = w->keys = json_array();
        w->run_id = json_string_value(id);
        rc = vt->attempt_list(w->st->h, w->run_id, oc_bk_attempt, w, err);
        json_array_foreach(attempts, k, at) {
            if (rc != ORCH_OK)
                break;
            w->step_id = json_string_value(json_array_get(at, 0));
            w->attempt = (uint32_t)json_integer_value(json_array_get(at, 1));
            w->last_seq = 0;
            do {
                w->page_n = 0;
                rc = vt->log_read(w->st->h, w->run_id, w->step_id, w->attempt, w->last_seq,
                                  oc_bk_log, w, err);
            } while (rc == ORCH_OK && w->page_n);
        }
        json_decref(attempts);
    }
    json_decref(runs);
    w->keys = NULL;
    return rc;
}

static orch_status oc_bk_rest(struct oc_bk_w *w, struct orch_error *err)
{
    const struct orch_store_vtable *vt = w->st->vt;
    struct orch_store *h = w->st->h;
    orch_status rc = ORCH_OK;
    w->last_seq = 0;
    do {
        w->page_n = 0;
        rc = vt->event_list(h, NULL, w->last_seq, OC_BACKUP_PAGE, oc_bk_event, w, err);
    } while (rc == ORCH_OK && w->page_n == OC_BACKUP_PAGE);
    if (rc == ORCH_OK)
        rc = vt->instance_list(h, NULL, oc_bk_instance, w, err);
    if (rc == ORCH_OK)
        rc = vt->flag_list(h, oc_bk_flag, w, err);
    if (rc != ORCH_OK || !vt->blob_list)
        return rc;
    json_t *keys = w->keys = json_array();
    rc = vt->blob_list(h, "", oc_bk_blob_key, w, err);
    w->blob = oc_xmalloc(OC_BACKUP_CHUNK);
    size_t i;
    json_t *key;
    json_array_foreach(keys, i, key) {
        if (rc != ORCH_OK)
            break;
        w->blob_key = json_string_value(key);
        w->blob_len = 0;
        rc = vt->blob_get(h, w->blob_key, oc_bk_blob_write, w, err);
        if (rc == ORCH_OK)
            oc_bk_blob_flush(w); /* the last chunk; an empty blob is one empty chunk */
        w->n->blobs++;
    }
    free(w->blob);
    json_decref(keys);
    w->keys = NULL;
    return rc;
}

orch_status oc_backup_write(struct oc_store *st, FILE *out, struct oc_backup_counts *n,
                            struct orch_error *err)
{
    memset(n, 0, sizeof *n);
    struct oc_bk_w w = {.st = st, .out = out, .n = n};
    int32_t cur = 0, sup = 0;
    orch_status rc = st->vt->schema_version(st->h, &cur, &sup, err);
    if (rc != ORCH_OK)
        return rc;
    json_t *head = json_pack("{s:i,s:s,s:i,s:I}", "orch_backup", OC_BACKUP_FORMAT, "orch",
                             oc_version(), "schema", (int)cur, "created_ns",
                             (json_int_t)oc_now_real_ns());
    char *text = json_dumps(head, JSON_COMPACT);
    json_decref(head);
    if (fprintf(out, "%s\n", text) < 0)
        w.failed = 1;
    free(text);
    rc = oc_bk_runs(&w, err);
    if (rc == ORCH_OK)
        rc = oc_bk_rest(&w, err);
    if (rc == ORCH_OK)
        oc_bk_line(&w, "end",
                   json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "runs", (json_int_t)n->runs,
                             "attempts", (json_int_t)n->attempts, "log_chunks",
                             (json_int_t)n->log_chunks, "events", (json_int_t)n->events,
                             "instances", (json_int_t)n->instances, "flags",
                             (json_int_t)n->flags, "blobs", (json_int_t)n->blobs));
    if (rc == ORCH_OK && (w.failed || fflush(out) != 0 || ferror(out)))
        rc = oc_error_set(err, ORCH_E_IO, "writing the backup failed (disk full?)");
    return rc;
}

/* ---- reading ---- */

struct oc_bk_r {
    struct oc_store *st;
    struct oc_backup_counts *n;
    size_t line;
    FILE *blob;         /* the current blob's bytes so far */
    char *blob_key;
    int ended;
    json_t *end;
};

static const char *oc_bk_str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t oc_bk_int(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* A field the readers parse as JSON must be JSON (or absent): a backup is
 * read from a file, and a store never held anything else there. */
static int oc_bk_json_ok(json_t *o, const char *k)
{
    const char *s = oc_bk_str(o, k);
    if (!s)
        return 1;
    json_t *j = oc_json_loads_bounded(s, JSON_DECODE_ANY, NULL);
    json_decref(j);
    return j != NULL;
}

/* A state field within [lo, hi]. */
static int oc_bk_in(json_t *o, const char *k, int64_t lo, int64_t hi)
{
    int64_t v = oc_bk_int(o, k);
    return json_is_integer(json_object_get(o, k)) && v >= lo && v <= hi;
}

/* Bytes of a base64 text, malloc'd; NULL when it is not base64. */
static char *oc_bk_unb64(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = oc_xmalloc(BASE64_DECODE_LENGTH(n) + 1);
    struct base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    size_t got = BASE64_DECODE_LENGTH(n);
    if (!base64_decode_update(&ctx, &got, (uint8_t *)out, n, s) || !base64_decode_final(&ctx)) {
        free(out);
        return NULL;
    }
    *len = got;
    return out;
}

static int64_t oc_bk_blob_read(void *ud, void *buf, uint64_t len)
{
    size_t got = fread(buf, 1, (size_t)len, ud);
    return ferror((FILE *)ud) ? -1 : (int64_t)got;
}

static orch_status oc_bk_blob_put(struct oc_bk_r *r, struct orch_error *err)
{
    if (!r->blob_key)
        return ORCH_OK;
    rewind(r->blob);
    orch_status rc = r->st->vt->blob_put(r->st->h, r->blob_key, oc_bk_blob_read, r->blob, err);
    fclose(r->blob);
    r->blob = NULL;
    free(r->blob_key);
    r->blob_key = NULL;
    r->n->blobs++;
    return rc;
}

static orch_status oc_bk_blob_chunk(struct oc_bk_r *r, json_t *o, struct orch_error *err)
{
    const char *key = oc_bk_str(o, "key"), *data = oc_bk_str(o, "data");
    if (!key || !data)
        return oc_error_set(err, ORCH_E_INVALID_ARG, "a blob needs key and data");
    if (r->blob_key && strcmp(r->blob_key, key)) {
        orch_status rc = oc_bk_blob_put(r, err);
        if (rc != ORCH_OK)
            return rc;
    }
    if (!r->blob_key) {
        if (!(r->blob = tmpfile()))
            return oc_error_set(err, ORCH_E_IO, "no temporary file for a blob");
        r->blob_key = oc_xstrdup(key);
    }
    size_t len;
    char *bytes = oc_bk_unb64(data, &len);
    if (!bytes)
        return oc_error_set(err, ORCH_E_INVALID_ARG, "blob %s: data is not base64", key);
    size_t put = fwrite(bytes, 1, len, r->blob);
    free(bytes);
    return put == len ? ORCH_OK : oc_error_set(err, ORCH_E_IO, "a blob's temporary file");
}

static orch_status oc_bk_one(struct oc_bk_r *r, const char *kind, json_t *o,
                             struct orch_error *err)
{
    const struct orch_store_vtable *vt = r->st->vt;
    struct orch_store *h = r->st->h;
    if (strcmp(kind, "blob") && r->blob_key) {
        orch_status rc = oc_bk_blob_put(r, err);
        if (rc != ORCH_OK)
            return rc;
    }
    if (!strcmp(kind, "run")) {
        uint32_t state = (uint32_t)oc_bk_int(o, "state");
        if (!oc_bk_str(o, "id") || !oc_bk_in(o, "state", ORCH_RUN_QUEUED, ORCH_RUN_CANCELLED))
            return oc_error_set(err, ORCH_E_INVALID_ARG, "a run needs an id and a state");
        if (!oc_bk_json_ok(o, "inputs_json"))
            return oc_error_set(err, ORCH_E_INVALID_ARG, "run %s: inputs_json is not JSON",
                                oc_bk_str(o, "id"));
        /* No daemon holds it yet: a running run is queued again, to be
         * adopted and resumed as after a crash. */
        struct orch_run_rec rec = {
            .struct_size = sizeof rec,
            .state = state == ORCH_RUN_RUNNING ? ORCH_RUN_QUEUED : state,
            .id = oc_bk_str(o, "id"),
            .workflow = oc_bk_str(o, "workflow"),
            .idempotency_key = oc_bk_str(o, "idempotency_key"),
            .inputs_json = oc_bk_str(o, "inputs_json"),
            .source = oc_bk_str(o, "source"),
            .source_path = oc_bk_str(o, "source_path"),
            .error = oc_bk_str(o, "error"),
            .created_ns = oc_bk_int(o, "created_ns"),
            .updated_ns = oc_bk_int(o, "updated_ns"),
            .not_before_ns = oc_bk_int(o, "not_before_ns"),
        };
        r->n->runs++;
        return vt->run_create(h, &rec, NULL, NULL, err);
    }
    if (!strcmp(kind, "attempt")) {
        struct orch_attempt_rec a = {
            .struct_size = sizeof a,
            .state = (uint32_t)oc_bk_int(o, "state"),
            .run_id = oc_bk_str(o, "run_id"),
            .step_id = oc_bk_str(o, "step_id"),
            .attempt = (uint32_t)oc_bk_int(o, "attempt"),
            .exit_code = (int32_t)oc_bk_int(o, "exit_code"),
            .owner = oc_bk_str(o, "owner"),
            .instance_id = oc_bk_str(o, "instance_id"),
            .outputs_json = oc_bk_str(o, "outputs_json"),
            .error = oc_bk_str(o, "error"),
            .status = (orch_status)oc_bk_int(o, "status"),
            .started_ns = oc_bk_int(o, "started_ns"),
            .finished_ns = oc_bk_int(o, "finished_ns"),
        };
        if (!a.run_id || !a.step_id || !a.attempt ||
            !oc_bk_in(o, "state", ORCH_STEP_PENDING, ORCH_STEP_WAITING) ||
            !oc_bk_json_ok(o, "outputs_json"))
            return oc_error_set(err, ORCH_E_INVALID_ARG, "an attempt needs run_id, step_id, "
                                "attempt, a step state and outputs as JSON");
        r->n->attempts++;
        return vt->attempt_cas(h, &a, 0, err);
    }
    if (!strcmp(kind, "log")) {
        const char *run = oc_bk_str(o, "run_id"), *step = oc_bk_str(o, "step_id");
        const char *data = oc_bk_str(o, "data");
        size_t len;
        char *bytes = run && step && data &&
                              oc_bk_in(o, "stream", ORCH_STREAM_STDOUT, ORCH_STREAM_STDERR)
                          ? oc_bk_unb64(data, &len)
                          : NULL;
        if (!bytes)
            return oc_error_set(err, ORCH_E_INVALID_ARG, "a log chunk needs run_id, step_id, "
                                "a stream and base64 data");
        orch_status rc = vt->log_append(h, run, step, (uint32_t)oc_bk_int(o, "attempt"),
                                        (uint32_t)oc_bk_int(o, "stream"), bytes, len,
                                        oc_bk_int(o, "ts_ns"), err);
        free(bytes);
        r->n->log_chunks++;
        return rc;
    }
    if (!strcmp(kind, "event")) {
        int64_t seq;
        if (!oc_bk_str(o, "type") || !oc_bk_json_ok(o, "data_json"))
            return oc_error_set(err, ORCH_E_INVALID_ARG, "an event needs a type, and data as "
                                "JSON");
        r->n->events++;
        return vt->event_append(h, oc_bk_str(o, "run_id"), oc_bk_str(o, "type"),
                                oc_bk_str(o, "data_json"), oc_bk_int(o, "ts_ns"), &seq, err);
    }
    if (!strcmp(kind, "instance")) {
        struct orch_instance_rec i = {
            .struct_size = sizeof i,
            .state = (uint32_t)oc_bk_int(o, "state"),
            .id = oc_bk_str(o, "id"),
            .backend = oc_bk_str(o, "backend"),
            .run_id = oc_bk_str(o, "run_id"),
            .backend_id = oc_bk_str(o, "backend_id"),
            .handle = oc_bk_str(o, "handle"),
            .labels_json = oc_bk_str(o, "labels_json"),
            .owner = oc_bk_str(o, "owner"),
            .created_ns = oc_bk_int(o, "created_ns"),
            .updated_ns = oc_bk_int(o, "updated_ns"),
            .last_used_ns = oc_bk_int(o, "last_used_ns"),
        };
        if (!i.id || !i.backend || !oc_bk_in(o, "state", ORCH_INST_UNKNOWN, ORCH_INST_FAILED) ||
            !oc_bk_json_ok(o, "labels_json"))
            return oc_error_set(err, ORCH_E_INVALID_ARG, "an instance needs id, backend, a "
                                "state and labels as JSON");
        r->n->instances++;
        return vt->instance_put(h, &i, err);
    }
    if (!strcmp(kind, "flag")) {
        if (!oc_bk_str(o, "name"))
            return oc_error_set(err, ORCH_E_INVALID_ARG, "a flag needs a name");
        r->n->flags++;
        return vt->flag_set(h, oc_bk_str(o, "name"), oc_bk_str(o, "value"), err);
    }
    if (!strcmp(kind, "blob")) {
        if (!vt->blob_put)
            return oc_error_set(err, ORCH_E_UNSUPPORTED, "this store keeps no artifacts");
        return oc_bk_blob_chunk(r, o, err);
    }
    if (!strcmp(kind, "end")) {
        r->ended = 1;
        r->end = json_incref(o);
        return ORCH_OK;
    }
    return oc_error_set(err, ORCH_E_INVALID_ARG, "unknown record '%s'", kind);
}

static int32_t oc_bk_any_run(void *ud, const struct orch_run_rec *r)
{
    (void)r;
    *(int *)ud = 1;
    return 1;
}

static int32_t oc_bk_any_event(void *ud, const struct orch_event_rec *e)
{
    (void)e;
    *(int *)ud = 1;
    return 1;
}

/* The counts the end line promises against what was read. */
static orch_status oc_bk_check_end(struct oc_bk_r *r, struct orch_error *err)
{
    if (!r->ended)
        return oc_error_set(err, ORCH_E_INVALID_ARG, "the backup ends at line %zu without its "
                            "end record: it was cut off", r->line);
    const struct oc_backup_counts *n = r->n;
    struct {
        const char *k;
        uint64_t got;
    } c[] = {{"runs", n->runs},          {"attempts", n->attempts}, {"log_chunks", n->log_chunks},
             {"events", n->events},      {"instances", n->instances}, {"flags", n->flags},
             {"blobs", n->blobs}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if ((uint64_t)oc_bk_int(r->end, c[i].k) != c[i].got)
            return oc_error_set(err, ORCH_E_INVALID_ARG, "the backup promises %lld %s, it holds "
                                "%llu", (long long)oc_bk_int(r->end, c[i].k), c[i].k,
                                (unsigned long long)c[i].got);
    return ORCH_OK;
}

/* getline that stops reading a line once it is over the limit (what it
 * returns is then longer than OC_BACKUP_MAX_LINE, and is refused). */
static ssize_t oc_bk_getline(char **buf, size_t *cap, FILE *in)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(in)) != EOF) {
        if (n + 2 > *cap) {
            *cap = *cap ? *cap * 2 : 4096;
            *buf = oc_xrealloc(*buf, *cap);
        }
        (*buf)[n++] = (char)c;
        if (c == '\n' || n > OC_BACKUP_MAX_LINE)
            break;
    }
    if (!n)
        return -1;
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

static orch_status oc_bk_read_lines(struct oc_bk_r *r, FILE *in, struct orch_error *err)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    orch_status rc = ORCH_OK;
    while (rc == ORCH_OK && (got = oc_bk_getline(&buf, &cap, in)) >= 0) {
        r->line++;
        if ((size_t)got > OC_BACKUP_MAX_LINE) {
            rc = oc_error_set(err, ORCH_E_INVALID_ARG, "line %zu is longer than %u bytes",
                              r->line, OC_BACKUP_MAX_LINE);
            break;
        }
        json_error_t je;
        json_t *line = oc_json_loads_bounded(buf, 0, &je);
        if (!line || !json_is_object(line) || (r->line > 1 && json_object_size(line) != 1)) {
            rc = oc_error_set(err, ORCH_E_INVALID_ARG, "line %zu: not a backup record%s%s",
                              r->line, line ? "" : ": ", line ? "" : je.text);
        } else if (r->line == 1) {
            if (oc_bk_int(line, "orch_backup") != OC_BACKUP_FORMAT)
                rc = oc_error_set(err, ORCH_E_INVALID_ARG, "not an orch backup (format %d), or "
                                  "one of another format", OC_BACKUP_FORMAT);
        } else if (r->ended) {
            rc = oc_error_set(err, ORCH_E_INVALID_ARG, "line %zu: records after the end",
                              r->line);
        } else {
            const char *kind = json_object_iter_key(json_object_iter(line));
            json_t *o = json_object_iter_value(json_object_iter(line));
            if (!json_is_object(o))
                rc = oc_error_set(err, ORCH_E_INVALID_ARG, "line %zu: %s is not an object",
                                  r->line, kind);
            else if ((rc = oc_bk_one(r, kind, o, err)) != ORCH_OK) {
                char *why = oc_xstrdup(oc_error_text(err));
                oc_error_clear(err);
                rc = oc_error_set(err, rc, "line %zu (%s): %s", r->line, kind, why);
                free(why);
            }
        }
        json_decref(line);
    }
    free(buf);
    if (rc == ORCH_OK && ferror(in))
        rc = oc_error_set(err, ORCH_E_IO, "reading the backup failed");
    if (rc == ORCH_OK && !r->line)
        rc = oc_error_set(err, ORCH_E_INVALID_ARG, "the backup is empty");
    if (rc == ORCH_OK)
        rc = oc_bk_check_end(r, err);
    return rc;
}

orch_status oc_backup_read(struct oc_store *st, FILE *in, struct oc_backup_counts *n,
                           struct orch_error *err)
{
    memset(n, 0, sizeof *n);
    int any = 0;
    struct orch_run_filter f = {.struct_size = sizeof f, .limit = 1};
    orch_status rc = st->vt->run_list(st->h, &f, oc_bk_any_run, &any, err);
    if (rc == ORCH_OK && !any)
        rc = st->vt->event_list(st->h, NULL, 0, 1, oc_bk_any_event, &any, err);
    if (rc != ORCH_OK)
        return rc;
    if (any)
        return oc_error_set(err, ORCH_E_CONFLICT, "the store is not empty: a backup is restored "
                            "into a new store only (it keeps its ids and history)");
    if ((rc = oc_txn_begin(st, err)) != ORCH_OK)
        return rc;
    struct oc_bk_r r = {.st = st, .n = n};
    rc = oc_bk_read_lines(&r, in, err);
    if (r.blob)
        fclose(r.blob);
    free(r.blob_key);
    json_decref(r.end);
    return oc_txn_end(st, rc, err);
}
