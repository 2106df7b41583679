/* The plugin kit (sdk/kit) against the core's real host table: buffers and
 * quoting in host memory (the live count returns to where it was), the
 * deadline and key rules, a pause a cancel wakes, and the HTTP client's
 * one strategy and one error mapping against a server on 127.0.0.1: an
 * answer, an error body kept from the writer, a server that never answers
 * (TIMEOUT at the deadline), a cancel through the cancel fd (CANCELLED at
 * once, not at a progress tick), and a refused connection (TRANSIENT). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <orch/kit.h>
#include <orch/kit_http.h>

#include "ctx.h"
#include "host.h"

static void test_buf_and_quote(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    int64_t live = oc_host_live_allocs();
    struct pk_buf b = {.h = h};
    pk_add(&b, "echo");
    pk_add_word(&b, "it's");
    assert_int_equal(pk_add_mem(&b, "\0x", 2), 0);
    assert_int_equal(b.len, 4 + 10 + 2);
    assert_memory_equal(b.p, "echo 'it'\\''s'\0x", b.len + 1);
    char *t = pk_buf_take(&b);
    assert_non_null(t);
    h->free(t);
    /* A failed add poisons the rest: take gives NULL and frees. */
    pk_add(&b, "a");
    pk_add(&b, NULL);
    pk_add(&b, "b");
    assert_int_equal(pk_add_mem(&b, "c", 1), -1);
    assert_null(pk_buf_take(&b));
    char *q = pk_shquote(h, "");
    assert_string_equal(q, "''");
    h->free(q);
    char *p = pk_printf(h, "%s=%d", "n", 7);
    assert_string_equal(p, "n=7");
    h->free(p);
    assert_int_equal(oc_host_live_allocs(), live);
}

static void test_deadline_and_keys(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    assert_int_equal(pk_deadline(h, NULL, 1000, 0), 0);
    assert_int_equal(pk_deadline(h, &ctx, 1000, 0), 0);
    assert_int_equal(pk_deadline(h, &ctx, 1000, 5), 1000 + 5 * 1000000);
    ctx.deadline_ns = 2000;
    assert_int_equal(pk_deadline(h, &ctx, 1000, 0), 2000);
    assert_int_equal(pk_deadline(h, &ctx, 1000, 5), 2000);
    ctx.deadline_ns = 1000 + 10 * 1000000;
    assert_int_equal(pk_deadline(h, &ctx, 1000, 5), 1000 + 5 * 1000000);
    assert_int_equal(pk_deadline(h, NULL, 1000, 5), 1000 + 5 * 1000000);
    assert_true(pk_blob_key_ok("runs/r1/artifacts/a.txt"));
    assert_true(pk_blob_key_ok("a..b/c"));
    assert_false(pk_blob_key_ok(NULL));
    assert_false(pk_blob_key_ok(""));
    assert_false(pk_blob_key_ok("/abs"));
    assert_false(pk_blob_key_ok(".."));
    assert_false(pk_blob_key_ok("cf/../escape"));
    assert_false(pk_blob_key_ok("cf/.."));
}

/* ---- a cancel that arrives later, as the executor delivers one: the
 * flag set and the cancel fd made readable. */
struct canceller {
    volatile sig_atomic_t flag;
    int pipe[2];
    int after_ms;
    pthread_t th;
};

static void *cancel_later(void *ud)
{
    struct canceller *c = ud;
    struct timespec ts = {c->after_ms / 1000, (c->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    c->flag = 1;
    assert_int_equal(write(c->pipe[1], "x", 1), 1);
    return NULL;
}

static void canceller_start(struct canceller *c, struct orch_ctx *ctx, int after_ms)
{
    c->flag = 0;
    c->after_ms = after_ms;
    assert_int_equal(pipe(c->pipe), 0);
    ctx->cancelled = &c->flag;
    ctx->cancel_fd = c->pipe[0];
    assert_int_equal(pthread_create(&c->th, NULL, cancel_later, c), 0);
}

static void canceller_stop(struct canceller *c)
{
    pthread_join(c->th, NULL);
    close(c->pipe[0]);
    close(c->pipe[1]);
}

static int64_t ms_since(int64_t t0)
{
    return (oc_host()->now_mono_ns() - t0) / 1000000;
}

static void test_pause(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    int64_t t0 = h->now_mono_ns();
    assert_int_equal(pk_pause(h, NULL, 30, 0), 0);
    assert_true(ms_since(t0) >= 30);
    t0 = h->now_mono_ns();
    assert_int_equal(pk_pause(h, &ctx, 10000, t0 + 50 * 1000000LL), 1);
    assert_true(ms_since(t0) < 5000);
    struct canceller c;
    canceller_start(&c, &ctx, 100);
    t0 = h->now_mono_ns();
    assert_int_equal(pk_pause(h, &ctx, 20000, 0), 1);
    assert_true(ms_since(t0) < 5000);
    canceller_stop(&c);
}

/* ---- a server on 127.0.0.1: answers each connection with `reply`, or
 * with nothing at all when reply is NULL (it keeps the socket open). */
struct server {
    int fd, port;
    const char *reply;
    pthread_t th;
    int stop;
};

static void *serve(void *ud)
{
    struct server *s = ud;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char buf[4096];
    ssize_t n = read(c, buf, sizeof buf); /* the request (small, one read) */
    (void)n;
    if (s->reply) {
        ssize_t w = write(c, s->reply, strlen(s->reply));
        (void)w;
    } else {
        while (!s->stop) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    close(c);
    return NULL;
}

static void server_start(struct server *s, const char *reply)
{
    memset(s, 0, sizeof *s);
    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &l), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->fd, 4), 0);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    s->stop = 1;
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->fd);
}

