/* store-s3's XML reader (plugins/store-s3/xml.c, expat) on good and
 * hostile ListObjectsV2 answers: entities and DOCTYPEs, keys longer than
 * S3 allows, bodies cut short, a truncated page without a token, sizes
 * that are not numbers. A refused page hands on no key at all. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3xml.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
             "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" \
             "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>"
#define TAIL "</ListBucketResult>"

static char why[256];

static int parse(const char *xml, struct s3_list_page *pg)
{
    why[0] = 0;
    return s3_list_parse(xml, strlen(xml), pg, why, sizeof why);
}

static void refused(const char *xml, const char *reason)
{
    struct s3_list_page pg;
    assert_int_equal(parse(xml, &pg), -1);
    assert_int_equal(pg.n, 0);
    assert_null(pg.items);
    assert_null(pg.next);
    if (!strstr(why, reason))
        fail_msg("reason '%s' lacks '%s'", why, reason);
}

static void t_good_page(void **state)
{
    (void)state;
    struct s3_list_page pg;
    assert_int_equal(parse(HEAD "<IsTruncated>false</IsTruncated>"
                                "<Contents><Key>p/a&amp;b&#x20;&lt;c&gt;</Key><LastModified>x</LastModified>"
                                "<ETag>&quot;e&quot;</ETag><Size>12</Size></Contents>"
                                "<Contents><Key>p/\xc3\xa9</Key><Size>0</Size></Contents>" TAIL,
                           &pg),
                     0);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.items[0].key, "p/a&b <c>");
    assert_int_equal(pg.items[0].size, 12);
    assert_string_equal(pg.items[1].key, "p/\xc3\xa9");
    assert_false(pg.truncated);
    s3_list_page_free(&pg);
}

static void t_truncated_page(void **state)
{
    (void)state;
    struct s3_list_page pg;
    assert_int_equal(parse(HEAD "<Contents><Key>p/a</Key><Size>18446744073709551615</Size></Contents>"
                                "<IsTruncated>true</IsTruncated>"
                                "<NextContinuationToken>1/ab+=</NextContinuationToken>" TAIL,
                           &pg),
                     0);
    assert_int_equal(pg.n, 1);
    assert_true(pg.items[0].size == UINT64_MAX);
    assert_true(pg.truncated);
    assert_string_equal(pg.next, "1/ab+=");
    s3_list_page_free(&pg);
    refused(HEAD "<Contents><Key>p/a</Key></Contents><IsTruncated>true</IsTruncated>" TAIL,
            "no NextContinuationToken");
    refused(HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>" TAIL,
            "no NextContinuationToken");
    refused(HEAD "<IsTruncated>maybe</IsTruncated>" TAIL, "not true or false");
    refused(HEAD "<Contents><Key>p/a</Key></Contents>" TAIL, "no <IsTruncated>");
}

static void t_entities(void **state)
{
    (void)state;
    /* Billion laughs: refused at the DOCTYPE, before any expansion. */
    refused("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
            "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
            "<ListBucketResult><IsTruncated>false</IsTruncated>"
            "<Contents><Key>&c;</Key></Contents></ListBucketResult>",
            "DOCTYPE");
    /* An external entity (a local file) never gets read. */
    refused("<!DOCTYPE l [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            "<ListBucketResult><IsTruncated>false</IsTruncated>"
            "<Contents><Key>&x;</Key></Contents></ListBucketResult>",
            "DOCTYPE");
    /* Without a DOCTYPE, an entity is undefined: not well-formed. */
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>&x;</Key></Contents>" TAIL,
            "not well-formed");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a&#0;b</Key></Contents>" TAIL,
            "not well-formed");
}

static void t_huge_names(void **state)
{
    (void)state;
    char key[S3_KEY_MAX + 2];
    char *xml = malloc(sizeof key + 256);
    assert_non_null(xml);
    memset(key, 'k', S3_KEY_MAX);
    key[S3_KEY_MAX] = 0;
    snprintf(xml, sizeof key + 256, HEAD "<IsTruncated>false</IsTruncated><Contents><Key>%s</Key></Contents>" TAIL, key);
    struct s3_list_page pg;
    assert_int_equal(parse(xml, &pg), 0);
    assert_int_equal(strlen(pg.items[0].key), S3_KEY_MAX);
    s3_list_page_free(&pg);
    key[S3_KEY_MAX] = 'k';
    key[S3_KEY_MAX + 1] = 0;
    snprintf(xml, sizeof key + 256, HEAD "<IsTruncated>false</IsTruncated><Contents><Key>%s</Key></Contents>" TAIL, key);
    refused(xml, "a key in the listing is longer than 1024 bytes");
    free(xml);
    /* A token of megabytes, delivered in many pieces by expat. */
    size_t n = 4u << 20;
    char *big = malloc(n + 512);
    assert_non_null(big);
    int at = snprintf(big, 512, HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken>");
    memset(big + at, 't', n);
    strcpy(big + at + n, "</NextContinuationToken>" TAIL);
    refused(big, "the continuation token in the listing is longer than");
    free(big);
}

static void t_cut_short(void **state)
{
    (void)state;
    const char *whole = HEAD "<IsTruncated>false</IsTruncated>"
                             "<Contents><Key>p/a</Key><Size>1</Size></Contents>"
                             "<Contents><Key>p/b</Key><Size>2</Size></Contents>" TAIL;
    /* Every cut before the end is refused, none yields the keys before it. */
    for (size_t len = 0; len < strlen(whole); len++) {
        struct s3_list_page pg;
        why[0] = 0;
        assert_int_equal(s3_list_parse(whole, len, &pg, why, sizeof why), -1);
        assert_int_equal(pg.n, 0);
    }
    refused("", "not well-formed");
    refused("not xml at all", "not well-formed");
    refused(HEAD "<IsTruncated>false</IsTruncated>" TAIL "<again/>", "not well-formed");
}

static void t_odd_shapes(void **state)
{
    (void)state;
    refused("<Error><Code>AccessDenied</Code></Error>", "not a <ListBucketResult>");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>" TAIL, "no <Key>");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Key>b</Key></Contents>" TAIL,
            "two <Key>s");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a<b>x</b></Key></Contents>" TAIL,
            "inside a text element");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>-1</Size></Contents>" TAIL,
            "not a number");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>18446744073709551616</Size></Contents>" TAIL,
            "not a number");
    refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size></Size></Contents>" TAIL,
            "not a number");
}

static void t_first_text(void **state)
{
    (void)state;
    const char *e = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>"
                    "<Message>The key &amp; more</Message></Error>";
    char *s = s3_xml_text(e, strlen(e), "Message");
    assert_string_equal(s, "The key & more");
    free(s);
    /* An error body kept only up to a limit still names its code. */
    s = s3_xml_text(e, strlen("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Mess"), "Code");
    assert_string_equal(s, "NoSuchKey");
    free(s);
    assert_null(s3_xml_text(e, strlen(e), "Resource"));
    assert_null(s3_xml_text("<Error><Code>No", 15, "Code"));
    const char *d = "<!DOCTYPE e [<!ENTITY x \"y\">]><Error><Code>&x;</Code></Error>";
    assert_null(s3_xml_text(d, strlen(d), "Code"));
    const char *u = "<UploadId></UploadId>";
    s = s3_xml_text(u, strlen(u), "UploadId");
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_good_page),  cmocka_unit_test(t_truncated_page),
        cmocka_unit_test(t_entities),   cmocka_unit_test(t_huge_names),
        cmocka_unit_test(t_cut_short),  cmocka_unit_test(t_odd_shapes),
        cmocka_unit_test(t_first_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
