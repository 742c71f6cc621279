/* SPDX-License-Identifier: MIT */
/* test-schedule.c — a schedule's rules as pure functions of a clock: the next run of
 * every and cron schedules, which missed runs fire (catch_up none, one, all, and the bound
 * of all), the overlap rules, and the every durations. */
#include <check.h>

#include "check-run.h"
#include "macro.h"
#include "schedule.h"

static const double T0 = 1796385600.0; /* 2026-12-04T12:00:00Z */

static ScheduleTiming every(double seconds, double anchor) {
        return (ScheduleTiming){ .every_ms = (uint64_t) (seconds * 1000), .anchor = anchor };
}

START_TEST(test_next_every) {
        ScheduleTiming t = every(10, T0);
        double next = 0;

        ck_assert_int_eq(schedule_next_at(&t, T0 - 100, &next), 0);
        ck_assert_double_eq(next, T0); /* not before its anchor */
        ck_assert_int_eq(schedule_next_at(&t, T0, &next), 0);
        ck_assert_double_eq(next, T0);
        ck_assert_int_eq(schedule_next_at(&t, T0 + 0.5, &next), 0);
        ck_assert_double_eq(next, T0 + 10);
        ck_assert_int_eq(schedule_next_at(&t, T0 + 95, &next), 0);
        ck_assert_double_eq(next, T0 + 100);
}
END_TEST

START_TEST(test_next_cron) {
        ScheduleTiming t = { .cron_set = true, .anchor = T0 + 3600 };
        const char *field;
        double next = 0;

        ck_assert_int_eq(cron_parse("*/30 * * * *", &t.cron, &field), 0);
        /* The anchor (start_at) first; a whole minute at the anchor counts. */
        ck_assert_int_eq(schedule_next_at(&t, T0, &next), 0);
        ck_assert_double_eq(next, T0 + 3600);
        ck_assert_int_eq(schedule_next_at(&t, T0 + 3600.5, &next), 0);
        ck_assert_double_eq(next, T0 + 5400);
}
END_TEST

/* Down from T0 + 10 to T0 + 65 (due at 10, 20 ... 60): what each catch_up fires. */
START_TEST(test_plan_catch_up) {
        ScheduleTiming t = every(10, T0);
        double times[SCHEDULE_CATCH_UP_MAX];
        SchedulePlan p;

        ck_assert_int_eq(schedule_plan(&t, SCHEDULE_CATCH_UP_ALL, T0 + 10, T0 + 65, times, 100, &p), 0);
        ck_assert_uint_eq(p.n, 6);
        ck_assert_uint_eq(p.missed, 0);
        for (size_t i = 0; i < 6; i++)
                ck_assert_double_eq(times[i], T0 + 10 * (double) (i + 1));
        ck_assert_double_eq(p.next, T0 + 70);

        ck_assert_int_eq(schedule_plan(&t, SCHEDULE_CATCH_UP_ONE, T0 + 10, T0 + 65, times, 100, &p), 0);
        ck_assert_uint_eq(p.n, 1);
        ck_assert_double_eq(times[0], T0 + 60);
        ck_assert_uint_eq(p.missed, 5);

        /* none: the latest run is 5 s late, on time: it fires, the 5 before are missed. */
        ck_assert_int_eq(schedule_plan(&t, SCHEDULE_CATCH_UP_NONE, T0 + 10, T0 + 65, times, 100, &p), 0);
        ck_assert_uint_eq(p.n, 1);
        ck_assert_double_eq(times[0], T0 + 60);
        ck_assert_uint_eq(p.missed, 5);

        /* ... and when even the latest is later than SCHEDULE_ON_TIME_S, nothing fires. */
        t = every(60, T0);
        ck_assert_int_eq(schedule_plan(&t, SCHEDULE_CATCH_UP_NONE, T0 + 60, T0 + 645, times, 100, &p), 0);
        ck_assert_uint_eq(p.n, 0);
        ck_assert_uint_eq(p.missed, 10);
        ck_assert_double_eq(p.next, T0 + 660);

        /* Nothing due yet. */
        ck_assert_int_eq(schedule_plan(&t, SCHEDULE_CATCH_UP_ALL, T0 + 60, T0 + 30, times, 100, &p), 0);
        ck_assert_uint_eq(p.n, 0);
        ck_assert_uint_eq(p.missed, 0);
        ck_assert_double_eq(p.next, T0 + 60);
}
END_TEST

/* A day down with a 1 s schedule: all fires the last SCHEDULE_CATCH_UP_MAX, the rest are
 * counted missed (without walking them one by one). */
