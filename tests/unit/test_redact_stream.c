/* Stream redaction: a secret cut across writes anywhere, overlapping
 * secrets, prefixes that turn out not to be secrets, flushes at the end of
 * a stream and on a newline, and the encoded forms (base64, URL escaping
 * as libcurl does it, JSON escaping, the lines of a multi-line value). */
#include <dlfcn.h>
#include <nettle/base64.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"

/* One-shot redaction, as a NUL-terminated string. */
static char *once(const struct oc_redactor *r, const char *in, size_t len)
{
    size_t n;
    return oc_redact(r, in, len, &n);
}

/* Feed in[0..len) cut at the given points, then end the stream; checks on
 * the way that the stream never holds back a whole secret's worth. */
static char *streamed(const struct oc_redactor *r, const char *in, size_t len,
                      const size_t *cuts, size_t n_cuts)
{
    struct oc_buf held = {0}, out = {0};
    size_t at = 0;
    for (size_t k = 0; k <= n_cuts; k++) {
        size_t to = k < n_cuts ? cuts[k] : len;
        oc_redact_stream(r, &held, in + at, to - at, &out);
        assert_true(held.len == 0 || held.len < oc_redactor_longest(r));
        at = to;
    }
    oc_redact_stream_end(r, &held, &out);
    assert_int_equal(held.len, 0);
    oc_buf_free(&held);
    return oc_buf_steal(&out);
}

/* Every cut into two pieces, and into three for short texts, gives what
 * one piece gives. */
static void expect_every_cut(const struct oc_redactor *r, const char *in, const char *want)
{
    size_t len = strlen(in);
    char *one = once(r, in, len);
    assert_string_equal(one, want);
    free(one);
    for (size_t p = 0; p <= len; p++) {
        char *s = streamed(r, in, len, &p, 1);
        if (strcmp(s, want))
            fail_msg("cut at %zu of '%s': got '%s', want '%s'", p, in, s, want);
        free(s);
        for (size_t q = p; len <= 200 && q <= len; q++) {
            size_t cuts[2] = {p, q};
            s = streamed(r, in, len, cuts, 2);
            if (strcmp(s, want))
                fail_msg("cuts at %zu,%zu of '%s': got '%s', want '%s'", p, q, in, s, want);
            free(s);
        }
    }
}

static void test_split_anywhere(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "ghp_S3cretT0ken");
    expect_every_cut(r, "token=ghp_S3cretT0ken done\n", "token=*** done\n");
    expect_every_cut(r, "ghp_S3cretT0kenghp_S3cretT0ken", "******");
    expect_every_cut(r, "ghp_ghp_S3cretT0ken!", "ghp_***!");
    expect_every_cut(r, "ghp_S3cretT0ke", "ghp_S3cretT0ke"); /* all but the last byte */
    oc_redactor_free(r);
}

static void test_overlapping_secrets(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "abcdef");
    oc_redactor_add(r, "cdefgh");
    oc_redactor_add(r, "abcd");
    oc_redactor_add(r, "abcdefghij");
    /* Leftmost first, then longest: the same answer cut or whole. */
    expect_every_cut(r, "xabcdefghx", "x***ghx");
    expect_every_cut(r, "xabcdefghij", "x***");
    expect_every_cut(r, "abcdefghi", "***ghi");
    expect_every_cut(r, "abcdx", "***x");
    expect_every_cut(r, "xxcdefghabcd", "xx******");
    oc_redactor_free(r);
}

static void test_prefix_released_in_order(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "hunter22");
    struct oc_buf held = {0}, out = {0};
    oc_redact_stream(r, &held, "a hunt", 6, &out);
    assert_string_equal(out.data, "a ");      /* "hunt" may start the secret */
    assert_int_equal(held.len, 4);
    oc_redact_stream(r, &held, "er2", 3, &out);
    assert_int_equal(out.len, 2);             /* still undecided: "hunter2" */
    oc_redact_stream(r, &held, "3 and more", 10, &out);
    assert_string_equal(out.data, "a hunter23 and more");
    assert_int_equal(held.len, 0);
    /* At the end of the stream, a prefix goes out as it was. */
    oc_redact_stream(r, &held, " hunter2", 8, &out);
    assert_string_equal(out.data, "a hunter23 and more ");
    oc_redact_stream_end(r, &held, &out);
    assert_string_equal(out.data, "a hunter23 and more hunter2");
    oc_buf_free(&held);
    oc_buf_free(&out);
    oc_redactor_free(r);
}

static void test_newline_and_unrelated_bytes_flush(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "hunter22");
    struct oc_buf held = {0}, out = {0};
    oc_redact_stream(r, &held, "hun\n", 4, &out); /* no secret spans a newline */
    assert_string_equal(out.data, "hun\n");
    assert_int_equal(held.len, 0);
    oc_redact_stream(r, &held, "line two hunter22\n", 18, &out);
    assert_string_equal(out.data, "hun\nline two ***\n");
    assert_int_equal(held.len, 0);
    oc_redact_stream(r, &held, "zzz", 3, &out); /* cannot start a secret */
    assert_int_equal(held.len, 0);
    oc_buf_free(&held);
    oc_buf_free(&out);
    /* No secret registered: bytes pass straight through. */
    struct oc_redactor *none = oc_redactor_new();
    oc_redact_stream(none, &held, "hunter22", 8, &out);
    assert_string_equal(out.data, "hunter22");
    assert_int_equal(held.len, 0);
    oc_buf_free(&held);
    oc_buf_free(&out);
    oc_redactor_free(none);
    oc_redactor_free(r);
}

