/* Bounded step logs (core/engine/logcap.c): what is stored at once, what
 * the tail keeps through its ring, the marker and the counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/internal.h"

/* What a store would hold: the admitted heads, then what finish emits. */
struct sink {
    struct oc_buf all;       /* the bytes in order */
    struct oc_buf streams;   /* one byte per byte of all: '1' stdout, '2' stderr */
    int rows;
    size_t max_row;
};

static void sink_add(struct sink *k, uint32_t stream, const char *data, size_t len)
{
    oc_buf_add(&k->all, data, len);
    for (size_t i = 0; i < len; i++)
        oc_buf_add(&k->streams, stream == ORCH_STREAM_STDERR ? "2" : "1", 1);
    k->rows++;
    if (len > k->max_row)
        k->max_row = len;
}

static void sink_emit(void *ud, uint32_t stream, const char *data, size_t len)
{
    sink_add(ud, stream, data, len);
}

static void sink_free(struct sink *k)
{
    oc_buf_free(&k->all);
    oc_buf_free(&k->streams);
}

static const char *tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* Write through the cap as the ledger does; the admitted part goes to k. */
static void put(struct oc_logcap **c, struct sink *k, int64_t limit, uint32_t stream,
                const char *data, size_t len)
{
    size_t keep = oc_logcap_admit(c, tmpdir(), 1, limit, stream, data, len);
    assert_true(keep <= len);
    if (keep)
        sink_add(k, stream, data, keep);
}

static void fill(char *p, size_t n, char ch)
{
    memset(p, ch, n);
}

static void test_under_the_limit_is_stored_whole(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    struct sink k = {0};
    put(&c, &k, 1024, ORCH_STREAM_STDOUT, "hello\n", 6);
    put(&c, &k, 1024, ORCH_STREAM_STDERR, "oops\n", 5);
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 0);
    assert_int_equal(s.total, 11);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(k.all.len, 11);
    assert_memory_equal(k.all.data, "hello\noops\n", 11);
    oc_logcap_free(c);
    sink_free(&k);
}

static void test_exactly_the_limit_drops_nothing_and_writes_no_marker(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    struct sink k = {0};
    char buf[256];
    for (int i = 0; i < 4; i++) {
        fill(buf, sizeof buf, (char)('a' + i));
        put(&c, &k, 1024, ORCH_STREAM_STDOUT, buf, sizeof buf);
    }
    assert_int_equal(k.all.len, 512); /* the head at once, the rest at the end */
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 0);
    assert_int_equal(k.all.len, 1024);
    assert_int_equal(k.all.data[1023], 'd');
    assert_null(strstr(k.all.data, "[orch]"));
    oc_logcap_free(c);
    sink_free(&k);
}

static void test_head_marker_tail_with_streams_kept(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    struct sink k = {0};
    char a[300], b[300], cc[2000], d[100];
    fill(a, sizeof a, 'A');
    fill(b, sizeof b, 'B');
    fill(cc, sizeof cc, 'C');
    fill(d, sizeof d, 'D');
    put(&c, &k, 1024, ORCH_STREAM_STDOUT, a, sizeof a);
    put(&c, &k, 1024, ORCH_STREAM_STDERR, b, sizeof b);
    put(&c, &k, 1024, ORCH_STREAM_STDOUT, cc, sizeof cc);
    put(&c, &k, 1024, ORCH_STREAM_STDERR, d, sizeof d);
    assert_int_equal(k.all.len, 512);
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 1);
    assert_int_equal(s.total, 2700);
    assert_int_equal(s.head, 512);
    assert_int_equal(s.tail, 512);
    assert_int_equal(s.dropped, 2700 - 1024);
    const char *m = "\n[orch] log truncated: 1676 bytes dropped here (log_limit 1024: kept the "
                    "first 512 and the last 512 of 2700 bytes)\n";
    size_t ml = strlen(m);
    assert_int_equal(k.all.len, 1024 + ml);
    assert_memory_equal(k.all.data + 512, m, ml);
    const char *t = k.all.data + 512 + ml;
    for (size_t i = 0; i < 412; i++)
        assert_int_equal(t[i], 'C');
    for (size_t i = 412; i < 512; i++)
        assert_int_equal(t[i], 'D');
    /* Streams: A stdout, B stderr in the head; marker stderr; C stdout, D stderr. */
    const char *st = k.streams.data;
    assert_int_equal(st[0], '1');
    assert_int_equal(st[300], '2');
    assert_int_equal(st[512], '2');
    assert_int_equal(st[512 + ml], '1');
    assert_int_equal(st[512 + ml + 411], '1');
    assert_int_equal(st[512 + ml + 412], '2');
    oc_logcap_free(c);
    sink_free(&k);
}

