/* The traced vtables and the record of the slot a case is in (slots.h).
 * The record lives in a MAP_SHARED page made by the runner before it forks
 * a case, so it survives the case's crash or SIGKILL; the names in it are
 * string literals of this library, at the same address in both processes. */
#define _GNU_SOURCE
#include "slots.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include <orch/orch.h>

#include "host_owners.h"
#include "util.h"

#define CF_SLOT_DEPTH 8

struct cf_slot_rec {
    int depth;
    struct {
        const char *name;
        int64_t t0_ns;
    } stack[CF_SLOT_DEPTH];
    const char *last;
};

static struct cf_slot_rec *cf_rec;
static int cf_recording;   /* in the case's own process only */

void cf_slots_reset(void)
{
    if (!cf_rec) {
        void *p = mmap(NULL, sizeof *cf_rec, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return; /* messages then name no slot; the suite still runs */
        cf_rec = p;
    }
    memset(cf_rec, 0, sizeof *cf_rec);
}

/* A process the case forks (a second opener in attach, the store's racing
 * writers) must not scribble on the case's record. */
static void cf_slots_forked(void)
{
    cf_recording = 0;
}

void cf_slots_child(void)
{
    cf_recording = cf_rec != NULL;
    pthread_atfork(NULL, NULL, cf_slots_forked);
}

void cf_slots_where(struct cf_slot_where *w)
{
    memset(w, 0, sizeof *w);
    if (!cf_rec)
        return;
    int d = cf_rec->depth;
    if (d > CF_SLOT_DEPTH)
        d = CF_SLOT_DEPTH;
    if (d > 0) {
        w->slot = cf_rec->stack[d - 1].name;
        w->running_ms = (oc_now_mono_ns() - cf_rec->stack[d - 1].t0_ns) / 1000000;
        if (d > 1)
            w->outer = cf_rec->stack[d - 2].name;
    }
    w->last = cf_rec->last;
}

struct cf_frame {
    const char *prev_tag;
};

static void cf_enter(struct cf_frame *f, const char *name)
{
    f->prev_tag = oc_host_owners_tag(name);
    if (!cf_recording)
        return;
    int d = cf_rec->depth;
    if (d >= 0 && d < CF_SLOT_DEPTH) {
        cf_rec->stack[d].name = name;
        cf_rec->stack[d].t0_ns = oc_now_mono_ns();
    }
    /* Stored before the plugin runs: the runner reads it after a crash. */
    atomic_signal_fence(memory_order_seq_cst);
    cf_rec->depth = d + 1;
    atomic_signal_fence(memory_order_seq_cst);
}

static void cf_leave(struct cf_frame *f, const char *name)
{
    oc_host_owners_tag(f->prev_tag);
    if (!cf_recording)
        return;
    atomic_signal_fence(memory_order_seq_cst);
    cf_rec->depth--;
    cf_rec->last = name;
    atomic_signal_fence(memory_order_seq_cst);
}

/* One wrapper per slot: K kind, S slot, P its parameters, A the call's
 * arguments. Slots returning void or a pointer have their own forms. */
#define CF_TR(K, S, P, A)                                                      \
    static orch_status cf_tr_##K##_##S P                                       \
    {                                                                          \
        struct cf_frame fr_;                                                   \
        cf_enter(&fr_, #K "." #S);                                             \
        orch_status rc = cf_real_##K->S A;                                     \
        cf_leave(&fr_, #K "." #S);                                             \
        return rc;                                                             \
    }
#define CF_TRV(K, S, P, A)                                                     \
    static void cf_tr_##K##_##S P                                              \
    {                                                                          \
        struct cf_frame fr_;                                                   \
        cf_enter(&fr_, #K "." #S);                                             \
        cf_real_##K->S A;                                                      \
        cf_leave(&fr_, #K "." #S);                                             \
    }
#define CF_TRT(T, K, S, P, A)                                                  \
    static T cf_tr_##K##_##S P                                                 \
    {                                                                          \
        struct cf_frame fr_;                                                   \
        cf_enter(&fr_, #K "." #S);                                             \
        T r = cf_real_##K->S A;                                                \
        cf_leave(&fr_, #K "." #S);                                             \
        return r;                                                              \
    }

/* ---- backend ---- */

static const struct orch_backend_vtable *cf_real_backend;
typedef struct orch_backend BE;
typedef struct orch_instance IN;
typedef struct orch_ctx CX;
typedef struct orch_error ER;

CF_TR(backend, open, (CX *x, const void *cfg, BE **out, ER *e), (x, cfg, out, e))
CF_TRV(backend, close, (BE *be), (be))
CF_TR(backend, create, (BE *be, CX *x, const struct orch_instance_spec *spec, IN **out,
                        struct orch_instance_ref *ref, ER *e), (be, x, spec, out, ref, e))
CF_TR(backend, attach, (BE *be, CX *x, const char *id, const char *handle, IN **out, ER *e),
      (be, x, id, handle, out, e))
CF_TR(backend, exec, (IN *i, CX *x, const struct orch_exec_req *rq, struct orch_exec_res *rs,
                      ER *e), (i, x, rq, rs, e))
CF_TR(backend, put_file, (IN *i, CX *x, const char *path, uint32_t mode, orch_read_fn rd,
                          void *ud, ER *e), (i, x, path, mode, rd, ud, e))
CF_TR(backend, get_file, (IN *i, CX *x, const char *path, orch_write_fn wr, void *ud, ER *e),
      (i, x, path, wr, ud, e))
CF_TR(backend, list_dir, (IN *i, CX *x, const char *path, orch_dirent_fn fn, void *ud, ER *e),
      (i, x, path, fn, ud, e))
CF_TR(backend, status, (IN *i, CX *x, struct orch_instance_status *out, ER *e), (i, x, out, e))
CF_TR(backend, stop, (IN *i, CX *x, int64_t grace_ms, ER *e), (i, x, grace_ms, e))
CF_TR(backend, destroy, (IN *i, CX *x, ER *e), (i, x, e))
CF_TRV(backend, release, (IN *i), (i))
CF_TR(backend, list_owned, (BE *be, CX *x, const struct orch_kv *m, uint32_t n, orch_owned_fn fn,
                            void *ud, ER *e), (be, x, m, n, fn, ud, e))
CF_TR(backend, probe, (BE *be, CX *x, struct orch_probe *out, ER *e), (be, x, out, e))
CF_TR(backend, reap_commands, (IN *i, CX *x, ER *e), (i, x, e))
CF_TRT(const char *, backend, workdir, (IN *i), (i))

/* ---- store ---- */

static const struct orch_store_vtable *cf_real_store;
typedef struct orch_store ST;

CF_TR(store, open, (CX *x, const void *cfg, ST **out, ER *e), (x, cfg, out, e))
CF_TRV(store, close, (ST *s), (s))
CF_TR(store, schema_version, (ST *s, int32_t *cur, int32_t *sup, ER *e), (s, cur, sup, e))
CF_TR(store, migrate, (ST *s, int32_t dry, char **plan, ER *e), (s, dry, plan, e))
CF_TR(store, txn_begin, (ST *s, ER *e), (s, e))
CF_TR(store, txn_commit, (ST *s, ER *e), (s, e))
CF_TR(store, txn_rollback, (ST *s, ER *e), (s, e))
CF_TR(store, run_create, (ST *s, const struct orch_run_rec *r, orch_run_fn fn, void *ud, ER *e),
      (s, r, fn, ud, e))
CF_TR(store, run_get, (ST *s, const char *id, orch_run_fn fn, void *ud, ER *e),
      (s, id, fn, ud, e))
CF_TR(store, run_list, (ST *s, const struct orch_run_filter *f, orch_run_fn fn, void *ud, ER *e),
      (s, f, fn, ud, e))
CF_TR(store, run_cas, (ST *s, const char *id, uint32_t es, const char *eo, uint32_t ns,
                       const char *error, int64_t now, ER *e), (s, id, es, eo, ns, error, now, e))
CF_TR(store, attempt_cas, (ST *s, const struct orch_attempt_rec *a, uint32_t es, ER *e),
      (s, a, es, e))
CF_TR(store, attempt_list, (ST *s, const char *run, orch_attempt_fn fn, void *ud, ER *e),
      (s, run, fn, ud, e))
CF_TR(store, event_append, (ST *s, const char *run, const char *type, const char *data,
                            int64_t ts, int64_t *seq, ER *e), (s, run, type, data, ts, seq, e))
CF_TR(store, event_list, (ST *s, const char *run, int64_t after, uint32_t limit,
                          orch_event_fn fn, void *ud, ER *e), (s, run, after, limit, fn, ud, e))
CF_TR(store, log_append, (ST *s, const char *run, const char *step, uint32_t att, uint32_t stream,
                          const char *data, uint64_t len, int64_t ts, ER *e),
      (s, run, step, att, stream, data, len, ts, e))
CF_TR(store, log_read, (ST *s, const char *run, const char *step, uint32_t att, int64_t after,
                        orch_log_fn fn, void *ud, ER *e), (s, run, step, att, after, fn, ud, e))
CF_TR(store, instance_put, (ST *s, const struct orch_instance_rec *i, ER *e), (s, i, e))
CF_TR(store, instance_list, (ST *s, const char *run, orch_instance_fn fn, void *ud, ER *e),
      (s, run, fn, ud, e))
CF_TR(store, instance_delete, (ST *s, const char *id, ER *e), (s, id, e))
CF_TR(store, flag_set, (ST *s, const char *name, const char *value, ER *e), (s, name, value, e))
CF_TR(store, flag_list, (ST *s, orch_flag_fn fn, void *ud, ER *e), (s, fn, ud, e))
CF_TR(store, lease_acquire, (ST *s, const char *name, const char *owner, int64_t ttl, int64_t now,
                             int64_t *exp, ER *e), (s, name, owner, ttl, now, exp, e))
CF_TR(store, lease_release, (ST *s, const char *name, const char *owner, ER *e),
      (s, name, owner, e))
CF_TR(store, lease_list, (ST *s, orch_lease_fn fn, void *ud, ER *e), (s, fn, ud, e))
CF_TR(store, run_claim, (ST *s, const char *owner, int64_t ttl, int64_t now, orch_run_fn fn,
                         void *ud, ER *e), (s, owner, ttl, now, fn, ud, e))
CF_TR(store, run_heartbeat, (ST *s, const char *id, const char *owner, int64_t ttl, int64_t now,
                             ER *e), (s, id, owner, ttl, now, e))
CF_TR(store, blob_put, (ST *s, const char *key, orch_read_fn rd, void *ud, ER *e),
      (s, key, rd, ud, e))
CF_TR(store, blob_get, (ST *s, const char *key, orch_write_fn wr, void *ud, ER *e),
      (s, key, wr, ud, e))
CF_TR(store, blob_delete, (ST *s, const char *key, ER *e), (s, key, e))
CF_TR(store, blob_list, (ST *s, const char *prefix, orch_blob_fn fn, void *ud, ER *e),
      (s, prefix, fn, ud, e))
CF_TR(store, notify, (ST *s, const char *topic, ER *e), (s, topic, e))
CF_TR(store, wait, (ST *s, int64_t timeout_ms, ER *e), (s, timeout_ms, e))
CF_TR(store, run_stats, (ST *s, struct orch_run_stats *out, ER *e), (s, out, e))
CF_TR(store, tick_append, (ST *s, const struct orch_tick_rec *t, ER *e), (s, t, e))
CF_TR(store, tick_list,
      (ST *s, int64_t since_ns, uint32_t limit, orch_tick_fn fn, void *ud, ER *e),
      (s, since_ns, limit, fn, ud, e))
CF_TR(store, tick_prune, (ST *s, int64_t before_ns, uint64_t keep, ER *e),
      (s, before_ns, keep, e))
CF_TR(store, run_list_ended,
      (ST *s, uint32_t state, int64_t after_ns, const char *after_id, int64_t before_ns,
       uint32_t limit, orch_run_fn fn, void *ud, ER *e),
      (s, state, after_ns, after_id, before_ns, limit, fn, ud, e))
CF_TR(store, run_delete,
      (ST *s, const char *id, int64_t before_ns, struct orch_run_purge *out, ER *e),
      (s, id, before_ns, out, e))
CF_TR(store, reclaim, (ST *s, uint64_t *bytes, ER *e), (s, bytes, e))

/* ---- step ---- */

static const struct orch_step_vtable *cf_real_step;

CF_TR(step, validate, (const void *cfg, ER *e), (cfg, e))
CF_TR(step, run, (CX *x, const void *cfg, ER *e), (x, cfg, e))
CF_TR(step, plan, (CX *x, const void *cfg, char **text, ER *e), (x, cfg, text, e))

/* Copy the plugin's vtable (only the bytes it has) and wrap each slot it
 * sets; a slot beyond its struct_size stays unreadable to ORCH_HAS. */
#define CF_WRAP(T, K, S)                                                       \
    do {                                                                       \
        if (ORCH_HAS(T, real, S))                                              \
            t.S = cf_tr_##K##_##S;                                             \
    } while (0)

static void cf_copy(void *dst, size_t cap, const void *src)
{
    uint32_t n = *(const uint32_t *)src;
    memcpy(dst, src, n < cap ? n : cap);
}

static const void *cf_traced_backend(const void *vt)
{
    static struct orch_backend_vtable t;
    const struct orch_backend_vtable *real = vt;
    if (cf_real_backend && cf_real_backend != real)
        return vt;
    if (cf_real_backend)
        return &t;
    cf_real_backend = real;
    cf_copy(&t, sizeof t, real);
    CF_WRAP(struct orch_backend_vtable, backend, open);
    CF_WRAP(struct orch_backend_vtable, backend, close);
    CF_WRAP(struct orch_backend_vtable, backend, create);
    CF_WRAP(struct orch_backend_vtable, backend, attach);
    CF_WRAP(struct orch_backend_vtable, backend, exec);
    CF_WRAP(struct orch_backend_vtable, backend, put_file);
    CF_WRAP(struct orch_backend_vtable, backend, get_file);
    CF_WRAP(struct orch_backend_vtable, backend, list_dir);
    CF_WRAP(struct orch_backend_vtable, backend, status);
    CF_WRAP(struct orch_backend_vtable, backend, stop);
    CF_WRAP(struct orch_backend_vtable, backend, destroy);
    CF_WRAP(struct orch_backend_vtable, backend, release);
    CF_WRAP(struct orch_backend_vtable, backend, list_owned);
    CF_WRAP(struct orch_backend_vtable, backend, probe);
    CF_WRAP(struct orch_backend_vtable, backend, reap_commands);
    CF_WRAP(struct orch_backend_vtable, backend, workdir);
    return &t;
}

static const void *cf_traced_store(const void *vt)
{
    static struct orch_store_vtable t;
    const struct orch_store_vtable *real = vt;
    if (cf_real_store && cf_real_store != real)
        return vt;
    if (cf_real_store)
        return &t;
    cf_real_store = real;
    cf_copy(&t, sizeof t, real);
    CF_WRAP(struct orch_store_vtable, store, open);
    CF_WRAP(struct orch_store_vtable, store, close);
    CF_WRAP(struct orch_store_vtable, store, schema_version);
    CF_WRAP(struct orch_store_vtable, store, migrate);
    CF_WRAP(struct orch_store_vtable, store, txn_begin);
    CF_WRAP(struct orch_store_vtable, store, txn_commit);
    CF_WRAP(struct orch_store_vtable, store, txn_rollback);
    CF_WRAP(struct orch_store_vtable, store, run_create);
    CF_WRAP(struct orch_store_vtable, store, run_get);
    CF_WRAP(struct orch_store_vtable, store, run_list);
    CF_WRAP(struct orch_store_vtable, store, run_cas);
    CF_WRAP(struct orch_store_vtable, store, attempt_cas);
    CF_WRAP(struct orch_store_vtable, store, attempt_list);
    CF_WRAP(struct orch_store_vtable, store, event_append);
    CF_WRAP(struct orch_store_vtable, store, event_list);
    CF_WRAP(struct orch_store_vtable, store, log_append);
    CF_WRAP(struct orch_store_vtable, store, log_read);
    CF_WRAP(struct orch_store_vtable, store, instance_put);
    CF_WRAP(struct orch_store_vtable, store, instance_list);
    CF_WRAP(struct orch_store_vtable, store, instance_delete);
    CF_WRAP(struct orch_store_vtable, store, flag_set);
    CF_WRAP(struct orch_store_vtable, store, flag_list);
    CF_WRAP(struct orch_store_vtable, store, lease_acquire);
    CF_WRAP(struct orch_store_vtable, store, lease_release);
    CF_WRAP(struct orch_store_vtable, store, lease_list);
    CF_WRAP(struct orch_store_vtable, store, run_claim);
    CF_WRAP(struct orch_store_vtable, store, run_heartbeat);
    CF_WRAP(struct orch_store_vtable, store, blob_put);
    CF_WRAP(struct orch_store_vtable, store, blob_get);
    CF_WRAP(struct orch_store_vtable, store, blob_delete);
    CF_WRAP(struct orch_store_vtable, store, blob_list);
    CF_WRAP(struct orch_store_vtable, store, notify);
    CF_WRAP(struct orch_store_vtable, store, wait);
    CF_WRAP(struct orch_store_vtable, store, run_stats);
    CF_WRAP(struct orch_store_vtable, store, tick_append);
    CF_WRAP(struct orch_store_vtable, store, tick_list);
    CF_WRAP(struct orch_store_vtable, store, tick_prune);
    CF_WRAP(struct orch_store_vtable, store, run_list_ended);
    CF_WRAP(struct orch_store_vtable, store, run_delete);
    CF_WRAP(struct orch_store_vtable, store, reclaim);
    return &t;
}

static const void *cf_traced_step(const void *vt)
{
    static struct orch_step_vtable t;
    const struct orch_step_vtable *real = vt;
    if (cf_real_step && cf_real_step != real)
        return vt;
    if (cf_real_step)
        return &t;
    cf_real_step = real;
    cf_copy(&t, sizeof t, real);
    CF_WRAP(struct orch_step_vtable, step, validate);
    CF_WRAP(struct orch_step_vtable, step, run);
    CF_WRAP(struct orch_step_vtable, step, plan);
    return &t;
}

const void *cf_traced_vtable(uint32_t kind, const void *vt)
{
    if (!vt)
        return vt;
    switch (kind) {
    case ORCH_KIND_BACKEND:
        return cf_traced_backend(vt);
    case ORCH_KIND_STORE:
        return cf_traced_store(vt);
    case ORCH_KIND_STEP:
        return cf_traced_step(vt);
    default:
        return vt;
    }
}
