#define _GNU_SOURCE
/* conformance.yaml: the facts a suite needs about the plugin under test
 * (its options, an image, expected outputs), in the workflow file's YAML
 * dialect and with its file:line:col errors. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>

#include "yamltree.h"

static int cf_conf_duration(const struct oc_node *root, const char *key, int64_t *out,
                            struct oc_diag *d)
{
    const struct oc_node *v = oc_node_get(root, key);
    if (!v)
        return 0;
    if (v->kind != OC_NODE_SCALAR || oc_parse_duration_ms(v->str, out) != 0) {
        oc_diag_add(d, &v->pos, "%s: expected a duration such as 30s", key);
        return -1;
    }
    return 0;
}

static const char *cf_conf_string(const struct oc_node *root, const char *key,
                                  struct oc_diag *d)
{
    const struct oc_node *v = oc_node_get(root, key);
    if (v && v->kind != OC_NODE_SCALAR) {
        oc_diag_add(d, &v->pos, "%s: expected a string", key);
        return NULL;
    }
    return v ? v->str : NULL;
}

static const struct oc_node *cf_conf_kind(const struct oc_node *root, const char *key,
                                          enum oc_node_kind kind, struct oc_diag *d)
{
    const struct oc_node *v = oc_node_get(root, key);
    if (v && v->kind != kind) {
        oc_diag_add(d, &v->pos, "%s: expected a %s, found a %s", key, oc_node_kind_name(kind),
                    oc_node_kind_name(v->kind));
        return NULL;
    }
    return v;
}

/* Every ${env.NAME} under n names a set variable: an unset one would pass
 * an empty option and fail later for an unclear reason, so it is an error
 * at its file:line:col naming NAME (the substitution is in harness.c). */
static void cf_conf_env_set(const struct oc_node *n, struct oc_diag *d, int depth)
{
    if (!n || depth > 64)
        return;
    if (n->kind == OC_NODE_SCALAR && n->str) {
        for (const char *p = n->str; (p = strstr(p, "${env.")); p += 6) {
            const char *end = strchr(p + 6, '}');
            if (!end)
                break;
            char *name = oc_xasprintf("%.*s", (int)(end - p - 6), p + 6);
            if (!getenv(name))
                oc_diag_add(d, &n->pos, "${env.%s}: the environment variable %s is not set",
                            name, name);
            free(name);
        }
    }
    for (size_t i = 0; i < n->len; i++)
        cf_conf_env_set(n->items[i], d, depth + 1);
}

/* image, size, region: ${env.NAME} as in with: (an image the test script
 * built), expanded here, once; the tree owns the new text. */
static const char *cf_conf_expanded(const struct oc_node *root, const char *key,
                                    struct oc_diag *d)
{
    const char *v = cf_conf_string(root, key, d);
    if (!v || !strstr(v, "${env."))
        return v;
    struct oc_node *n = (struct oc_node *)oc_node_get(root, key);
    size_t before = d->n;
    cf_conf_env_set(n, d, 0);
    if (d->n > before)
        return NULL;
    char *x = cf_expand(n->str, "${TMP}");
    free(n->str);
    n->str = x;
    return x;
}

int cf_conf_load(const char *path, struct cf_conf *conf)
{
    memset(conf, 0, sizeof *conf);
    conf->cancel_bound_ms = 5000;
    if (!path)
        return 0;
    size_t len;
    char *text = oc_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "orch-plugin: cannot read %s: %m\n", path);
        return -1;
    }
    struct oc_diag d = {0};
    conf->root = oc_yaml_parse(text, len, path, &d);
    free(text);
    const struct oc_node *r = conf->root;
    if (r && r->kind == OC_NODE_MAP) {
        static const char *const keys[] = {"with", "secrets", "outputs", "expect", "image",
                                           "size", "region", "case_timeout", "cancel_bound",
                                           "create_timeout", "option_sets", "setup", NULL};
        oc_cfg_check_keys(r, keys, "conformance.yaml", &d);
        conf->with = cf_conf_kind(r, "with", OC_NODE_MAP, &d);
        conf->secrets = cf_conf_kind(r, "secrets", OC_NODE_MAP, &d);
        cf_conf_env_set(conf->with, &d, 0);
        conf->setup = cf_conf_string(r, "setup", &d);
        conf->option_sets = cf_conf_kind(r, "option_sets", OC_NODE_SEQ, &d);
        for (size_t i = 0; conf->option_sets && i < conf->option_sets->len; i++) {
            const struct oc_node *set = conf->option_sets->items[i];
            static const char *const set_keys[] = {"name", "with", NULL};
            const struct oc_node *name = oc_node_get(set, "name");
            const struct oc_node *with = oc_node_get(set, "with");
            if (set->kind != OC_NODE_MAP || !name || name->kind != OC_NODE_SCALAR ||
                (with && with->kind != OC_NODE_MAP)) {
                oc_diag_add(&d, &set->pos, "option_sets[%zu]: expected a map with a name "
                                           "and a with: map", i);
                continue;
            }
            oc_cfg_check_keys(set, set_keys, "option_sets", &d);
            cf_conf_env_set(with, &d, 0);
            /* The name is how the report tells the sets apart. */
            for (size_t k = 0; k < i; k++) {
                const struct oc_node *prev = oc_node_get(conf->option_sets->items[k], "name");
                if (prev && prev->kind == OC_NODE_SCALAR && !strcmp(prev->str, name->str))
                    oc_diag_add(&d, &name->pos, "option_sets: the name '%s' is used twice",
                                name->str);
            }
        }
        if (conf->option_sets && !conf->option_sets->len)
            oc_diag_add(&d, &conf->option_sets->pos, "option_sets: empty (give at least one "
                                                     "set, or use with:)");
        if (conf->option_sets && conf->with)
            oc_diag_add(&d, &oc_node_get(r, "with")->pos,
                        "with: and option_sets: exclude each other (give each set its with:)");
        cf_conf_env_set(conf->secrets, &d, 0);
        conf->outputs = cf_conf_kind(r, "outputs", OC_NODE_SEQ, &d);
        conf->image = cf_conf_expanded(r, "image", &d);
        conf->size = cf_conf_expanded(r, "size", &d);
        conf->region = cf_conf_expanded(r, "region", &d);
        const char *expect = cf_conf_string(r, "expect", &d);
        if (expect && strcmp(expect, "success") && strcmp(expect, "failure"))
            oc_diag_add(&d, &oc_node_get(r, "expect")->pos,
                        "expect: must be success or failure, not '%s'", expect);
        conf->expect_run_failure = expect && !strcmp(expect, "failure");
        cf_conf_duration(r, "case_timeout", &conf->case_timeout_ms, &d);
        cf_conf_duration(r, "cancel_bound", &conf->cancel_bound_ms, &d);
        cf_conf_duration(r, "create_timeout", &conf->create_timeout_ms, &d);
    } else if (r && r->kind != OC_NODE_NULL) {
        oc_diag_add(&d, &r->pos, "conformance.yaml must be a map of settings");
    }
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "orch-plugin: %s\n", d.msgs[i]);
    int bad = d.n > 0;
    oc_diag_free(&d);
    if (bad)
        cf_conf_free(conf);
    return bad ? -1 : 0;
}

void cf_conf_free(struct cf_conf *conf)
{
    oc_node_free(conf->root);
    memset(conf, 0, sizeof *conf);
}
