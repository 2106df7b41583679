/* Talking to orchd: `orch --server URL` (or $ORCH_SERVER) sends commands
 * to a daemon's API instead of opening a store. URL is http(s)://host:port
 * or unix:/path/to/socket; the bearer token comes from $ORCH_TOKEN or
 * --token-file and is never printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nettle/sha2.h>

#include "cli.h"
#include "json_limit.h"
#include "libcurl.h"
#include "util.h"

struct cli_sink {
    struct oc_buf buf;
    /* For event streams: */
    int (*on_event)(void *ud, const char *event, json_t *data);
    void *ud;
    size_t parsed;
    int stop;
    /* For answers written as they come (a 200's body only): */
    FILE *raw;
    struct sha256_ctx *sha;  /* hashes what goes to raw, when set */
    CURL *curl;
    int raw_status;          /* 0 unknown, 1 writing to raw, 2 buffering */
};

static size_t cli_http_write(char *p, size_t size, size_t n, void *ud)
{
    struct cli_sink *s = ud;
    if (s->raw && !s->raw_status) {
        long code = 0;
        oc_libcurl(NULL)->easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
        s->raw_status = code == 200 ? 1 : 2;
    }
    if (s->raw_status == 1) {
        if (s->sha)
            sha256_update(s->sha, size * n, (const uint8_t *)p);
        return fwrite(p, 1, size * n, s->raw) == size * n ? size * n : 0;
    }
    oc_buf_add(&s->buf, p, size * n);
    if (!s->on_event)
        return size * n;
    /* Server-sent events: blocks separated by a blank line, each with
     * "event:" and "data:" lines; comments (":") keep the line alive. */
    for (;;) {
        char *start = s->buf.data + s->parsed;
        char *end = strstr(start, "\n\n");
        if (!end)
            break;
        *end = 0;
        char *event = NULL, *data = NULL;
        for (char *line = start, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = 0;
            if (!strncmp(line, "event: ", 7))
                event = line + 7;
            else if (!strncmp(line, "data: ", 6))
                data = line + 6;
        }
        s->parsed = (size_t)(end + 2 - s->buf.data);
        if (event && data) {
            json_t *j = oc_json_loads_bounded(data, 0, NULL);
            int rc = s->on_event(s->ud, event, j);
            json_decref(j);
            if (rc) {
                s->stop = 1;
                return 0; /* ends the transfer */
            }
        }
    }
    /* Handled events go: a long stream costs what one event does. */
    if (s->parsed) {
        memmove(s->buf.data, s->buf.data + s->parsed, s->buf.len - s->parsed + 1);
        s->buf.len -= s->parsed;
        s->parsed = 0;
    }
    return size * n;
}

/* The answer's ETag, kept in res (an artifact's is its sha256). */
static size_t cli_http_header(char *p, size_t size, size_t n, void *ud)
{
    struct cli_http_res *res = ud;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(p, "etag:", 5)) {
        const char *v = p + 5;
        size_t vl = len - 5;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof res->etag) {
            memcpy(res->etag, v, vl);
            res->etag[vl] = 0;
        }
    }
    return len;
}

/* The token: $ORCH_TOKEN, else the first line of --token-file. */
static char *cli_token(struct cli *c)
{
    const char *env = getenv("ORCH_TOKEN");
    if (env && *env)
        return oc_xstrdup(env);
    if (!c->token_file)
        return NULL;
    size_t len;
    char *t = oc_read_file(c->token_file, &len);
    if (!t) {
        cli_err("cannot read the token file %s", c->token_file);
        return NULL;
    }
    t[strcspn(t, "\r\n")] = 0;
    return t;
}

