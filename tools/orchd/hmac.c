/* Digests for tokens and signatures: GNU Nettle, which libmicrohttpd
 * already maps into orchd (through GnuTLS), rather than hand-written
 * crypto. OpenSSL's libcrypto did this before; it alone added 3 MB to
 * orchd's resident size (docs/benchmarks.md). */
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "orchd.h"
#include "util.h"

void orchd_sha256(const void *data, size_t len, unsigned char out[32])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, data);
    sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

char *orchd_hmac_sig(const char *key, const void *data, size_t len)
{
    struct hmac_sha256_ctx c;
    unsigned char mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&c, strlen(key), (const uint8_t *)key);
    hmac_sha256_update(&c, len, data);
    hmac_sha256_digest(&c, sizeof mac, mac);
    char *out = oc_xmalloc(7 + 2 * sizeof mac + 1);
    memcpy(out, "sha256=", 7);
    for (size_t i = 0; i < sizeof mac; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return out;
}

int orchd_consttime_eq(const void *a, const void *b, size_t n)
{
    return memeql_sec(a, b, n) != 0;
}
