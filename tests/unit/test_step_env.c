/* A step's environment: the order of its layers (core/exec_env.h), and
 * secrets in a shell script written as references to variables of the step
 * with the quoting the shell needs at each place (script_secrets.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/internal.h"
#include "exec_env.h"
#include "proc_env.h"

static void test_merge_order(void **state)
{
    (void)state;
    json_t *step = json_pack("{s:s,s:s,s:s}", "A", "step", "B", "step", "C", "step");
    struct orch_kv req[] = {{"B", "with"}, {"C", "with"}, {"D", "with"}, {"B", "with2"}};
    json_t *secret = json_pack("{s:s,s:s}", "C", "secret", "E", "secret");
    uint32_t n = 0;
    struct orch_kv *kv = oc_exec_env_merge(step, req, 4, secret, &n);
    assert_int_equal(n, 5);
    const char *want[][2] = {{"A", "step"}, {"B", "with2"}, {"C", "secret"},
                             {"D", "with"}, {"E", "secret"}};
    for (uint32_t i = 0; i < n; i++) {
        assert_string_equal(kv[i].key, want[i][0]);
        assert_string_equal(kv[i].value, want[i][1]);
    }
    free(kv);
    kv = oc_exec_env_merge(NULL, NULL, 0, NULL, &n);
    assert_non_null(kv);
    assert_int_equal(n, 0);
    free(kv);
    json_decref(step);
    json_decref(secret);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(oc_env_is_base("PATH"));
    assert_true(oc_env_is_base("LC_ALL"));
    assert_false(oc_env_is_base("LC_"));
    assert_false(oc_env_is_base("ORCH_SECRET_X"));
    assert_true(oc_env_is_secret_source("ORCH_SECRET_X"));
    assert_true(oc_env_is_secret_source("ORCH_SECRETS_DIR"));
    assert_false(oc_env_is_secret_source("ORCH_SECRETS"));
    assert_true(oc_env_is_secret_source("DATABASE_URL"));
    assert_false(oc_env_is_secret_source("DATABASE_URL_X"));
    assert_true(oc_env_name_ok("_A9"));
    assert_false(oc_env_name_ok("9A"));
    assert_false(oc_env_name_ok("A-B"));
    assert_false(oc_env_name_ok(""));
}

static int t_lookup(void *ud, const char *ns, const char *const *parts, size_t n,
                    struct oc_val *out, int *is_secret)
{
    (void)ud;
    memset(out, 0, sizeof *out);
    out->kind = OC_VAL_STR;
    if (!strcmp(ns, "secrets") && n == 1 && !strcmp(parts[0], "TOKEN")) {
        out->s = oc_xstrdup("hunter22");
        *is_secret = 1;
        return 0;
    }
    if (!strcmp(ns, "inputs") && n == 1 && !strcmp(parts[0], "name")) {
        out->s = oc_xstrdup("it's");
        return 0;
    }
    return -1;
}

static const struct oc_scope t_scope = {.lookup = t_lookup};

/* The script for in, and what secret_env holds as "K=V;" pairs. */
static void script(const char *in, const char *want, const char *want_env)
{
    json_t *env = json_object();
    char *err = NULL;
    json_t *j = oc_render_script(in, NULL, &t_scope, env, &err);
    if (!j)
        fail_msg("%s: %s", in, err);
    assert_string_equal(json_string_value(j), want);
    struct oc_buf b = {0};
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) oc_buf_addf(&b, "%s=%s;", k, json_string_value(v));
    assert_string_equal(b.data ? b.data : "", want_env);
    oc_buf_free(&b);
    json_decref(j);
    json_decref(env);
}

