/* Admission to a concurrency group and release from it (the rule and the
 * records are described in concurrency.h). Every write goes through
 * core/runctl.c: the flags, the cancel requests, the events. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "concurrency.h"
#include "flags.h"
#include "host.h"
#include "runctl.h"
#include "util.h"

/* An admission holds the group's lease for a few store round trips: a
 * process that dies holding it delays the group this long, no more. */
#define OC_CGROUP_LEASE_TTL_MS 10000

int oc_cgroup_member_live(int found, uint32_t state, int owned, int64_t lease_expires_ns,
                          int64_t now_ns)
{
    (void)owned; /* either lease says the same: someone drives it */
    if (!found)
        return 0;
    switch (state) {
    case ORCH_RUN_QUEUED:  /* handed back: the next claim resumes it with its slot */
    case ORCH_RUN_WAITING: /* parked for an approval: it keeps its slot */
        return 1;
    case ORCH_RUN_RUNNING:
        return lease_expires_ns > now_ns; /* else its driver died */
    default:
        return 0;
    }
}

/* Place in line: the older run first, then the smaller id. */
static int oc_cg_before(int64_t a_ns, const char *a_id, int64_t b_ns, const char *b_id)
{
    return a_ns != b_ns ? a_ns < b_ns : strcmp(a_id, b_id) < 0;
}

static const struct oc_cg_member *oc_cg_sort_base;

static int oc_cg_cmp(const void *a, const void *b)
{
    const struct oc_cg_member *x = &oc_cg_sort_base[*(const size_t *)a];
    const struct oc_cg_member *y = &oc_cg_sort_base[*(const size_t *)b];
    if (oc_cg_before(x->created_ns, x->run_id, y->created_ns, y->run_id))
        return -1;
    return oc_cg_before(y->created_ns, y->run_id, x->created_ns, x->run_id);
}

void oc_cgroup_decide(const struct oc_cg_member *m, size_t n, int self_held,
                      int64_t self_created_ns, const char *self_id, uint32_t limit,
                      enum oc_cg_conflict on_conflict, struct oc_cg_verdict *v)
{
    memset(v, 0, sizeof *v);
    size_t *order = oc_xcalloc(n + 1, sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    oc_cg_sort_base = m;
    qsort(order, n, sizeof *order, oc_cg_cmp);
    for (size_t i = 0; i < n; i++) {
        if (m[i].held)
            v->held++;
        else if (oc_cg_before(m[i].created_ns, m[i].run_id, self_created_ns, self_id))
            v->ahead++;
    }
    v->admit = self_held || v->held + v->ahead < limit;
    v->victims = oc_xcalloc(n + 1, sizeof *v->victims);
    if (v->admit || on_conflict != OC_CG_CANCEL_RUNNING) {
        free(order);
        return;
    }
    /* Every waiter ahead goes, then the oldest holders until there is
     * room: held - cancelled < limit. */
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        if (!m[i].held && oc_cg_before(m[i].created_ns, m[i].run_id, self_created_ns, self_id) &&
            !m[i].cancel_asked)
            v->victims[v->n_victims++] = i;
    }
    size_t going = 0;
    for (size_t k = 0; k < n; k++)
        going += m[order[k]].held && m[order[k]].cancel_asked;
    for (size_t k = 0; k < n && v->held - going >= limit; k++) {
        size_t i = order[k];
        if (m[i].held && !m[i].cancel_asked) {
            v->victims[v->n_victims++] = i;
            going++;
        }
    }
    free(order);
}

void oc_cg_result_free(struct oc_cg_result *r)
{
    json_decref(r->holders);
    json_decref(r->cancelled);
    memset(r, 0, sizeof *r);
}

/* The group's flags and the cancel requests, read in one listing. */
struct oc_cg_read {
    const char *prefix;      /* OC_FLAG_CGROUP "<K>/" */
    json_t *members;         /* run id -> "held" | "wait" */
    json_t *cancels;         /* run id -> true */
};

static int32_t oc_cg_flag_cb(void *ud, const char *name, const char *value)
{
    struct oc_cg_read *r = ud;
    const char *which;
    if ((which = oc_flag_name(name, r->prefix)) && *which)
        json_object_set_new(r->members, which, json_string(value ? value : ""));
    else if ((which = oc_flag_name(name, OC_FLAG_CANCEL)))
        json_object_set_new(r->cancels, which, json_true());
    return 0;
}

