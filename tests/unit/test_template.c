/* ${{ }} templates and if: conditions against a fake scope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"

static int t_failed; /* what failure() answers */

static int t_lookup(void *ud, const char *ns, const char *const *parts, size_t n,
                    struct oc_val *out, int *is_secret)
{
    (void)ud;
    memset(out, 0, sizeof *out);
    out->kind = OC_VAL_STR;
    if (!strcmp(ns, "inputs") && n == 1 && !strcmp(parts[0], "name")) {
        out->s = oc_xstrdup("World");
        return 0;
    }
    if (!strcmp(ns, "inputs") && n == 1 && !strcmp(parts[0], "count")) {
        out->s = oc_xstrdup("3");
        return 0;
    }
    if (!strcmp(ns, "steps") && n == 3 && !strcmp(parts[0], "build") &&
        !strcmp(parts[1], "outputs") && !strcmp(parts[2], "sha")) {
        out->s = oc_xstrdup("abc123");
        return 0;
    }
    if (!strcmp(ns, "secrets") && n == 1 && !strcmp(parts[0], "TOKEN")) {
        out->s = oc_xstrdup("hunter22");
        *is_secret = 1;
        return 0;
    }
    return -1;
}

static int t_status(void *ud, const char *name)
{
    (void)ud;
    if (!strcmp(name, "success"))
        return !t_failed;
    if (!strcmp(name, "failure"))
        return t_failed;
    if (!strcmp(name, "always"))
        return 1;
    return 0;
}

static const struct oc_scope t_scope = {.lookup = t_lookup, .status_fn = t_status};

static char *render(const char *in, int *secret)
{
    char *out = NULL, *err = NULL;
    int rc = oc_template_render(in, &t_scope, &out, secret, &err);
    if (rc != 0) {
        free(err);
        return NULL;
    }
    return out;
}

static void test_render_values(void **state)
{
    (void)state;
    int secret = 0;
    char *s = render("hello ${{ inputs.name }} at ${{steps.build.outputs.sha}}!", &secret);
    assert_string_equal(s, "hello World at abc123!");
    assert_int_equal(secret, 0);
    free(s);
    s = render("${{ 1 + }}", NULL);
    assert_null(s);
    s = render("n=${{ 2 }} f=${{ 2.5 }} b=${{ true }} z=${{ null }}.", NULL);
    assert_string_equal(s, "n=2 f=2.5 b=true z=.");
    free(s);
    s = render("no templates here", NULL);
    assert_string_equal(s, "no templates here");
    free(s);
    s = render("${{ format('{0}-{1}', inputs.name, 'x') }} ${{ 'it''s' }}", NULL);
    assert_string_equal(s, "World-x it's");
    free(s);
    s = render("${{ '}}' }}", NULL);
    assert_string_equal(s, "}}");
    free(s);
}

static void test_secret_flag(void **state)
{
    (void)state;
    int secret = 0;
    char *s = render("token=${{ secrets.TOKEN }}", &secret);
    assert_string_equal(s, "token=hunter22");
    assert_int_equal(secret, 1);
    free(s);
}

static void test_errors_name_the_problem(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render("x ${{ inputs.nope }}", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "inputs.nope"));
    assert_non_null(strstr(err, "does not exist"));
    free(err);
    assert_int_equal(oc_template_render("${{ bogus.x }}", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "unknown name 'bogus'"));
    free(err);
    assert_int_equal(oc_template_render("${{ inputs.name", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "closing"));
    free(err);
    assert_int_equal(oc_template_render("${{ nofn(1) }}", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "unknown function 'nofn'"));
    free(err);
    assert_int_equal(oc_template_render("${{ (1 }}", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "column"));
    free(err);
}

/* toJSON of numbers past the integer range (the fuzzer's find: a cast to
 * long long of 7.7e81 is undefined) and of numbers JSON cannot hold. */
static void test_to_json_numbers(void **state)
{
    (void)state;
    char *s = render("${{ toJSON(77777777777777777777777777777777777777777777777777777777777) }}",
                     NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "e58")); /* jansson: 7.7777777777777778e58 */
    free(s);
    s = render("${{ toJSON(-9223372036854775808) }}|${{ toJSON(42) }}|${{ toJSON(0.5) }}", NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "|42|0.5"));
    free(s);
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render("${{ toJSON(1e999) }}", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "not finite"));
    free(err);
}

