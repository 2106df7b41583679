#include "run_artifacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "api_json.h"
#include "config.h"
#include "host.h"
#include "runctl.h"
#include "util.h"

void oc_artifact_sha256_hex(struct sha256_ctx *c, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(c, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static int32_t oc_art_ev(void *ud, const struct orch_event_rec *e)
{
    json_t *by_name = ud;
    if (!strcmp(e->type, OC_ARTIFACT_EXPIRED)) {
        /* Retention took the blobs of every artifact stored before it; one
         * stored again later is live again (its entry is replaced). */
        const char *k;
        json_t *v;
        json_object_foreach(by_name, k, v)
            if (!json_object_get(v, "expired"))
                json_object_set_new(v, "expired", oc_api_time(e->ts_ns));
        return 0;
    }
    if (strcmp(e->type, "artifact.stored"))
        return 0;
    json_t *d = json_loads(e->data_json ? e->data_json : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(d, "name"));
    if (name) {
        json_object_set_new(d, "stored", oc_api_time(e->ts_ns));
        json_object_set(by_name, name, d);
    }
    json_decref(d);
    return 0;
}

static int oc_art_cmp(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x, y);
}

static int32_t oc_art_run_seen(void *ud, const struct orch_run_rec *r)
{
    (void)r;
    *(int *)ud = 1;
    return 0;
}

orch_status oc_run_artifacts_list(struct oc_store *st, const char *run_id, json_t **list,
                                  struct orch_error *err)
{
    *list = NULL;
    int seen = 0;
    orch_status rc = st->vt->run_get(st->h, run_id, oc_art_run_seen, &seen, err);
    if (rc == ORCH_OK && !seen)
        rc = ORCH_E_NOT_FOUND;
    if (rc == ORCH_E_NOT_FOUND)
        return oc_error_set(err, rc, "no run %s", run_id);
    if (rc != ORCH_OK)
        return rc;
    json_t *by_name = json_object();
    rc = st->vt->event_list(st->h, run_id, 0, 0, oc_art_ev, by_name, err);
    if (rc != ORCH_OK) {
        json_decref(by_name);
        return rc;
    }
    size_t n = json_object_size(by_name), i = 0;
    json_t **v = oc_xcalloc(n ? n : 1, sizeof *v);
    const char *k;
    json_t *e;
    json_object_foreach(by_name, k, e) v[i++] = e;
    qsort(v, n, sizeof *v, oc_art_cmp);
    *list = json_array();
    for (i = 0; i < n; i++)
        json_array_append(*list, v[i]);
    free(v);
    json_decref(by_name);
    return ORCH_OK;
}

json_t *oc_run_artifact_entry(const json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name))
            return e;
    }
    return NULL;
}

struct oc_art_src {
    char *source, *path;
};

static int32_t oc_art_run_src(void *ud, const struct orch_run_rec *r)
{
    struct oc_art_src *s = ud;
    s->source = r->source ? oc_xstrdup(r->source) : NULL;
    s->path = r->source_path ? oc_xstrdup(r->source_path) : NULL;
    return 0;
}

struct oc_store *oc_artifacts_store(struct oc_registry *reg, struct oc_store *st,
                                    const struct oc_config *cfg, int *owned,
                                    struct orch_error *err)
{
    *owned = 0;
    struct oc_store *ast = NULL;
    if (cfg && cfg->artifacts.uses) {
        ast = oc_blob_store_open(reg, &cfg->artifacts, st->state_dir, err);
        *owned = ast != NULL;
    } else if (st->plugin->desc->caps & ORCH_STORE_CAP_BLOBS) {
        ast = st;
    } else {
        oc_error_set(err, ORCH_E_UNSUPPORTED, "no store holds artifacts: the state store "
                                              "cannot hold blobs and no artifacts: is set");
    }
    return ast;
}

/* The store the run wrote its artifacts to: its snapshot's artifacts:,
 * opened here (*owned), else st itself when it holds blobs. */
static struct oc_store *oc_art_store(struct oc_registry *reg, struct oc_store *st,
                                     const char *run_id, int *owned, struct orch_error *err)
{
    *owned = 0;
    struct oc_art_src src = {0};
    if (st->vt->run_get(st->h, run_id, oc_art_run_src, &src, err) != ORCH_OK)
        return NULL;
    struct oc_diag diag = {0};
    struct oc_config *cfg =
        src.source ? oc_config_parse_snapshot(src.source, src.path, &diag) : NULL;
    if (cfg && oc_config_validate(cfg, reg, &diag) != 0) {
        oc_config_free(cfg);
        cfg = NULL;
    }
    free(src.source);
    free(src.path);
    struct oc_store *ast = NULL;
    if (!cfg) {
        oc_error_set(err, ORCH_E_CONFIG, "run %s: its config snapshot no longer loads: %s",
                     run_id, diag.n ? diag.msgs[0] : "no snapshot");
    } else {
        ast = oc_artifacts_store(reg, st, cfg, owned, err);
        if (!ast && err->code == ORCH_E_UNSUPPORTED)
            oc_error_set(err, ORCH_E_UNSUPPORTED, "run %s: no store holds its artifacts",
                         run_id);
    }
    oc_diag_free(&diag);
    oc_config_free(cfg);
    return ast;
}

