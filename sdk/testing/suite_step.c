/* The step suite. Option cases are generated from the plugin's own table
 * and must be stopped by the core before any plugin code runs; a dry run
 * must leave the instance and the outputs untouched; run may set only the
 * outputs it declares. Steps that need a backend get an instance of the
 * embedded local backend in the case's private directory. */
#define _GNU_SOURCE
#include "cf.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builtins.h"
#include "host.h"
#include "options.h"

struct sp {
    struct cf *c;
    const struct orch_step_vtable *vt;
    void *cfg;
    struct cf_ctx x;
    struct cf_mark live0;
    /* the local instance */
    const struct orch_plugin_desc *ld;
    void *lcfg;
    struct orch_backend *lbe;
    struct cf_inst_binding bind;
    char *workdir;
    struct orch_instance_ref ref;
};

static int sp_instance(struct sp *s)
{
    struct orch_error err;
    oc_error_init(&err);
    /* The backend built into orch (the local one), found by kind: it keeps
     * its instances under the harness ctx's state_dir, the case's tmp. */
    for (const struct oc_builtin *b = oc_builtins; b->id && !s->ld; b++) {
        const struct orch_plugin_desc *d = NULL;
        if (b->entry(oc_host(), &d, &err) == ORCH_OK && d && d->kind == ORCH_KIND_BACKEND)
            s->ld = d;
        oc_error_clear(&err);
    }
    if (!s->ld) {
        cf_fail(s->c, "harness: no backend is built into orch to run the step on");
        return -1;
    }
    struct oc_node *with = oc_node_new(OC_NODE_MAP, NULL);
    struct oc_diag d = {0};
    oc_options_apply(s->ld, "harness", with, 0, &s->lcfg, &d);
    oc_diag_free(&d);
    oc_node_free(with);
    const struct orch_backend_vtable *bvt = cf_traced_vtable(ORCH_KIND_BACKEND, s->ld->vtable);
    static const struct orch_kv labels[] = {{"orch.instance", "cf-step"}};
    struct orch_instance_spec spec = {.struct_size = sizeof spec, .instance_id = "cf-step",
                                      .labels = labels, .label_count = 1};
    s->ref.struct_size = sizeof s->ref;
    orch_status rc = bvt->open(&s->x.ctx, s->lcfg, &s->lbe, &err);
    if (rc == ORCH_OK)
        rc = bvt->create(s->lbe, &s->x.ctx, &spec, &s->bind.inst, &s->ref, &err);
    if (rc != ORCH_OK) {
        cf_fail_err(s->c, rc, &err, "harness: local instance");
        oc_error_clear(&err);
        return -1;
    }
    s->bind.vt = bvt;
    const char *wd = ORCH_HAS(struct orch_backend_vtable, bvt, workdir)
                         ? bvt->workdir(s->bind.inst)
                         : NULL;
    if (!wd) {
        cf_fail(s->c, "harness: backend %s reports no work dir (its workdir slot)", s->ld->name);
        return -1;
    }
    s->workdir = oc_xstrdup(wd);
    s->bind.workdir = s->workdir;
    s->x.inst = &s->bind;
    s->x.ctx.workdir = s->workdir;
    s->x.ctx.instance_id = "cf-step";
    return 0;
}

static int sp_open(struct cf *c, struct sp *s)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->vt = cf_traced_vtable(ORCH_KIND_STEP, c->desc->vtable);
    cf_ctx_init(&s->x, c, "step");
    if ((c->desc->caps & (ORCH_STEP_CAP_NEEDS_BACKEND | ORCH_STEP_CAP_OPTIONAL_BACKEND)) &&
        sp_instance(s) != 0)
        return -1;
    s->live0 = cf_mark();
    int failed = c->failed;
    s->cfg = cf_options(c, c->conf->with);
    return c->failed > failed ? -1 : 0;
}

static void sp_close(struct sp *s)
{
    oc_options_free(s->c->desc, s->cfg);
    s->cfg = NULL;
    cf_check_leaks(s->c, s->live0, "after the step");
    if (s->bind.inst) {
        struct orch_error err;
        oc_error_init(&err);
        s->bind.vt->destroy(s->bind.inst, &s->x.ctx, &err);
        s->bind.vt->release(s->bind.inst);
        oc_error_clear(&err);
    }
    if (s->lbe)
        ((const struct orch_backend_vtable *)cf_traced_vtable(ORCH_KIND_BACKEND,
                                                              s->ld->vtable))->close(s->lbe);
    if (s->ld)
        oc_options_free(s->ld, s->lcfg);
    oc_host()->free(s->ref.id);
    oc_host()->free(s->ref.handle);
    free(s->workdir);
    cf_ctx_fini(&s->x);
}

