/* Run notifications: a POST of the run's outcome to each configured URL,
 * signed with HMAC-SHA256 when the notification has a secret, retried
 * with capped exponential backoff on a transport error or a non-2xx
 * answer. Delivered by one thread so a slow receiver never holds up the
 * engine. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "host.h"
#include "libcurl.h"
#include "orchd.h"
#include "util.h"

/* Copied from the notification: a reload may free the config that had it
 * while its deliveries are still being retried. */
struct orchd_target {
    char *url, *secret; /* secret: its name, or NULL */
    uint32_t attempts;
};

struct orchd_delivery {
    struct orchd_delivery *next;
    struct orchd_target to[1];
    char *id, *body, *run_id;
    uint32_t attempt;
    int64_t due_mono;
};

struct orchd_notifier {
    struct orchd *d;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct orchd_delivery *head;
    int stop;
};

static size_t orchd_discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

/* 0 on a 2xx answer. */
static int orchd_deliver(struct orchd_delivery *dv, char *why, size_t why_len)
{
    const struct oc_libcurl *L = oc_libcurl(NULL);
    CURL *c = L->easy_init();
    if (!c) {
        snprintf(why, why_len, "curl init failed");
        return -1;
    }
    struct curl_slist *h = NULL;
    h = L->slist_append(h, "Content-Type: application/json");
    char *hdr = oc_xasprintf("X-Orch-Delivery: %s", dv->id);
    h = L->slist_append(h, hdr);
    free(hdr);
    h = L->slist_append(h, "X-Orch-Event: run.finished");
    if (dv->to->secret) {
        /* Never sent unsigned, nor signed with a guessable key. */
        char *key = oc_secret_lookup(dv->to->secret);
        if (!key || strlen(key) < ORCHD_HMAC_SECRET_MIN) {
            if (key)
                snprintf(why, why_len, "its secret %s is shorter than %d bytes",
                         dv->to->secret, ORCHD_HMAC_SECRET_MIN);
            else
                snprintf(why, why_len, "its secret %s is not set", dv->to->secret);
            free(key);
            L->slist_free_all(h);
            L->easy_cleanup(c);
            return -1;
        }
        char *sig = orchd_hmac_sig(key, dv->body, strlen(dv->body));
        hdr = oc_xasprintf("X-Orch-Signature: %s", sig);
        h = L->slist_append(h, hdr);
        free(hdr);
        free(sig);
        free(key);
    }
    L->easy_setopt(c, CURLOPT_URL, dv->to->url);
    L->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    L->easy_setopt(c, CURLOPT_POSTFIELDS, dv->body);
    L->easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    L->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    L->easy_setopt(c, CURLOPT_WRITEFUNCTION, orchd_discard);
    CURLcode rc = L->easy_perform(c);
    long status = 0;
    L->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    L->slist_free_all(h);
    L->easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s", L->easy_strerror(rc));
        return -1;
    }
    if (status < 200 || status > 299) {
        snprintf(why, why_len, "HTTP %ld", status);
        return -1;
    }
    return 0;
}

/* scheme://host[:port] of a URL: the rest of a webhook URL is often its
 * secret (chat services put the token in the path), so logs get only this. */
static void orchd_url_origin(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t len = strcspn(p, "/?#");
    snprintf(out, n, "%.*s%.*s", (int)(p - url), url, (int)len, p);
}

static void orchd_delivery_free(struct orchd_delivery *dv)
{
    free(dv->to->url);
    free(dv->to->secret);
    free(dv->id);
    free(dv->body);
    free(dv->run_id);
    free(dv);
}

