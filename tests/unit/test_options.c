/* Option tables: parsing, defaults, errors with positions, table checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/internal.h"
#include "host.h"
#include "options.h"

struct t_cfg {
    const char *name;
    int64_t count;
    int32_t flag;
    double ratio;
    int64_t wait_ms;
    int64_t bytes;
    const char *mode;
    struct orch_strlist list;
    struct orch_strmap map;
    const char *token;
};

static const char *const t_modes[] = {"fast", "safe", NULL};

static struct orch_option t_opts[] = {
    ORCH_OPTION(struct t_cfg, name, "name", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL, "a name"),
    {sizeof(struct orch_option), ORCH_OPT_INT, ORCH_OPTF_MIN | ORCH_OPTF_MAX,
     offsetof(struct t_cfg, count), "count", "2", "how many", 1, 10, NULL, NULL},
    ORCH_OPTION(struct t_cfg, flag, "flag", ORCH_OPT_BOOL, 0, "true", "a flag"),
    ORCH_OPTION(struct t_cfg, ratio, "ratio", ORCH_OPT_DOUBLE, 0, "0.5", "a ratio"),
    ORCH_OPTION(struct t_cfg, wait_ms, "wait", ORCH_OPT_DURATION, 0, "30s", "a wait"),
    ORCH_OPTION(struct t_cfg, bytes, "bytes", ORCH_OPT_SIZE, 0, "1K", "a size"),
    {sizeof(struct orch_option), ORCH_OPT_ENUM, 0, offsetof(struct t_cfg, mode), "mode", "safe",
     "a mode", 0, 0, t_modes, NULL},
    ORCH_OPTION(struct t_cfg, list, "list", ORCH_OPT_STRING_LIST, 0, NULL, "a list"),
    ORCH_OPTION(struct t_cfg, map, "map", ORCH_OPT_STRING_MAP, 0, NULL, "a map"),
    ORCH_OPTION(struct t_cfg, token, "token", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL, "secret"),
};

static struct orch_plugin_desc t_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "t",
    .version = "1",
    .options = t_opts,
    .option_count = sizeof t_opts / sizeof t_opts[0],
    .config_size = sizeof(struct t_cfg),
};

static struct oc_node *yaml(const char *text)
{
    struct oc_diag d = {0};
    struct oc_node *n = oc_yaml_parse(text, strlen(text), "t.yaml", &d);
    assert_int_equal(d.n, 0);
    oc_diag_free(&d);
    return n;
}

static void test_values_and_defaults(void **state)
{
    (void)state;
    struct oc_node *n = yaml("name: x\ncount: 7\nlist: [a, b]\nmap: {K: v, N: 3}\n"
                             "wait: 250ms\nbytes: 2M\nmode: fast\nflag: false\n");
    struct oc_diag d = {0};
    struct t_cfg *c = NULL;
    assert_int_equal(oc_options_apply(&t_desc, "step s", n, 0, (void **)&c, &d), 0);
    assert_string_equal(c->name, "x");
    assert_int_equal(c->count, 7);
    assert_int_equal(c->flag, 0);
    assert_true(c->ratio == 0.5);
    assert_int_equal(c->wait_ms, 250);
    assert_int_equal(c->bytes, 2 * 1024 * 1024);
    assert_string_equal(c->mode, "fast");
    assert_int_equal(c->list.count, 2);
    assert_string_equal(c->list.items[1], "b");
    assert_int_equal(c->map.count, 2);
    assert_string_equal(c->map.values[1], "3");
    assert_null(c->token);
    oc_options_free(&t_desc, c);
    oc_node_free(n);
}

static void test_rendered_strings_parse(void **state)
{
    (void)state;
    /* After rendering, every scalar arrives quoted: "5" is still an int. */
    struct oc_node *n = yaml("name: x\ncount: '5'\nflag: 'true'\nwait: '2s'\n");
    struct oc_diag d = {0};
    struct t_cfg *c = NULL;
    assert_int_equal(oc_options_apply(&t_desc, "step s", n, 0, (void **)&c, &d), 0);
    assert_int_equal(c->count, 5);
    assert_int_equal(c->flag, 1);
    assert_int_equal(c->wait_ms, 2000);
    oc_options_free(&t_desc, c);
    oc_node_free(n);
}

static int has(const struct oc_diag *d, const char *frag)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->msgs[i], frag))
            return 1;
    return 0;
}

static void test_errors_with_positions(void **state)
{
    (void)state;
    struct oc_node *n = yaml("nmae: x\ncount: 70\nmode: slow\nflag: maybe\nwait: soon\n"
                             "list: notalist\ntoken: literal\n");
    struct oc_diag d = {0};
    void *c = NULL;
    assert_int_equal(oc_options_apply(&t_desc, "step s", n, OC_OPTS_DEFER_TEMPLATES, &c, &d), -1);
    assert_null(c);
    assert_true(has(&d, "t.yaml:1:1: step s: unknown option 'nmae'; did you mean 'name'?"));
    assert_true(has(&d, "option 'name' is required"));
    assert_true(has(&d, "t.yaml:2:8: step s: option 'count': must be at most 10"));
    assert_true(has(&d, "t.yaml:3:7: step s: option 'mode': 'slow' is not one of: fast, safe"));
    assert_true(has(&d, "t.yaml:4:7:"));
    assert_true(has(&d, "t.yaml:5:7:"));
    assert_true(has(&d, "t.yaml:6:7: step s: option 'list': expected a list"));
    assert_true(has(&d, "t.yaml:7:8: step s: option 'token' is a secret"));
    oc_diag_free(&d);
    oc_node_free(n);
}

static void test_templates_deferred(void **state)
{
    (void)state;
    struct oc_node *n = yaml("name: x\ncount: ${{ inputs.n }}\ntoken: ${{ secrets.T }}\n");
    struct oc_diag d = {0};
    assert_int_equal(oc_options_apply(&t_desc, "step s", n, OC_OPTS_DEFER_TEMPLATES, NULL, &d), 0);
    assert_int_equal(d.n, 0);
    oc_node_free(n);
}

static void test_table_checks(void **state)
{
    (void)state;
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(oc_options_check_table(&t_desc, &err), ORCH_OK);
    struct orch_option bad[2] = {t_opts[1], t_opts[1]};
    struct orch_plugin_desc d = t_desc;
    d.options = bad;
    d.option_count = 2;
    assert_int_equal(oc_options_check_table(&d, &err), ORCH_E_ABI);
    assert_non_null(strstr(err.message, "declared twice"));
    oc_error_clear(&err);
    bad[0].default_value = "99"; /* outside 1..10 */
    d.option_count = 1;
    assert_int_equal(oc_options_check_table(&d, &err), ORCH_E_ABI);
    assert_non_null(strstr(err.message, "default"));
    oc_error_clear(&err);
    bad[0] = t_opts[1];
    bad[0].description = NULL;
    assert_int_equal(oc_options_check_table(&d, &err), ORCH_E_ABI);
    assert_non_null(strstr(err.message, "no description"));
    oc_error_clear(&err);
    bad[0] = t_opts[1];
    bad[0].offset = sizeof(struct t_cfg);
    assert_int_equal(oc_options_check_table(&d, &err), ORCH_E_ABI);
    assert_non_null(strstr(err.message, "outside"));
    oc_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_rendered_strings_parse),
        cmocka_unit_test(test_errors_with_positions),
        cmocka_unit_test(test_templates_deferred),
        cmocka_unit_test(test_table_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
