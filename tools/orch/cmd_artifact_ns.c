/* orch runs artifacts --namespace NS and orch runs artifact --namespace NS
 * NAME[@VERSION] [-o FILE]: a shared namespace's versions, from the state
 * store's ledger (core/artifact_ns.c), and one version's bytes, checked
 * by size and sha256 on the way out (the latest stored without @VERSION);
 * with --server the same over orchd's API (GET
 * /v1/artifacts/namespaces/NS[/NAME?version=N]). The bytes come from the
 * artifacts store of the file given (-c), else the state store. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_ns.h"
#include "cli.h"
#include "host.h"
#include "run_artifacts.h"
#include "util.h"

static const char cli_artns_usage[] =
    "usage: orch runs artifacts --namespace NS\n"
    "       orch runs artifact --namespace NS NAME[@VERSION] [-o|--output FILE]";

int cli_artns_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--namespace"))
            return 1;
    return 0;
}

/* What the command line says. 0, or -1 after the usage. */
struct cli_artns_args {
    int list;                    /* runs artifacts; else runs artifact */
    const char *ns, *ref, *out;  /* ref: NAME[@VERSION] */
    struct oc_artns_ref parsed;  /* of ns/NS/REF */
};

static int cli_artns_args(int argc, char **argv, struct cli_artns_args *a)
{
    memset(a, 0, sizeof *a);
    a->list = !strcmp(argv[0], "artifacts");
    int npos = 0, unknown = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--namespace") && i + 1 < argc)
            a->ns = argv[++i];
        else if (!strcmp(argv[i], "--output") && i + 1 < argc)
            a->out = argv[++i];
        else if (argv[i][0] == '-')
            unknown = 1;
        else if (npos++ == 0)
            a->ref = argv[i];
    }
    int ok = a->ns && !unknown && (a->list ? npos == 0 && !a->out : npos == 1);
    if (!ok) {
        cli_err("%s", cli_artns_usage);
        return -1;
    }
    if (!oc_artns_ns_ok(a->ns)) {
        cli_err("runs artifact%s: '%.64s' is not a namespace name (1-%d of a-z, 0-9, '_', "
                "'-', starting with a letter or digit)",
                a->list ? "s" : "", a->ns, OC_ARTNS_NS_MAX);
        return -1;
    }
    if (a->list)
        return 0;
    char *full = oc_xasprintf("%s/%s", a->ns, a->ref), *why = NULL;
    int rc = oc_artns_ref_parse(full, &a->parsed, &why);
    free(full);
    if (rc != 0) {
        cli_err("runs artifact: %s", why);
        free(why);
        return -1;
    }
    return 0;
}

static int cli_artns_print(struct cli *c, json_t *list, const char *ns)
{
    if (c->json) {
        cli_print_json(list);
        return CLI_EXIT_OK;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        const char *run = json_string_value(json_object_get(e, "run"));
        const char *step = json_string_value(json_object_get(e, "step"));
        printf("%-32s %6lld  %-8s %10lld  %s  %s  %s\n",
               json_string_value(json_object_get(e, "name")),
               (long long)json_integer_value(json_object_get(e, "version")),
               json_string_value(json_object_get(e, "state")),
               (long long)json_integer_value(json_object_get(e, "size")), sha ? sha : "-",
               run ? run : "-", step ? step : "-");
    }
    if (!json_array_size(list))
        printf("namespace %s holds no versions\n", ns);
    json_decref(list);
    return CLI_EXIT_OK;
}

int cli_artns(struct cli *c, struct oc_registry *reg, struct oc_store *st,
              const struct oc_config *cfg, int argc, char **argv)
{
    struct cli_artns_args a;
    if (cli_artns_args(argc, argv, &a) != 0)
        return CLI_EXIT_USAGE;
    struct orch_error err;
    oc_error_init(&err);
    int rc = CLI_EXIT_OK;
    if (a.list) {
        struct oc_artns_state s = {st->vt, st->h};
        json_t *list;
        if (oc_artns_list(&s, a.ns, NULL, &list, &err) != ORCH_OK) {
            cli_err("runs artifacts: %s", oc_error_text(&err));
            rc = CLI_EXIT_FAILED;
        } else {
            rc = cli_artns_print(c, list, a.ns);
        }
        oc_error_clear(&err);
        return rc;
    }
    struct cli_art_out o;
    if (cli_art_out_open(&o, a.out) != 0) {
        oc_artns_ref_free(&a.parsed);
        return CLI_EXIT_FAILED;
    }
    struct oc_run_artifact *r = NULL;
    orch_status st_rc = oc_artns_open(reg, st, cfg, a.parsed.ns, a.parsed.name,
                                      a.parsed.version, &r, &err);
    if (st_rc == ORCH_OK)
        st_rc = oc_run_artifact_stream(r, cli_art_write, o.f, &err);
    oc_run_artifact_close(r);
    if (cli_art_out_close(&o, st_rc, &err) != ORCH_OK) {
        cli_err("runs artifact: %s", oc_error_text(&err));
        rc = CLI_EXIT_FAILED;
    }
    oc_error_clear(&err);
    oc_artns_ref_free(&a.parsed);
    return rc;
}

/* /v1/artifacts/namespaces/NS[/NAME...][?version=N]: each part of the
 * name escaped, the slashes between them kept. malloc'd. */
static char *cli_artns_path(const struct cli_artns_args *a)
{
    struct oc_buf p = {0};
    char *seg = cli_seg(a->ns);
    oc_buf_addf(&p, "/v1/artifacts/namespaces/%s", seg);
    free(seg);
    if (a->list)
        return oc_buf_steal(&p);
    const char *name = a->parsed.name;
    for (const char *s = name; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL) {
        char *part = oc_xstrndup(s, strcspn(s, "/"));
        seg = cli_seg(part);
        oc_buf_addf(&p, "/%s", seg);
        free(seg);
        free(part);
    }
    if (a->parsed.version)
        oc_buf_addf(&p, "?version=%llu", (unsigned long long)a->parsed.version);
    return oc_buf_steal(&p);
}

int cli_remote_artns(struct cli *c, int argc, char **argv)
{
    struct cli_artns_args a;
    if (cli_artns_args(argc, argv, &a) != 0)
        return CLI_EXIT_USAGE;
    char *url = cli_artns_path(&a);
    int rc;
    if (a.list) {
        json_t *out;
        rc = cli_http_call(c, "GET", url, NULL, &out);
        if (rc == CLI_EXIT_OK) {
            json_t *list = json_incref(json_object_get(out, "versions"));
            json_decref(out);
            if (json_is_array(list)) {
                rc = cli_artns_print(c, list, a.ns);
            } else {
                json_decref(list);
                cli_err("runs artifacts: the server's answer has no versions list");
                rc = CLI_EXIT_FAILED;
            }
        }
    } else {
        rc = cli_remote_download(c, url, a.out);
    }
    free(url);
    oc_artns_ref_free(&a.parsed);
    return rc;
}
