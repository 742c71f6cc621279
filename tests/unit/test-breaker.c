/* SPDX-License-Identifier: MIT */
/* test-breaker.c — the one circuit breaker as the orchestrator configures it (failures
 * while open ignored, a busy half-open tells a retry time) and as the llm does (results
 * of calls in flight still count, Retry-After opens it on its own, a single trial). */
#include <check.h>
#include <errno.h>

#include "breaker.h"
#include "check-run.h"

/* ---- as the orchestrator uses it ---------------------------------------------------- */

START_TEST(test_breaker_transitions) {
        Breaker b;
        uint64_t ra = 0;

        breaker_init(&b, &(BreakerConfig){ .failure_threshold = 3, .open_ms = 1000 });
        ck_assert_int_eq(breaker_state(&b, 0), BREAKER_CLOSED);
        /* A success in between resets the count: failures must be consecutive. */
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(breaker_allow(&b, 10, NULL), 0);
                breaker_record(&b, false, 10);
        }
        ck_assert_int_eq(breaker_allow(&b, 10, NULL), 0);
        breaker_record(&b, true, 10);
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(breaker_allow(&b, 20, NULL), 0);
                breaker_record(&b, false, 20);
        }
        ck_assert_int_eq(breaker_state(&b, 20), BREAKER_CLOSED);
        ck_assert_int_eq(breaker_allow(&b, 30, NULL), 0);
        breaker_record(&b, false, 30);
        ck_assert_int_eq(breaker_state(&b, 30), BREAKER_OPEN);
        ck_assert_int_eq(breaker_allow(&b, 500, &ra), -EBUSY);
        ck_assert_uint_eq(ra, 530);
        /* After open_ms one probe goes through (half-open), a second waits. */
        ck_assert_int_eq(breaker_state(&b, 1030), BREAKER_HALF_OPEN);
        ck_assert_int_eq(breaker_allow(&b, 1030, NULL), 0);
        ck_assert_int_eq(breaker_allow(&b, 1031, NULL), -EBUSY);
        /* The probe fails: open again for a full period. */
        breaker_record(&b, false, 1040);
        ck_assert_int_eq(breaker_state(&b, 1041), BREAKER_OPEN);
        ck_assert_int_eq(breaker_allow(&b, 2000, NULL), -EBUSY);
        ck_assert_int_eq(breaker_allow(&b, 2040, NULL), 0);
        breaker_record(&b, true, 2050);
        ck_assert_int_eq(breaker_state(&b, 2050), BREAKER_CLOSED);
        ck_assert_int_eq(breaker_allow(&b, 2051, NULL), 0);
        ck_assert_str_eq(breaker_state_to_string(BREAKER_HALF_OPEN), "half_open");
        breaker_done(&b);
}
END_TEST

/* A call let through before the breaker opened changes nothing while it is open. */
START_TEST(test_late_results_ignored) {
        Breaker b;

        breaker_init(&b, &(BreakerConfig){ .failure_threshold = 1, .open_ms = 1000 });
        breaker_record(&b, false, 0);
        ck_assert_int_eq(breaker_state(&b, 10), BREAKER_OPEN);
        breaker_record(&b, true, 10);
        ck_assert_int_eq(breaker_state(&b, 10), BREAKER_OPEN);
        breaker_record(&b, false, 500);
        ck_assert_uint_eq(breaker_wait_ms(&b, 500), 500); /* not reopened from 500 */
        breaker_done(&b);
}
END_TEST

START_TEST(test_wait_and_half_open_retry) {
        Breaker b;
        uint64_t ra = 0;

        breaker_init(
                &b, &(BreakerConfig){ .failure_threshold = 1, .open_ms = 400, .half_open_wait_ms = 1000 });
        ck_assert_uint_eq(breaker_wait_ms(&b, 0), 0);
        breaker_record(&b, false, 100);
        ck_assert_uint_eq(breaker_wait_ms(&b, 100), 400);
        ck_assert_uint_eq(breaker_wait_ms(&b, 499), 1);
        ck_assert_uint_eq(breaker_wait_ms(&b, 500), 0); /* half-open: nothing to wait for */
        ck_assert_int_eq(breaker_allow(&b, 500, &ra), 0);
        ck_assert_int_eq(breaker_allow(&b, 501, &ra), -EBUSY);
        ck_assert_uint_eq(ra, 1000);
        breaker_done(&b);
}
END_TEST

/* The supervisor's notices: down opens it now for a full period, up closes it. */
START_TEST(test_force) {
        Breaker b;

        breaker_init(&b, &(BreakerConfig){ .failure_threshold = 5, .open_ms = 1000 });
        breaker_force(&b, BREAKER_OPEN, 200);
        ck_assert_int_eq(breaker_state(&b, 200), BREAKER_OPEN);
        ck_assert_uint_eq(breaker_wait_ms(&b, 200), 1000);
        breaker_force(&b, BREAKER_CLOSED, 300);
        ck_assert_int_eq(breaker_state(&b, 300), BREAKER_CLOSED);
        ck_assert_int_eq(breaker_allow(&b, 300, NULL), 0);
        breaker_done(&b);
}
END_TEST

/* Readiness seen from outside closes an open or half-open breaker at once, and leaves a
 * closed one's count of failures alone. */