START_TEST(test_plan_all_is_bounded) {
        ScheduleTiming t = every(1, T0);
        double times[SCHEDULE_CATCH_UP_MAX];
        SchedulePlan p;

        ck_assert_int_eq(schedule_plan(&t, SCHEDULE_CATCH_UP_ALL, T0, T0 + 86400.5, times, 100, &p), 0);
        ck_assert_uint_eq(p.n, SCHEDULE_CATCH_UP_MAX);
        ck_assert_uint_eq(p.missed + p.n, 86401);
        ck_assert_double_eq_tol(times[p.n - 1], T0 + 86400, 1e-6);
        ck_assert_double_eq_tol(times[0], T0 + 86400 - (SCHEDULE_CATCH_UP_MAX - 1), 1e-6);
        ck_assert_double_eq_tol(p.next, T0 + 86401, 1e-6);
}
END_TEST

START_TEST(test_overlap) {
        ScheduleOverlapDecision d;

        /* The previous run finished: one fires (n runs due together fire once). */
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_SKIP, 1, false, false);
        ck_assert(d.fire == 1 && !d.hold && d.skipped == 0);
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_QUEUE, 3, false, false);
        ck_assert(d.fire == 1 && !d.hold && d.skipped == 2);
        /* Still running. */
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_SKIP, 1, true, false);
        ck_assert(d.fire == 0 && !d.hold && d.skipped == 1);
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_QUEUE, 1, true, false);
        ck_assert(d.fire == 0 && d.hold && d.skipped == 0);
        /* queue holds at most one. */
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_QUEUE, 1, true, true);
        ck_assert(d.fire == 0 && !d.hold && d.skipped == 1);
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_QUEUE, 4, true, false);
        ck_assert(d.fire == 0 && d.hold && d.skipped == 3);
        /* allow: every due run, running or not. */
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_ALLOW, 4, true, false);
        ck_assert(d.fire == 4 && !d.hold && d.skipped == 0);
        d = schedule_overlap_decide(SCHEDULE_OVERLAP_ALLOW, 0, true, false);
        ck_assert(d.fire == 0 && d.skipped == 0);
}
END_TEST

START_TEST(test_every_and_names) {
        uint64_t ms = 0;
        ScheduleOverlap o;
        ScheduleCatchUp c;

        ck_assert_int_eq(schedule_parse_every("30s", &ms), 0);
        ck_assert_uint_eq(ms, 30000);
        ck_assert_int_eq(schedule_parse_every("1.5", &ms), 0);
        ck_assert_uint_eq(ms, 1500);
        ck_assert_int_eq(schedule_parse_every("5m", &ms), 0);
        ck_assert_uint_eq(ms, 300000);
        ck_assert_int_eq(schedule_parse_every("2h", &ms), 0);
        ck_assert_uint_eq(ms, 7200000);
        ck_assert_int_eq(schedule_parse_every("1d", &ms), 0);
        ck_assert_uint_eq(ms, 86400000);
        ck_assert_int_eq(schedule_parse_every("0.5s", &ms), 0); /* the API refuses < 1 s */
        ck_assert_uint_eq(ms, 500);
        ck_assert_int_eq(schedule_parse_every("-1s", &ms), -EINVAL);
        ck_assert_int_eq(schedule_parse_every("10x", &ms), -EINVAL);
        ck_assert_int_eq(schedule_parse_every("10ss", &ms), -EINVAL);
        ck_assert_int_eq(schedule_parse_every("", &ms), -EINVAL);
        ck_assert_int_eq(schedule_parse_every("nan", &ms), -EINVAL);

        ck_assert_int_eq(schedule_overlap_from_string("queue", &o), 0);
        ck_assert_int_eq(o, SCHEDULE_OVERLAP_QUEUE);
        ck_assert_int_eq(schedule_overlap_from_string("sometimes", &o), -EINVAL);
        ck_assert_int_eq(schedule_catch_up_from_string("all", &c), 0);
        ck_assert_str_eq(schedule_catch_up_to_string(c), "all");
        ck_assert_int_eq(schedule_catch_up_from_string("true", &c), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("schedule");
        TCase *tc = tcase_create("schedule");

        tcase_add_test(tc, test_next_every);
        tcase_add_test(tc, test_next_cron);
        tcase_add_test(tc, test_plan_catch_up);
        tcase_add_test(tc, test_plan_all_is_bounded);
        tcase_add_test(tc, test_overlap);
        tcase_add_test(tc, test_every_and_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
