/* The web UI's session: POST /v1/session checks a token (auth.c, the same
 * check as a bearer token's) and hands it back as an HttpOnly cookie, so
 * the page's scripts never hold it; DELETE /v1/session clears it; GET
 * /v1/whoami says which token and role a caller has (none before a login), so the UI shows only
 * the actions the API would allow. The cookie holds the token itself, not
 * a session id (docs/design.md, "The web UI"): nothing is kept in memory
 * or the store, every daemon sharing a store accepts it, and a reload that
 * removes the token locks the browser out at its next request. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <nettle/base16.h>

#include "auth.h"
#include "authlog.h"
#include "host.h"

/* Secure when the browser reached orchd over https: orchd's own listener
 * is plain HTTP (or a unix socket), so that is a TLS proxy in front,
 * which says so in X-Forwarded-Proto, or the page's Origin. Trusting
 * either can only add Secure, never take it away. */
static int orchd_session_tls(struct orchd_req *rq)
{
    const char *p = orchd_header(rq, "X-Forwarded-Proto");
    const char *o = orchd_header(rq, "Origin");
    return (p && !strcasecmp(p, "https")) || (o && !strncmp(o, "https://", 8));
}

static void orchd_session_cookie_set(struct orchd_req *rq, const char *tok, size_t len)
{
    char *v = oc_xcalloc(1, BASE16_ENCODE_LENGTH(len) + 1);
    base16_encode_update(v, len, (const uint8_t *)tok); /* lower-case hex */
    free(rq->set_cookie);
    rq->set_cookie = oc_xasprintf("%s=%s%s; HttpOnly; SameSite=Strict; Path=/%s",
                                  ORCHD_SESSION_COOKIE, v, len ? "" : "; Max-Age=0",
                                  orchd_session_tls(rq) ? "; Secure" : "");
    explicit_bzero(v, len * 2);
    free(v);
}

static json_t *orchd_who(const struct orchd_token *t, const char *via)
{
    /* No token: the loopback-only mode without server.tokens, where every
     * route is open (main.c refuses it on any other address). */
    return json_pack("{s:s?,s:s,s:s}", "name", t ? t->name : NULL, "role",
                     t ? orchd_role_name(t->role) : "admin", "via", via);
}

void orchd_session_login(struct orchd_req *rq)
{
    const struct orchd_cfg *dc = orchd_cfg_of(rq->cfg);
    /* A login is a write too: refused from another origin (a page that
     * logs a victim in under the attacker's token), and only as JSON,
     * which a cross-site form cannot send. */
    const char *ct = orchd_header(rq, "Content-Type");
    if (!orchd_same_origin(rq)) {
        orchd_auth_failed(rq, ORCHD_AUTH_CSRF, NULL);
        orchd_fail(rq, 403, "csrf", "a login must come from orchd's own page");
        return;
    }
    if (!ct || strncasecmp(ct, "application/json", 16)) {
        orchd_fail(rq, 400, "invalid", "a login's body is JSON: {\"token\": TOKEN}");
        return;
    }
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    static const char *const fields[] = {"token", NULL};
    if (orchd_body_fields(rq, b, fields) != 0) {
        json_decref(b);
        return;
    }
    json_t *t = json_object_get(b, "token");
    const char *tok = json_string_value(t);
    size_t len = json_string_length(t);
    if (!tok || !len) {
        json_decref(b);
        orchd_auth_failed(rq, ORCHD_AUTH_MISSING, NULL);
        orchd_fail(rq, 401, "unauthorized", "a login needs a token");
        return;
    }
    if (!dc->n_tokens) {
        json_decref(b);
        orchd_reply(rq, 200, orchd_who(NULL, "none"));
        return;
    }
    const struct orchd_token *found =
        len <= ORCHD_TOKEN_MAX ? orchd_token_find(dc, tok, len) : NULL;
    if (!found) {
        json_decref(b);
        orchd_auth_failed(rq, ORCHD_AUTH_INVALID, NULL);
        orchd_fail(rq, 401, "unauthorized", "the token is not valid");
        return;
    }
    rq->token = found;
    orchd_session_cookie_set(rq, tok, len);
    json_decref(b); /* jansson's copy of the token goes with it */
    orchd_reply(rq, 200, orchd_who(found, "cookie"));
}

void orchd_session_logout(struct orchd_req *rq)
{
    char tok[ORCHD_TOKEN_MAX + 1];
    ssize_t have = orchd_session_token(rq, tok, sizeof tok);
    explicit_bzero(tok, sizeof tok);
    /* Even a logout is not done for another site's page. */
    if (have >= 0 && !orchd_csrf_ok(rq)) {
        orchd_auth_failed(rq, ORCHD_AUTH_CSRF, NULL);
        orchd_fail(rq, 403, "csrf", "a logout needs the header %s: 1 from orchd's own page",
                   ORCHD_CSRF_HEADER);
        return;
    }
    orchd_session_cookie_set(rq, "", 0);
    orchd_reply(rq, 200, json_pack("{s:b}", "logged_out", 1));
}

void orchd_whoami(struct orchd_req *rq)
{
    /* Public, so the UI's first look before a login is an answer, not a
     * 401; a credential that is given is checked (and a bad one refused,
     * logged and counted) exactly as on any route. */
    const struct orchd_cfg *dc = orchd_cfg_of(rq->cfg);
    char tok[ORCHD_TOKEN_MAX + 1];
    int given = orchd_header(rq, "Authorization") || orchd_session_token(rq, tok, sizeof tok) >= 0;
    explicit_bzero(tok, sizeof tok);
    if (dc->n_tokens && !given) {
        orchd_reply(rq, 200, json_pack("{s:n,s:n,s:s}", "name", "role", "via", "none"));
        return;
    }
    if (orchd_auth(rq, ORCHD_ROLE_READ) != 0)
        return;
    orchd_reply(rq, 200,
                orchd_who(rq->token, !rq->token ? "none" : rq->by_cookie ? "cookie" : "bearer"));
}