START_TEST(test_recovered) {
        Breaker b;

        breaker_init(&b, &(BreakerConfig){ .failure_threshold = 2, .open_ms = 1000 });
        ck_assert_int_eq(breaker_allow(&b, 0, NULL), 0);
        breaker_record(&b, false, 0);
        ck_assert(!breaker_recovered(&b));
        ck_assert_int_eq(breaker_allow(&b, 10, NULL), 0);
        breaker_record(&b, false, 10); /* the second consecutive failure: the count was kept */
        ck_assert_int_eq(breaker_state(&b, 10), BREAKER_OPEN);
        ck_assert(breaker_recovered(&b));
        ck_assert_int_eq(breaker_state(&b, 20), BREAKER_CLOSED);
        ck_assert_int_eq(breaker_allow(&b, 20, NULL), 0);
        breaker_record(&b, false, 20); /* a fresh count: one failure does not reopen it */
        ck_assert_int_eq(breaker_state(&b, 20), BREAKER_CLOSED);
        breaker_record(&b, false, 30);
        ck_assert_int_eq(breaker_state(&b, 1030), BREAKER_HALF_OPEN);
        ck_assert(breaker_recovered(&b));
        ck_assert_int_eq(breaker_state(&b, 1030), BREAKER_CLOSED);
        breaker_done(&b);
}
END_TEST

/* ---- as the llm uses it ------------------------------------------------------------- */

static void llm_breaker_init(Breaker *b, unsigned allowed_fails, uint64_t cooldown_ms) {
        breaker_init(
                b,
                &(BreakerConfig){
                        .failure_threshold = allowed_fails, .open_ms = cooldown_ms, .late_results = true });
}

START_TEST(test_opens_after_allowed_fails) {
        Breaker b;

        llm_breaker_init(&b, 3, 5000);
        ck_assert_int_eq(breaker_allow(&b, 1000, NULL), 0);
        breaker_record_failure(&b, 1000, 0);
        breaker_record_failure(&b, 1000, 0);
        ck_assert_int_eq(breaker_state(&b, 1000), BREAKER_CLOSED);
        breaker_record_failure(&b, 1000, 0);
        ck_assert_int_eq(breaker_state(&b, 1000), BREAKER_OPEN);
        ck_assert_int_eq(breaker_allow(&b, 2000, NULL), -EBUSY);
        ck_assert_uint_eq(breaker_wait_ms(&b, 2000), 4000);
        breaker_done(&b);
}
END_TEST

START_TEST(test_half_open_single_trial) {
        Breaker b;

        llm_breaker_init(&b, 1, 1000);
        breaker_record_failure(&b, 0, 0);
        ck_assert_int_eq(breaker_allow(&b, 999, NULL), -EBUSY);
        ck_assert_int_eq(breaker_allow(&b, 1000, NULL), 0); /* the trial */
        ck_assert_int_eq(breaker_state(&b, 1000), BREAKER_HALF_OPEN);
        ck_assert_int_eq(breaker_allow(&b, 1001, NULL), -EBUSY); /* only one at a time */
        breaker_record_failure(&b, 1100, 0);                     /* trial failed: open again */
        ck_assert_int_eq(breaker_state(&b, 1100), BREAKER_OPEN);
        ck_assert_int_eq(breaker_allow(&b, 2100, NULL), 0);
        breaker_record(&b, true, 2100);
        ck_assert_int_eq(breaker_state(&b, 2100), BREAKER_CLOSED);
        ck_assert_int_eq(breaker_allow(&b, 2100, NULL), 0);
        ck_assert_int_eq(breaker_allow(&b, 2100, NULL), 0);
        breaker_done(&b);
}
END_TEST

START_TEST(test_release_frees_the_trial) {
        Breaker b;

        llm_breaker_init(&b, 1, 10);
        breaker_record_failure(&b, 0, 0);
        ck_assert_int_eq(breaker_allow(&b, 10, NULL), 0);
        breaker_release(&b); /* e.g. the client went away */
        ck_assert_int_eq(breaker_allow(&b, 11, NULL), 0);
        breaker_done(&b);
}
END_TEST

START_TEST(test_retry_after_opens_at_once) {
        Breaker b;

        llm_breaker_init(&b, 100, 5000);
        breaker_record_failure(&b, 0, 1500);
        ck_assert_int_eq(breaker_state(&b, 10), BREAKER_OPEN);
        ck_assert_uint_eq(breaker_wait_ms(&b, 500), 1000);
        ck_assert_int_eq(breaker_allow(&b, 1500, NULL), 0);
        breaker_done(&b);
}
END_TEST

/* Results of calls in flight when it opened still count: a success closes it, a failure
 * reopens it from now, and a shorter Retry-After does not cut an open period short. */
START_TEST(test_late_results_count) {
        Breaker b;

        llm_breaker_init(&b, 1, 1000);
        breaker_record_failure(&b, 0, 0);
        breaker_record_failure(&b, 600, 0);
        ck_assert_uint_eq(breaker_wait_ms(&b, 600), 1000);
        breaker_record_failure(&b, 700, 100);
        ck_assert_uint_eq(breaker_wait_ms(&b, 700), 1000);
        breaker_record(&b, true, 800);
        ck_assert_int_eq(breaker_state(&b, 800), BREAKER_CLOSED);
        breaker_done(&b);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("breaker");
        TCase *tc = tcase_create("orchestrator"), *llm = tcase_create("llm");

        tcase_add_test(tc, test_breaker_transitions);
        tcase_add_test(tc, test_late_results_ignored);
        tcase_add_test(tc, test_wait_and_half_open_retry);
        tcase_add_test(tc, test_force);
        tcase_add_test(tc, test_recovered);
        suite_add_tcase(s, tc);
        tcase_add_test(llm, test_opens_after_allowed_fails);
        tcase_add_test(llm, test_half_open_single_trial);
        tcase_add_test(llm, test_release_frees_the_trial);
        tcase_add_test(llm, test_retry_after_opens_at_once);
        tcase_add_test(llm, test_late_results_count);
        suite_add_tcase(s, llm);
        return s;
}

int main(void) {
        return check_run(suite());
}
