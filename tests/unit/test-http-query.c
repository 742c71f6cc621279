/* SPDX-License-Identifier: MIT */
/* test-http-query.c — one value by key (raw, truncation told; decoded, strictly), every pair
 * in order, and the strict and the lenient percent-decoding. */
#include <check.h>
#include <errno.h>

#include "check-run.h"
#include "http-query.h"
#include "macro.h"

START_TEST(test_get) {
        char buf[8];

        ck_assert_int_eq(http_query_get("a=1&status=done&b=2", "status", buf, sizeof(buf)), 1);
        ck_assert_str_eq(buf, "done");
        ck_assert_int_eq(http_query_get("a=1&b=2", "status", buf, sizeof(buf)), 0);
        ck_assert_int_eq(http_query_get(NULL, "status", buf, sizeof(buf)), 0);
        ck_assert_int_eq(http_query_get("", "status", buf, sizeof(buf)), 0);
        /* a bare key, a longer or shorter key: absent */
        ck_assert_int_eq(http_query_get("status&statusx=1&statu=2", "status", buf, sizeof(buf)), 0);
        /* the first one wins; empty pairs are skipped; raw, not decoded */
        ck_assert_int_eq(http_query_get("&&k=%41+b&k=2", "k", buf, sizeof(buf)), 1);
        ck_assert_str_eq(buf, "%41+b");
        ck_assert_int_eq(http_query_get("k=", "k", buf, sizeof(buf)), 1);
        ck_assert_str_eq(buf, "");
        /* too long: told, and what fits is there */
        ck_assert_int_eq(http_query_get("k=12345678", "k", buf, sizeof(buf)), -ENOBUFS);
        ck_assert_str_eq(buf, "1234567");
        ck_assert_int_eq(http_query_get("k=1234567", "k", buf, sizeof(buf)), 1);
}
END_TEST

START_TEST(test_unescape) {
        char buf[16], inplace[] = "a%20b+c";

        ck_assert_int_eq(http_query_unescape("a%41%2b+", 8, HTTP_QUERY_STRICT, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "aA++");
        ck_assert_int_eq(http_query_unescape("a%41%2b+", 8, HTTP_QUERY_PLUS_IS_SPACE, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "aA+ ");
        /* strict: a bad escape or a NUL is an error */
        ck_assert_int_eq(http_query_unescape("%zz", 3, HTTP_QUERY_STRICT, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(http_query_unescape("%4", 2, HTTP_QUERY_STRICT, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(http_query_unescape("a%00", 4, HTTP_QUERY_STRICT, buf, sizeof(buf)), -EINVAL);
        /* lenient: a bad escape stays as written, %00 ends the string */
        ck_assert_int_eq(http_query_unescape("%zz%4", 5, 0, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "%zz%4");
        ck_assert_int_eq(http_query_unescape("a%00b", 5, 0, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "a");
        /* only len bytes are read */
        ck_assert_int_eq(http_query_unescape("ab%41", 3, 0, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "ab%");
        /* the result and its NUL must fit */
        ck_assert_int_eq(http_query_unescape("abcd", 4, 0, buf, 4), -ENOBUFS);
        ck_assert_int_eq(http_query_unescape("%41%42%43", 9, 0, buf, 4), 0);
        ck_assert_str_eq(buf, "ABC");
        /* in place */
        ck_assert_int_eq(
                http_query_unescape(
                        inplace, strlen(inplace), HTTP_QUERY_PLUS_IS_SPACE, inplace, sizeof(inplace)),
                0);
        ck_assert_str_eq(inplace, "a b c");
}
END_TEST

START_TEST(test_get_decoded) {
        char buf[16], q[600], out[600];

        ck_assert_int_eq(http_query_get_decoded("p=key%3Aci-bot&x=1", "p", buf, sizeof(buf)), 1);
        ck_assert_str_eq(buf, "key:ci-bot");
        ck_assert_int_eq(
                http_query_get_decoded("since=2026-01-01T00:00:00+01:00", "since", q, sizeof(q)), 1);
        ck_assert_str_eq(q, "2026-01-01T00:00:00+01:00"); /* "+" stays */
        ck_assert_int_eq(http_query_get_decoded("x=1", "p", buf, sizeof(buf)), 0);
        ck_assert_int_eq(http_query_get_decoded("p=%zz", "p", buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(http_query_get_decoded("p=a%00b", "p", buf, sizeof(buf)), -EINVAL);
        /* too long for buf, or over the 511 bytes read as written: never decoded cut short */
        ck_assert_int_eq(http_query_get_decoded("p=0123456789abcdefXYZ", "p", buf, sizeof(buf)), -EINVAL);
        snprintf(q, sizeof(q), "p=%0520d", 0);
        ck_assert_int_eq(http_query_get_decoded(q, "p", out, sizeof(out)), -EINVAL);
}
END_TEST

START_TEST(test_next) {
        const char *q = "level=ERROR&&since=2026-01-31T12%3A00%3A00Z&bare&a+b=c+d&=x";
        static const char *const want[][2] = {
                { "level", "ERROR" }, { "since", "2026-01-31T12:00:00Z" }, { "bare", "" }, { "a b", "c d" },
                { "", "x" },
        };

        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_free_ char *k = NULL, *v = NULL;

                ck_assert_int_eq(http_query_next(&q, HTTP_QUERY_PLUS_IS_SPACE, &k, &v), 1);
                ck_assert_str_eq(k, want[i][0]);
                ck_assert_str_eq(v, want[i][1]);
        }
        ck_assert_int_eq(
                http_query_next(&q, HTTP_QUERY_PLUS_IS_SPACE, &(char *){ NULL }, &(char *){ NULL }), 0);
}
END_TEST

START_TEST(test_next_strict) {
        const char *q = "a=1&b=%zz", *none = NULL;
        _cleanup_free_ char *k = NULL, *v = NULL;
        char *k2 = NULL, *v2 = NULL;

        ck_assert_int_eq(http_query_next(&q, HTTP_QUERY_STRICT, &k, &v), 1);
        ck_assert_str_eq(v, "1");
        ck_assert_int_eq(http_query_next(&q, HTTP_QUERY_STRICT, &k2, &v2), -EINVAL);
        ck_assert_ptr_null(k2);
        ck_assert_int_eq(http_query_next(&none, 0, &k2, &v2), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-query");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_get);
        tcase_add_test(tc, test_unescape);
        tcase_add_test(tc, test_get_decoded);
        tcase_add_test(tc, test_next);
        tcase_add_test(tc, test_next_strict);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
