/* libcurl for the client commands only, loaded when one of them runs.
 * Linked into orch it would cost every `orch run` about 1.5 ms of dynamic
 * loading (libcurl brings some thirty libraries: TLS, Kerberos, LDAP) for
 * a feature `orch run` never uses. The types come from curl.h. */
#ifndef CLI_LIBCURL_H
#define CLI_LIBCURL_H

#include <curl/curl.h>

struct cli_libcurl {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
};

/* NULL, after saying why on stderr, when libcurl cannot be loaded. */
const struct cli_libcurl *cli_libcurl(void);

#endif
