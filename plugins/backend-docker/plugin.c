/* backend-docker: options, the connection to the engine (API version
 * negotiated from /version), health probe, and the descriptor. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

const struct orch_host *dk_host;

static const char *const dk_pull_values[] = {"always", "if-missing", "never", NULL};

#define DK_OPT(field, name, type, flags, def, desc)                                       \
    ORCH_OPTION(struct dk_cfg, field, name, type, flags, def, desc)

static const struct orch_option dk_options[] = {
    DK_OPT(socket, "socket", ORCH_OPT_PATH, 0, "/var/run/docker.sock",
           "the engine's unix socket (ignored when 'host' is set)"),
    DK_OPT(host, "host", ORCH_OPT_STRING, 0, NULL,
           "the engine over tcp: tcp://HOST:PORT, http://... or https://... (TLS)"),
    DK_OPT(tls_ca, "tls_ca", ORCH_OPT_PATH, 0, NULL, "CA bundle that signed the engine's cert"),
    DK_OPT(tls_cert, "tls_cert", ORCH_OPT_PATH, 0, NULL, "client certificate (PEM)"),
    DK_OPT(tls_key, "tls_key", ORCH_OPT_PATH, 0, NULL, "client key (PEM)"),
    DK_OPT(image, "image", ORCH_OPT_STRING, 0, NULL,
           "image of new instances (it needs /bin/sh)"),
    {sizeof(struct orch_option), ORCH_OPT_ENUM, 0, offsetof(struct dk_cfg, pull), "pull",
     "if-missing", "when to pull the image: always, if-missing or never", 0, 0, dk_pull_values,
     NULL},
    {sizeof(struct orch_option), ORCH_OPT_DOUBLE, ORCH_OPTF_MIN, offsetof(struct dk_cfg, cpus),
     "cpus", NULL, "CPU limit in cores, e.g. 1.5 (default: none)", 0, 0, NULL, NULL},
    {sizeof(struct orch_option), ORCH_OPT_SIZE, ORCH_OPTF_MIN, offsetof(struct dk_cfg, memory),
     "memory", NULL, "memory limit, e.g. 512M (default: none)", 0, 0, NULL, NULL},
    DK_OPT(env, "env", ORCH_OPT_STRING_MAP, 0, NULL, "environment of every command"),
    DK_OPT(binds, "binds", ORCH_OPT_STRING_LIST, 0, NULL,
           "mounts as SOURCE:DEST[:ro]; SOURCE is a host path or a named volume"),
    DK_OPT(network, "network", ORCH_OPT_STRING, 0, NULL,
           "network mode: none, host, bridge or a network name (default: the engine's)"),
    DK_OPT(workdir, "workdir", ORCH_OPT_STRING, 0, "/work",
           "working directory in the container; relative paths start here"),
    DK_OPT(user, "user", ORCH_OPT_STRING, 0, NULL, "user[:group] commands run as"),
    DK_OPT(labels, "labels", ORCH_OPT_STRING_MAP, 0, NULL,
           "extra container labels (orch's own orch.* labels always win)"),
    DK_OPT(remove_volumes, "remove_volumes", ORCH_OPT_BOOL, 0, "true",
           "remove the container's anonymous volumes with it"),
    DK_OPT(stop_grace_ms, "stop_grace", ORCH_OPT_DURATION, 0, "10s",
           "stop: time between SIGTERM and SIGKILL for the container"),
    DK_OPT(kill_grace_ms, "kill_grace", ORCH_OPT_DURATION, 0, "2s",
           "timeout/cancel: time between SIGTERM and SIGKILL for the command"),
    DK_OPT(api_timeout_ms, "api_timeout", ORCH_OPT_DURATION, 0, "60s",
           "longest wait for one engine call (pulls and commands excepted)"),
};

static orch_status dk_validate_cfg(const struct dk_cfg *cfg, struct orch_error *err)
{
    if (cfg->host && strncmp(cfg->host, "tcp://", 6) && strncmp(cfg->host, "http://", 7) &&
        strncmp(cfg->host, "https://", 8) && strncmp(cfg->host, "unix://", 7))
        return dk_host->error_set(err, ORCH_E_CONFIG,
                                  "option 'host': '%s' is not tcp://, "
                                  "http://, https:// or unix://",
                                  cfg->host);
    if (!cfg->host && (!cfg->socket || !*cfg->socket))
        return dk_host->error_set(err, ORCH_E_CONFIG,
                                  "option 'socket' is empty and no 'host' "
                                  "is set");
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
        return dk_host->error_set(err, ORCH_E_CONFIG,
                                  "options 'tls_cert' and 'tls_key' go "
                                  "together");
    if ((cfg->tls_ca || cfg->tls_cert) && !cfg->host)
        return dk_host->error_set(err, ORCH_E_CONFIG,
                                  "TLS options need 'host' (tcp)");
    if (cfg->workdir && cfg->workdir[0] != '/')
        return dk_host->error_set(err, ORCH_E_CONFIG,
                                  "option 'workdir' must be absolute, not '%s'",
                                  cfg->workdir);
    return ORCH_OK;
}

static char *dk_base_url(const struct dk_cfg *cfg, struct dk_cfg *eff)
{
    if (!cfg->host || !strncmp(cfg->host, "unix://", 7)) {
        if (cfg->host)
            eff->socket = cfg->host + 7;
        eff->host = NULL;
        return dk_host->strdup("http://docker");
    }
    if (!strncmp(cfg->host, "tcp://", 6))
        return dk_printf("%s://%s", cfg->tls_ca || cfg->tls_cert ? "https" : "http",
                         cfg->host + 6);
    return dk_host->strdup(cfg->host);
}

/* Speaks the engine's version when older than ours, ours when newer. */
static orch_status dk_negotiate(struct orch_backend *be, struct orch_ctx *ctx,
                                struct orch_error *err)
{
    struct dk_req rq = {.method = "GET", .path = "/version", .unversioned = 1, .ctx = ctx};
    struct dk_resp rs;
    orch_status st = dk_http(be, &rq, &rs, err);
    if (st != ORCH_OK)
        return st;
    json_t *v = rs.http.body.len ? json_loadb(rs.http.body.p, rs.http.body.len, 0, NULL) : NULL;
    const char *api = json_string_value(json_object_get(v, "ApiVersion"));
    int maj = 0, min = 0;
    if (rs.code != 200 || !api || sscanf(api, "%d.%d", &maj, &min) != 2)
        st = dk_host->error_set(err, ORCH_E_PROTOCOL,
                                "%s did not answer /version like a Docker engine "
                                "(HTTP %ld)",
                                be->cfg->host ? be->cfg->host : be->cfg->socket, rs.code);
    else if (maj < DK_API_MIN_MAJOR || (maj == DK_API_MIN_MAJOR && min < DK_API_MIN_MINOR))
        st = dk_host->error_set(err, ORCH_E_UNSUPPORTED,
                                "the engine speaks API %s; orch needs %d.%d or newer",
                                api, DK_API_MIN_MAJOR, DK_API_MIN_MINOR);
    else {
        int max_maj, max_min;
        sscanf(DK_API_MAX, "%d.%d", &max_maj, &max_min);
        if (maj > max_maj || (maj == max_maj && min > max_min))
            snprintf(be->api, sizeof be->api, "%s", DK_API_MAX);
        else
            snprintf(be->api, sizeof be->api, "%d.%d", maj, min);
    }
    json_decref(v);
    dk_resp_free(&rs);
    return st;
}

