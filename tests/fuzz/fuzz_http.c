/* libFuzzer target: bytes -> one HTTP request -> orchd's router and
 * handlers (tools/orchd, built from its own sources), answered into memory.
 * Everything below the socket is real: routing, auth, body limits and JSON
 * parsing, every route's checks, and a SQLite store in a temp dir that
 * keeps what earlier inputs wrote (runs, flags), so later inputs find
 * runs to list, cancel or approve.
 *
 * The input is the request as it arrives on the wire, without the
 * transfer details libmicrohttpd handles:
 *
 *   METHOD SP TARGET [SP VERSION] LF     (CRLF also ends a line)
 *   Name: value LF ...
 *   LF
 *   body (to the end)
 *
 * TARGET is /path?query, both percent-decoded as libmicrohttpd does. Two
 * things the harness adds so that inputs get past the checks a fuzzer
 * cannot satisfy by chance: "X-Fuzz-Sign: 1" signs the body with the
 * webhook's key (X-Orch-Signature), and "Authorization: Bearer fuzz-admin"
 * (or -reader) is a configured token, which the seeds carry. "@run" in
 * the path stands for the id of the last run an input created, so that
 * routes on a run reach more than their 404.
 *
 * Nothing runs commands: the daemon is in proof mode, which refuses to
 * create instances (so none exists to exec on; the engine thread that
 * would read a changed flag never runs here), no scheduler tick ever
 * claims a run, and the executor path is /bin/false. A 500 answer is a
 * finding: it says an input made orchd fail inside. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "http.h"
#include "metrics.h"
#include "instances.h"
#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_MAX_HEADERS 32
#define FZ_MAX_ARGS 32

static struct orchd fz_d;
static char *fz_dir;
static char fz_last_run[64] = "r-none";

static void fz_die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_http: %s: %s\n", what, why ? why : "failed");
    abort();
}

static void fz_cleanup(void)
{
    oc_engine_free(fz_d.eng);
    oc_store_close(fz_d.api);
    oc_store_close(fz_d.store);
    if (fz_dir)
        oc_rm_rf(fz_dir);
}

static char *fz_hex_sha256(const char *s)
{
    unsigned char h[32];
    orchd_sha256(s, strlen(s), h);
    char *hex = oc_xcalloc(65, 1);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", h[i]);
    return hex;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("ORCH_LOG_LEVEL", "error", 1);
    setenv("ORCH_SECRET_FUZZ_HOOK", "fuzz-hook-key", 1);
    const char *t = getenv("TMPDIR");
    char *tmpl = oc_xasprintf("%s/orch-fuzz-http.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpl))
        fz_die(tmpl, "mkdtemp");
    fz_dir = tmpl;
    /* The engine's own temp dir goes inside it too. */
    setenv("TMPDIR", fz_dir, 1);
    char *admin = fz_hex_sha256("fuzz-admin"), *reader = fz_hex_sha256("fuzz-reader");
    char *text = oc_xasprintf(
        "version: 1\n"
        "defaults: {state_dir: %s/state}\n"
        "server:\n"
        "  max_body: 2K\n"
        "  tokens:\n"
        "    - {name: admin, sha256: %s, role: admin}\n"
        "    - {name: reader, sha256: %s, role: read}\n"
        "control: {proof: true}\n"
        "webhooks:\n"
        "  build: {workflow: hello, secret: \"${{ secrets.FUZZ_HOOK }}\"}\n"
        "workflows:\n"
        "  hello:\n"
        "    inputs: {who: {default: world}, count: {default: \"1\"}}\n"
        "    steps:\n"
        "      - id: greet\n"
        "        uses: exec\n"
        "        with: {run: \"echo hello\"}\n"
        "  gated:\n"
        "    steps:\n"
        "      - id: gate\n"
        "        uses: approval\n"
        "        with: {message: go?, inputs: {ticket: string, replicas: number}}\n",
        fz_dir, admin, reader);
    free(admin);
    free(reader);
    char *path = oc_xasprintf("%s/orchd.yaml", fz_dir);
    fz_d.reg = oc_registry_new_builtin();
    orchd_cfg_register(); /* as main() does */
    struct oc_diag diag = {0};
    fz_d.cfg = oc_config_parse_string(text, path, &diag);
    if (!fz_d.cfg || oc_config_validate(fz_d.cfg, fz_d.reg, &diag) != 0)
        fz_die("the harness config", diag.n ? diag.msgs[0] : NULL);
    oc_diag_free(&diag);
    free(text);
    free(path);
    fz_d.config_path = "orchd.yaml";
    fz_d.conf = orchd_conf_new(fz_d.cfg, 1); /* as main() does: requests take their snapshot */
    pthread_mutex_init(&fz_d.conf_lock, NULL);
    pthread_mutex_init(&fz_d.api_lock, NULL);
    pthread_mutex_init(&fz_d.m.lock, NULL);
    orchd_metrics_init(&fz_d, orchd_routes, orchd_routes_count); /* as main() does: the router counts every answer */
    fz_d.plugins = json_array();
    fz_d.plugin_errors = json_array();
    fz_d.owner = oc_xstrdup("orchd:fuzz");
    if (pipe2(fz_d.wake, O_NONBLOCK | O_CLOEXEC) != 0)
        fz_die("pipe", NULL);
    struct orch_error err;
    oc_error_init(&err);
    fz_d.store = oc_store_open(fz_d.reg, &fz_d.cfg->store, fz_d.cfg->state_dir, &err);
    if (fz_d.store)
        fz_d.api = oc_store_open(fz_d.reg, &fz_d.cfg->store, fz_d.cfg->state_dir, &err);
    if (!fz_d.api)
        fz_die("the store", oc_error_text(&err));
    struct oc_engine_opts o = {.concurrency = 1, .exec_path = "/bin/false",
                               .state_dir = fz_d.cfg->state_dir, .owner = fz_d.owner};
    fz_d.eng = oc_engine_new(fz_d.reg, fz_d.store, &o, &err);
    if (!fz_d.eng)
        fz_die("the engine", oc_error_text(&err));
    atomic_store(&fz_d.proof, 1);
    atomic_store(&fz_d.started_ns, orchd_now(&fz_d));
    fz_d.execs = orchd_execs_new();
    atexit(fz_cleanup);
    return 0;
}

