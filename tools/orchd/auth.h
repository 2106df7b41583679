/* Tokens and the UI's session cookie (auth.c): the one token check. */
#ifndef ORCHD_AUTH_H
#define ORCHD_AUTH_H

#include <sys/types.h>

#include "http.h"

#define ORCHD_SESSION_COOKIE "orch_session"
#define ORCHD_CSRF_HEADER "X-Orch-CSRF"
/* The longest token a session cookie (or a login) may carry, in bytes. */
#define ORCHD_TOKEN_MAX 1024

/* "read", "write", "admin" ("" for anything else). */
const char *orchd_role_name(int role);
/* The configured token whose sha256 is tok's (every one compared in
 * constant time), or NULL. */
const struct orchd_token *orchd_token_find(const struct orchd_cfg *dc, const char *tok,
                                           size_t len);
/* The token in the request's session cookie, decoded into out (n bytes,
 * NUL-terminated): its length, or -1 for no cookie or a malformed one. */
ssize_t orchd_session_token(struct orchd_req *rq, char *out, size_t n);
/* 1 unless the browser says the request is cross-site (Sec-Fetch-Site
 * other than same-origin, or an Origin that is not this Host). */
int orchd_same_origin(struct orchd_req *rq);
/* The CSRF rule: X-Orch-CSRF: 1 and orchd_same_origin. */
int orchd_csrf_ok(struct orchd_req *rq);
/* 0 = allowed (rq->token, rq->by_cookie set); otherwise 401 or 403
 * already answered and the refusal logged and counted. */
int orchd_auth(struct orchd_req *rq, int role);

#endif