static CURL *cli_curl(struct cli *c, const char *path, struct curl_slist **hdrs, char **url)
{
    const char *why = NULL;
    const struct oc_libcurl *L = oc_libcurl(&why);
    if (!L)
        cli_err("%s", why);
    CURL *h = L ? L->easy_init() : NULL;
    if (!h)
        return NULL;
    const char *base = c->server;
    if (!strncmp(base, "unix:", 5)) {
        L->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, base + 5);
        base = "http://orchd";
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    *url = oc_xasprintf("%.*s%s", (int)bl, base, path);
    L->easy_setopt(h, CURLOPT_URL, *url);
    /* The path goes as built, each part escaped here: libcurl's own
     * removal of "." and ".." parts would turn an artifact name such as
     * ../x into another path. */
    L->easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    L->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    L->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    char *tok = cli_token(c);
    if (tok) {
        char *auth = oc_xasprintf("Authorization: Bearer %s", tok);
        *hdrs = L->slist_append(*hdrs, auth);
        memset(auth, 0, strlen(auth));
        free(auth);
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    /* A CI system's (or a step's) trace context goes on with the request,
     * as an instrumented client's would: `runs start` makes its run a
     * child of that span. orchd judges its form; a line break would end
     * the header. */
    const char *tp = getenv("TRACEPARENT");
    if (tp && *tp && !strpbrk(tp, "\r\n")) {
        char *line = oc_xasprintf("traceparent: %s", tp);
        *hdrs = L->slist_append(*hdrs, line);
        free(line);
    }
    return h;
}

int cli_http(struct cli *c, const char *method, const char *path, json_t *body,
             struct cli_http_res *res)
{
    return cli_http_events(c, method, path, body, NULL, NULL, res);
}

static int cli_http_do(struct cli *c, const char *method, const char *path, json_t *body,
                       int (*on_event)(void *ud, const char *event, json_t *data), void *ud,
                       FILE *raw, struct sha256_ctx *sha, struct cli_http_res *res);

int cli_http_events(struct cli *c, const char *method, const char *path, json_t *body,
                    int (*on_event)(void *ud, const char *event, json_t *data), void *ud,
                    struct cli_http_res *res)
{
    return cli_http_do(c, method, path, body, on_event, ud, NULL, NULL, res);
}

int cli_http_to(struct cli *c, const char *path, FILE *out, struct cli_http_res *res)
{
    return cli_http_do(c, "GET", path, NULL, NULL, NULL, out, NULL, res);
}

int cli_http_download(struct cli *c, const char *path, FILE *out, struct sha256_ctx *sha,
                      struct cli_http_res *res)
{
    return cli_http_do(c, "GET", path, NULL, NULL, NULL, out, sha, res);
}

static int cli_http_do(struct cli *c, const char *method, const char *path, json_t *body,
                       int (*on_event)(void *ud, const char *event, json_t *data), void *ud,
                       FILE *raw, struct sha256_ctx *sha, struct cli_http_res *res)
{
    memset(res, 0, sizeof *res);
    struct curl_slist *hdrs = NULL;
    char *url = NULL;
    CURL *h = cli_curl(c, path, &hdrs, &url);
    const struct oc_libcurl *L = oc_libcurl(NULL);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!h) {
        free(text);
        free(url);
        cli_err("cannot make an HTTP client");
        return -1;
    }
    L->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (text) {
        hdrs = L->slist_append(hdrs, "Content-Type: application/json");
        L->easy_setopt(h, CURLOPT_POSTFIELDS, text);
    }
    L->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    struct cli_sink sink = {.on_event = on_event, .ud = ud, .raw = raw, .sha = sha, .curl = h};
    L->easy_setopt(h, CURLOPT_WRITEFUNCTION, cli_http_write);
    L->easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    L->easy_setopt(h, CURLOPT_HEADERFUNCTION, cli_http_header);
    L->easy_setopt(h, CURLOPT_HEADERDATA, res);
    char errbuf[CURL_ERROR_SIZE] = "";
    L->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = L->easy_perform(h);
    int rc = 0;
    if (cc == CURLE_WRITE_ERROR && sink.raw_status == 1) {
        cli_err("server %s: cannot write the answer: %s", c->server, strerror(errno));
        rc = -1;
    } else if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && sink.stop)) {
        cli_fail_code("unreachable");
        cli_err("server %s: %s", c->server, *errbuf ? errbuf : L->easy_strerror(cc));
        rc = -1;
    } else {
        L->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
        res->len = sink.buf.len;
        res->body = oc_buf_steal(&sink.buf);
        if (!on_event || res->status >= 400)
            res->json = oc_json_loadb_bounded(res->body, res->len, 0, NULL);
    }
    oc_buf_free(&sink.buf);
    L->slist_free_all(hdrs);
    L->easy_cleanup(h);
    free(text);
    free(url);
    return rc;
}

void cli_http_res_free(struct cli_http_res *res)
{
    json_decref(res->json);
    free(res->body);
    memset(res, 0, sizeof *res);
}

int cli_http_fail(struct cli *c, const struct cli_http_res *res)
{
    const char *msg =
        json_string_value(json_object_get(json_object_get(res->json, "error"), "message"));
    cli_err("server: %s (HTTP %ld)", msg ? msg : "unexpected answer", res->status);
    const char *code =
        json_string_value(json_object_get(json_object_get(res->json, "error"), "code"));
    cli_fail_code(code ? code : "server");
    (void)c;
    /* Refused requests are the caller's to fix; a missing or conflicting
     * object is a failed command, as the local commands have it. */
    return res->status == 400 || res->status == 401 || res->status == 403 ? CLI_EXIT_USAGE
                                                                          : CLI_EXIT_FAILED;
}

char *cli_seg(const char *s)
{
    /* A path segment: libcurl percent-encodes everything but RFC 3986's
     * unreserved characters. Without libcurl no request can be made: the
     * command stops here with the reason cli_http would give. */
    const char *why = NULL;
    const struct oc_libcurl *L = oc_libcurl(&why);
    if (!L) {
        cli_err("%s", why);
        cli_exit(CLI_EXIT_USAGE);
    }
    size_t n = strlen(s);
    if (n > INT_MAX) {
        cli_err("a name of %zu bytes is too long for a URL", n);
        cli_exit(CLI_EXIT_USAGE);
    }
    char *e = L->easy_escape(NULL, s, (int)n);
    if (!e) {
        fputs("orch: out of memory\n", stderr);
        abort();
    }
    char *seg = oc_xstrdup(e);
    L->free(e);
    return seg;
}

int cli_http_call(struct cli *c, const char *method, const char *path, json_t *body,
                  json_t **out)
{
    struct cli_http_res res;
    *out = NULL;
    if (cli_http(c, method, path, body, &res) != 0)
        return CLI_EXIT_USAGE;
    if (res.status >= 300 || !res.json) {
        int rc = cli_http_fail(c, &res);
        cli_http_res_free(&res);
        return rc;
    }
    *out = json_incref(res.json);
    cli_http_res_free(&res);
    return CLI_EXIT_OK;
}