/* run/<id> leases: the CLI's, for runs it drives. */
static int32_t oc_cg_lease_cb(void *ud, const struct orch_lease_rec *l)
{
    const char *id = oc_flag_name(l->name, "run/");
    if (id && *id)
        json_object_set_new(ud, id, json_integer(l->expires_ns));
    return 0;
}

struct oc_cg_row {
    int found;
    uint32_t state;
    int owned;
    int64_t created_ns, lease_expires_ns;
};

static int32_t oc_cg_row_cb(void *ud, const struct orch_run_rec *rec)
{
    struct oc_cg_row *r = ud;
    r->found = 1;
    r->state = rec->state;
    r->owned = rec->owner != NULL;
    r->created_ns = rec->created_ns;
    r->lease_expires_ns = rec->lease_expires_ns;
    return 0;
}

static orch_status oc_cg_row(struct oc_store *st, const char *id, json_t *cli_leases,
                             struct oc_cg_row *row, struct orch_error *err)
{
    memset(row, 0, sizeof *row);
    orch_status rc = st->vt->run_get(st->h, id, oc_cg_row_cb, row, err);
    if (rc == ORCH_E_NOT_FOUND) {
        oc_error_clear(err);
        row->found = 0;
        return ORCH_OK;
    }
    if (rc == ORCH_OK && !row->owned)
        row->lease_expires_ns = json_integer_value(json_object_get(cli_leases, id));
    return rc;
}

/* Under the group's lease: read, judge, clear the stale, decide, write. */
static orch_status oc_cg_admit_locked(struct oc_store *st, const char *key, const char *id_hex,
                                      uint32_t limit,
                                      enum oc_cg_conflict on_conflict, const char *run_id,
                                      int64_t now, struct oc_cg_result *res,
                                      struct orch_error *err)
{
    char *prefix = oc_xasprintf("%s%s/", OC_FLAG_CGROUP, id_hex);
    struct oc_cg_read rd = {prefix, json_object(), json_object()};
    json_t *cli_leases = json_object();
    struct oc_cg_member *m = NULL;
    size_t n = 0;
    orch_status rc = st->vt->flag_list(st->h, oc_cg_flag_cb, &rd, err);
    if (rc == ORCH_OK)
        rc = st->vt->lease_list(st->h, oc_cg_lease_cb, cli_leases, err);
    struct oc_cg_row self;
    if (rc == ORCH_OK)
        rc = oc_cg_row(st, run_id, cli_leases, &self, err);
    if (rc == ORCH_OK && !self.found)
        rc = oc_error_set(err, ORCH_E_NOT_FOUND, "no run %s in the store", run_id);
    if (rc != ORCH_OK)
        goto out;
    m = oc_xcalloc(json_object_size(rd.members) + 1, sizeof *m);
    const char *who;
    json_t *val;
    json_object_foreach(rd.members, who, val) {
        if (!strcmp(who, run_id))
            continue;
        struct oc_cg_row row;
        if ((rc = oc_cg_row(st, who, cli_leases, &row, err)) != ORCH_OK)
            goto out;
        if (!oc_cgroup_member_live(row.found, row.state, row.owned, row.lease_expires_ns, now)) {
            /* Stale: its run ended without releasing, or its driver died. */
            char *k = oc_xasprintf("%s%s", prefix, who);
            rc = oc_flag_write(st, k, NULL, err);
            free(k);
            if (rc != ORCH_OK)
                goto out;
            continue;
        }
        m[n++] = (struct oc_cg_member){who, row.created_ns, !strcmp(json_string_value(val), "held"),
                                       json_object_get(rd.cancels, who) != NULL};
    }
    const char *mine = json_string_value(json_object_get(rd.members, run_id));
    int self_held = mine && !strcmp(mine, "held");
    struct oc_cg_verdict v;
    oc_cgroup_decide(m, n, self_held, self.created_ns, run_id, limit, on_conflict, &v);
    res->held = v.held;
    res->ahead = v.ahead;
    res->cancel_asked_self = json_object_get(rd.cancels, run_id) != NULL;
    res->holders = json_array();
    res->cancelled = json_array();
    /* Holders oldest first, as they are named to people. */
    struct oc_cg_member *h = oc_xcalloc(n + 1, sizeof *h);
    size_t nh = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].held)
            h[nh++] = m[i];
    for (size_t i = 1; i < nh; i++)
        for (size_t j = i; j > 0 && oc_cg_before(h[j].created_ns, h[j].run_id,
                                                 h[j - 1].created_ns, h[j - 1].run_id); j--) {
            struct oc_cg_member t = h[j];
            h[j] = h[j - 1];
            h[j - 1] = t;
        }
    for (size_t i = 0; i < nh; i++)
        json_array_append_new(res->holders, json_string(h[i].run_id));
    free(h);
    char *mykey = oc_xasprintf("%s%s", prefix, run_id);
    if (v.admit) {
        res->outcome = OC_CG_ADMITTED;
        if (!self_held)
            rc = oc_flag_write(st, mykey, "held", err);
    } else if (on_conflict == OC_CG_SKIP) {
        res->outcome = OC_CG_REFUSED;
        if (mine) /* it waited once (a resume under another policy): no more */
            rc = oc_flag_write(st, mykey, NULL, err);
    } else {
        res->outcome = OC_CG_WAITING;
        if (!mine)
            rc = oc_flag_write(st, mykey, "wait", err);
        char *shown = v.n_victims ? oc_cgroup_key_shown(key) : NULL;
        for (size_t k = 0; rc == ORCH_OK && k < v.n_victims; k++) {
            const char *victim = m[v.victims[k]].run_id;
            struct orch_error own;
            oc_error_init(&own);
            /* Before the request: the victim's end reads its reason here. */
            char *why = oc_xasprintf("cancelled by run %s (concurrency group %s)", run_id,
                                     shown);
            oc_run_event(st, victim, "concurrency.cancel_requested",
                         json_pack("{s:s,s:s,s:s}", "by", run_id, "key", shown, "reason", why),
                         0, NULL);
            free(why);
            /* A run that ended meanwhile is no victim: nothing to do. */
            if (oc_run_cancel_request(st, victim, &own) == ORCH_OK)
                json_array_append_new(res->cancelled, json_string(victim));
            oc_error_clear(&own);
        }
        free(shown);
    }
    free(mykey);
    free(v.victims);