static orch_status dk_open(struct orch_ctx *ctx, const void *cfgp, struct orch_backend **out,
                           struct orch_error *err)
{
    const struct dk_cfg *cfg = cfgp;
    orch_status st = dk_validate_cfg(cfg, err);
    if (st != ORCH_OK)
        return st;
    struct orch_backend *be = dk_host->calloc(1, sizeof *be + sizeof(struct dk_cfg));
    if (!be)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* The effective config: the core's, with host=unix://... folded into
     * socket. It lives right after the handle. */
    struct dk_cfg *eff = (struct dk_cfg *)(be + 1);
    *eff = *cfg;
    be->cfg = eff;
    be->base_url = dk_base_url(cfg, eff);
    if (!be->base_url) {
        dk_host->free(be);
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    st = dk_negotiate(be, ctx, err);
    if (st != ORCH_OK) {
        dk_host->free(be->base_url);
        dk_host->free(be);
        return st;
    }
    *out = be;
    return ORCH_OK;
}

static void dk_close(struct orch_backend *be)
{
    if (be) {
        dk_host->free(be->base_url);
        dk_host->free(be);
    }
}

static orch_status dk_probe(struct orch_backend *be, struct orch_ctx *ctx,
                            struct orch_probe *out, struct orch_error *err)
{
    struct dk_req rq = {.method = "GET", .path = "/_ping", .unversioned = 1, .ctx = ctx};
    struct dk_resp rs;
    struct orch_error e = {.struct_size = sizeof e};
    orch_status st = dk_http(be, &rq, &rs, &e);
    (void)err;
    if (st == ORCH_OK && rs.code == 200) {
        out->health = ORCH_PROBE_HEALTHY;
        out->message = dk_printf("engine at %s answers, API %s",
                                 be->cfg->host ? be->cfg->host : be->cfg->socket, be->api);
    } else {
        out->health = ORCH_PROBE_UNHEALTHY;
        out->message = st == ORCH_OK ? dk_printf("engine ping answered HTTP %ld", rs.code)
                                     : dk_host->strdup(e.message ? e.message : "no answer");
    }
    if (st == ORCH_OK)
        dk_resp_free(&rs);
    dk_host->free(e.message);
    return ORCH_OK;
}

static orch_status dk_init(const struct orch_host *host, struct orch_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return host->error_set(err, ORCH_E_INTERNAL, "curl_global_init failed");
    return ORCH_OK;
}

static void dk_fini(void)
{
    curl_global_cleanup();
}

/* The container's WorkingDir (the workdir option; "/" when unset, as
 * files.c resolves relative paths). */
static const char *dk_workdir(struct orch_instance *in)
{
    return in && in->be->cfg->workdir ? in->be->cfg->workdir : "/";
}

static const struct orch_backend_vtable dk_vtable = {
    .struct_size = sizeof(struct orch_backend_vtable),
    .open = dk_open,
    .close = dk_close,
    .create = dk_create,
    .attach = dk_attach,
    .exec = dk_exec,
    .put_file = dk_put_file,
    .get_file = dk_get_file,
    .list_dir = dk_list_dir,
    .status = dk_status,
    .stop = dk_stop,
    .destroy = dk_destroy,
    .release = dk_release,
    .workdir = dk_workdir,
    .list_owned = dk_list_owned,
    .probe = dk_probe,
    .reap_commands = dk_reap,
};

static const struct orch_plugin_desc dk_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_BACKEND,
    .name = "docker",
    .version = "1.0.0",
    .description = "containers on a Docker engine, through its HTTP API",
    .license = "MIT",
    .caps = ORCH_BACKEND_CAP_EXEC | ORCH_BACKEND_CAP_EXEC_STREAM | ORCH_BACKEND_CAP_PUT_FILE |
            ORCH_BACKEND_CAP_GET_FILE | ORCH_BACKEND_CAP_LIST_DIR | ORCH_BACKEND_CAP_ATTACH |
            ORCH_BACKEND_CAP_LIST_OWNED | ORCH_BACKEND_CAP_SIGNAL | ORCH_BACKEND_CAP_VOLUMES |
            ORCH_BACKEND_CAP_STOP | ORCH_BACKEND_CAP_REAP,
    .options = dk_options,
    .option_count = sizeof dk_options / sizeof dk_options[0],
    .config_size = sizeof(struct dk_cfg),
    .vtable_size = sizeof(struct orch_backend_vtable),
    .vtable = &dk_vtable,
    .init = dk_init,
    .fini = dk_fini,
};

ORCH_PLUGIN_DEFINE(backend, docker, dk_desc, dk_host)
