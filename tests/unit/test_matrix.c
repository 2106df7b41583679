/* strategy.matrix expansion (core/matrix.h): the product in order,
 * exclude by partial match, include added where it keeps the vectors'
 * values or as a combination of its own, the limits, the bad shapes, and
 * the instance names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "matrix.h"

/* The names of the instances of "t" that matrix (JSON text) makes, joined
 * by "|"; or "error: why". */
static char *names(const char *matrix_json, size_t limit)
{
    json_t *m = json_loads(matrix_json, 0, NULL);
    assert_non_null(m);
    json_t *out;
    char *why;
    static char buf[4096];
    if (oc_matrix_expand(m, limit, &out, &why) != 0) {
        assert_null(out);
        snprintf(buf, sizeof buf, "error: %s", why);
        free(why);
    } else {
        assert_null(why);
        buf[0] = 0;
        size_t i;
        json_t *c;
        json_array_foreach(out, i, c) {
            char *id = oc_matrix_instance_id("t", c);
            strcat(buf, i ? "|" : "");
            strcat(buf, id);
            free(id);
        }
        json_decref(out);
    }
    json_decref(m);
    return buf;
}

static void t_product(void **state)
{
    (void)state;
    assert_string_equal(names("{\"os\": [\"linux\", \"mac\"], \"py\": [\"3.11\", \"3.12\"]}", 256),
                        "t (linux, 3.11)|t (linux, 3.12)|t (mac, 3.11)|t (mac, 3.12)");
    assert_string_equal(names("{\"n\": [1, 2.5, true, null, {\"a\": 1}, [1]]}", 256),
                        "t (1)|t (2.5)|t (true)|t (null)|t ({\"a\":1})|t ([1])");
    assert_string_equal(names("{\"a\": [1, 2, 3], \"b\": [\"x\"], \"c\": [true, false]}", 256),
                        "t (1, x, true)|t (1, x, false)|t (2, x, true)|t (2, x, false)|"
                        "t (3, x, true)|t (3, x, false)");
}

/* Names are keys: two combinations named alike are refused, and a string
 * with a control character is named as escaped JSON. */
static void t_names(void **state)
{
    (void)state;
    json_t *combos = json_loads("[{\"a\": \"1, 2\", \"b\": \"3\"}, {\"a\": \"1\", \"b\": \"2, 3\"}]",
                                0, NULL);
    json_t *n = NULL;
    char *why = NULL;
    assert_int_equal(oc_matrix_names("t", combos, &n, &why), -1);
    assert_null(n);
    assert_non_null(strstr(why, "'t (1, 2, 3)'"));
    free(why);
    json_decref(combos);
    combos = json_loads("[{\"a\": \"x\\u001b[2Jy\"}, {\"a\": \"l1\\nl2\"}, {\"a\": \"ok\"}]", 0, NULL);
    assert_int_equal(oc_matrix_names("t", combos, &n, &why), 0);
    assert_null(why);
    assert_string_equal(json_string_value(json_array_get(n, 0)), "t (\"x\\u001B[2Jy\")");
    assert_string_equal(json_string_value(json_array_get(n, 1)), "t (\"l1\\nl2\")");
    assert_string_equal(json_string_value(json_array_get(n, 2)), "t (ok)");
    json_decref(n);
    json_decref(combos);
}

static void t_exclude(void **state)
{
    (void)state;
    /* A partial match excludes; an entry of another value does not. */
    assert_string_equal(names("{\"os\": [\"linux\", \"mac\"], \"py\": [1, 2, 3],"
                              " \"exclude\": [{\"os\": \"mac\", \"py\": 1}, {\"py\": 3}]}",
                              256),
                        "t (linux, 1)|t (linux, 2)|t (mac, 2)");
    /* Values compare as JSON: the string "1" is not the number 1. */
    assert_string_equal(names("{\"py\": [1, 2], \"exclude\": [{\"py\": \"1\"}]}", 256),
                        "t (1)|t (2)");
    assert_string_equal(names("{\"py\": [1], \"exclude\": [{\"py\": 1}]}", 256),
                        "error: the matrix makes no instance (exclude removed every one)");
}

