/* backend-fly-machines: steps on Fly Machines, created on demand through
 * the Machines REST API and destroyed when the run ends. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fly-machines.h"

const struct orch_host *fl_host;

static const char *const fl_cpu_kinds[] = {"shared", "performance", NULL};
static const char *const fl_restart[] = {"no", "always", "on-failure", NULL};

#define FL_OPT(field, name, type, flags, def, desc)                                      \
    ORCH_OPTION(struct fl_cfg, field, name, type, flags, def, desc)

static const struct orch_option fl_options[] = {
    FL_OPT(api_url, "api_url", ORCH_OPT_URL, 0, "https://api.machines.dev",
           "Machines API base URL (inside Fly's network: http://_api.internal:4280)"),
    FL_OPT(token, "token", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED | ORCH_OPTF_SECRET, NULL,
           "API token: ${{ secrets.FLY_API_TOKEN }}"),
    FL_OPT(app, "app", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL, "the app machines belong to"),
    FL_OPT(create_app, "create_app", ORCH_OPT_BOOL, 0, "false", "create the app when missing"),
    FL_OPT(org, "org", ORCH_OPT_STRING, 0, "personal", "organization slug for create_app"),
    FL_OPT(region, "region", ORCH_OPT_STRING, 0, NULL, "region (default: Fly chooses)"),
    FL_OPT(image, "image", ORCH_OPT_STRING, 0, NULL, "image to run (a step may name another)"),
    {sizeof(struct orch_option), ORCH_OPT_ENUM, 0, offsetof(struct fl_cfg, cpu_kind),
     "cpu_kind", "shared", "guest CPU kind", 0, 0, fl_cpu_kinds, NULL},
    FL_OPT(cpus, "cpus", ORCH_OPT_INT, 0, "1", "guest CPUs"),
    FL_OPT(memory_mb, "memory_mb", ORCH_OPT_INT, 0, "0",
           "guest memory, a multiple of 256 (0: Fly's preset for cpu_kind and cpus, 256 or "
           "2048 MB a CPU)"),
    FL_OPT(env, "env", ORCH_OPT_STRING_MAP, 0, NULL, "environment of every machine"),
    FL_OPT(init_cmd, "init_cmd", ORCH_OPT_STRING_LIST, 0, NULL,
           "the machine's main process (default: the image's; it must keep running)"),
    {sizeof(struct orch_option), ORCH_OPT_ENUM, 0, offsetof(struct fl_cfg, restart_policy),
     "restart_policy", "no", "restart policy of the main process", 0, 0, fl_restart, NULL},
    FL_OPT(auto_destroy, "auto_destroy", ORCH_OPT_BOOL, 0, "false",
           "Fly destroys the machine when its main process exits"),
    FL_OPT(volume, "volume", ORCH_OPT_STRING, 0, NULL,
           "a volume name: an unattached one is attached, else one is created"),
    FL_OPT(volume_size_gb, "volume_size_gb", ORCH_OPT_INT, 0, "1", "size of a new volume"),
    FL_OPT(volume_encrypted, "volume_encrypted", ORCH_OPT_BOOL, 0, "true",
           "encrypt a new volume"),
    FL_OPT(volume_path, "volume_path", ORCH_OPT_STRING, 0, "/data", "where the volume mounts"),
    FL_OPT(metadata, "metadata", ORCH_OPT_STRING_MAP, 0, NULL, "extra machine metadata"),
    FL_OPT(use_leases, "use_leases", ORCH_OPT_BOOL, 0, "false",
           "take a machine lease around stop and destroy"),
    FL_OPT(lease_ttl_ms, "lease_ttl", ORCH_OPT_DURATION, 0, "30s", "lease lifetime"),
    FL_OPT(workdir, "workdir", ORCH_OPT_STRING, 0, "/orch/work",
           "the machine directory steps run in"),
    FL_OPT(api_timeout_ms, "api_timeout", ORCH_OPT_DURATION, 0, "65m",
           "limit for one API request (exec waits for its command)"),
    FL_OPT(create_timeout_ms, "create_timeout", ORCH_OPT_DURATION, 0, "5m",
           "create and wait until started"),
    FL_OPT(retries, "retries", ORCH_OPT_INT, 0, "6",
           "tries again after a 5xx or a reset, where that is safe (jittered backoff)"),
    FL_OPT(rate_limit_wait_ms, "rate_limit_wait", ORCH_OPT_DURATION, 0, "5m",
           "how long one call waits out 429s in all (Retry-After honoured, jittered)"),
    FL_OPT(kill_grace_ms, "kill_grace", ORCH_OPT_DURATION, 0, "2s",
           "between TERM and KILL when a command times out or is cancelled"),
};

static orch_status fl_probe(struct orch_backend *be, struct orch_ctx *ctx,
                            struct orch_probe *out, struct orch_error *err)
{
    struct fl_resp r;
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err, "/apps/%s",
                             be->cfg->app);
    out->health = rc == ORCH_OK && r.status == 200 ? ORCH_PROBE_HEALTHY : ORCH_PROBE_UNHEALTHY;
    out->message = fl_printf("app %s: %s", be->cfg->app,
                             rc != ORCH_OK ? err->message : r.status == 200 ? "reachable"
                             : r.status == 404                              ? "not found"
                                                                            : "API error");
    fl_resp_free(&r);
    return ORCH_OK;
}

/* The guest as Fly's presets size it (docs: Machine sizing): a shared
 * CPU comes with 256 MB and takes 256 MB to 2 GB, a performance CPU with
 * 2 GB and takes 2 to 8 GB; memory in multiples of 256 MB. Checked here
 * so a bad size is a config error, not a 422 at the first step. */
