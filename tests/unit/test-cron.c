/* SPDX-License-Identifier: MIT */
/* test-cron.c — the cron parser (fields, lists, ranges, steps, names, errors naming the
 * field) and the next matching minute (UTC, month ends, leap years, the day-field rule). */
#include <check.h>
#include <time.h>

#include "check-run.h"
#include "cron.h"
#include "macro.h"

/* Unix seconds of a UTC date. */
static int64_t utc(int y, int mon, int d, int h, int m) {
        struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = m };

        return (int64_t) timegm(&tm);
}

static int64_t next_of(const char *expr, int64_t after) {
        CronSpec c;
        const char *field;
        int64_t t = 0;

        ck_assert_msg(cron_parse(expr, &c, &field) == 0, "%s: bad %s", expr, field);
        ck_assert_int_eq(cron_next(&c, after, &t), 0);
        return t;
}

START_TEST(test_parse_fields) {
        CronSpec c;
        const char *field = "x";

        ck_assert_int_eq(cron_parse("*/15 0-3,22 1 jan-mar,DEC mon-fri", &c, &field), 0);
        ck_assert_ptr_null(field);
        ck_assert_uint_eq(c.minute, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
        ck_assert_uint_eq(c.hour, 0xfu | (1u << 22));
        ck_assert_uint_eq(c.dom, 1u << 1);
        ck_assert_uint_eq(c.month, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
        ck_assert_uint_eq(c.dow, 0x3eu);
        ck_assert(!c.dom_any && !c.dow_any);

        /* 7 is Sunday; "a/n" runs from a to the end; tabs and extra spaces separate. */
        ck_assert_int_eq(cron_parse("5/20\t*  * * 7", &c, &field), 0);
        ck_assert_uint_eq(c.minute, (1ull << 5) | (1ull << 25) | (1ull << 45));
        ck_assert_uint_eq(c.dow, 1u);
        ck_assert(c.dom_any && !c.dow_any);
        ck_assert_int_eq(cron_parse("0 0 * * 5-7", &c, &field), 0);
        ck_assert_uint_eq(c.dow, (1u << 5) | (1u << 6) | 1u);
}
END_TEST

START_TEST(test_parse_errors_name_the_field) {
        static const struct {
                const char *expr, *field;
        } cases[] = {
                { "60 * * * *", "minute" },      { "* 24 * * *", "hour" },
                { "* * 0 * *", "day of month" }, { "* * 32 * *", "day of month" },
                { "* * * 13 *", "month" },       { "* * * foo *", "month" },
                { "* * * * 8", "day of week" },  { "* * * * sun-", "day of week" },
                { "*/0 * * * *", "minute" },     { "5-1 * * * *", "minute" },
                { "1,,2 * * * *", "minute" },    { "* * * *", "cron" },
                { "* * * * * *", "cron" },       { "", "cron" },
                { "*/x * * * *", "minute" },     { "99999999999 * * * *", "minute" },
                { "* * * janu *", "month" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CronSpec c;
                const char *field = NULL;

                ck_assert_msg(
                        cron_parse(cases[i].expr, &c, &field) == -EINVAL, "%s accepted", cases[i].expr);
                ck_assert_str_eq(field, cases[i].field);
        }
}
END_TEST

START_TEST(test_next) {
        int64_t t0 = utc(2026, 12, 4, 11, 22);

        /* Strictly after: the minute itself does not count; seconds round up. */
        ck_assert_int_eq(next_of("* * * * *", t0), t0 + 60);
        ck_assert_int_eq(next_of("* * * * *", t0 + 59), t0 + 60);
        ck_assert_int_eq(next_of("*/15 * * * *", t0), utc(2026, 12, 4, 11, 30));
        ck_assert_int_eq(next_of("0 0 * * *", t0), utc(2026, 12, 5, 0, 0));
        /* Across the year, and to a leap day. */
        ck_assert_int_eq(next_of("30 6 1 jan *", t0), utc(2027, 1, 1, 6, 30));
        ck_assert_int_eq(next_of("0 12 29 feb *", t0), utc(2028, 2, 29, 12, 0));
        /* 4 Dec 2026 is a Friday: the next Monday 09:00. */
        ck_assert_int_eq(next_of("0 9 * * mon", t0), utc(2026, 12, 7, 9, 0));
        /* Both day fields restricted: either matches (the 15th or a Sunday). */
        ck_assert_int_eq(next_of("0 0 15 * sun", t0), utc(2026, 12, 6, 0, 0));
        ck_assert_int_eq(next_of("0 0 15 * sun", utc(2026, 12, 13, 1, 0)), utc(2026, 12, 15, 0, 0));
        /* Only the day of month restricted: Sundays do not count. */
        ck_assert_int_eq(next_of("0 0 15 * *", t0), utc(2026, 12, 15, 0, 0));
        /* The last minute of a day, month ends. */
        ck_assert_int_eq(next_of("59 23 31 * *", utc(2026, 11, 1, 0, 0)), utc(2026, 12, 31, 23, 59));
}
END_TEST

START_TEST(test_next_never) {
        CronSpec c;
        const char *field;
        int64_t t = 0;

        ck_assert_int_eq(cron_parse("0 0 30 feb *", &c, &field), 0);
        ck_assert_int_eq(cron_next(&c, utc(2026, 1, 1, 0, 0), &t), -ERANGE);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("cron");
        TCase *tc = tcase_create("cron");

        tcase_add_test(tc, test_parse_fields);
        tcase_add_test(tc, test_parse_errors_name_the_field);
        tcase_add_test(tc, test_next);
        tcase_add_test(tc, test_next_never);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