static void t_include(void **state)
{
    (void)state;
    /* GitHub's own example: an include keeping the vectors' values is added
     * to every combination it fits; one changing them is its own. */
    assert_string_equal(
        names("{\"fruit\": [\"apple\", \"pear\"], \"animal\": [\"cat\", \"dog\"],"
              " \"include\": [{\"color\": \"green\"}, {\"color\": \"pink\", \"animal\": \"cat\"},"
              " {\"fruit\": \"apple\", \"shape\": \"circle\"}, {\"fruit\": \"banana\"},"
              " {\"fruit\": \"banana\", \"animal\": \"cat\"}]}",
              256),
        "t (apple, cat, pink, circle)|t (apple, dog, green, circle)|t (pear, cat, pink)|"
        "t (pear, dog, green)|t (banana)|t (banana, cat)");
    /* Only include. */
    assert_string_equal(names("{\"include\": [{\"os\": \"linux\", \"arch\": \"arm\"},"
                              " {\"os\": \"mac\"}]}",
                              256),
                        "t (linux, arm)|t (mac)");
    /* Include after exclude: an excluded combination is not brought back
     * by an include that matches it, which is a combination of its own. */
    assert_string_equal(names("{\"os\": [\"a\", \"b\"], \"exclude\": [{\"os\": \"b\"}],"
                              " \"include\": [{\"os\": \"b\", \"x\": 1}]}",
                              256),
                        "t (a)|t (b, 1)");
}

static void t_limits_and_shapes(void **state)
{
    (void)state;
    assert_string_equal(names("{\"a\": [1, 2, 3], \"b\": [1, 2, 3]}", 9),
                        "t (1, 1)|t (1, 2)|t (1, 3)|t (2, 1)|t (2, 2)|t (2, 3)|t (3, 1)|"
                        "t (3, 2)|t (3, 3)");
    assert_string_equal(names("{\"a\": [1, 2, 3], \"b\": [1, 2, 3]}", 8),
                        "error: the matrix makes 9 instances (the product of its lists); the "
                        "limit is 8");
    /* Keys are read as matrix.KEY: odd characters are refused by name. */
    assert_string_equal(names("{\"a b\": [1]}", 8),
                        "error: matrix key 'a b' may only use letters, digits, '_' and '-', "
                        "starting with a letter or '_' (it is read as matrix.KEY)");
    assert_string_equal(names("{\"1a\": [1], \"b\": [2]}", 8),
                        "error: matrix key '1a' may only use letters, digits, '_' and '-', "
                        "starting with a letter or '_' (it is read as matrix.KEY)");
    assert_string_equal(names("{\"py\": [3.12, 2.5]}", 8), "t (3.12)|t (2.5)");
    /* A product that would overflow size_t stops at the limit. */
    char big[2048] = "{";
    for (int k = 0; k < 40; k++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"k%d\": [1, 2, 3, 4, 5]",
                 k ? ", " : "", k);
    strcat(big, "}");
    assert_string_equal(names(big, 256), "error: the matrix makes more than 256 instances (the "
                                         "product of its lists); the limit is 256");
    /* Include past the limit. */
    assert_string_equal(names("{\"a\": [1, 2], \"include\": [{\"a\": 3}]}", 2),
                        "error: the matrix makes 3 instances; the limit is 2");
    assert_string_equal(names("{\"a\": []}", 256),
                        "error: matrix 'a' must be a list of at least one value");
    assert_string_equal(names("{\"a\": \"x\"}", 256),
                        "error: matrix 'a' must be a list of at least one value");
    assert_string_equal(names("{\"a\": [1], \"include\": {\"a\": 1}}", 256),
                        "error: matrix include must be a list of mappings");
    assert_string_equal(names("{\"a\": [1], \"exclude\": [{}]}", 256),
                        "error: matrix exclude[0] must be a mapping of at least one key");
    assert_string_equal(names("{}", 256),
                        "error: matrix must be a mapping of lists (and include, exclude)");
    assert_string_equal(names("{\"exclude\": [{\"a\": 1}]}", 256),
                        "error: the matrix makes no instance (exclude removed every one)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_product),
        cmocka_unit_test(t_names),
        cmocka_unit_test(t_exclude),
        cmocka_unit_test(t_include),
        cmocka_unit_test(t_limits_and_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