static size_t to_caller(char *p, size_t size, size_t n, void *ud)
{
    struct pk_buf *b = ud;
    pk_add_mem(b, p, size * n);
    return size * n;
}

static void test_http_answers(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    int64_t live = oc_host_live_allocs();
    struct pk_http c;
    assert_int_equal(pk_http_init(&c, h), 0);
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", s.port);
    struct pk_http_req rq = {.method = "GET", .url = url, .timeout_ms = 10000};
    struct pk_http_resp rs;
    struct orch_error err = {.struct_size = sizeof err};
    orch_status st = pk_http_perform(&c, &rq, &rs);
    assert_int_equal(pk_http_error(h, &err, st, &rs, "GET /x"), ORCH_OK);
    assert_int_equal(rs.status, 200);
    assert_string_equal(rs.body.p, "hello");
    pk_http_resp_free(&rs);
    server_stop(&s);
    /* An error answer is kept for its message, never handed to the writer. */
    server_start(&s, "HTTP/1.1 404 Not Found\r\nContent-Length: 7\r\nConnection: close\r\n\r\nmissing");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/y", s.port);
    struct pk_buf got = {.h = h};
    rq.write_cb = to_caller;
    rq.write_ud = &got;
    st = pk_http_perform(&c, &rq, &rs);
    assert_int_equal(st, ORCH_OK);
    assert_int_equal(rs.status, 404);
    assert_string_equal(rs.body.p, "missing");
    assert_int_equal(got.len, 0);
    pk_http_resp_free(&rs);
    server_stop(&s);
    pk_buf_free(&got);
    pk_http_cleanup(&c);
    assert_null(err.message);
    assert_int_equal(oc_host_live_allocs(), live);
}

static void test_http_deadline_cancel_refused(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    struct pk_http c;
    assert_int_equal(pk_http_init(&c, h), 0);
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    struct server s;
    char url[64];
    struct pk_http_resp rs;
    struct orch_error err = {.struct_size = sizeof err};

    /* No answer: the deadline ends it, as TIMEOUT. */
    server_start(&s, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", s.port);
    int64_t t0 = h->now_mono_ns();
    struct pk_http_req rq = {.method = "GET", .url = url, .ctx = &ctx,
                             .deadline_ns = t0 + 300 * 1000000LL};
    orch_status st = pk_http_perform(&c, &rq, &rs);
    assert_int_equal(st, ORCH_E_TIMEOUT);
    assert_true(ms_since(t0) >= 290 && ms_since(t0) < 3000);
    assert_int_equal(pk_http_error(h, &err, st, &rs, "GET /slow"), ORCH_E_TIMEOUT);
    assert_string_equal(err.message, "GET /slow: no answer in time");
    h->free(err.message);
    err.message = NULL;
    pk_http_resp_free(&rs);
    server_stop(&s);

    /* A cancel ends it at once: well before curl's 1 s idle tick. */
    server_start(&s, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", s.port);
    rq.deadline_ns = 0;
    struct canceller cn;
    canceller_start(&cn, &ctx, 150);
    t0 = h->now_mono_ns();
    st = pk_http_perform(&c, &rq, &rs);
    assert_int_equal(st, ORCH_E_CANCELLED);
    assert_true(ms_since(t0) < 800);
    assert_int_equal(pk_http_error(h, &err, st, &rs, "GET /slow"), ORCH_E_CANCELLED);
    assert_string_equal(err.message, "GET /slow: cancelled");
    h->free(err.message);
    err.message = NULL;
    pk_http_resp_free(&rs);
    canceller_stop(&cn);
    server_stop(&s);

    /* Nobody listening: a failed transfer, TRANSIENT. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    struct pk_http_req rq2 = {.method = "GET", .url = url, .timeout_ms = 5000};
    st = pk_http_perform(&c, &rq2, &rs);
    assert_int_equal(st, ORCH_OK);
    assert_int_equal(rs.curl, CURLE_COULDNT_CONNECT);
    assert_int_equal(pk_http_error(h, &err, st, &rs, "GET /"), ORCH_E_TRANSIENT);
    assert_non_null(strstr(err.message, "GET /: "));
    h->free(err.message);
    pk_http_resp_free(&rs);
    pk_http_cleanup(&c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_and_quote),
        cmocka_unit_test(test_deadline_and_keys),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_http_answers),
        cmocka_unit_test(test_http_deadline_cancel_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
