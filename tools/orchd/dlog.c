/* Log lines as JSON (one object a line, with run, step and attempt when a
 * line is about one) or text. Messages reach here already redacted. A line
 * written while an API request is handled carries its request id (each
 * libmicrohttpd connection has its own thread, so a thread-local names the
 * request without threading it through every call). The access log writes
 * one line per request with its own fields. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "host.h"
#include "orchd.h"

static pthread_mutex_t orchd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int orchd_log_as_json = 1;
static _Thread_local const char *orchd_tl_request_id;

void orchd_log_request(const char *request_id)
{
    orchd_tl_request_id = request_id;
}

static const char *orchd_level(uint32_t level)
{
    return level == ORCH_LOG_ERROR ? "error"
           : level == ORCH_LOG_WARN ? "warn"
           : level == ORCH_LOG_INFO ? "info"
                                    : "debug";
}

static void orchd_log_when(char *when, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(when, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
}

static void orchd_log_put(json_t *j)
{
    pthread_mutex_lock(&orchd_log_lock);
    json_dumpf(j, stderr, JSON_COMPACT);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&orchd_log_lock);
    json_decref(j);
}

static void orchd_log_json(uint32_t level, const struct oc_log_fields *f, const char *msg)
{
    char when[64];
    orchd_log_when(when, sizeof when);
    json_t *j = json_pack("{s:s,s:s,s:s}", "ts", when, "level", orchd_level(level), "msg",
                          msg);
    if (f->run_id)
        json_object_set_new(j, "run_id", json_string(f->run_id));
    if (f->step_id)
        json_object_set_new(j, "step_id", json_string(f->step_id));
    if (f->attempt)
        json_object_set_new(j, "attempt", json_integer(f->attempt));
    if (f->component)
        json_object_set_new(j, "component", json_string(f->component));
    if (orchd_tl_request_id)
        json_object_set_new(j, "request_id", json_string(orchd_tl_request_id));
    orchd_log_put(j);
}

static void orchd_log_text(uint32_t level, const struct oc_log_fields *f, const char *msg)
{
    pthread_mutex_lock(&orchd_log_lock);
    fprintf(stderr, "orchd: %s:", orchd_level(level));
    if (f->run_id)
        fprintf(stderr, " run=%s", f->run_id);
    if (f->step_id)
        fprintf(stderr, " step=%s", f->step_id);
    if (f->attempt)
        fprintf(stderr, " attempt=%u", f->attempt);
    if (f->component)
        fprintf(stderr, " [%s]", f->component);
    if (orchd_tl_request_id)
        fprintf(stderr, " req=%s", orchd_tl_request_id);
    fprintf(stderr, " %s\n", msg);
    fflush(stderr);
    pthread_mutex_unlock(&orchd_log_lock);
}

void orchd_log_init(int json)
{
    orchd_log_as_json = json;
    oc_log_set_sink(json ? orchd_log_json : orchd_log_text);
}

void orchd_log_access(const struct orchd_access *a)
{
    if (!oc_log_wants(ORCH_LOG_INFO, "access")) /* server.log_level: access=warn */
        return;
    if (orchd_log_as_json) {
        char when[64];
        orchd_log_when(when, sizeof when);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s?,s:s}", "ts", when,
                              "level", "info", "msg", "request", "component", "access",
                              "request_id", a->request_id, "method", a->method, "route",
                              a->route, "status", (json_int_t)a->status, "duration_ms",
                              a->duration_ms, "token", a->token, "remote", a->remote);
        orchd_log_put(j);
        return;
    }
    pthread_mutex_lock(&orchd_log_lock);
    fprintf(stderr, "orchd: info: [access] req=%s %s %s -> %u %.1fms token=%s remote=%s\n",
            a->request_id, a->method, a->route, a->status, a->duration_ms,
            a->token ? a->token : "-", a->remote);
    fflush(stderr);
    pthread_mutex_unlock(&orchd_log_lock);
}
