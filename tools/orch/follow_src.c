/* Where a followed run's ledger and logs come from (follow.c): the store
 * the CLI opened (an attempt's log read page by page as it grows), or the
 * daemon's API (GET /v1/runs/{id}/events?after=SEQ, and an attempt's log as
 * text once it ended: the API's log has no offset to read after). */
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "host.h"
#include "cli.h"
#include "util.h"

struct cli_store_src {
    struct oc_store *st;
    const char *run_id;
};

static int32_t cli_src_collect_event(void *ud, const struct orch_event_rec *e)
{
    json_array_append_new(ud, oc_api_event(e));
    return 0;
}

static json_t *cli_store_events(void *ud, int64_t after, int *rc)
{
    struct cli_store_src *s = ud;
    struct orch_error err;
    oc_error_init(&err);
    json_t *evs = json_array();
    if (s->st->vt->event_list(s->st->h, s->run_id, after, 1000, cli_src_collect_event, evs,
                              &err) != ORCH_OK) {
        cli_err("cannot read the events of %s: %s", s->run_id, oc_error_text(&err));
        oc_error_clear(&err);
        json_decref(evs);
        *rc = CLI_EXIT_FAILED;
        return NULL;
    }
    return evs;
}

struct cli_chunk_to {
    cli_log_chunk_fn fn;
    void *ud;
    int64_t *seq;
};

static int32_t cli_store_chunk(void *ud, const struct orch_log_rec *l)
{
    struct cli_chunk_to *k = ud;
    k->fn(k->ud, l->stream, l->data, (size_t)l->len);
    *k->seq = l->seq;
    return 0;
}

static void cli_store_log(void *ud, const char *step, uint32_t attempt, int64_t *seq,
                          cli_log_chunk_fn fn, void *fud)
{
    struct cli_store_src *s = ud;
    struct cli_chunk_to k = {fn, fud, seq};
    struct orch_error err;
    oc_error_init(&err);
    if (s->st->vt->log_read(s->st->h, s->run_id, step, attempt, *seq, cli_store_chunk, &k,
                            &err) != ORCH_OK)
        oc_error_clear(&err); /* the attempt's lines are missing; its end is still said */
}

int cli_follow_store(struct cli *c, struct oc_store *st, const char *run_id, size_t total)
{
    struct cli_store_src s = {st, run_id};
    struct cli_follow_src src = {cli_store_events, cli_store_log, &s, 1};
    return cli_follow(c, run_id, total, &src);
}

struct cli_api_src {
    struct cli *c;
    char *run_seg;           /* the run id escaped for a path */
};

static json_t *cli_api_events(void *ud, int64_t after, int *rc)
{
    struct cli_api_src *s = ud;
    char *path = oc_xasprintf("/v1/runs/%s/events?after=%lld", s->run_seg, (long long)after);
    json_t *out = NULL;
    *rc = cli_http_call(s->c, "GET", path, NULL, &out);
    free(path);
    if (*rc != CLI_EXIT_OK)
        return NULL;
    json_t *evs = json_incref(json_object_get(out, "events"));
    json_decref(out);
    return evs ? evs : json_array();
}

static void cli_api_log(void *ud, const char *step, uint32_t attempt, int64_t *seq,
                        cli_log_chunk_fn fn, void *fud)
{
    struct cli_api_src *s = ud;
    if (*seq)
        return; /* read once, whole */
    *seq = 1;
    char *seg = cli_seg(step);
    char *path = oc_xasprintf("/v1/runs/%s/steps/%s/logs?attempt=%u", s->run_seg, seg, attempt);
    free(seg);
    struct cli_http_res res;
    /* The text has both streams in order; it is printed as stdout is. */
    if (cli_http(s->c, "GET", path, NULL, &res) == 0) {
        if (res.status == 200 && res.len)
            fn(fud, ORCH_STREAM_STDOUT, res.body, res.len);
        cli_http_res_free(&res);
    }
    free(path);
}

int cli_follow_api(struct cli *c, const char *run_id, size_t total)
{
    struct cli_api_src s = {c, cli_seg(run_id)};
    struct cli_follow_src src = {cli_api_events, cli_api_log, &s, 0};
    int rc = cli_follow(c, run_id, total, &src);
    free(s.run_seg);
    return rc;
}
