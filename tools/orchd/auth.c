/* Who is calling, and may they: the one owner of token checking. A caller
 * proves a token either with an Authorization: Bearer header (API
 * clients) or with the UI's session cookie, which holds the same token
 * (hex-encoded) and so passes the same constant-time comparison against
 * the same configured hashes with the same roles. A cookie is sent by the
 * browser on its own, so a state-changing request authenticated by it must
 * also prove it came from orchd's own page (the CSRF rule below); a bearer
 * token is never sent on its own, so bearer clients are unaffected. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base16.h>

#include "auth.h"
#include "authlog.h"
#include "host.h"

const char *orchd_role_name(int role)
{
    static const char *const names[] = {"", "read", "write", "admin"};
    return role >= 1 && role <= 3 ? names[role] : "";
}

const struct orchd_token *orchd_token_find(const struct orchd_cfg *dc, const char *tok,
                                           size_t len)
{
    unsigned char hash[32];
    orchd_sha256(tok, len, hash);
    const struct orchd_token *found = NULL;
    for (size_t i = 0; i < dc->n_tokens; i++)
        /* Every token is compared, in constant time: no early exit. */
        if (orchd_consttime_eq(hash, dc->tokens[i].sha256, 32))
            found = &dc->tokens[i];
    return found;
}

ssize_t orchd_session_token(struct orchd_req *rq, char *out, size_t n)
{
    const char *h = orchd_header(rq, "Cookie");
    if (!h)
        return -1;
    /* Cookie: a=1; orch_session=HEX; b=2. Only our name, at the start or
     * after "; ", counts: "xorch_session=" is someone else's cookie. */
    const char *name = ORCHD_SESSION_COOKIE "=";
    size_t nl = strlen(name);
    const char *v = NULL;
    for (const char *p = h; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (!strncmp(p, name, nl)) {
            v = p + nl;
            break;
        }
        p = strchr(p, ';');
        if (!p)
            break;
    }
    if (!v)
        return -1;
    size_t hl = strcspn(v, "; ");
    /* Lower-case hex (as orchd_session_cookie_set writes it) of a token
     * of at most (n - 1) bytes, nothing else: anything odd is no session
     * rather than something to interpret. Decoded by Nettle's base16,
     * which would also take upper case and blanks: refused first. */
    if (!hl || hl % 2 || hl / 2 >= n || strspn(v, "0123456789abcdef") < hl)
        return -1;
    struct base16_decode_ctx ctx;
    size_t got = n - 1;
    base16_decode_init(&ctx);
    if (!base16_decode_update(&ctx, &got, (uint8_t *)out, hl, v) ||
        !base16_decode_final(&ctx) || got != hl / 2)
        return -1;
    out[got] = 0;
    return (ssize_t)got;
}

int orchd_same_origin(struct orchd_req *rq)
{
    /* A browser says where a request comes from; what it does not say
     * (an old browser, curl) is not held against the caller: the custom
     * header is what a cross-site form or image can never send. */
    const char *site = orchd_header(rq, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin"))
        return 0;
    const char *origin = orchd_header(rq, "Origin");
    if (!origin)
        return 1;
    const char *host = orchd_header(rq, "Host");
    const char *rest = !strncmp(origin, "http://", 7)    ? origin + 7
                       : !strncmp(origin, "https://", 8) ? origin + 8
                                                         : NULL;
    return rest && host && !strcmp(rest, host);
}

int orchd_csrf_ok(struct orchd_req *rq)
{
    const char *c = orchd_header(rq, ORCHD_CSRF_HEADER);
    return c && !strcmp(c, "1") && orchd_same_origin(rq);
}

int orchd_auth(struct orchd_req *rq, int role)
{
    const struct orchd_cfg *dc = orchd_cfg_of(rq->cfg);
    if (role == 0 || role == -1)
        return 0;
    if (!dc->n_tokens)
        return 0; /* loopback-only dev mode, checked at start */
    const char *h = orchd_header(rq, "Authorization");
    char tok[ORCHD_TOKEN_MAX + 1];
    ssize_t tl = -1;
    if (!h)
        tl = orchd_session_token(rq, tok, sizeof tok);
    if (tl < 0 && (!h || strncasecmp(h, "Bearer ", 7) || !h[7])) {
        orchd_auth_failed(rq, ORCHD_AUTH_MISSING, NULL);
        orchd_fail(rq, 401, "unauthorized",
                   "an Authorization: Bearer TOKEN header (or the UI's session cookie) is "
                   "required");
        return -1;
    }
    const struct orchd_token *found =
        tl >= 0 ? orchd_token_find(dc, tok, (size_t)tl) : orchd_token_find(dc, h + 7, strlen(h + 7));
    explicit_bzero(tok, sizeof tok);
    if (!found) {
        orchd_auth_failed(rq, ORCHD_AUTH_INVALID, NULL);
        orchd_fail(rq, 401, "unauthorized", "the %s is not valid",
                   tl >= 0 ? "session cookie's token" : "bearer token");
        return -1;
    }
    rq->token = found;
    rq->by_cookie = tl >= 0;
    if (rq->by_cookie && strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD") &&
        !orchd_csrf_ok(rq)) {
        orchd_auth_failed(rq, ORCHD_AUTH_CSRF, found->name);
        orchd_fail(rq, 403, "csrf",
                   "a %s authenticated by the session cookie needs the header %s: 1 and, "
                   "when sent, a same-origin Origin and Sec-Fetch-Site",
                   rq->method, ORCHD_CSRF_HEADER);
        return -1;
    }
    if (found->role < role) {
        orchd_auth_failed(rq, ORCHD_AUTH_FORBIDDEN, found->name);
        orchd_fail(rq, 403, "forbidden", "token '%s' has role %s; this needs %s", found->name,
                   orchd_role_name(found->role), orchd_role_name(role));
        return -1;
    }
    return 0;
}