static void test_script_quoting(void **state)
{
    (void)state;
    const char *tok = "ORCH_SECRET_TOKEN=hunter22;";
    script("echo ${{ secrets.TOKEN }}", "echo \"${ORCH_SECRET_TOKEN}\"", tok);
    script("echo \"x${{ secrets.TOKEN }}\"", "echo \"x${ORCH_SECRET_TOKEN}\"", tok);
    script("echo 'x${{ secrets.TOKEN }}'", "echo 'x'\"${ORCH_SECRET_TOKEN}\"''", tok);
    script("echo \"'${{ secrets.TOKEN }}'\"", "echo \"'${ORCH_SECRET_TOKEN}'\"", tok);
    script("echo \"$(echo '${{ secrets.TOKEN }}')\"",
           "echo \"$(echo ''\"${ORCH_SECRET_TOKEN}\"'')\"", tok);
    script("echo `echo \"${{ secrets.TOKEN }}\"`", "echo `echo \"${ORCH_SECRET_TOKEN}\"`", tok);
    script("echo \\'${{ secrets.TOKEN }}", "echo \\'\"${ORCH_SECRET_TOKEN}\"", tok);
    /* A quote in a comment or a pasted input is what the shell reads. */
    script("# it's\necho ${{ secrets.TOKEN }}", "# it's\necho \"${ORCH_SECRET_TOKEN}\"", tok);
    script("echo a#b'${{ secrets.TOKEN }}'", "echo a#b''\"${ORCH_SECRET_TOKEN}\"''", tok);
    script("echo '${{ inputs.name }} ${{ secrets.TOKEN }}'",
           "echo 'it's \"${ORCH_SECRET_TOKEN}\"'", tok);
    /* Here-documents: an expanding one takes ${V}; after one ends, plain text. */
    script("cat <<EOF\nk=${{ secrets.TOKEN }}\nEOF\n",
           "cat <<EOF\nk=${ORCH_SECRET_TOKEN}\nEOF\n", tok);
    script("cat <<-'EOF'\n\tit's\n\tEOF\necho ${{ secrets.TOKEN }}",
           "cat <<-'EOF'\n\tit's\n\tEOF\necho \"${ORCH_SECRET_TOKEN}\"", tok);
    /* Compound expressions: a generated name, one per distinct value. */
    script("a=${{ format('{0}!', secrets.TOKEN) }} b=${{ format('{0}!', secrets.TOKEN) }} "
           "c=${{ format('<{0}>', secrets.TOKEN) }}",
           "a=\"${ORCH_EXPR_1}\" b=\"${ORCH_EXPR_1}\" c=\"${ORCH_EXPR_2}\"",
           "ORCH_EXPR_1=hunter22!;ORCH_EXPR_2=<hunter22>;");
    script("echo ${{ inputs.name }}", "echo it's", "");
}

static void test_script_quoted_heredoc_refused(void **state)
{
    (void)state;
    json_t *env = json_object();
    char *err = NULL;
    assert_null(oc_render_script("cat <<'EOF'\n${{ secrets.TOKEN }}\nEOF\n", NULL, &t_scope, env,
                                 &err));
    assert_non_null(strstr(err, "quoted here-document"));
    free(err);
    err = NULL;
    assert_null(oc_render_script("cat <<\"E\"O\n${{ secrets.TOKEN }}\nEO\n", NULL, &t_scope, env,
                                 &err));
    free(err);
    json_decref(env);
}

/* A secret's reference is shell syntax: refused where no POSIX shell runs
 * the script (shell: python3, a command line of another program), passed
 * where one does, whatever its path or options. */
static void test_script_secret_needs_posix_shell(void **state)
{
    (void)state;
    static const char *const refused[] = {"python3", "perl {0}", "/usr/bin/node {0}",
                                          "${{ inputs.sh }} {0}", "shx {0}"};
    static const char *const passed[] = {"sh", "bash", "/bin/dash -e {0}", "  zsh {0}",
                                         "bash --noprofile --norc -eo pipefail {0}"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        json_t *env = json_object();
        char *err = NULL;
        assert_null(oc_render_script("print('${{ secrets.TOKEN }}')", refused[i], &t_scope,
                                     env, &err));
        assert_non_null(strstr(err, "env:"));
        assert_int_equal(json_object_size(env), 0);
        free(err);
        /* No secret: nothing to pass, the text is the script's. */
        json_t *j = oc_render_script("print('${{ inputs.name }}')", refused[i], &t_scope, env,
                                     &err);
        assert_non_null(j);
        json_decref(j);
        json_decref(env);
    }
    for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++) {
        json_t *env = json_object();
        char *err = NULL;
        json_t *j = oc_render_script("echo ${{ secrets.TOKEN }}", passed[i], &t_scope, env,
                                     &err);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), "echo \"${ORCH_SECRET_TOKEN}\"");
        json_decref(j);
        json_decref(env);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_order),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_script_quoting),
        cmocka_unit_test(test_script_quoted_heredoc_refused),
        cmocka_unit_test(test_script_secret_needs_posix_shell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
