/* A tool's own sections of the workflow file (core/config_read.h): refused
 * as unknown keys until a reader is registered; once it is, read after the
 * workflows (only for a file with workflows), with positioned errors in the
 * same pass as the core's own, and freed with the config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_read.h"
#include "util.h"

struct tool_model {
    int64_t every_ms;
    int saw_workflow; /* the workflows were read before the section */
};

static int reads, frees;

static void *tool_read(struct oc_cfg_reader *r, const struct oc_node *root)
{
    reads++;
    struct tool_model *m = oc_xcalloc(1, sizeof *m);
    m->saw_workflow = oc_config_workflow(r->cfg, "w") != NULL;
    const struct oc_node *n = oc_get_map(r, root, "tool", "tool");
    m->every_ms = oc_get_duration(r, n, "every", 5000, "tool");
    return m;
}

static void tool_free(void *model)
{
    frees++;
    free(model);
}

static const char *const tool_keys[] = {"tool", NULL};
static const struct oc_config_sections tool_sections = {tool_keys, tool_read, tool_free};

static const char wf[] = "workflows:\n"
                         "  w:\n"
                         "    steps:\n"
                         "      - id: a\n"
                         "        uses: exec\n"
                         "        with: {run: \"true\"}\n";

static struct oc_config *parse(const char *head, const char *tail, struct oc_diag *diag)
{
    char *text = oc_xasprintf("version: 1\n%s%s", head, tail);
    struct oc_config *cfg = oc_config_parse_string(text, "t.yaml", diag);
    free(text);
    return cfg;
}

static int has_msg(const struct oc_diag *d, const char *frag)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->msgs[i], frag))
            return 1;
    return 0;
}

static void t_unregistered_is_unknown(void **state)
{
    (void)state;
    oc_config_sections_set(NULL);
    struct oc_diag d = {0};
    struct oc_config *cfg = parse("tool: {every: 2s}\n", wf, &d);
    assert_null(cfg);
    assert_true(has_msg(&d, "t.yaml:2:1: top level: unknown key 'tool'"));
    oc_diag_free(&d);
}

static void t_registered_reads_after_workflows(void **state)
{
    (void)state;
    oc_config_sections_set(&tool_sections);
    reads = frees = 0;
    struct oc_diag d = {0};
    struct oc_config *cfg = parse("tool: {every: 2s}\n", wf, &d);
    assert_non_null(cfg);
    assert_int_equal(reads, 1);
    assert_ptr_equal(cfg->sections_ops, &tool_sections);
    const struct tool_model *m = cfg->sections;
    assert_int_equal(m->every_ms, 2000);
    assert_true(m->saw_workflow);
    oc_config_free(cfg);
    assert_int_equal(frees, 1);
    /* Without the section the reader still runs and keeps its defaults. */
    cfg = parse("", wf, &d);
    assert_non_null(cfg);
    assert_int_equal(((const struct tool_model *)cfg->sections)->every_ms, 5000);
    oc_config_free(cfg);
    assert_int_equal(frees, 2);
    oc_diag_free(&d);
    oc_config_sections_set(NULL);
}

static void t_errors_in_one_pass(void **state)
{
    (void)state;
    oc_config_sections_set(&tool_sections);
    reads = frees = 0;
    struct oc_diag d = {0};
    /* A bad value in the tool's section and a bad one in the core's: both
     * reported, each at its line and column, and the model still freed. */
    struct oc_config *cfg = parse("tool: {every: soon}\ndefaults: {concurrency: many}\n", wf, &d);
    assert_null(cfg);
    assert_int_equal(reads, 1);
    assert_int_equal(frees, 1);
    assert_true(has_msg(&d, "t.yaml:2:15:"));
    assert_true(has_msg(&d, "t.yaml:3:"));
    assert_true(has_msg(&d, "concurrency"));
    oc_diag_free(&d);
    /* The tool's keys join the core's in the unknown-key hint. */
    cfg = parse("tol: {}\n", wf, &d);
    assert_null(cfg);
    assert_true(has_msg(&d, "unknown key 'tol'; did you mean 'tool'?"));
    oc_diag_free(&d);
    oc_config_sections_set(NULL);
}

static void t_no_workflows_no_read(void **state)
{
    (void)state;
    oc_config_sections_set(&tool_sections);
    reads = frees = 0;
    struct oc_diag d = {0};
    struct oc_config *cfg = parse("tool: {every: soon}\n", "", &d);
    assert_int_equal(reads, 0);
    if (cfg) {
        assert_null(cfg->sections);
        oc_config_free(cfg);
    }
    assert_int_equal(frees, 0);
    oc_diag_free(&d);
    oc_config_sections_set(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_unregistered_is_unknown),
        cmocka_unit_test(t_registered_reads_after_workflows),
        cmocka_unit_test(t_errors_in_one_pass),
        cmocka_unit_test(t_no_workflows_no_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