/* hashFiles: the scope's hook gets every pattern as text and gives the
 * text in its place; without a hook (if:, outputs, a matrix) it is
 * refused, naming where it belongs. */
static int t_hash_hook(void *ud, const char *const *patterns, size_t n, char **out,
                       char **err)
{
    (void)ud;
    if (n == 1 && !strcmp(patterns[0], "bad")) {
        *err = oc_xstrdup("no such pattern");
        return -1;
    }
    struct oc_buf b = {0};
    for (size_t i = 0; i < n; i++)
        oc_buf_addf(&b, "<%s>", patterns[i]);
    *out = oc_buf_steal(&b);
    return 0;
}

static void test_hash_files(void **state)
{
    (void)state;
    struct oc_scope sc = t_scope;
    sc.hash_files = t_hash_hook;
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render("k-${{ hashFiles('**/*.c', format('!{0}', 'x')) }}",
                                        &sc, &out, NULL, &err), 0);
    assert_string_equal(out, "k-<**/*.c><!x>");
    free(out);
    assert_int_not_equal(oc_template_render("${{ hashFiles('bad') }}", &sc, &out, NULL, &err), 0);
    assert_non_null(strstr(err, "hashFiles(): no such pattern"));
    free(err);
    err = NULL;
    assert_int_not_equal(oc_template_render("${{ hashFiles('a') }}", &t_scope, &out, NULL, &err),
                         0);
    assert_non_null(strstr(err, "use it in a step's with: or env:"));
    free(err);
    assert_int_equal(oc_template_calls("a ${{ x || hashFiles('a') }}", 0, "hashFiles"), 1);
    assert_int_equal(oc_template_calls("hashFiles('a') == ''", 1, "hashFiles"), 1);
    assert_int_equal(oc_template_calls("${{ format('hashFiles') }}", 0, "hashFiles"), 0);
}

/* fromJSON, join, contains on lists and indexing of what fromJSON gives. */
static void test_json_values(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } ok[] = {
        {"${{ fromJSON('[1, \"a\", true, null]') }}", "[1,\"a\",true,null]"},
        {"${{ fromJSON('{\"a\": {\"b\": [10, 20]}}').a.b[1] }}", "20"},
        {"${{ fromJSON('{\"odd key\": 3}')['odd key'] }}", "3"},
        {"${{ fromJSON('[1,2]')[5] }}|${{ fromJSON('[1,2]')[-1] }}|${{ fromJSON('{}').nope }}",
         "||"},
        {"${{ fromJSON('[1,2]')['0'] }}", "1"},
        {"${{ fromJSON('\"text\"') }} ${{ fromJSON('2.5') }} ${{ fromJSON('false') }}",
         "text 2.5 false"},
        {"${{ join(fromJSON('[\"a\", 2, true]')) }}", "a,2,true"},
        {"${{ join(fromJSON('[\"a\", \"b\"]'), ' + ') }}", "a + b"},
        {"${{ join('plain', '-') }}|${{ join(fromJSON('[]')) }}", "plain|"},
        {"${{ contains(fromJSON('[\"linux\", 3]'), 'LINUX') }}", "true"},
        {"${{ contains(fromJSON('[\"linux\", 3]'), 3) }}", "true"},
        {"${{ contains(fromJSON('[\"linux-x\"]'), 'linux') }}", "false"},
        {"${{ contains(toJSON(fromJSON('[\"linux-x\"]')), 'linux') }}", "true"},
        {"${{ toJSON(fromJSON('{\"k\": [1, {\"x\": null}]}')) }}",
         "{\"k\":[1,{\"x\":null}]}"},
        {"${{ fromJSON('[1]') == fromJSON('[1]') }} ${{ fromJSON('[]') != 1 }}", "false true"},
        {"${{ fromJSON('[]') && 'nonempty-is-true' }}", "nonempty-is-true"},
        {"${{ format('{0}', fromJSON('[1]')) }}", "[1]"},
        {"${{ (fromJSON('[[7]]'))[0][0] }}", "7"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *s = render(ok[i].in, NULL);
        if (!s || strcmp(s, ok[i].want))
            fail_msg("%s: got '%s', want '%s'", ok[i].in, s ? s : "(error)", ok[i].want);
        free(s);
    }
    static const struct {
        const char *in, *err;
    } bad[] = {
        {"${{ fromJSON('[1,') }}", "fromJSON(): not JSON"},
        {"${{ fromJSON('') }}", "fromJSON(): not JSON"},
        {"${{ inputs.name[0] }}", "['name'] expected"},
        {"${{ format('x')[0] }}", "only a list or an object"},
        {"${{ fromJSON('[1]')[0 }}", "']' expected"},
        {"${{ fromJSON('{}'). }}", "a name is expected after '.'"},
        {"${{ join() }}", "join() takes"},
        {"${{ join(1, 2, 3) }}", "join() takes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL, *err = NULL;
        if (oc_template_render(bad[i].in, &t_scope, &out, NULL, &err) != -1 || !err ||
            !strstr(err, bad[i].err))
            fail_msg("%s: got '%s', want an error with '%s'", bad[i].in,
                     err ? err : out, bad[i].err);
        free(err);
        free(out);
    }
    /* Nesting past the limit is refused before jansson recurses. */
    char deep[400] = "${{ fromJSON('";
    size_t n = strlen(deep);
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    memcpy(deep + n, "') }}", 6);
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render(deep, &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "fromJSON(): not JSON"));
    free(err);
}