static void *orchd_notifier_main(void *arg)
{
    struct orchd_notifier *n = arg;
    pthread_mutex_lock(&n->lock);
    while (!n->stop || n->head) {
        /* The earliest due delivery. */
        struct orchd_delivery **best = NULL;
        for (struct orchd_delivery **p = &n->head; *p; p = &(*p)->next)
            if (!best || (*p)->due_mono < (*best)->due_mono)
                best = p;
        if (!best) {
            pthread_cond_wait(&n->cond, &n->lock);
            continue;
        }
        int64_t wait = (*best)->due_mono - oc_now_mono_ns();
        if (wait > 0 && !n->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t until = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + wait;
            ts.tv_sec = until / 1000000000;
            ts.tv_nsec = until % 1000000000;
            pthread_cond_timedwait(&n->cond, &n->lock, &ts);
            continue;
        }
        struct orchd_delivery *dv = *best;
        *best = dv->next;
        pthread_mutex_unlock(&n->lock);
        char why[256] = "";
        int ok = orchd_deliver(dv, why, sizeof why) == 0;
        struct oc_log_fields f = {.run_id = dv->run_id, .component = "notify"};
        char origin[256];
        orchd_url_origin(dv->to->url, origin, sizeof origin);
        dv->attempt++;
        if (ok) {
            oc_log_at(ORCH_LOG_INFO, &f, "notified %s", origin);
            orchd_delivery_free(dv);
        } else if (dv->attempt >= dv->to->attempts || n->stop) {
            oc_log_at(ORCH_LOG_ERROR, &f, "notify %s failed after %u attempts: %s",
                      origin, dv->attempt, why);
            pthread_mutex_lock(&n->d->m.lock);
            n->d->m.notify_failures++;
            pthread_mutex_unlock(&n->d->m.lock);
            orchd_delivery_free(dv);
        } else {
            int64_t delay_ms = 500LL << (dv->attempt - 1 < 7 ? dv->attempt - 1 : 7);
            oc_log_at(ORCH_LOG_WARN, &f, "notify %s: %s; retrying in %lldms", origin,
                      why, (long long)delay_ms);
            dv->due_mono = oc_now_mono_ns() + delay_ms * 1000000;
            pthread_mutex_lock(&n->lock);
            dv->next = n->head;
            n->head = dv;
            continue;
        }
        pthread_mutex_lock(&n->lock);
    }
    pthread_mutex_unlock(&n->lock);
    return NULL;
}

struct orchd_notifier *orchd_notifier_start(struct orchd *d)
{
    if (!orchd_cfg_of(d->cfg)->n_notifications)
        return NULL;
    const char *why;
    if (!oc_libcurl(&why)) {
        struct oc_log_fields f = {.component = "notify"};
        oc_log_at(ORCH_LOG_ERROR, &f, "notifications cannot be sent: %s", why);
        return NULL;
    }
    struct orchd_notifier *n = oc_xcalloc(1, sizeof *n);
    n->d = d;
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    if (pthread_create(&n->thread, NULL, orchd_notifier_main, n) != 0) {
        free(n);
        return NULL;
    }
    return n;
}

void orchd_notify_run(struct orchd_notifier *n, const char *run_id, const char *workflow,
                      uint32_t state, const char *error)
{
    const struct orchd_cfg *dc = orchd_cfg_of(n->d->cfg);
    for (size_t i = 0; i < dc->n_notifications; i++) {
        const struct orchd_notification *to = &dc->notifications[i];
        if (!(state == ORCH_RUN_SUCCEEDED ? to->on_succeeded
              : state == ORCH_RUN_FAILED  ? to->on_failed
              : state == ORCH_RUN_CANCELLED ? to->on_cancelled
                                            : 0))
            continue;
        struct orchd_delivery *dv = oc_xcalloc(1, sizeof *dv);
        dv->to->url = oc_xstrdup(to->url);
        dv->to->secret = to->secret ? oc_xstrdup(to->secret) : NULL;
        dv->to->attempts = to->attempts;
        dv->id = oc_new_id("d-");
        dv->run_id = oc_xstrdup(run_id);
        /* A receiver's parser is a client like the API's: the time as the API's. */
        json_t *b = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:o}", "event", "run.finished", "run_id",
                              run_id, "state", orch_run_state_name(state), "workflow",
                              workflow, "error", error, "ts", oc_api_time(oc_now_real_ns()));
        dv->body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        dv->due_mono = oc_now_mono_ns();
        pthread_mutex_lock(&n->lock);
        dv->next = n->head;
        n->head = dv;
        pthread_cond_signal(&n->cond);
        pthread_mutex_unlock(&n->lock);
    }
}

void orchd_notifier_stop(struct orchd_notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    n->stop = 1; /* what is due is tried once more, then dropped */
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
    pthread_join(n->thread, NULL);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->lock);
    free(n);
}
