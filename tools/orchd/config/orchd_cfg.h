/* orchd's sections of the workflow file (server, worker, control,
 * schedules, webhooks, notifications): their model and reader. Only orchd
 * acts on them; the CLI registers the same reader so that `orch validate`
 * (and every command that loads the file) checks them like the rest, at
 * file:line:col. Secrets are held by name, resolved when used. */
#ifndef ORCHD_CFG_H
#define ORCHD_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "node.h"

#define ORCHD_ROLE_READ 1  /* GET routes */
#define ORCHD_ROLE_WRITE 2 /* start, cancel, approve, instances */
#define ORCHD_ROLE_ADMIN 3 /* control flags */

struct orchd_token {
    char *name;
    unsigned char sha256[32]; /* of the bearer token; the token is never kept */
    int role;                 /* ORCHD_ROLE_* */
    struct oc_pos pos;
};

struct orchd_schedule {
    char *name;
    char *workflow;
    char *cron;
    struct oc_cron *spec;   /* parsed cron */
    char *timezone;         /* NULL = UTC */
    int overlap_allow;      /* 0: skip a slot while a run of it is active */
    struct oc_node *inputs; /* MAP or NULL (a node of cfg->root) */
    struct oc_pos pos;
};

struct orchd_webhook {
    char *name;
    char *workflow;
    char *secret; /* secret name for the HMAC-SHA256 signature */
    struct oc_pos pos;
    struct oc_pos secret_pos; /* of the `secret:` value */
    /* events: the event names (X-GitHub-Event, X-Orch-Event) that start a
     * run; none: any. */
    char **events;
    size_t n_events;
    /* inputs: NAME -> template over the `event` context (the delivery's
     * payload, event.headers.NAME); NULL: the body's {"inputs": {...}}. */
    const struct oc_node *inputs;
    const struct oc_node *filter; /* an expression over `event`, or NULL */
};

struct orchd_notification {
    char *url;
    char *secret; /* secret name for signing, or NULL */
    int on_succeeded, on_failed, on_cancelled;
    uint32_t attempts;
    struct oc_pos pos;
    struct oc_pos secret_pos; /* of the `secret:` value */
};

/* A webhook's or notification's HMAC key: shorter ones are refused (a
 * short or empty key lets anyone sign requests). */
#define ORCHD_HMAC_SECRET_MIN 16

struct orchd_cfg {
    char *listen;     /* "127.0.0.1:8080" or "unix:/path" */
    int64_t max_body; /* bytes */
    struct orchd_token *tokens;
    size_t n_tokens;
    int log_json;
    char *log_level; /* server.log_level as an oc_log_configure spec; NULL = info */
    char *worker_id; /* NULL = host/pid/start */
    int singleton;   /* worker.mode: singleton (one daemon of the store drives) */
    int64_t lease_ttl_ms, tick_ms, stop_grace_ms, reconcile_ms, idle_instance_ms;
    int64_t retention_every_ms;  /* how often retention: is swept (tools/orchd/retention.c) */
    uint32_t max_runs;           /* runs driven at once by this daemon */
    int64_t max_tick_ms;         /* a tick that takes longer stops claiming, and is
                                    logged and counted as an overrun */
    uint32_t max_claims_per_tick; /* default max_runs */
    uint32_t tick_ledger_keep;   /* ticks kept in the store's ledger; 0 = none written */
    int64_t tick_ledger_max_age_ms; /* older ticks are pruned */
    uint32_t max_engine_crashes; /* a run that crashed the daemon this often is
                                    failed */
    int paused, proof;           /* control: -1 = not set by the config */
    struct orchd_schedule *schedules;
    size_t n_schedules;
    struct orchd_webhook *hooks;
    size_t n_hooks;
    struct orchd_notification *notifications;
    size_t n_notifications;
};

/* Registers the reader with core/config (oc_config_sections_set): called
 * by main before any config is read, in orchd and in the CLI. */
void orchd_cfg_register(void);

/* The sections of cfg; the defaults when the file has none (or no
 * workflows, for which they are not read). Never NULL. */
const struct orchd_cfg *orchd_cfg_of(const struct oc_config *cfg);

/* orchd at start: every webhook's and notification's secret must be set
 * and at least ORCHD_HMAC_SECRET_MIN bytes. Adds one diagnostic
 * (file:line:col of the `secret:` value, the webhook, the variable) per bad
 * secret; returns their count. (config/secrets.c) */
size_t orchd_cfg_check_secrets(const struct orchd_cfg *dc, struct oc_diag *diag);

#endif
