/* Refused callers, logged and counted (authlog.c). */
#ifndef ORCHD_AUTHLOG_H
#define ORCHD_AUTHLOG_H

#include "http.h"

enum orchd_auth_reason { ORCHD_AUTH_MISSING, ORCHD_AUTH_INVALID, ORCHD_AUTH_FORBIDDEN,
                         ORCHD_AUTH_CSRF, ORCHD_AUTH_N };
enum orchd_sig_reason { ORCHD_SIG_MISSING, ORCHD_SIG_MISMATCH, ORCHD_SIG_N };

/* The counters, sized for the routes and the config's webhooks. */
void orchd_authlog_init(struct orchd *d);
void orchd_authlog_free(struct orchd *d);
/* "ip:port", "[ip6]:port", "unix" or "unknown". */
void orchd_remote_addr(struct orchd_req *rq, char *out, size_t n);
/* rq->route refused the caller; token is the token's name when known. */
void orchd_auth_failed(struct orchd_req *rq, enum orchd_auth_reason why, const char *token);
void orchd_hook_sig_failed(struct orchd_req *rq, const struct orchd_webhook *h,
                           enum orchd_sig_reason why);
/* The reasons' label values, for metrics.c. */
extern const char *const orchd_auth_reasons[ORCHD_AUTH_N];
extern const char *const orchd_sig_reasons[ORCHD_SIG_N];

#endif
