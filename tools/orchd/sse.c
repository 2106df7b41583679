/* Server-sent events for the live streams (step logs, a run's ledger,
 * executions): events are queued as text and handed to libmicrohttpd's
 * reader as it asks. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

void orchd_sse_event(struct orchd_sse *s, const char *event, const char *id, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (id)
        oc_buf_addf(&s->pending, "event: %s\nid: %s\ndata: %s\n\n", event, id,
                    text ? text : "{}");
    else
        oc_buf_addf(&s->pending, "event: %s\ndata: %s\n\n", event, text ? text : "{}");
    free(text);
    json_decref(data);
}

int orchd_sse_drained(const struct orchd_sse *s)
{
    return s->sent == s->pending.len;
}

void orchd_sse_restart(struct orchd_sse *s)
{
    s->pending.len = 0;
    s->sent = 0;
}

void orchd_sse_keepalive(struct orchd_sse *s)
{
    /* A comment line keeps proxies and clients from timing out. */
    oc_buf_adds(&s->pending, ": keep-alive\n\n");
}

ssize_t orchd_sse_copy(struct orchd_sse *s, char *buf, size_t max)
{
    size_t n = s->pending.len - s->sent;
    if (n > max)
        n = max;
    memcpy(buf, s->pending.data + s->sent, n);
    s->sent += n;
    return (ssize_t)n;
}

void orchd_sse_free(struct orchd_sse *s)
{
    oc_buf_free(&s->pending);
}

ssize_t orchd_sse_pump(struct orchd_sse *s, const int *done, void (*poll)(void *), void *cls,
                       char *buf, size_t max)
{
    for (int rounds = 0; orchd_sse_drained(s); rounds++) {
        if (*done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        orchd_sse_restart(s);
        poll(cls);
        if (!orchd_sse_drained(s))
            break;
        if (rounds >= 4) {
            orchd_sse_keepalive(s);
            break;
        }
        usleep(200000);
    }
    return orchd_sse_copy(s, buf, max);
}
