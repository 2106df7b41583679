/* S3's XML answers, read with expat: a ListObjectsV2 page and the text of
 * one element (an error's Code, an upload's UploadId). Every body is the
 * server's word and hostile until parsed: a DOCTYPE or entity declaration,
 * a body that is not well-formed or cut short, a key longer than S3 allows
 * or a size that is not a number is refused, never half read.
 * Independent of the host table (libc memory), so it is unit-tested alone
 * (tests/unit/s3/test_s3_xml.c). */
#ifndef S3XML_H
#define S3XML_H

#include <stddef.h>
#include <stdint.h>

/* S3's own limit on a key, in bytes of UTF-8. */
#define S3_KEY_MAX 1024
/* A continuation token is opaque; S3's are well under this. */
#define S3_TOKEN_MAX 4096

struct s3_list_item {
    char *key;                   /* malloc'd */
    uint64_t size;
};

struct s3_list_page {
    struct s3_list_item *items;  /* malloc'd, n of them, in the answer's order */
    size_t n;
    int truncated;               /* IsTruncated was true */
    char *next;                  /* NextContinuationToken (set when truncated); malloc'd */
};

/* Parse one ListObjectsV2 answer of len bytes. 0, or -1 with why (a
 * sentence naming the problem and, for syntax, the line and column) and
 * *out empty. A truncated page without a continuation token is refused
 * (following it would silently stop early). */
int s3_list_parse(const char *xml, size_t len, struct s3_list_page *out, char *why,
                  size_t why_len);
void s3_list_page_free(struct s3_list_page *p);

/* The text of the first element named tag (at any depth), malloc'd; NULL
 * when there is none, when the body is not XML up to that element, or
 * when it declares a DOCTYPE. A body cut short after the element still
 * gives it (error bodies are kept only up to a limit). */
char *s3_xml_text(const char *xml, size_t len, const char *tag);

#endif