static int cond(const char *e)
{
    int r = -1;
    char *err = NULL;
    if (oc_expr_eval_bool(e, &t_scope, &r, &err) != 0) {
        free(err);
        return -2;
    }
    return r;
}

/* One ${{ }} keeps its value's kind (a matrix's list); anything else is
 * refused, and a '}}' inside a string literal does not end it. */
static void test_eval_value(void **state)
{
    (void)state;
    struct oc_val v;
    char *err = NULL;
    assert_int_equal(oc_template_eval_value("  ${{ fromJSON('[1, \"a\"]') }} \n", &t_scope,
                                            &v, &err), 0);
    assert_int_equal(v.kind, OC_VAL_JSON);
    assert_true(json_is_array(v.j) && json_array_size(v.j) == 2);
    oc_val_free(&v);
    assert_int_equal(oc_template_eval_value("${{ fromJSON('{\"a\": {\"b\": 1}}') }}",
                                            &t_scope, &v, &err), 0);
    assert_true(v.kind == OC_VAL_JSON && json_is_object(json_object_get(v.j, "a")));
    oc_val_free(&v);
    static const char *const bad[] = {
        "x ${{ inputs.name }}", "${{ inputs.name }} y", "${{ inputs.name }}${{ inputs.count }}",
        "${{ inputs.name", "", "inputs.name", "${{ nope.x }}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        assert_int_not_equal(oc_template_eval_value(bad[i], &t_scope, &v, &err), 0);
        assert_non_null(err);
        free(err);
    }
}

static void test_conditions(void **state)
{
    (void)state;
    t_failed = 0;
    assert_int_equal(cond("inputs.name == 'world'"), 1); /* case-insensitive */
    assert_int_equal(cond("${{ inputs.count > 2 && inputs.count <= 3 }}"), 1);
    assert_int_equal(cond("inputs.count == 3"), 1);       /* loose equality */
    assert_int_equal(cond("!(inputs.count != 3)"), 1);
    assert_int_equal(cond("contains(inputs.name, 'orl')"), 1);
    assert_int_equal(cond("startsWith(inputs.name, 'wo') && endsWith(inputs.name, 'LD')"), 1);
    assert_int_equal(cond("false || null"), 0);
    assert_int_equal(cond("success()"), 1);
    assert_int_equal(cond("failure()"), 0);
    /* After a failure a plain condition means success() && cond ... */
    t_failed = 1;
    assert_int_equal(cond("true"), 0);
    /* ... unless it asks for a status itself. */
    assert_int_equal(cond("always()"), 1);
    assert_int_equal(cond("failure() && inputs.count == 3"), 1);
    assert_int_equal(cond("1 +"), -2);
    t_failed = 0;
}

static int t_refs_seen;
static int t_ref_cb(void *ud, const char *ns, const char *const *parts, size_t n)
{
    (void)ud;
    if (!strcmp(ns, "steps") && n == 3 && !strcmp(parts[0], "a"))
        t_refs_seen |= 1;
    if (!strcmp(ns, "inputs") && n == 1 && !strcmp(parts[0], "x"))
        t_refs_seen |= 2;
    return 0;
}

