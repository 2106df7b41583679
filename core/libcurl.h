/* libcurl, loaded on first use: by orch's client commands and orchd's
 * notifications only. Linked, it would cost every `orch run` about 1.5 ms
 * of dynamic loading and orchd a few MB of resident pages (libcurl brings
 * some thirty libraries: TLS, Kerberos, LDAP) for features they mostly do
 * not use. The types come from curl.h. Plugins link libcurl themselves. */
#ifndef OC_LIBCURL_H
#define OC_LIBCURL_H

#include <curl/curl.h>

struct oc_libcurl {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    /* curl_easy_escape with a NULL handle (libcurl >= 7.82); frees with free. */
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
};

/* The functions, or NULL with *why saying what failed. The first call
 * loads; make it from one thread before others use it. */
const struct oc_libcurl *oc_libcurl(const char **why);

#endif
