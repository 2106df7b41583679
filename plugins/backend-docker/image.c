/* The image a container needs, by the configured pull policy. */
#include <stdio.h>
#include <string.h>

#include "docker.h"

static orch_status dk_inspect_image(struct orch_backend *be, struct orch_ctx *ctx,
                                    const char *image, int *present, struct orch_error *err)
{
    long code = 0;
    json_t *body = NULL;
    orch_status st = dk_get_named(be, ctx, "/images/%s/json", image, &code, &body, err);
    if (st == ORCH_OK) {
        *present = code == 200;
        if (code != 200 && code != 404)
            st = dk_engine_error(err, code, body, "inspecting image %s", image);
    }
    json_decref(body);
    return st;
}

/* The pull answer is a stream of JSON progress objects, the last of which
 * carries "error" when the pull failed, all under HTTP 200. */
static const char *dk_pull_error(const char *text, size_t len, char *buf, size_t cap)
{
    size_t off = 0;
    const char *found = NULL;
    while (off < len) {
        json_error_t je;
        json_t *j = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK, &je);
        if (!j)
            break;
        const char *e = json_string_value(json_object_get(j, "error"));
        if (e) {
            snprintf(buf, cap, "%s", e);
            found = buf;
        }
        json_decref(j);
        off += je.position;
        while (off < len && (text[off] == '\n' || text[off] == '\r' || text[off] == ' '))
            off++;
    }
    return found;
}

static orch_status dk_pull(struct orch_backend *be, struct orch_ctx *ctx, const char *image,
                           struct orch_error *err)
{
    /* "repo[:tag]" or "repo@digest"; a ':' before the last '/' is a port. */
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    int digest = strchr(image, '@') != NULL;
    char *repo = dk_host->strdup(image);
    if (!repo)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    const char *tag = "latest";
    if (!digest && colon) {
        repo[colon - image] = 0;
        tag = colon + 1;
    }
    char *erepo = dk_escape(repo), *etag = dk_escape(tag);
    char *path = erepo && etag ? (digest ? dk_printf("/images/create?fromImage=%s", erepo)
                                         : dk_printf("/images/create?fromImage=%s&tag=%s",
                                                     erepo, etag))
                               : NULL;
    dk_host->free(erepo);
    dk_host->free(etag);
    dk_host->free(repo);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    dk_host->log(ctx, ORCH_LOG_INFO, "pulling image %s", image);
    struct dk_req rq = {.method = "POST", .path = path, .ctx = ctx, .timeout_ms = -1};
    struct dk_resp rs;
    orch_status st = dk_http(be, &rq, &rs, err);
    dk_host->free(path);
    if (st != ORCH_OK)
        return st;
    char why[512];
    if (rs.code != 200) {
        json_t *body = rs.http.body.len ? json_loadb(rs.http.body.p, rs.http.body.len, 0, NULL) : NULL;
        st = dk_engine_error(err, rs.code, body, "pulling image %s", image);
        json_decref(body);
    } else if (dk_pull_error(rs.http.body.p, rs.http.body.len, why, sizeof why)) {
        st = dk_host->error_set(err, ORCH_E_NOT_FOUND,
                                "image %s cannot be pulled: %s", image, why);
    }
    dk_resp_free(&rs);
    return st;
}

orch_status dk_ensure_image(struct orch_backend *be, struct orch_ctx *ctx, const char *image,
                            struct orch_error *err)
{
    const char *policy = be->cfg->pull;
    if (!strcmp(policy, "always"))
        return dk_pull(be, ctx, image, err);
    int present = 0;
    orch_status st = dk_inspect_image(be, ctx, image, &present, err);
    if (st != ORCH_OK || present)
        return st;
    if (!strcmp(policy, "never"))
        return dk_host->error_set(err, ORCH_E_NOT_FOUND,
                                  "image %s is not present on the engine and pull is "
                                  "'never'",
                                  image);
    st = dk_pull(be, ctx, image, err);
    if (st != ORCH_OK)
        return st;
    /* Some registries answer 200 with nothing pulled; say so plainly. */
    st = dk_inspect_image(be, ctx, image, &present, err);
    if (st == ORCH_OK && !present)
        st = dk_host->error_set(err, ORCH_E_NOT_FOUND,
                                "image %s is still absent after the pull", image);
    return st;
}
