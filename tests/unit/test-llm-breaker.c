/* SPDX-License-Identifier: MIT */
/* test-llm-breaker.c — closed → open after allowed_fails → half-open single trial, and
 * Retry-After opening the breaker on its own. */
#include <check.h>
#include <stdlib.h>

#include "check-run.h"
#include "llm-breaker.h"

START_TEST(test_opens_after_allowed_fails) {
        LlmBreaker b;

        llm_breaker_init(&b, 3, 5000);
        ck_assert(llm_breaker_allow(&b, 1000));
        llm_breaker_failure(&b, 1000, 0);
        llm_breaker_failure(&b, 1000, 0);
        ck_assert_int_eq(llm_breaker_state(&b, 1000), LLM_BREAKER_CLOSED);
        llm_breaker_failure(&b, 1000, 0);
        ck_assert_int_eq(llm_breaker_state(&b, 1000), LLM_BREAKER_OPEN);
        ck_assert(!llm_breaker_allow(&b, 2000));
        ck_assert_uint_eq(llm_breaker_wait_ms(&b, 2000), 4000);
        llm_breaker_done(&b);
}
END_TEST

START_TEST(test_half_open_single_trial) {
        LlmBreaker b;

        llm_breaker_init(&b, 1, 1000);
        llm_breaker_failure(&b, 0, 0);
        ck_assert(!llm_breaker_allow(&b, 999));
        ck_assert(llm_breaker_allow(&b, 1000)); /* the trial */
        ck_assert_int_eq(llm_breaker_state(&b, 1000), LLM_BREAKER_HALF_OPEN);
        ck_assert(!llm_breaker_allow(&b, 1001)); /* only one at a time */
        llm_breaker_failure(&b, 1100, 0);        /* trial failed: open again */
        ck_assert_int_eq(llm_breaker_state(&b, 1100), LLM_BREAKER_OPEN);
        ck_assert(llm_breaker_allow(&b, 2100));
        llm_breaker_success(&b);
        ck_assert_int_eq(llm_breaker_state(&b, 2100), LLM_BREAKER_CLOSED);
        ck_assert(llm_breaker_allow(&b, 2100));
        ck_assert(llm_breaker_allow(&b, 2100));
        llm_breaker_done(&b);
}
END_TEST

START_TEST(test_release_frees_the_trial) {
        LlmBreaker b;

        llm_breaker_init(&b, 1, 10);
        llm_breaker_failure(&b, 0, 0);
        ck_assert(llm_breaker_allow(&b, 10));
        llm_breaker_release(&b); /* e.g. the client went away */
        ck_assert(llm_breaker_allow(&b, 11));
        llm_breaker_done(&b);
}
END_TEST

START_TEST(test_retry_after_opens_at_once) {
        LlmBreaker b;

        llm_breaker_init(&b, 100, 5000);
        llm_breaker_failure(&b, 0, 1500);
        ck_assert_int_eq(llm_breaker_state(&b, 10), LLM_BREAKER_OPEN);
        ck_assert_uint_eq(llm_breaker_wait_ms(&b, 500), 1000);
        ck_assert(llm_breaker_allow(&b, 1500));
        llm_breaker_done(&b);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-breaker");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_opens_after_allowed_fails);
        tcase_add_test(tc, test_half_open_single_trial);
        tcase_add_test(tc, test_release_frees_the_trial);
        tcase_add_test(tc, test_retry_after_opens_at_once);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
