/* SHA-256 (FIPS 180-4), for step-file's checksums. */
#ifndef SF_SHA256_H
#define SF_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sf_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t used;
};

void sf_sha256_init(struct sf_sha256 *s);
void sf_sha256_add(struct sf_sha256 *s, const void *data, size_t n);
void sf_sha256_hex(struct sf_sha256 *s, char out[65]); /* finishes s */

#endif