static void test_ring_wraps_and_keeps_the_last_bytes(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    struct sink k = {0};
    struct oc_buf full = {0};
    char buf[777];
    unsigned v = 0;
    for (int n = 0; n < 100; n++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (char)('!' + (v++ * 7919u) % 90);
        oc_buf_add(&full, buf, sizeof buf);
        put(&c, &k, 4096, ORCH_STREAM_STDOUT, buf, sizeof buf);
    }
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 1);
    assert_int_equal(s.total, full.len);
    assert_int_equal(s.tail, 2048);
    assert_memory_equal(k.all.data, full.data, 2048);
    assert_memory_equal(k.all.data + k.all.len - 2048, full.data + full.len - 2048, 2048);
    assert_true(k.max_row <= 64 * 1024);
    oc_logcap_free(c);
    oc_buf_free(&full);
    sink_free(&k);
}

static void test_one_write_larger_than_the_tail(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    struct sink k = {0};
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    big[sizeof big - 1] = '\n';
    put(&c, &k, 1024, ORCH_STREAM_STDOUT, big, sizeof big);
    assert_int_equal(k.all.len, 512);
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 1);
    assert_int_equal(s.dropped, sizeof big - 1024);
    assert_memory_equal(k.all.data + k.all.len - 512, big + sizeof big - 512, 512);
    oc_logcap_free(c);
    sink_free(&k);
}

static void test_many_stream_switches_stay_bounded(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    struct sink k = {0};
    static char head[32768];
    fill(head, sizeof head, 'h');
    head[sizeof head - 1] = '\n';
    put(&c, &k, 65536, ORCH_STREAM_STDOUT, head, sizeof head);
    /* 40000 one-byte writes alternating streams: more segments than kept. */
    for (int i = 0; i < 40000; i++)
        put(&c, &k, 65536, i % 2 ? ORCH_STREAM_STDERR : ORCH_STREAM_STDOUT, i % 2 ? "e" : "o",
            1);
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 1);
    assert_int_equal(s.total, 32768 + 40000);
    assert_int_equal(s.head + s.tail + s.dropped, s.total);
    assert_int_equal(s.tail, 4096); /* one byte in each of the 4096 segments kept */
    /* No leading newline: the head ended with one. */
    assert_memory_equal(k.all.data + 32768, "[orch] log truncated: ", 22);
    /* The tail is the last writes, still alternating and ending on stderr. */
    const char *end = k.all.data + k.all.len;
    assert_int_equal(end[-1], 'e');
    assert_int_equal(end[-2], 'o');
    assert_int_equal(k.streams.data[k.streams.len - 1], '2');
    assert_int_equal(k.streams.data[k.streams.len - 2], '1');
    oc_logcap_free(c);
    sink_free(&k);
}

static void test_a_new_attempt_starts_afresh(void **state)
{
    (void)state;
    struct oc_logcap *c = NULL;
    char buf[600];
    fill(buf, sizeof buf, 'x');
    assert_int_equal(oc_logcap_admit(&c, tmpdir(), 1, 1024, ORCH_STREAM_STDOUT, buf, 600), 512);
    /* Attempt 2: its own head. */
    assert_int_equal(oc_logcap_admit(&c, tmpdir(), 2, 1024, ORCH_STREAM_STDOUT, buf, 600), 512);
    struct sink k = {0};
    struct oc_logcap_summary s;
    assert_int_equal(oc_logcap_finish(c, sink_emit, &k, &s), 0);
    assert_int_equal(s.total, 600);
    assert_int_equal(k.all.len, 88);
    oc_logcap_free(c);
    sink_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_under_the_limit_is_stored_whole),
        cmocka_unit_test(test_exactly_the_limit_drops_nothing_and_writes_no_marker),
        cmocka_unit_test(test_head_marker_tail_with_streams_kept),
        cmocka_unit_test(test_ring_wraps_and_keeps_the_last_bytes),
        cmocka_unit_test(test_one_write_larger_than_the_tail),
        cmocka_unit_test(test_many_stream_switches_stay_bounded),
        cmocka_unit_test(test_a_new_attempt_starts_afresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
