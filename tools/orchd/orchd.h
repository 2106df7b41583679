/* orchd: the config-driven daemon. One engine thread claims runs from the
 * store and drives them (sched.c); libmicrohttpd threads serve the API
 * (http.c, routes.c, routes_*.c) through their own store connection; a
 * notifier thread delivers webhooks (notify.c). Every request that changes a run is
 * a store write the engine (of this or another daemon) acts on. */
#ifndef ORCHD_H
#define ORCHD_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "conf.h"
#include "config.h"
#include "engine.h"
#include "orchd_cfg.h" /* its sections of the file: config/ */
#include "registry.h"
#include "store.h"

struct orchd_execs;
struct orchd_listener;
struct orchd_notifier;
struct orchd_server;

#define ORCHD_DUR_BUCKETS 15
#define ORCHD_HTTP_CODES 16

struct orchd_hist {                   /* seconds, bounds in metrics.c */
    uint64_t buckets[ORCHD_DUR_BUCKETS];
    double sum;
    uint64_t count;
};

/* A counter set by name (a workflow's, a webhook's): names outlive the
 * config that had them, so a reload neither resets nor mislabels them. */
struct orchd_named_count {
    char *name;
    uint64_t n[8];
};

/* Counted as the daemon goes; exported by metrics.c. Under lock. */
struct orchd_metrics {
    pthread_mutex_t lock;
    uint64_t runs_finished[8];        /* by ORCH_RUN_* */
    uint64_t steps_finished[10];      /* by ORCH_STEP_* */
    struct orchd_named_count *wf_started;  /* n[0]: runs started, by workflow */
    struct orchd_named_count *wf_finished; /* n[ORCH_RUN_*], by workflow */
    size_t n_wf;                           /* both have n_wf entries, same order */
    struct orchd_named_count *hook_sig;    /* n[ORCHD_SIG_*], by webhook */
    size_t n_hooks;
    struct orchd_hist run_dur, step_dur;
    uint64_t *http;                   /* [route (last: unmatched) * ORCHD_HTTP_CODES + code] */
    uint64_t claims, ticks, tick_overruns, notify_failures;
    /* retention.c's sweeps and what they removed */
    uint64_t retention_sweeps, retention_runs, retention_blobs, retention_log_bytes,
        retention_reclaimed, retention_errors;
    uint64_t *auth_failures;          /* [route * ORCHD_AUTH_N + reason] (authlog.c) */
};

/* What the engine thread publishes at each tick for the API threads'
 * health document: the durations of the last ticks (a ring) and the
 * executor pool's use. Under lock. */
#define ORCHD_TICKS_KEPT 64
struct orchd_tick_stats {
    pthread_mutex_t lock;
    int64_t dur_ns[ORCHD_TICKS_KEPT];
    size_t next, n;
    uint32_t pool_busy, pool_capacity, runs_active;
};
struct orchd_route;

struct orchd {
    /* The config (conf.h): the engine thread reads cfg (== conf->cfg);
     * other threads take a reference on conf (orchd_conf_get). */
    struct oc_config *cfg;
    struct orchd_conf *conf;
    pthread_mutex_t conf_lock;
    /* The API's route table (routes.c), handed to orchd_metrics_init: the
     * per-route counters are indexed by a route's place in it, and their
     * files (metrics.c, authlog.c) get it from here rather than depend on
     * the file that names every handler. */
    const struct orchd_route *routes;
    size_t n_routes;
    const char *config_path;
    struct oc_registry *reg;
    struct oc_store *store;           /* the engine thread's connection */
    struct oc_store *api;             /* the API threads' connection */
    pthread_mutex_t api_lock;
    struct oc_engine *eng;
    char *owner;                      /* this daemon's lease owner id */
    int wake[2];                      /* API -> engine: new work */
    char *listen;                     /* the API's address (NULL: none) */
    const char *listen_from;          /* where it came from (--listen, $PORT, ...) */
    struct orchd_server *server;
    struct orchd_notifier *notifier;
    struct orchd_execs *execs;        /* commands run through the instances API */
    struct orchd_listener *listener;  /* wake-ups from other daemons, when the store has them */
    struct orchd_metrics m;
    /* Control, as last read from the store by the engine thread. */
    atomic_int paused, proof, draining;
    /* Who drives runs: every daemon (shared), or the holder of the store's
     * ORCHD_LEADER_LEASE (singleton, and always on an embedded store). */
    atomic_int role;                  /* ORCHD_ROLE_* */
    int singleton;                    /* this daemon runs for the leader lease */
    int role_said;                    /* its role has been logged once */
    int64_t leader_renewed_mono;      /* the leader lease's last renewal */
    atomic_llong last_tick_ns;        /* wall clock of the last finished tick */
    atomic_llong started_ns;
    atomic_int woken;                 /* the API asked for a tick now */
    /* 1 from the start until the store answers: the API serves liveness,
     * and says why it cannot serve the rest (starting_note, under
     * starting_lock). */
    atomic_int starting;
    pthread_mutex_t starting_lock;
    char *starting_note;
    int64_t now_offset_ns;            /* --now: a controllable clock for tests */
    volatile sig_atomic_t stop;       /* SIGTERM/SIGINT */
    volatile sig_atomic_t reload_signal; /* SIGHUP: reload.c acts on it */
    struct {                          /* POST /v1/admin/reload -> the engine thread */
        pthread_mutex_t lock;
        pthread_cond_t cv;
        atomic_uint_fast64_t asked;   /* read without the lock by the engine loop */
        uint64_t done;                /* only the engine thread writes it */
        char *by;                     /* who asked last */
        json_t *result;               /* the last reload's answer */
    } reload;
    int64_t last_reconcile_mono;
    int64_t last_retention_mono;      /* retention.c: its last sweep */
    int retention_more;               /* the last sweep stopped by its bounds */
    int retention_warned;             /* the store cannot delete runs: said once */
    int64_t max_ticks;                /* 0 = run until stopped */
    json_t *plugins;                  /* scanned at start: info of each */
    json_t *plugin_errors;            /* [{path, error}] */
    struct orchd_tick_stats ticks;    /* for the health document (health.c) */
    uint32_t tick_errors;             /* failures met by the tick under way (ticks.c) */
    uint64_t dispatched_seen;         /* the engine's dispatch count at the last tick */
};

