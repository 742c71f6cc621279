/* SPDX-License-Identifier: MIT */
/* test-backoff.c — the exponential ceiling (the supervisor's restart and alert delays),
 * full jitter (the orchestrator's retries) and equal jitter (the llm's retries). */
#include <check.h>

#include "backoff.h"
#include "check-run.h"
#include "macro.h"

/* The supervisor's restart delays: base * 2^attempt, capped. */
START_TEST(test_exponential) {
        ck_assert_uint_eq(backoff_exponential_ms(0, 2000, 60000), 2000);
        ck_assert_uint_eq(backoff_exponential_ms(1, 2000, 60000), 4000);
        ck_assert_uint_eq(backoff_exponential_ms(4, 2000, 60000), 32000);
        ck_assert_uint_eq(backoff_exponential_ms(5, 2000, 60000), 60000);
        ck_assert_uint_eq(backoff_exponential_ms(200, 2000, 60000), 60000);
}
END_TEST

/* No cap (the alert sinks): the doubling saturates instead of wrapping around. */
START_TEST(test_exponential_uncapped) {
        ck_assert_uint_eq(backoff_exponential_ms(3, 1000, UINT64_MAX), 8000);
        ck_assert_uint_eq(backoff_exponential_ms(63, 1, UINT64_MAX), UINT64_C(1) << 63);
        ck_assert_uint_eq(backoff_exponential_ms(64, 1, UINT64_MAX), UINT64_MAX);
        ck_assert_uint_eq(backoff_exponential_ms(1000, 3, UINT64_MAX), UINT64_MAX);
}
END_TEST

START_TEST(test_full_jitter_bounds) {
        /* The ceiling doubles per attempt up to the cap; the delay is uniform below it. */
        ck_assert_uint_eq(backoff_full_jitter_ms(0, 50, 1000, UINT64_MAX - 1), (UINT64_MAX - 1) % 51);
        for (unsigned a = 0; a < 20; a++) {
                uint64_t ceiling = MIN((uint64_t) 50 << MIN(a, 30u), (uint64_t) 1000);

                for (uint64_t rnd = 0; rnd < 5000; rnd += 7)
                        ck_assert_uint_le(backoff_full_jitter_ms(a, 50, 1000, rnd * 2654435761u), ceiling);
                ck_assert_uint_eq(backoff_full_jitter_ms(a, 50, 1000, ceiling), ceiling);
                ck_assert_uint_eq(backoff_full_jitter_ms(a, 50, 1000, ceiling + 1), 0);
        }
        ck_assert_uint_eq(backoff_full_jitter_ms(3, 0, 1000, 12345), 0);
}
END_TEST

/* Half the ceiling is fixed: 100 ms doubling to a 2 s cap waits 50..100, 100..200, ... 1000..2000. */
START_TEST(test_equal_jitter_bounds) {
        for (unsigned a = 0; a < 12; a++) {
                uint64_t ceiling = MIN((uint64_t) 100 << a, (uint64_t) 2000);

                for (uint64_t rnd = 0; rnd < 5000; rnd += 7) {
                        uint64_t d = backoff_equal_jitter_ms(a, 100, 2000, rnd * 2654435761u);

                        ck_assert_uint_ge(d, ceiling / 2);
                        ck_assert_uint_le(d, ceiling);
                }
                ck_assert_uint_eq(backoff_equal_jitter_ms(a, 100, 2000, 0), ceiling / 2);
                ck_assert_uint_eq(backoff_equal_jitter_ms(a, 100, 2000, ceiling / 2), ceiling);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("backoff");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_exponential);
        tcase_add_test(tc, test_exponential_uncapped);
        tcase_add_test(tc, test_full_jitter_bounds);
        tcase_add_test(tc, test_equal_jitter_bounds);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
