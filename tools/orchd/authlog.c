/* Refused callers: a missing or invalid bearer token (or session cookie,
 * or a login's token), a token without the role, a cookie's write without
 * the CSRF proof, a webhook request whose signature is missing or wrong. Each is
 * logged (route template, remote address, token name when known; never
 * the token or the signature) and counted for /metrics, so an operator
 * can see someone guessing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authlog.h"
#include "host.h"
#include "metrics.h"

const char *const orchd_auth_reasons[ORCHD_AUTH_N] = {"missing", "invalid", "forbidden",
                                                      "csrf"};
const char *const orchd_sig_reasons[ORCHD_SIG_N] = {"missing", "mismatch"};

void orchd_authlog_init(struct orchd *d)
{
    d->m.auth_failures = oc_xcalloc(d->n_routes * ORCHD_AUTH_N, sizeof(uint64_t));
}

void orchd_authlog_free(struct orchd *d)
{
    free(d->m.auth_failures);
    d->m.auth_failures = NULL;
}

void orchd_remote_addr(struct orchd_req *rq, char *out, size_t n)
{
    snprintf(out, n, "unknown");
    const union MHD_ConnectionInfo *ci =
        rq->conn ? MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    char ip[INET6_ADDRSTRLEN] = "";
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, n, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(out, n, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(out, n, "unix");
    }
}

void orchd_auth_failed(struct orchd_req *rq, enum orchd_auth_reason why, const char *token)
{
    struct orchd *d = rq->d;
    const struct orchd_route *r = rq->route;
    if (r && d->m.auth_failures) {
        pthread_mutex_lock(&d->m.lock);
        d->m.auth_failures[(size_t)(r - d->routes) * ORCHD_AUTH_N + why]++;
        pthread_mutex_unlock(&d->m.lock);
    }
    char addr[80];
    orchd_remote_addr(rq, addr, sizeof addr);
    static const char *const what[ORCHD_AUTH_N] = {
        "no bearer token", "a bearer token that matches no configured token",
        "a token without the role this route needs",
        "a session cookie without the CSRF header or from another origin"};
    struct oc_log_fields f = {.component = "auth"};
    oc_log_at(ORCH_LOG_WARN, &f, "refused %s %s from %s: %s (%s)%s%s%s",
              r ? r->method : rq->method, r ? r->pattern : "?", addr, what[why],
              orchd_auth_reasons[why], token ? ", token '" : "", token ? token : "",
              token ? "'" : "");
}

void orchd_hook_sig_failed(struct orchd_req *rq, const struct orchd_webhook *h,
                           enum orchd_sig_reason why)
{
    struct orchd *d = rq->d;
    pthread_mutex_lock(&d->m.lock);
    d->m.hook_sig[orchd_metrics_hook_index(d, h->name)].n[why]++;
    pthread_mutex_unlock(&d->m.lock);
    char addr[80];
    orchd_remote_addr(rq, addr, sizeof addr);
    struct oc_log_fields f = {.component = "webhook"};
    oc_log_at(ORCH_LOG_WARN, &f, "refused POST /v1/hooks/{name} (webhook %s) from %s: %s (%s)",
              h->name, addr,
              why == ORCHD_SIG_MISSING ? "no X-Orch-Signature or X-Hub-Signature-256 header"
                                       : "the signature does not match the body",
              orchd_sig_reasons[why]);
}