static orch_status fl_guest(const struct fl_cfg *c, int64_t *memory_mb, struct orch_error *err)
{
    int perf = !strcmp(c->cpu_kind, "performance");
    int64_t per_min = perf ? 2048 : 256, per_max = perf ? 8192 : 2048;
    int64_t top = perf ? 16 : 8;
    if (c->cpus < 1 || c->cpus > top || (c->cpus & (c->cpus - 1)))
        return fl_host->error_set(err, ORCH_E_CONFIG,
                                  "cpus must be 1, 2, 4, 8%s for cpu_kind %s (got %lld)",
                                  perf ? " or 16" : "", c->cpu_kind, (long long)c->cpus);
    *memory_mb = c->memory_mb ? c->memory_mb : per_min * c->cpus;
    if (*memory_mb < per_min * c->cpus || *memory_mb > per_max * c->cpus || *memory_mb % 256)
        return fl_host->error_set(err, ORCH_E_CONFIG,
                                  "memory_mb %lld does not fit %lld %s CPU%s: a multiple of "
                                  "256 from %lld to %lld",
                                  (long long)*memory_mb, (long long)c->cpus, c->cpu_kind,
                                  c->cpus > 1 ? "s" : "", (long long)(per_min * c->cpus),
                                  (long long)(per_max * c->cpus));
    return ORCH_OK;
}

static void fl_close(struct orch_backend *be)
{
    if (!be)
        return;
    pk_http_cleanup(&be->http);
    if (be->auth) {
        memset(be->auth, 0, strlen(be->auth)); /* the token does not linger */
        fl_host->free(be->auth);
    }
    fl_host->free(be->base);
    fl_host->free(be);
}

static orch_status fl_open(struct orch_ctx *ctx, const void *cfgp, struct orch_backend **out,
                           struct orch_error *err)
{
    (void)ctx;
    const struct fl_cfg *c = cfgp;
    int64_t memory_mb = 0;
    orch_status rc = fl_guest(c, &memory_mb, err);
    if (rc != ORCH_OK)
        return rc;
    struct orch_backend *be = fl_host->calloc(1, sizeof *be);
    if (!be)
        return fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    be->cfg = c;
    be->memory_mb = memory_mb;
    be->base = fl_host->strdup(c->api_url);
    be->auth = fl_printf("Authorization: Bearer %s", c->token);
    int http_failed = pk_http_init(&be->http, fl_host);
    if (!be->base || !be->auth || http_failed) {
        fl_close(be);
        return fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    size_t n = strlen(be->base);
    while (n && be->base[n - 1] == '/')
        be->base[--n] = 0;
    *out = be;
    return ORCH_OK;
}

/* The workdir option: where exec runs and relative file paths land. */
static const char *fl_workdir(struct orch_instance *in)
{
    return in ? in->be->cfg->workdir : NULL;
}

static const struct orch_backend_vtable fl_vtable = {
    .struct_size = sizeof(struct orch_backend_vtable),
    .open = fl_open,
    .close = fl_close,
    .create = fl_create,
    .attach = fl_attach,
    .exec = fl_exec,
    .put_file = fl_put_file,
    .get_file = fl_get_file,
    .list_dir = fl_list_dir,
    .status = fl_status,
    .stop = fl_stop,
    .destroy = fl_destroy,
    .release = fl_release,
    .workdir = fl_workdir,
    .list_owned = fl_list_owned,
    .probe = fl_probe,
    .reap_commands = fl_reap,
};

static const struct orch_plugin_desc fl_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_BACKEND,
    .name = "fly-machines",
    .version = "1.0.0",
    .description = "Fly.io Machines through the Machines REST API: created on demand, "
                   "commands through exec",
    .license = "MIT",
    .caps = ORCH_BACKEND_CAP_EXEC | ORCH_BACKEND_CAP_PUT_FILE | ORCH_BACKEND_CAP_GET_FILE |
            ORCH_BACKEND_CAP_LIST_DIR | ORCH_BACKEND_CAP_ATTACH |
            ORCH_BACKEND_CAP_LIST_OWNED | ORCH_BACKEND_CAP_SIGNAL | ORCH_BACKEND_CAP_STOP |
            ORCH_BACKEND_CAP_VOLUMES | ORCH_BACKEND_CAP_REAP,
    .options = fl_options,
    .option_count = sizeof fl_options / sizeof fl_options[0],
    .config_size = sizeof(struct fl_cfg),
    .vtable_size = sizeof(struct orch_backend_vtable),
    .vtable = &fl_vtable,
};

ORCH_PLUGIN_DEFINE(backend, fly_machines, fl_desc, fl_host)