static char *b64(const void *p, size_t n)
{
    char *s = oc_xmalloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);
    base64_encode_raw(s, n, p);
    s[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
    return s;
}

static void test_base64_at_every_offset(void **state)
{
    (void)state;
    const char *secret = "p@ss/w0rd+Secret=Value&42!";
    size_t n = strlen(secret);
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, secret);
    char *whole = b64(secret, n);
    char *red = once(r, whole, strlen(whole));
    assert_string_equal(red, "***");
    free(red);
    free(whole);
    /* Inside a longer encoded text, at byte offset 0, 1 or 2 of a group,
     * followed by anything: at least the characters that depend on the
     * secret alone are gone, cut or whole. */
    const char *befores[] = {"", "x", "xy", "abc", "abcd", "abcde"};
    const char *afters[] = {"", "\n", "Z", "tail text"};
    for (size_t b = 0; b < 6; b++)
        for (size_t a = 0; a < 4; a++) {
            char *plain = oc_xasprintf("%s%s%s", befores[b], secret, afters[a]);
            char *enc = b64(plain, strlen(plain));
            size_t off = strlen(befores[b]) % 3;
            size_t stable = 8 * (off + n) / 6 - (8 * off + 5) / 6;
            char *text = oc_xasprintf("data: %s end\n", enc);
            char *one = once(r, text, strlen(text));
            assert_non_null(strstr(one, "***"));
            if (strlen(one) + stable > strlen(text) + 3)
                fail_msg("'%s' of '%s' masked as '%s'", enc, plain, one);
            expect_every_cut(r, text, one);
            /* base64url: the same with - and _ */
            for (char *p = text; *p; p++)
                *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
            char *url = once(r, text, strlen(text));
            assert_non_null(strstr(url, "***"));
            assert_int_equal(strlen(url), strlen(one));
            free(url);
            free(one);
            free(text);
            free(enc);
            free(plain);
        }
    oc_redactor_free(r);
}

/* The URL-escaped form is libcurl's curl_easy_escape, whatever the bytes. */
static void test_url_escaped_as_libcurl_does(void **state)
{
    (void)state;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("libcurl.so.4 is needed to compare the URL form: %s", dlerror());
    char *(*esc)(void *, const char *, int) =
        (char *(*)(void *, const char *, int))dlsym(h, "curl_easy_escape");
    void (*cfree)(void *) = (void (*)(void *))dlsym(h, "curl_free");
    assert_non_null(esc);
    assert_non_null(cfree);
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    const char *secrets[] = {"p@ss/w0rd+Secret=Value&42!", "a b c d", "tilde~dash-dot.us_", all};
    for (size_t k = 0; k < 4; k++) {
        struct oc_redactor *r = oc_redactor_new();
        oc_redactor_add(r, secrets[k]);
        char *e = esc(NULL, secrets[k], 0);
        assert_non_null(e);
        char *text = oc_xasprintf("https://x.test/?p=%s&q=1\n", e);
        char *s = once(r, text, strlen(text));
        assert_string_equal(s, "https://x.test/?p=***&q=1\n");
        expect_every_cut(r, text, s);
        free(s);
        free(text);
        /* lower-case hex digits, and '+' for a space as in forms */
        for (char *p = e; *p; p++)
            if (p[0] == '%' && p[1] && p[2]) {
                p[1] = (char)(p[1] >= 'A' && p[1] <= 'F' ? p[1] + 32 : p[1]);
                p[2] = (char)(p[2] >= 'A' && p[2] <= 'F' ? p[2] + 32 : p[2]);
            }
        s = once(r, e, strlen(e));
        assert_string_equal(s, "***");
        free(s);
        cfree(e);
        oc_redactor_free(r);
    }
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "a b c d");
    char *s = once(r, "q=a+b+c+d", 9);
    assert_string_equal(s, "q=***");
    free(s);
    oc_redactor_free(r);
    dlclose(h);
}

static void test_multiline_secret(void **state)
{
    (void)state;
    const char *pem = "-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nQ2Fz\nab\n"
                      "-----END TEST KEY-----";
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, pem);
    char *in = oc_xasprintf("key:\n%s\nafter\n", pem);
    expect_every_cut(r, in, "key:\n***\nafter\n");
    free(in);
    /* Line by line, with other line ends, with text between: each line of
     * four or more bytes masked; "ab" is too short to be masked alone. */
    expect_every_cut(r, "> MIIEvQIBADANBgkqhkiG9w0B\r\n> Q2Fz\r\n> ab\r\n> -----END TEST KEY-----\r\n",
                     "> ***\r\n> ***\r\n> ab\r\n> ***\r\n");
    oc_redactor_free(r);
    /* Indentation is not part of a line's secret. */
    r = oc_redactor_new();
    oc_redactor_add(r, "cfg:\n    indented-line-1\n\tsecond-line-22  \n");
    expect_every_cut(r, "indented-line-1 and second-line-22\n", "*** and ***\n");
    oc_redactor_free(r);
}

static void test_json_escaped_form(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "pa\"ss\\wd\t1");
    const char *json = "{\"error\":\"bad password pa\\\"ss\\\\wd\\t1 given\"}";
    char *s = once(r, json, strlen(json));
    assert_string_equal(s, "{\"error\":\"bad password *** given\"}");
    free(s);
    oc_redactor_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_overlapping_secrets),
        cmocka_unit_test(test_prefix_released_in_order),
        cmocka_unit_test(test_newline_and_unrelated_bytes_flush),
        cmocka_unit_test(test_base64_at_every_offset),
        cmocka_unit_test(test_url_escaped_as_libcurl_does),
        cmocka_unit_test(test_multiline_secret),
        cmocka_unit_test(test_json_escaped_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