/* The core must refuse with a message that names the option. */
static void sp_expect_refused(struct cf *c, struct oc_node *with, const char *name,
                              const char *what)
{
    struct oc_diag d = {0};
    void *cfg = NULL;
    int rc = oc_options_apply(c->desc, "step", with, 0, &cfg, &d);
    if (rc == 0) {
        cf_fail(c, "option '%s' %s: the core accepted it; the plugin would have been called",
                name, what);
        oc_options_free(c->desc, cfg);
    } else {
        int named = 0;
        for (size_t i = 0; i < d.n; i++)
            named |= strstr(d.msgs[i], name) != NULL;
        if (!named)
            cf_fail(c, "option '%s' %s: refused, but the message does not name it: %s", name,
                    what, d.n ? d.msgs[0] : "(none)");
    }
    oc_diag_free(&d);
    oc_node_free(with);
}

static struct oc_node *sp_base(const struct cf *c, const char *without)
{
    struct oc_node *m = c->conf->with ? oc_node_clone(c->conf->with)
                                      : oc_node_new(OC_NODE_MAP, NULL);
    struct oc_node *out = oc_node_new(OC_NODE_MAP, NULL);
    for (size_t i = 0; i < m->len; i++)
        if (!without || strcmp(m->keys[i]->str, without))
            oc_node_map_put(out, oc_node_clone(m->keys[i]), oc_node_clone(m->items[i]));
    oc_node_free(m);
    return out;
}

static struct oc_node *sp_with(const struct cf *c, const char *name, struct oc_node *value)
{
    struct oc_node *m = sp_base(c, name);
    oc_node_map_put(m, oc_node_scalar(name, NULL), value);
    return m;
}

static void sp_options(struct cf *c)
{
    int cases = 0;
    sp_expect_refused(c, sp_with(c, "cf_no_such_option", oc_node_scalar("x", NULL)),
                      "cf_no_such_option", "is unknown");
    cases++;
    for (uint32_t k = 0; k < c->desc->option_count; k++) {
        const struct orch_option *o = oc_option_at(c->desc, k);
        uint32_t t = o->type;
        if (t == ORCH_OPT_JSON)
            continue;
        int is_list = t == ORCH_OPT_STRING_LIST, is_map = t == ORCH_OPT_STRING_MAP;
        struct oc_node *wrong = oc_node_new(is_list ? OC_NODE_MAP : OC_NODE_SEQ, NULL);
        if (is_list)
            oc_node_map_put(wrong, oc_node_scalar("k", NULL), oc_node_scalar("v", NULL));
        else
            oc_node_append(wrong, oc_node_scalar("v", NULL));
        sp_expect_refused(c, sp_with(c, o->name, wrong), o->name,
                          is_list ? "given a map" : is_map ? "given a list"
                                                           : "given a list");
        cases++;
        static const struct {
            uint32_t type;
            const char *bad;
        } bad_scalars[] = {{ORCH_OPT_INT, "cf-not-a-number"},
                           {ORCH_OPT_BOOL, "cf-not-a-bool"},
                           {ORCH_OPT_DOUBLE, "cf-not-a-number"},
                           {ORCH_OPT_DURATION, "cf-not-a-duration"},
                           {ORCH_OPT_SIZE, "cf-not-a-size"},
                           {ORCH_OPT_ENUM, "cf-not-in-the-enum"}};
        for (size_t b = 0; b < sizeof bad_scalars / sizeof *bad_scalars; b++)
            if (bad_scalars[b].type == t) {
                sp_expect_refused(c, sp_with(c, o->name, oc_node_scalar(bad_scalars[b].bad, NULL)),
                                  o->name, "given a value of the wrong type");
                cases++;
            }
        if (o->flags & ORCH_OPTF_REQUIRED) {
            sp_expect_refused(c, sp_base(c, o->name), o->name, "is required but missing");
            cases++;
        }
    }
    cf_note(c, "%d generated option cases", cases);
}

static void sp_validate(struct cf *c)
{
    struct sp s;
    if (sp_open(c, &s) == 0 && s.vt->validate) {
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = s.vt->validate(s.cfg, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "validate of the options in conformance.yaml");
        oc_error_clear(&err);
    }
    sp_close(&s);
}

