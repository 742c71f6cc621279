/* SPDX-License-Identifier: MIT */
/* test-supervisor-podman.c — Podman version parsing and comparison, and the
 * fork/exec runner (with /bin/sh standing in for podman). */
#include <check.h>
#include <stdlib.h>

#include "check-run.h"
#include "podman.h"

START_TEST(test_version_parse) {
        PodmanVersion v;

        ck_assert_int_eq(podman_version_parse("4.3.1", &v), 0);
        ck_assert_uint_eq(v.major, 4);
        ck_assert_uint_eq(v.minor, 3);
        ck_assert_uint_eq(v.patch, 1);
        ck_assert(!v.prerelease);
        ck_assert_int_eq(podman_version_parse("5.0.0-rc1\n", &v), 0);
        ck_assert_uint_eq(v.major, 5);
        ck_assert_uint_eq(v.patch, 0);
        ck_assert(v.prerelease);
        ck_assert_int_eq(podman_version_parse("5.2", &v), 0);
        ck_assert_uint_eq(v.minor, 2);
        ck_assert_uint_eq(v.patch, 0);

        const char *bad[] = { "",           "garbage", "4",      "4.",           "4.x",
                              "4.3.1 junk", "-1.2.3",  "4.3.1-", "99999999.1.1", NULL };
        for (size_t i = 0; bad[i]; i++)
                ck_assert_msg(podman_version_parse(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
        ck_assert_int_eq(podman_version_parse(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_version_compare) {
        PodmanVersion a, b, rc, v5;

        ck_assert_int_eq(podman_version_parse("4.3.1", &a), 0);
        ck_assert_int_eq(podman_version_parse("4.10.0", &b), 0);
        ck_assert_int_eq(podman_version_parse("5.0.0-rc1", &rc), 0);
        ck_assert_int_eq(podman_version_parse("5.0.0", &v5), 0);
        ck_assert_int_lt(podman_version_compare(&a, &b), 0); /* numeric, not lexical */
        ck_assert_int_gt(podman_version_compare(&b, &a), 0);
        ck_assert_int_lt(podman_version_compare(&rc, &v5), 0);
        ck_assert_int_eq(podman_version_compare(&v5, &v5), 0);
        ck_assert(!podman_version_at_least(&a, 5, 0));
        ck_assert(!podman_version_at_least(&b, 5, 0));
        ck_assert(podman_version_at_least(&rc, 5, 0));
        ck_assert(podman_version_at_least(&v5, 5, 0));
        ck_assert(podman_version_at_least(&a, 4, 3));
        ck_assert(!podman_version_at_least(&a, 4, 4));
}
END_TEST

START_TEST(test_run) {
        char *const ok[] = { (char *) "-c", (char *) "echo out; echo err >&2; pwd", NULL };
        char *const fails[] = { (char *) "-c", (char *) "exit 7", NULL };
        _cleanup_free_ char *out = NULL, *err = NULL;
        int status = -1;

        ck_assert_int_eq(podman_run("/bin/sh", ok, "/tmp", &status, &out, &err), 0);
        ck_assert_int_eq(status, 0);
        ck_assert_str_eq(out, "out\n/tmp\n");
        ck_assert_str_eq(err, "err\n");
        ck_assert_int_eq(podman_run("/bin/sh", fails, NULL, &status, NULL, NULL), 0);
        ck_assert_int_eq(status, 7);
        ck_assert_int_eq(podman_run("/nonexistent/podman", fails, NULL, &status, NULL, NULL), 0);
        ck_assert_int_eq(status, 127);
}
END_TEST

START_TEST(test_detect_with_fake_podman) {
        PodmanVersion v;
        char *error = NULL;

        /* /bin/echo prints its arguments: not a version */
        ck_assert_int_eq(podman_version_detect("/bin/echo", &v, &error), -EINVAL);
        ck_assert_int_eq(podman_version_detect("/bin/false", &v, &error), -EPROTO);
        free(error);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("supervisor-podman");
        TCase *tc = tcase_create("podman");

        tcase_add_test(tc, test_version_parse);
        tcase_add_test(tc, test_version_compare);
        tcase_add_test(tc, test_run);
        tcase_add_test(tc, test_detect_with_fake_podman);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