void oc_artifact_tee_init(struct oc_artifact_tee *t, orch_write_fn wr, void *ud)
{
    *t = (struct oc_artifact_tee){.wr = wr, .ud = ud};
    sha256_init(&t->sha);
}

int32_t oc_artifact_tee_write(void *ud, const void *buf, uint64_t len)
{
    struct oc_artifact_tee *t = ud;
    t->n += len;
    sha256_update(&t->sha, (size_t)len, buf);
    return t->wr(t->ud, buf, len);
}

struct oc_run_artifact {
    json_t *entry;           /* {name, size, sha256, ...}, owned */
    struct oc_store *st;     /* the store holding the bytes */
    int owned;               /* st was opened for this read */
    char *key;               /* the blob's key */
    char *what;              /* "artifact 'NAME' of run RUN", for messages */
};

struct oc_run_artifact *oc_artifact_reader(json_t *entry, struct oc_store *st, int owned,
                                           char *key, char *what)
{
    struct oc_run_artifact *a = oc_xcalloc(1, sizeof *a);
    *a = (struct oc_run_artifact){.entry = entry, .st = st, .owned = owned, .key = key,
                                  .what = what};
    return a;
}

orch_status oc_run_artifact_open(struct oc_registry *reg, struct oc_store *st,
                                 const char *run_id, const char *name,
                                 struct oc_run_artifact **out, struct orch_error *err)
{
    *out = NULL;
    json_t *list = NULL;
    orch_status rc = oc_run_artifacts_list(st, run_id, &list, err);
    if (rc != ORCH_OK)
        return rc;
    json_t *e = json_incref(oc_run_artifact_entry(list, name));
    json_decref(list);
    if (!e)
        return oc_error_set(err, ORCH_E_NOT_FOUND, "run %s has no artifact '%s'", run_id, name);
    const char *expired = json_string_value(json_object_get(e, "expired"));
    if (expired) {
        rc = oc_error_set(err, ORCH_E_NOT_FOUND, "artifact '%s' of run %s expired at %s "
                          "(retention: artifacts removed its bytes)", name, run_id, expired);
        json_decref(e);
        return rc;
    }
    int owned;
    struct oc_store *ast = oc_art_store(reg, st, run_id, &owned, err);
    if (!ast) {
        json_decref(e);
        return err->code;
    }
    *out = oc_artifact_reader(e, ast, owned, oc_artifact_key(run_id, name),
                              oc_xasprintf("artifact '%s' of run %s", name, run_id));
    return ORCH_OK;
}

const json_t *oc_run_artifact_info(const struct oc_run_artifact *a)
{
    return a->entry;
}

int oc_run_artifact_shares_store(const struct oc_run_artifact *a)
{
    return !a->owned;
}

orch_status oc_artifact_blob_checked(const struct orch_store_vtable *vt, struct orch_store *h,
                                     const char *key, const json_t *entry, const char *what,
                                     orch_write_fn wr, void *ud, struct orch_error *err)
{
    struct oc_artifact_tee c;
    oc_artifact_tee_init(&c, wr, ud);
    orch_status rc = vt->blob_get(h, key, oc_artifact_tee_write, &c, err);
    if (rc == ORCH_OK) {
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        oc_artifact_sha256_hex(&c.sha, hex);
        const char *want = json_string_value(json_object_get(entry, "sha256"));
        json_int_t size = json_integer_value(json_object_get(entry, "size"));
        if ((want && strcmp(want, hex)) || (json_int_t)c.n != size)
            rc = oc_error_set(err, ORCH_E_IO,
                              "%s changed in its store: %llu bytes, sha256 %s; recorded "
                              "%lld bytes, sha256 %s",
                              what, (unsigned long long)c.n, hex, (long long)size,
                              want ? want : "(none)");
    } else if (rc == ORCH_E_NOT_FOUND) {
        oc_error_set(err, rc, "%s is no longer in its store", what);
    }
    return rc;
}

orch_status oc_run_artifact_stream(struct oc_run_artifact *a, orch_write_fn wr, void *ud,
                                   struct orch_error *err)
{
    return oc_artifact_blob_checked(a->st->vt, a->st->h, a->key, a->entry, a->what, wr, ud,
                                    err);
}

void oc_run_artifact_close(struct oc_run_artifact *a)
{
    if (!a)
        return;
    if (a->owned)
        oc_store_close(a->st);
    json_decref(a->entry);
    free(a->key);
    free(a->what);
    free(a);
}