static int sp_declared(const struct orch_step_vtable *vt, const char *name)
{
    for (uint32_t k = 0; k < vt->output_count; k++) {
        const struct orch_output_decl *o =
            (const void *)((const char *)vt->outputs + (size_t)k * vt->output_size);
        if (!strcmp(o->name, name))
            return 1;
    }
    return 0;
}

static void sp_run(struct cf *c)
{
    struct sp s;
    if (sp_open(c, &s) == 0) {
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = s.vt->run(&s.x.ctx, s.cfg, &err);
        if (c->conf->expect_run_failure) {
            if (rc == ORCH_OK)
                cf_fail(c, "run succeeded; conformance.yaml expects a failure");
            else if (!err.message || !*err.message)
                cf_fail(c, "run failed with %s but gave no message", orch_strerror(rc));
        } else if (rc != ORCH_OK) {
            cf_fail_err(c, rc, &err, "run with the options in conformance.yaml");
        }
        oc_error_clear(&err);
        const char *key;
        json_t *v;
        json_object_foreach(s.x.outputs, key, v) {
            if (!sp_declared(s.vt, key))
                cf_fail(c, "run set output '%s', which the plugin does not declare", key);
        }
        for (size_t k = 0; c->conf->outputs && k < c->conf->outputs->len; k++) {
            const char *want = c->conf->outputs->items[k]->str;
            if (want && !json_object_get(s.x.outputs, want))
                cf_fail(c, "declared output '%s' did not appear after run", want);
        }
    }
    sp_close(&s);
}

static void sp_tree(const char *dir, const char *rel, struct oc_buf *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = oc_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0) {
            oc_buf_addf(out, "%s/%s %lld %lld\n", rel, e->d_name, (long long)st.st_size,
                        (long long)st.st_mtim.tv_nsec);
            if (S_ISDIR(st.st_mode)) {
                char *r = oc_xasprintf("%s/%s", rel, e->d_name);
                sp_tree(p, r, out);
                free(r);
            }
        }
        free(p);
    }
    closedir(d);
}

static void sp_dry_run(struct cf *c)
{
    struct sp s;
    if (sp_open(c, &s) == 0) {
        struct oc_buf before = {0}, after = {0};
        if (s.workdir)
            sp_tree(s.workdir, ".", &before);
        s.x.dry_run = 1;
        s.x.ctx.dry_run = 1;
        char *text = NULL;
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = s.vt->plan(&s.x.ctx, s.cfg, &text, &err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &err, "plan");
        else if (!text || !*text)
            cf_fail(c, "plan returned no text: a dry run must say what run would do");
        oc_host()->free(text);
        oc_error_clear(&err);
        if (s.x.side_effects)
            cf_fail(c, "plan had %d side effect%s (commands run, files written, outputs or "
                       "artifacts set): a dry run must change nothing", s.x.side_effects,
                    s.x.side_effects == 1 ? "" : "s");
        if (s.workdir)
            sp_tree(s.workdir, ".", &after);
        if ((before.data || after.data) &&
            (!before.data || !after.data || strcmp(before.data, after.data)))
            cf_fail(c, "plan changed the instance's work directory");
        oc_buf_free(&before);
        oc_buf_free(&after);
    }
    sp_close(&s);
}

static orch_status sp_torture_once(struct cf *c, void *ud)
{
    struct sp *s = ud;
    struct orch_error err;
    oc_error_init(&err);
    json_object_clear(s->x.outputs);
    orch_status rc = s->vt->run(&s->x.ctx, s->cfg, &err);
    oc_error_clear(&err);
    (void)c;
    if (c->conf->expect_run_failure)
        return rc == ORCH_OK ? ORCH_E_FAILED : ORCH_OK;
    return rc;
}

static void sp_torture(struct cf *c)
{
    struct sp s;
    if (sp_open(c, &s) == 0)
        cf_torture(c, "run", sp_torture_once, &s);
    sp_close(&s);
}

const struct cf_case cf_step_cases[] = {
    {"step/options-refused-by-core", 0, 0, sp_options},
    {"step/validate", 0, 0, sp_validate},
    {"step/run-and-outputs", 0, 0, sp_run},
    {"step/dry-run-no-side-effects", ORCH_STEP_CAP_DRY_RUN, 0, sp_dry_run},
    {"step/torture", 0, 1, sp_torture},
    {NULL, 0, 0, NULL},
};