#define ORCHD_LEADER_LEASE "orchd.leader"
enum { ORCHD_WORKER = 0, ORCHD_LEADER = 1, ORCHD_STANDBY = 2 };

/* clock.c: the daemon's idea of now (wall clock, ns): real time plus
 * --now's offset; and a wake-up for the scheduler's loop. */
int64_t orchd_now(const struct orchd *d);
void orchd_wake(struct orchd *d);

/* health.c: record one tick's duration and the engine's use now (the
 * engine thread, at the end of each tick). */
void orchd_tick_record(struct orchd *d, int64_t dur_ns);
/* health.c: why the daemon is still starting (NULL: it is not waiting on
 * anything now); copied. And a malloc'd copy of it for an answer. */
void orchd_starting_note(struct orchd *d, const char *note);
char *orchd_starting_why(struct orchd *d);

/* control.c */
struct orchd_control {
    int paused, proof, draining;
};
/* Fold one stored flag into c; 1 when it is a control flag. */
int orchd_control_flag(struct orchd_control *c, const char *name, const char *value);
int32_t orchd_control_cb(void *ud, const char *name, const char *value); /* ud: control */
/* Write one flag (value NULL clears it); a failure is logged, not fatal. */
void orchd_flag_write(struct orchd *d, const char *name, const char *value);
void orchd_apply_config_control(struct orchd *d);

/* sched.c: one tick of the engine thread. */
void orchd_tick(struct orchd *d);
/* ticks.c: the tick ledger (engine thread). A failure the tick met, for
 * its row; the row itself (owner, dispatched and errors filled in here);
 * pruning by worker.tick_ledger_keep and tick_ledger_max_age. */
void orchd_tick_error(struct orchd *d);
void orchd_tick_ledger(struct orchd *d, struct orch_tick_rec *t, int paused);
void orchd_tick_prune(struct orchd *d, int64_t now);
/* schedules.c: fire the due slot of each schedule; last holds each
 * schedule's last slot (s) from the flags. Returns the runs enqueued. */
int orchd_fire_schedules(struct orchd *d, json_t *last, int64_t now_ns);
/* reconcile.c: reap what the ownership ledger holds for no live run;
 * returns how many were reaped. */
int orchd_reconcile(struct orchd *d);
/* retention.c: the retention sweep, when due (engine thread). */
void orchd_retention(struct orchd *d, int64_t now, int64_t mono);
/* progress.c: the engine's progress callback (ud: struct orchd). */
void orchd_on_progress(void *ud, const struct oc_progress *p);

/* http.c */
struct orchd_server *orchd_server_start(struct orchd *d, const char *listen, char **err);
/* A unix socket or a loopback address: served without tokens. */
int orchd_listen_is_loopback(const char *listen);
void orchd_server_stop(struct orchd_server *s);

/* notify.c */
struct orchd_notifier *orchd_notifier_start(struct orchd *d);
void orchd_notify_run(struct orchd_notifier *n, const char *run_id, const char *workflow,
                      uint32_t state, const char *error);
void orchd_notifier_stop(struct orchd_notifier *n);

/* listen.c: NULL when the store has no notify/wait. */
struct orchd_listener *orchd_listener_start(struct orchd *d);
void orchd_listener_stop(struct orchd_listener *l);

/* plugscan.c: fill d->plugins and d->plugin_errors with every plugin on
 * the search path, loading them in a child process. */
void orchd_scan_plugins(struct orchd *d);

/* hmac.c */
void orchd_sha256(const void *data, size_t len, unsigned char out[32]);
/* "sha256=" + hex of HMAC-SHA256(key, data); malloc'd. */
char *orchd_hmac_sig(const char *key, const void *data, size_t len);
int orchd_consttime_eq(const void *a, const void *b, size_t n);

/* dlog.c */
void orchd_log_init(int json);
/* The request this thread is handling (NULL: none): its id goes on every
 * log line the thread writes meanwhile. Borrowed until cleared. */
void orchd_log_request(const char *request_id);
/* One access-log line. Never the token itself, never the body. */
struct orchd_access {
    const char *request_id, *method, *route, *token, *remote;
    unsigned status;
    double duration_ms;
};
void orchd_log_access(const struct orchd_access *a);

#endif