orch_status oc_run_artifact_read(struct oc_registry *reg, struct oc_store *st,
                                 const char *run_id, const char *name, orch_write_fn wr,
                                 void *ud, struct orch_error *err)
{
    struct oc_run_artifact *a;
    orch_status rc = oc_run_artifact_open(reg, st, run_id, name, &a, err);
    if (rc == ORCH_OK)
        rc = oc_run_artifact_stream(a, wr, ud, err);
    oc_run_artifact_close(a);
    return rc;
}

/* The keys under the run's artifact prefix (the key rule's, with an empty
 * name), with their sizes. */
struct oc_art_keys {
    json_t *keys;
    uint64_t bytes;
};

static int32_t oc_art_key_cb(void *ud, const char *key, uint64_t size)
{
    struct oc_art_keys *k = ud;
    json_array_append_new(k->keys, json_string(key));
    k->bytes += size;
    return 0;
}

/* Every blob under the run's prefix in ast: counted, and deleted unless
 * dry_run. A blob already gone (another sweeper) is not an error. */
static orch_status oc_art_blobs_remove(struct oc_store *ast, const char *run_id, int dry_run,
                                       uint64_t *n, uint64_t *bytes, struct orch_error *err)
{
    char *prefix = oc_artifact_key(run_id, "");
    struct oc_art_keys k = {json_array(), 0};
    orch_status rc = ast->vt->blob_list(ast->h, prefix, oc_art_key_cb, &k, err);
    free(prefix);
    size_t i;
    json_t *v;
    json_array_foreach(k.keys, i, v) {
        if (rc != ORCH_OK || dry_run)
            break;
        rc = ast->vt->blob_delete(ast->h, json_string_value(v), err);
        if (rc == ORCH_E_NOT_FOUND) {
            oc_error_clear(err);
            rc = ORCH_OK;
        }
    }
    if (rc == ORCH_OK) {
        *n = json_array_size(k.keys);
        *bytes = k.bytes;
    }
    json_decref(k.keys);
    return rc;
}

/* The run's artifact list and the store holding its blobs. A run whose
 * ledger records no artifact has nothing to lose when its snapshot no
 * longer names a store that opens: *ast NULL and OK then. */
static orch_status oc_art_for_removal(struct oc_registry *reg, struct oc_store *st,
                                      const char *run_id, json_t **list, struct oc_store **ast,
                                      int *owned, struct orch_error *err)
{
    *ast = NULL;
    orch_status rc = oc_run_artifacts_list(st, run_id, list, err);
    if (rc != ORCH_OK)
        return rc;
    *ast = oc_art_store(reg, st, run_id, owned, err);
    if (*ast)
        return ORCH_OK;
    if (!json_array_size(*list)) {
        oc_error_clear(err);
        return ORCH_OK;
    }
    json_decref(*list);
    *list = NULL;
    return err->code;
}

orch_status oc_run_artifacts_remove(struct oc_registry *reg, struct oc_store *st,
                                    const char *run_id, int dry_run, uint64_t *n,
                                    uint64_t *bytes, struct orch_error *err)
{
    *n = *bytes = 0;
    json_t *list;
    struct oc_store *ast;
    int owned = 0;
    orch_status rc = oc_art_for_removal(reg, st, run_id, &list, &ast, &owned, err);
    if (rc == ORCH_OK && ast)
        rc = oc_art_blobs_remove(ast, run_id, dry_run, n, bytes, err);
    if (owned)
        oc_store_close(ast);
    json_decref(list);
    return rc;
}

orch_status oc_run_artifacts_expire(struct oc_registry *reg, struct oc_store *st,
                                    const char *run_id, int dry_run, int64_t now_ns,
                                    uint64_t *n, uint64_t *bytes, struct orch_error *err)
{
    *n = *bytes = 0;
    json_t *list;
    struct oc_store *ast;
    int owned = 0;
    orch_status rc = oc_art_for_removal(reg, st, run_id, &list, &ast, &owned, err);
    json_t *names = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(rc == ORCH_OK ? list : NULL, i, e)
        if (!json_object_get(e, "expired"))
            json_array_append(names, json_object_get(e, "name"));
    if (rc == ORCH_OK && ast && json_array_size(names)) {
        uint64_t blobs = 0;
        rc = oc_art_blobs_remove(ast, run_id, dry_run, &blobs, bytes, err);
        /* The ledger says so once the bytes are gone, so `orch runs
         * artifact` answers "expired", not "changed in its store". */
        if (rc == ORCH_OK && !dry_run)
            rc = oc_run_event(st, run_id, OC_ARTIFACT_EXPIRED,
                              json_pack("{s:O,s:I,s:s}", "names", names, "bytes",
                                        (json_int_t)*bytes, "by", "retention"),
                              now_ns, err);
        if (rc == ORCH_OK)
            *n = json_array_size(names);
    }
    json_decref(names);
    if (owned)
        oc_store_close(ast);
    json_decref(list);
    return rc;
}
