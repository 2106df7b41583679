/* Digests for tokens and signatures: OpenSSL's libcrypto, which libcurl
 * already brings in, rather than hand-written crypto. */
#define _GNU_SOURCE
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchd.h"
#include "util.h"

void orchd_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

char *orchd_hmac_sig(const char *key, const void *data, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), data, len, mac, &n);
    char *out = oc_xmalloc(7 + 2 * n + 1);
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return out;
}

int orchd_consttime_eq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