out:
    free(m);
    free(prefix);
    json_decref(rd.members);
    json_decref(rd.cancels);
    json_decref(cli_leases);
    return rc;
}

orch_status oc_cgroup_admit(struct oc_store *st, const char *key, uint32_t limit,
                            enum oc_cg_conflict on_conflict, const char *run_id,
                            int64_t now_ns, struct oc_cg_result *res, struct orch_error *err)
{
    memset(res, 0, sizeof *res);
    if (!st->vt->lease_list)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "store %s has no named leases: a "
                            "concurrency group needs them", st->plugin->id);
    char id_hex[OC_CGROUP_ID_LEN + 1];
    oc_cgroup_key_id(key, id_hex);
    char *lease = oc_xasprintf("%s%s", OC_FLAG_CGROUP, id_hex);
    char *owner = oc_xasprintf("cgroup-admission:%s", run_id);
    orch_status rc = oc_named_lease(st, lease, owner, OC_CGROUP_LEASE_TTL_MS, now_ns, NULL, err);
    if (rc == ORCH_E_CONFLICT) {
        oc_error_clear(err);
        res->outcome = OC_CG_BUSY;
        rc = ORCH_OK;
    } else if (rc == ORCH_OK) {
        rc = oc_cg_admit_locked(st, key, id_hex, limit, on_conflict, run_id, now_ns, res, err);
        struct orch_error own;
        oc_error_init(&own);
        oc_named_lease(st, lease, owner, 0, now_ns, NULL, &own);
        oc_error_clear(&own);
    }
    free(lease);
    free(owner);
    return rc;
}

orch_status oc_cgroup_release(struct oc_store *st, const char *key, const char *run_id,
                              struct orch_error *err)
{
    char id_hex[OC_CGROUP_ID_LEN + 1];
    oc_cgroup_key_id(key, id_hex);
    char *k = oc_xasprintf("%s%s/%s", OC_FLAG_CGROUP, id_hex, run_id);
    orch_status rc = oc_flag_write(st, k, NULL, err);
    free(k);
    return rc;
}
