/* SPDX-License-Identifier: MIT */
/* test-uuid.c — shape, version and variant of our RFC 9562 ids; v7 sorts by time. */
#include <check.h>
#include <ctype.h>
#include <sys/wait.h>
#include <time.h>

#include "check-run.h"
#include "uuid.h"

static void assert_shape(const char *s, char version) {
        ck_assert_uint_eq(strlen(s), 36);
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        ck_assert_int_eq(s[i], '-');
                else
                        ck_assert_msg(
                                isxdigit((unsigned char) s[i]) && !isupper((unsigned char) s[i]), "%s", s);
        }
        ck_assert_int_eq(s[14], version);
        ck_assert_ptr_nonnull(strchr("89ab", s[19]));
}

START_TEST(test_v4) {
        char a[UUID_STRING_MAX], b[UUID_STRING_MAX];

        ck_assert_int_eq(uuid_v4_string(a), 0);
        ck_assert_int_eq(uuid_v4_string(b), 0);
        assert_shape(a, '4');
        assert_shape(b, '4');
        ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_v7_sorts_by_time) {
        char a[UUID_STRING_MAX], b[UUID_STRING_MAX];
        struct timespec pause = { .tv_nsec = 2 * 1000 * 1000 };

        ck_assert_int_eq(uuid_v7_string(a), 0);
        nanosleep(&pause, NULL);
        ck_assert_int_eq(uuid_v7_string(b), 0);
        assert_shape(a, '7');
        assert_shape(b, '7');
        ck_assert_int_lt(strcmp(a, b), 0);
}
END_TEST

/* Random bytes come from a per-thread pool: across refills ids stay distinct, and a
 * forked child draws fresh bytes rather than the ones its parent will use next. */
START_TEST(test_v4_pool_and_fork) {
        char ids[100][UUID_STRING_MAX], mine[UUID_STRING_MAX], child[UUID_STRING_MAX] = "";
        int p[2], status;
        pid_t pid;

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                ck_assert_int_eq(uuid_v4_string(ids[i]), 0);
                for (size_t j = 0; j < i; j++)
                        ck_assert_str_ne(ids[i], ids[j]);
        }
        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char c[UUID_STRING_MAX];
                _exit(uuid_v4_string(c) < 0 || write(p[1], c, sizeof(c)) != (ssize_t) sizeof(c));
        }
        ck_assert_int_eq(uuid_v4_string(mine), 0);
        ck_assert_int_eq(read(p[0], child, sizeof(child)), (ssize_t) sizeof(child));
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        assert_shape(child, '4');
        ck_assert_str_ne(mine, child);
        close(p[0]);
        close(p[1]);
}
END_TEST

int main(void) {
        Suite *s = suite_create("uuid");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_v4);
        tcase_add_test(tc, test_v7_sorts_by_time);
        tcase_add_test(tc, test_v4_pool_and_fork);
        suite_add_tcase(s, tc);
        return check_run(s);
}
