/* orchd --config FILE: the daemon's start, main loop and stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "exec/children.h"
#include "flags.h"
#include "host.h"
#include "http.h"
#include "instances.h"
#include "plugin_info.h"
#include "reload.h"
#include "runctl.h"
#include "util.h"
#include "version.h"

static struct orchd *orchd_signal_target;

static void orchd_on_signal(int sig)
{
    struct orchd *d = orchd_signal_target;
    if (!d)
        return;
    if (sig != SIGHUP) {
        d->stop = 1;
        return;
    }
    /* The engine thread reloads between two iterations of its loop. */
    d->reload_signal = 1;
    char c = 1;
    if (d->wake[1] > 0 && write(d->wake[1], &c, 1) < 0) {
        /* full pipe: a wake-up is already pending */
    }
}

static int orchd_usage(FILE *f, int rc)
{
    fputs("usage: orchd --config FILE [options]\n"
          "  --config FILE     the workflow file with the server/worker/schedules sections\n"
          "  --listen ADDR     override server.listen (HOST:PORT or unix:PATH); without it,\n"
          "                    $ORCHD_LISTEN, then $PORT (0.0.0.0:$PORT), then the file\n"
          "  --once            one scheduler tick, then finish what it started and exit;\n"
          "                    serves no HTTP API unless --listen is given\n"
          "  --max-ticks N     N scheduler ticks, then likewise\n"
          "  --wait-for-store DURATION  how long to retry a store that does not answer at\n"
          "                    start (default 60s; 0: fail at once)\n"
          "  --now TIME        pretend the clock reads TIME (UTC, 2026-01-02T03:04:05Z); for tests\n"
          "  --routes          print the HTTP routes and exit\n"
          "  --hash-token      read a token on stdin, print its sha256 for server.tokens\n"
          "  --version\n",
          f);
    return rc;
}