static void test_refs(void **state)
{
    (void)state;
    char *err = NULL;
    t_refs_seen = 0;
    assert_int_equal(oc_template_refs("${{ steps.a.outputs.o }} and ${{ inputs.x == 1 }}", 0,
                                      t_ref_cb, NULL, &err), 0);
    assert_int_equal(t_refs_seen, 3);
    assert_int_equal(oc_template_refs("steps.a.result == 'success' &&", 1, t_ref_cb, NULL, &err),
                     -1);
    assert_non_null(err);
    free(err);
}

/* What validation refuses before a run: a function or context that does
 * not exist, a call with the wrong number of arguments; the message names
 * the name and the column, and what there is. Known ones pass. */
static void test_refs_refuse_unknown_names(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"${{ jobs.os }}", "column 2: unknown name 'jobs' (expected inputs, steps"},
        {"${{ github.sha }}", "unknown name 'github'"},
        {"${{ fromJSONx(inputs.x) }}", "unknown function 'fromJSONx' (functions: success"},
        {"${{ contains(inputs.x) }}", "contains() takes 2 arguments, not 1"},
        {"${{ success(1) }}", "success() takes 0 arguments, not 1"},
        {"${{ format() }}", "format() takes at least 1 argument"},
        {"a ${{ inputs.x && startsWith(inputs.x, 'a', 'b') }}", "column 14: startsWith() takes 2 arguments, not 3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *err = NULL;
        assert_int_equal(oc_template_refs(bad[i].text, 0, t_ref_cb, NULL, &err), -1);
        assert_non_null(err);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: '%s' lacks '%s'", bad[i].text, err, bad[i].want);
        free(err);
    }
    char *err = NULL;
    assert_int_equal(oc_template_refs("${{ format('{0}', inputs.x) }} ${{ always() && "
                                      "endsWith(env.HOME, 'x') || cancelled() }}",
                                      0, t_ref_cb, NULL, &err), 0);
    assert_null(err);
}

static void test_deep_nesting_refused(void **state)
{
    (void)state;
    char buf[600];
    size_t n = 0;
    n += (size_t)snprintf(buf, sizeof buf, "${{ ");
    for (int i = 0; i < 200; i++)
        buf[n++] = '(';
    buf[n] = 0;
    strcat(buf, "1 }}");
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render(buf, &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "nested too deeply"));
    free(err);
}

/* An operator chain builds a tree as tall as the chain is long, without
 * the parser recursing: 100,000 terms would overflow the evaluator's and
 * oc_ex_free's stack. Refused past the limit; a chain of 40 is fine. */
static void test_long_chain_refused(void **state)
{
    (void)state;
    static const char *const ops[] = {" && ", " || "};
    for (size_t k = 0; k < 2; k++) {
        struct oc_buf b = {0};
        oc_buf_adds(&b, "${{ 1");
        for (int i = 0; i < 100000; i++)
            oc_buf_addf(&b, "%s1", ops[k]);
        oc_buf_adds(&b, " }}");
        char *out = NULL, *err = NULL;
        int rc = oc_template_render(b.data, &t_scope, &out, NULL, &err);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "nested too deeply"));
        /* The error quotes the start of the expression, not all of it. */
        assert_true(strlen(err) < 200);
        free(err);
        oc_buf_free(&b);
    }
    struct oc_buf b = {0};
    oc_buf_adds(&b, "${{ true");
    for (int i = 0; i < 40; i++)
        oc_buf_adds(&b, " && true");
    oc_buf_adds(&b, " }}");
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render(b.data, &t_scope, &out, NULL, &err), 0);
    assert_string_equal(out, "true");
    free(out);
    oc_buf_free(&b);
}

/* A bare namespace: the message names it twice (found by fuzz_template:
 * the format had two %s and one argument). */
static void test_bare_namespace(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(oc_template_render("${{ inputs }}", &t_scope, &out, NULL, &err), -1);
    assert_non_null(strstr(err, "'inputs' needs a name after it, e.g. inputs.NAME"));
    free(err);
    int r = 0;
    err = NULL;
    assert_int_equal(oc_expr_eval_bool("${{ env }}", &t_scope, &r, &err), -1);
    assert_non_null(strstr(err, "e.g. env.NAME"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_values),
        cmocka_unit_test(test_secret_flag),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_to_json_numbers),
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_hash_files),
        cmocka_unit_test(test_eval_value),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_refs_refuse_unknown_names),
        cmocka_unit_test(test_deep_nesting_refused),
        cmocka_unit_test(test_long_chain_refused),
        cmocka_unit_test(test_bare_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