/* Percent-decoding in place, '+' as a space where plus_space. */
static void fz_unescape(char *s, int plus_space)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            *o++ = plus_space && *p == '+' ? ' ' : *p;
        }
    }
    *o = 0;
}

/* The next line of [*p, end) (LF or CRLF), NUL-terminated in place; NULL at
 * the end. */
static char *fz_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) {
        *p = end;
        return s; /* the copy has a NUL past end */
    }
    *nl = 0;
    if (nl > s && nl[-1] == '\r')
        nl[-1] = 0;
    *p = nl + 1;
    return s;
}

/* path with each "@run" replaced by the last run's id; malloc'd. */
static char *fz_subst_run(const char *path)
{
    struct oc_buf b = {0};
    const char *p = path, *at;
    while ((at = strstr(p, "@run"))) {
        oc_buf_add(&b, p, (size_t)(at - p));
        oc_buf_adds(&b, fz_last_run);
        p = at + 4;
    }
    oc_buf_adds(&b, p);
    return oc_buf_steal(&b);
}

/* Remember the run an answer names ({run: {id}} or {run_id}). */
static void fz_note_run(json_t *answer)
{
    const char *id = json_string_value(json_object_get(json_object_get(answer, "run"), "id"));
    if (!id)
        id = json_string_value(json_object_get(answer, "run_id"));
    if (id && strlen(id) < sizeof fz_last_run)
        strcpy(fz_last_run, id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = oc_xcalloc(size + 1, 1);
    memcpy(buf, data, size);
    char *p = buf, *end = buf + size;
    char *line = fz_line(&p, end);
    char *method = line ? strtok(line, " ") : NULL;
    char *target = method ? strtok(NULL, " ") : NULL;
    /* A reload waits for the daemon's main loop to apply it, which this
     * harness does not run (tests/e2e/test_orchd_reload drives it). */
    if (!target || *target != '/' || strstr(target, "/admin/reload")) {
        free(buf);
        return 0;
    }
    const char *headers[2 * FZ_MAX_HEADERS + 1] = {0};
    const char *args[2 * FZ_MAX_ARGS + 1] = {0};
    size_t nh = 0, na = 0;
    int sign = 0;
    while ((line = fz_line(&p, end)) && *line) {
        char *colon = strchr(line, ':');
        if (!colon || nh == FZ_MAX_HEADERS)
            continue;
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(line, "X-Fuzz-Sign")) {
            sign = 1;
            continue;
        }
        headers[2 * nh] = line;
        headers[2 * nh++ + 1] = v;
    }
    /* What follows the blank line is the body; it may hold NULs. */
    size_t body_len = (size_t)(end - p);
    char *body = oc_xcalloc(body_len + 1, 1);
    memcpy(body, p, body_len);
    char *sig = NULL;
    if (sign && nh < FZ_MAX_HEADERS) {
        sig = orchd_hmac_sig("fuzz-hook-key", body, body_len);
        headers[2 * nh] = "X-Orch-Signature";
        headers[2 * nh++ + 1] = sig;
    }
    char *query = strchr(target, '?');
    if (query) {
        *query++ = 0;
        for (char *kv = strtok(query, "&"); kv && na < FZ_MAX_ARGS; kv = strtok(NULL, "&")) {
            char *eq = strchr(kv, '=');
            if (eq)
                *eq++ = 0;
            fz_unescape(kv, 1);
            if (eq)
                fz_unescape(eq, 1);
            /* POST /v1/runs?wait=D waits D for a run to end, and no run
             * ends here (no engine runs): a wait that parses is made 0s, so
             * the route is fuzzed, not the clock (tests/e2e/test_run_wait
             * drives real waits). */
            const char *val = eq ? eq : "";
            int64_t wait_ms;
            if (!strcmp(kv, "wait") && oc_parse_duration_ms(val, &wait_ms) == 0)
                val = "0s";
            args[2 * na] = kv;
            args[2 * na++ + 1] = val;
        }
    }
    fz_unescape(target, 0);
    char *path = fz_subst_run(target);

    struct orchd_req rq = {.d = &fz_d, .cfg = fz_d.conf->cfg, .conf = fz_d.conf,
                           .method = method, .path = path, .body = body,
                           .body_len = body_len, .query_kv = args, .header_kv = headers};
    orchd_dispatch(&rq, body_len > (size_t)orchd_cfg_of(fz_d.cfg)->max_body);
    if (rq.status < 200 || rq.status > 599 || rq.status == 500) {
        const char *ctype;
        char *text = orchd_answer_text(&rq, &ctype);
        fprintf(stderr, "fuzz_http: %s %s answered %u: %s", method, path, rq.status, text);
        abort();
    }
    /* FUZZ_HTTP_SHOW=1: each request's answer on stderr, for a look at
     * what the seeds reach. */
    static int show = -1;
    if (show < 0)
        show = getenv("FUZZ_HTTP_SHOW") != NULL;
    if (show)
        fprintf(stderr, "%s %s -> %u\n", method, path, rq.status);
    fz_note_run(rq.json);
    if (rq.stream) {
        MHD_destroy_response(rq.stream);
    } else {
        const char *ctype;
        free(orchd_answer_text(&rq, &ctype));
    }
    json_decref(rq.json);
    free(rq.text);
    free(rq.set_cookie);
    free(sig);
    free(path);
    free(body);
    free(buf);
    /* Wake-ups for a scheduler that never runs: keep the pipe from filling. */
    char drain[256];
    atomic_store(&fz_d.woken, 0);
    while (read(fz_d.wake[0], drain, sizeof drain) > 0)
        ;
    return 0;
}