static int orchd_hash_token(void)
{
    char buf[4096];
    if (!fgets(buf, sizeof buf, stdin)) {
        fprintf(stderr, "orchd: --hash-token reads the token on standard input\n");
        return 2;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    unsigned char h[32];
    orchd_sha256(buf, strlen(buf), h);
    for (int i = 0; i < 32; i++)
        printf("%02x", h[i]);
    printf("\n");
    return 0;
}

static struct oc_config *orchd_load(const char *path, struct oc_registry *reg)
{
    struct oc_diag diag = {0};
    struct oc_config *cfg = oc_config_load(path, reg, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.msgs[i]);
    if (!cfg && !diag.n)
        fprintf(stderr, "orchd: %s: cannot load the config\n", path);
    oc_diag_free(&diag);
    return cfg;
}

struct orchd_dead_owner {
    json_t *runs; /* [[id, owner]] */
    char host[256];
};

/* Whether owner names an orchd of this host (orchd:HOST:PID:START) that
 * is gone: its pid is dead or another process now. */
static int orchd_owner_dead_here(const char *owner, const char *this_host)
{
    long long pid = 0;
    unsigned long long start = 0;
    char host[256];
    return owner && sscanf(owner, "orchd:%255[^:]:%lld:%llu", host, &pid, &start) == 3 &&
           !strcmp(host, this_host) && oc_proc_start_time((long)pid) != start;
}

static int32_t orchd_dead_owner_cb(void *ud, const struct orch_run_rec *r)
{
    struct orchd_dead_owner *x = ud;
    if (orchd_owner_dead_here(r->owner, x->host))
        json_array_append_new(x->runs, json_pack("[s,s]", r->id, r->owner));
    return 0;
}

static int32_t orchd_dead_leader_cb(void *ud, const struct orch_lease_rec *l)
{
    struct orchd_dead_owner *x = ud;
    if (!strcmp(l->name, ORCHD_LEADER_LEASE) && orchd_owner_dead_here(l->owner, x->host))
        json_array_append_new(x->runs, json_string(l->owner));
    return 0;
}

/* A leader of this host that died (kill -9) holds its lease until it
 * expires: released now, so its successor leads at once. */
static void orchd_recover_dead_leader(struct orchd *d)
{
    struct oc_store *st = d->store;
    if (!d->singleton || !st->vt->lease_list)
        return;
    struct orchd_dead_owner x = {.runs = json_array()};
    gethostname(x.host, sizeof x.host - 1);
    struct orch_error err;
    oc_error_init(&err);
    st->vt->lease_list(st->h, orchd_dead_leader_cb, &x, &err);
    oc_error_clear(&err);
    size_t i;
    json_t *o;
    json_array_foreach(x.runs, i, o) {
        if (oc_named_lease(st, ORCHD_LEADER_LEASE, json_string_value(o), 0, orchd_now(d), NULL,
                           &err) == ORCH_OK) {
            struct oc_log_fields f = {.component = "recovery"};
            oc_log_at(ORCH_LOG_INFO, &f, "the leader %s is gone: its lease released",
                      json_string_value(o));
        }
        oc_error_clear(&err);
    }
    json_decref(x.runs);
}

/* Runs whose owner was an orchd on this host that is gone (kill -9): back
 * to the queue now instead of after their leases expire. */
static void orchd_recover_dead(struct orchd *d)
{
    struct orchd_dead_owner x = {.runs = json_array()};
    gethostname(x.host, sizeof x.host - 1);
    struct orch_run_filter f = {.struct_size = sizeof f, .state = ORCH_RUN_RUNNING};
    struct orch_error err;
    oc_error_init(&err);
    struct oc_store *st = d->store;
    st->vt->run_list(st->h, &f, orchd_dead_owner_cb, &x, &err);
    oc_error_clear(&err);
    size_t i;
    json_t *r;
    int64_t now = orchd_now(d);
    json_array_foreach(x.runs, i, r) {
        const char *id = json_string_value(json_array_get(r, 0));
        const char *owner = json_string_value(json_array_get(r, 1));
        if (oc_run_hand_back(st, id, owner, now, &err) == ORCH_OK) {
            struct oc_log_fields lf = {.run_id = id, .component = "recovery"};
            oc_log_at(ORCH_LOG_INFO, &lf, "its daemon %s is gone: queued for recovery", owner);
        }
        oc_error_clear(&err);
    }
    json_decref(x.runs);
}

/* The API on d->listen, once: when the store answers at once, after it;
 * when it does not, before the wait, so that liveness answers and every
 * other route says why it cannot (d->starting, orchd_starting_note).
 * 0, or 2 with the reason said. */
static int orchd_serve(struct orchd *d)
{
    if (!d->listen || d->server)
        return 0;
    char *err = NULL;
    d->server = orchd_server_start(d, d->listen, &err);
    if (d->server)
        return 0;
    fprintf(stderr, "orchd: %s (the address from %s)\n", err, d->listen_from);
    free(err);
    return 2;
}

/* The store, retried while it answers with a transient error (PostgreSQL
 * not up yet, a network not ready) for up to wait_ms, with back-off
 * (250 ms doubling to 5 s, +-20% so that daemons started together spread)
 * and each attempt logged. SIGTERM ends the wait. NULL with the reason
 * said. */
static struct oc_store *orchd_open_store(struct orchd *d, int64_t wait_ms)
{
    struct oc_log_fields f = {.component = "orchd"};
    int64_t start = oc_now_mono_ns(), delay = 250;
    for (int attempt = 1;; attempt++) {
        struct orch_error err;
        oc_error_init(&err);
        struct oc_store *s = oc_store_open(d->reg, &d->cfg->store, d->cfg->state_dir, &err);
        int64_t waited = (oc_now_mono_ns() - start) / 1000000;
        if (s) {
            if (attempt > 1)
                oc_log_at(ORCH_LOG_INFO, &f, "store: reachable after %d attempts (%lldms)",
                          attempt, (long long)waited);
            orchd_starting_note(d, NULL);
            return s;
        }
        if (d->stop) {
            oc_log_at(ORCH_LOG_INFO, &f, "stopped while waiting for the store");
            oc_error_clear(&err);
            return NULL;
        }
        if (err.code != ORCH_E_TRANSIENT || waited >= wait_ms || orchd_serve(d) != 0) {
            fprintf(stderr, "orchd: store: %s%s\n", oc_error_text(&err),
                    err.code == ORCH_E_TRANSIENT && attempt > 1 ? " (gave up: --wait-for-store)"
                                                                : "");
            oc_error_clear(&err);
            return NULL;
        }
        int64_t next = delay * (80 + random() % 41) / 100;
        if (next > wait_ms - waited)
            next = wait_ms - waited;
        oc_log_at(ORCH_LOG_WARN, &f, "store: not reachable (attempt %d, %lldms of %lldms): %s; "
                  "next try in %lldms", attempt, (long long)waited, (long long)wait_ms,
                  oc_error_text(&err), (long long)next);
        char *note = oc_xasprintf("store not reachable yet (attempt %d): %s", attempt,
                                  oc_error_text(&err));
        orchd_starting_note(d, note);
        free(note);
        oc_error_clear(&err);
        struct timespec ts = {next / 1000, (next % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0 && !d->stop)
            ;
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
}

/* The main loop, once the store answers; the API (if any) is already
 * served. */
static int orchd_run(struct orchd *d, const char *listen)
{
    struct oc_log_fields f = {.component = "orchd"};
    oc_log_at(ORCH_LOG_INFO, &f, "listening on %s as %s (store %s, %zu workflows, %zu "
              "schedules)", listen ? listen : "nothing (cron mode)", d->owner, d->cfg->store.uses, d->cfg->n_workflows,
              orchd_cfg_of(d->cfg)->n_schedules);
    d->notifier = orchd_notifier_start(d);
    d->listener = orchd_listener_start(d);
    int64_t next_tick = 0, stop_deadline = 0;
    for (;;) {
        orchd_reload_poll(d);
        int64_t tick_ns = orchd_cfg_of(d->cfg)->tick_ms * 1000000; /* a reload may change it */
        int64_t mono = oc_now_mono_ns();
        if (d->stop && !stop_deadline) {
            stop_deadline = mono + orchd_cfg_of(d->cfg)->stop_grace_ms * 1000000;
            oc_log_at(ORCH_LOG_INFO, &f, "stopping: no new work; waiting up to %lldms for "
                      "runs in flight", (long long)orchd_cfg_of(d->cfg)->stop_grace_ms);
        }
        if (mono >= next_tick || atomic_exchange(&d->woken, 0)) {
            orchd_tick(d);
            next_tick = mono + tick_ns;
            /* Orphans of the steps' commands are ours (subreaper, or PID 1
             * in a container): without this they stay zombies. */
            oc_children_reap_orphans();
        }
        size_t active;
        oc_engine_run_ids(d->eng, &active);
        int ticks_done = d->max_ticks && (int64_t)d->m.ticks >= d->max_ticks;
        /* Executions of the instances API are work in flight too. */
        if (!active && !orchd_execs_running(d->execs) &&
            (stop_deadline || ticks_done || atomic_load(&d->draining)))
            break;
        if (stop_deadline && mono >= stop_deadline) {
            oc_log_at(ORCH_LOG_WARN, &f, "grace period over: %zu runs handed back to the "
                      "queue with their in-flight steps marked unknown", active);
            oc_engine_abandon(d->eng);
            break;
        }
        int64_t wait_ms = (next_tick - oc_now_mono_ns()) / 1000000;
        oc_engine_tick(d->eng, wait_ms < 0 ? 0 : wait_ms > 1000 ? 1000 : (int)wait_ms);
        oc_engine_collect(d->eng);
    }
    if (atomic_load(&d->draining) && !d->stop)
        oc_log_at(ORCH_LOG_INFO, &f, "drained: exiting");
    /* A leader that stops hands over now, not after its lease expires. */
    if (atomic_load(&d->role) == ORCHD_LEADER) {
        struct orch_error err;
        oc_error_init(&err);
        oc_named_lease(d->store, ORCHD_LEADER_LEASE, d->owner, 0, orchd_now(d), NULL, &err);
        oc_error_clear(&err);
    }
    orchd_execs_stop(d->execs);
    orchd_listener_stop(d->listener);
    orchd_notifier_stop(d->notifier);
    return 0;
}

/* The command line. getopt_long, so `--opt value` and `--opt=value` both
 * work and `--` ends the options. */
struct orchd_args {
    const char *config, *listen, *now;
    long long max_ticks;
    int64_t wait_for_store_ms;
};

/* -1: go on; otherwise the exit status (--help, --version, errors). */
static int orchd_parse_args(int argc, char **argv, struct orchd_args *a)
{
    enum { O_CONFIG = 256, O_LISTEN, O_ONCE, O_MAX_TICKS, O_NOW, O_ROUTES, O_HASH, O_VERSION,
           O_WAIT_STORE };
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"listen", required_argument, NULL, O_LISTEN},
        {"once", no_argument, NULL, O_ONCE},
        {"max-ticks", required_argument, NULL, O_MAX_TICKS},
        {"now", required_argument, NULL, O_NOW},
        {"wait-for-store", required_argument, NULL, O_WAIT_STORE},
        {"routes", no_argument, NULL, O_ROUTES},
        {"hash-token", no_argument, NULL, O_HASH},
        {"version", no_argument, NULL, O_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->wait_for_store_ms = 60000;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case O_CONFIG: a->config = optarg; break;
        case O_LISTEN: a->listen = optarg; break;
        case O_ONCE: a->max_ticks = 1; break;
        case O_MAX_TICKS: {
            char *end;
            errno = 0;
            a->max_ticks = strtoll(optarg, &end, 10);
            if (!*optarg || *end || errno || a->max_ticks < 1) {
                fprintf(stderr, "orchd: --max-ticks wants a positive number, not '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case O_NOW: a->now = optarg; break;
        case O_WAIT_STORE:
            if (oc_parse_duration_ms(optarg, &a->wait_for_store_ms) != 0 ||
                a->wait_for_store_ms < 0) {
                fprintf(stderr, "orchd: --wait-for-store wants a duration (0, 30s, 5m), not "
                        "'%s'\n", optarg);
                return 2;
            }
            break;
        case O_ROUTES:
            /* In the OpenAPI document's spelling: a rest-of-path {x*} is {x}. */
            for (const struct orchd_route *r = orchd_routes; r->method; r++) {
                printf("%s ", r->method);
                for (const char *p = r->pattern; *p; p++)
                    if (!(p[0] == '*' && p[1] == '}'))
                        putchar(*p);
                putchar('\n');
            }
            return 0;
        case O_HASH: return orchd_hash_token();
        case O_VERSION: oc_version_print(stdout, "orchd"); return 0;
        case 'h': return orchd_usage(stdout, 0);
        case ':':
            fprintf(stderr, "orchd: %s needs a value\n", argv[optind - 1]);
            return orchd_usage(stderr, 2);
        default:
            fprintf(stderr, "orchd: unknown argument '%s'\n", argv[optind - 1]);
            return orchd_usage(stderr, 2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "orchd: unexpected argument '%s'\n", argv[optind]);
        return orchd_usage(stderr, 2);
    }
    if (!a->config)
        return orchd_usage(stderr, 2);
    return -1;
}

/* The daemon's state before any config: its locks, and --now's offset
 * from the real clock. 0, or 2 after a usage message. */
static int orchd_init_state(struct orchd *d, const struct orchd_args *a)
{
    d->config_path = a->config;
    d->max_ticks = a->max_ticks;
    pthread_mutex_init(&d->api_lock, NULL);
    pthread_mutex_init(&d->starting_lock, NULL);
    pthread_mutex_init(&d->conf_lock, NULL);
    pthread_mutex_init(&d->reload.lock, NULL);
    pthread_cond_init(&d->reload.cv, NULL);
    pthread_mutex_init(&d->m.lock, NULL);
    pthread_mutex_init(&d->ticks.lock, NULL);
    if (a->now) {
        int64_t t;
        if (oc_parse_utc_time(a->now, &t) != 0) {
            fprintf(stderr, "orchd: --now wants YYYY-MM-DDTHH:MM:SSZ, not '%s'\n", a->now);
            return 2;
        }
        d->now_offset_ns = t - oc_now_real_ns();
    }
    return 0;
}

/* The registry and the config, and the webhook secrets the config names.
 * 0, or 2 with what is wrong printed (nothing is left allocated). */
static int orchd_load_config(struct orchd *d)
{
    d->reg = oc_registry_new(NULL, 0);
    d->cfg = orchd_load(d->config_path, d->reg);
    if (!d->cfg) {
        oc_registry_free(d->reg);
        return 2;
    }
    /* HMAC keys are only known now, from the environment: a webhook that
     * an empty or short key would verify never serves. */
    struct oc_diag sdiag = {0};
    if (orchd_cfg_check_secrets(orchd_cfg_of(d->cfg), &sdiag)) {
        for (size_t i = 0; i < sdiag.n; i++)
            fprintf(stderr, "%s\n", sdiag.msgs[i]);
        oc_diag_free(&sdiag);
        oc_config_free(d->cfg);
        oc_registry_free(d->reg);
        return 2;
    }
    d->conf = orchd_conf_new(d->cfg, 1);
    return 0;
}

/* What the daemon knows of itself once the config is read: its log
 * format and levels, metrics, the plugins on the search path, the secrets and
 * variables the config references, and its owner name in leases. */
static void orchd_describe(struct orchd *d)
{
    orchd_log_init(orchd_cfg_of(d->cfg)->log_json);
    char *why = NULL;
    oc_log_configure(orchd_cfg_of(d->cfg)->log_level, &why); /* checked when read */
    free(why);
    orchd_metrics_init(d, orchd_routes, orchd_routes_count);
    orchd_warn_backend_secrets(d->cfg);
    d->plugins = json_array();
    d->plugin_errors = json_array();
    orchd_scan_plugins(d);
    char host[200] = "";
    gethostname(host, sizeof host - 1);
    d->owner = orchd_cfg_of(d->cfg)->worker_id
                   ? oc_xstrdup(orchd_cfg_of(d->cfg)->worker_id)
                   : oc_xasprintf("orchd:%s:%d:%llu", host, (int)getpid(),
                                  oc_proc_start_time((long)getpid()));
}

/* The wake pipe, the engine's and the API's store connections, and the
 * engine. 0, or -1 with what failed said. */
static int orchd_start_engine(struct orchd *d, int64_t wait_for_store_ms)
{
    if (pipe2(d->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        !(d->store = orchd_open_store(d, wait_for_store_ms)) || !(d->api = orchd_open_store(d, 0)))
        return -1;
    struct oc_engine_opts o = {
        .concurrency = d->cfg->concurrency,
        .state_dir = d->cfg->state_dir,
        .owner = d->owner,
        .max_engine_crashes = orchd_cfg_of(d->cfg)->max_engine_crashes,
        .wake_fd = d->wake[0],
        .env_passthrough = d->cfg->env_passthrough,
        .n_env_passthrough = d->cfg->n_env_passthrough,
        .telemetry = &d->cfg->telemetry, /* read here once: a reload cannot change it */
        .on_progress = orchd_on_progress,
        .ud = d,
    };
    struct orch_error err;
    oc_error_init(&err);
    d->eng = oc_engine_new(d->reg, d->store, &o, &err);
    if (!d->eng) {
        fprintf(stderr, "orchd: %s\n", oc_error_text(&err));
        oc_error_clear(&err);
        return -1;
    }
    return 0;
}

/* Where the API listens, the first that says: --listen, $ORCHD_LISTEN,
 * $PORT (all interfaces, as the platforms that set it route to it), the
 * file's server.listen, 127.0.0.1:8080. Cron mode (--once, --max-ticks)
 * serves only when --listen asks: a platform's $PORT is not a request.
 * NULL: serve nothing; *bad: a malformed $PORT (said). malloc'd: a copy,
 * since server.listen belongs to a config a reload may free; *from names
 * where it came from, for errors. */
static char *orchd_listen_address(const struct orchd_args *a, const struct oc_config *cfg,
                                  const char **from, int *bad)
{
    *bad = 0;
    *from = "--listen";
    if (a->listen)
        return oc_xstrdup(a->listen);
    if (a->max_ticks)
        return NULL;
    const char *env = getenv("ORCHD_LISTEN");
    *from = "$ORCHD_LISTEN";
    if (env && *env)
        return oc_xstrdup(env);
    const char *port = getenv("PORT");
    *from = "$PORT";
    if (port && *port) {
        char *end;
        errno = 0;
        long p = strtol(port, &end, 10);
        if (*end || errno || p < 1 || p > 65535) {
            fprintf(stderr, "orchd: PORT must be a TCP port (1-65535), not '%s'\n", port);
            *bad = 1;
            return NULL;
        }
        return oc_xasprintf("0.0.0.0:%ld", p);
    }
    const char *file = orchd_cfg_of(cfg)->listen;
    *from = file ? "server.listen" : "the default";
    return oc_xstrdup(file ? file : "127.0.0.1:8080");
}

static void orchd_install_signals(struct orchd *d)
{
    orchd_signal_target = d;
    struct sigaction sa = {.sa_handler = orchd_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The flags a start sets, and what died with a daemon before this one.
 * 0, or 2 when worker.mode asks for what the store cannot do (said). */
static int orchd_take_over(struct orchd *d)
{
    /* An embedded store is one machine's: two daemons on one file never
     * both drive, whatever worker.mode says. The leader is the holder of
     * a named lease, which the store must have. */
    int embedded = (d->store->plugin->desc->caps & ORCH_STORE_CAP_EMBEDDED) != 0;
    int leases = d->store->vt->lease_acquire && d->store->vt->lease_release;
    if (orchd_cfg_of(d->cfg)->singleton && !leases) {
        fprintf(stderr, "orchd: worker.mode: singleton needs a store with named leases; store "
                "%s has none\n", d->cfg->store.uses);
        return 2;
    }
    d->singleton = leases && (orchd_cfg_of(d->cfg)->singleton || embedded);
    atomic_store(&d->role, d->singleton ? ORCHD_STANDBY : ORCHD_WORKER);
    if (d->singleton && !orchd_cfg_of(d->cfg)->singleton) {
        struct oc_log_fields f = {.component = "orchd"};
        oc_log_at(ORCH_LOG_INFO, &f, "store %s is embedded: one daemon drives it at a time "
                  "(the holder of lease %s), as with worker.mode: singleton", d->cfg->store.uses,
                  ORCHD_LEADER_LEASE);
    }
    atomic_store(&d->started_ns, orchd_now(d));
    orchd_apply_config_control(d);
    /* Starting a daemon ends a drain; pause and proof mode persist. */
    struct orch_error err;
    oc_error_init(&err);
    oc_flag_write(d->store, OC_FLAG_DRAINING, NULL, &err);
    oc_error_clear(&err);
    orchd_recover_dead(d);
    orchd_recover_dead_leader(d);
    return 0;
}

static void orchd_teardown(struct orchd *d)
{
    oc_engine_free(d->eng);
    oc_store_close(d->api);
    oc_store_close(d->store);
    if (d->wake[0] > 0) {
        close(d->wake[0]);
        close(d->wake[1]);
    }
    json_decref(d->plugins);
    json_decref(d->plugin_errors);
    free(d->owner);
    free(d->starting_note);
    free(d->reload.by);
    json_decref(d->reload.result);
    orchd_metrics_free(d);
    orchd_conf_put(d->conf);
    oc_registry_free(d->reg);
}

int main(int argc, char **argv)
{
    struct orchd_args args;
    int prc = orchd_parse_args(argc, argv, &args);
    if (prc >= 0)
        return prc;
    /* Orphaned descendants (a step's double-forked daemon, a killed
     * executor's command) come to us, not to the host's init: we reap them,
     * as PID 1 must (the shipped image runs orchd as its entrypoint). */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* A reload asked for before the handler is in place (systemctl reload
     * right after start) must not kill the daemon: SIGHUP's default. */
    signal(SIGHUP, SIG_IGN);
    /* The store retries' jitter differs between daemons started at once. */
    srandom((unsigned)getpid() ^ (unsigned)oc_now_real_ns());
    orchd_cfg_register();
    static struct orchd d;
    if (orchd_init_state(&d, &args) || orchd_load_config(&d))
        return 2;
    orchd_describe(&d);
    int rc = 2, bad;
    /* Cron mode serves no API unless --listen asks: a cron job must not
     * fail because the daemon's port is taken. */
    d.listen = orchd_listen_address(&args, d.cfg, &d.listen_from, &bad);
    atomic_store(&d.starting, 1);
    d.execs = orchd_execs_new();
    if (!bad) {
        /* SIGTERM ends a wait for the store too. */
        orchd_install_signals(&d);
        if (orchd_start_engine(&d, args.wait_for_store_ms) == 0) {
            atomic_store(&d.starting, 0);
            if (orchd_take_over(&d) == 0 && orchd_serve(&d) == 0)
                rc = orchd_run(&d, d.listen);
        } else if (d.stop && !d.store) {
            rc = 0; /* asked to stop before the store answered: nothing failed */
        }
    }
    orchd_execs_stop(d.execs);
    orchd_server_stop(d.server);
    orchd_execs_free(d.execs);
    free(d.listen);
    orchd_teardown(&d);
    return rc;
}
