/* SPDX-License-Identifier: MIT */
/* test-time-util.c — the clock helpers agree with each other and with time(), move
 * forward, and build normalized deadlines on the clock they are asked for; RFC 3339
 * timestamps. */
#include <check.h>
#include <errno.h>
#include <time.h>

#include "check-run.h"
#include "time-util.h"

START_TEST(test_units_agree) {
        uint64_t a = time_now_usec(CLOCK_MONOTONIC);
        uint64_t ms = time_now_ms(CLOCK_MONOTONIC);
        double s = time_now_s(CLOCK_MONOTONIC);
        uint64_t b = time_now_usec(CLOCK_MONOTONIC);

        ck_assert_uint_le(a / 1000, ms);
        ck_assert_uint_le(ms, b / 1000);
        ck_assert_double_ge(s, (double) a / 1e6);
        ck_assert_double_le(s, (double) b / 1e6 + 1e-6);
}
END_TEST

START_TEST(test_realtime_is_unix_time) {
        time_t before = time(NULL);
        double s = time_now_s(CLOCK_REALTIME);
        uint64_t us = time_now_usec(CLOCK_REALTIME), ms = time_now_ms(CLOCK_REALTIME);
        time_t after = time(NULL);

        ck_assert_double_ge(s, (double) before);
        ck_assert_double_lt(s, (double) after + 1);
        ck_assert_uint_ge(us / 1000000u, (uint64_t) before);
        ck_assert_uint_le(us / 1000000u, (uint64_t) after);
        ck_assert_uint_ge(ms / 1000u, (uint64_t) before);
        ck_assert_uint_le(ms / 1000u, (uint64_t) after);
}
END_TEST

START_TEST(test_monotonic_moves_forward) {
        struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
        uint64_t t0 = time_now_ms(CLOCK_MONOTONIC);

        ck_assert_int_eq(nanosleep(&pause, NULL), 0);
        ck_assert_uint_ge(time_now_ms(CLOCK_MONOTONIC) - t0, 20);
}
END_TEST

static const uint64_t timeouts[] = { 0, 1, 999, 1000, 1001, 1500, 123456 };

START_TEST(test_deadline_on_clock) {
        static const clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME };
        uint64_t timeout = timeouts[_i];

        for (size_t c = 0; c < 2; c++) {
                uint64_t before = time_now_usec(clocks[c]);
                struct timespec ts = timespec_deadline_on(clocks[c], timeout);
                uint64_t after = time_now_usec(clocks[c]);
                uint64_t at = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;

                ck_assert_int_ge(ts.tv_nsec, 0);
                ck_assert_int_lt(ts.tv_nsec, 1000000000L);
                ck_assert_uint_ge(at, before + timeout * 1000u);
                ck_assert_uint_le(at, after + timeout * 1000u);
        }
}
END_TEST

START_TEST(test_deadline_ms_is_realtime) {
        uint64_t before = time_now_usec(CLOCK_REALTIME);
        struct timespec ts = timespec_deadline_ms(2500);
        uint64_t after = time_now_usec(CLOCK_REALTIME);
        uint64_t at = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;

        ck_assert_uint_ge(at, before + 2500000u);
        ck_assert_uint_le(at, after + 2500000u);
}
END_TEST

START_TEST(test_rfc3339) {
        char buf[32], small[32];

        ck_assert_int_eq(time_format_rfc3339(0, -1, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
        ck_assert_int_eq(time_format_rfc3339(1769860800, -1, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "2026-01-31T12:00:00Z");
        ck_assert_int_eq(time_format_rfc3339(1769860800, 7, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "2026-01-31T12:00:00.007Z");
        /* 20 bytes hold the seconds form and its NUL, not the milliseconds */
        ck_assert_int_eq(time_format_rfc3339(1769860800, -1, small, 20), -ENOBUFS);
        ck_assert_int_eq(time_format_rfc3339(1769860800, -1, small, 21), 0);
        ck_assert_int_eq(time_format_rfc3339(1769860800, 0, small, 21), -ENOBUFS);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("time-util");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_units_agree);
        tcase_add_test(tc, test_realtime_is_unix_time);
        tcase_add_test(tc, test_monotonic_moves_forward);
        tcase_add_loop_test(tc, test_deadline_on_clock, 0, (int) (sizeof(timeouts) / sizeof(timeouts[0])));
        tcase_add_test(tc, test_deadline_ms_is_realtime);
        tcase_add_test(tc, test_rfc3339);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
