/* SPDX-License-Identifier: MIT */
/* test-supervisor-heal.c — start limit, backoff schedule and reset of the self-healing policy
 * (the backoff itself: test-backoff.c). */
#include <check.h>
#include <stdlib.h>

#include "check-run.h"
#include "heal.h"

START_TEST(test_limit) {
        HealState h = {};
        uint64_t now = 1000;

        /* first restart at once, then 1, 2, 4 s apart */
        ck_assert_int_eq(heal_decide(&h, now, 3), HEAL_RESTART);
        heal_restarted(&h, now, 1000, 60000);
        ck_assert_int_eq(heal_decide(&h, now + 999, 3), HEAL_WAIT);
        ck_assert_int_eq(heal_decide(&h, now + 1000, 3), HEAL_RESTART);
        heal_restarted(&h, now + 1000, 1000, 60000);
        ck_assert_int_eq(heal_decide(&h, now + 2999, 3), HEAL_WAIT);
        ck_assert_int_eq(heal_decide(&h, now + 3000, 3), HEAL_RESTART);
        heal_restarted(&h, now + 3000, 1000, 60000);
        /* limit reached: give up once, then only wait */
        ck_assert_int_eq(heal_decide(&h, now + 100000, 3), HEAL_GIVE_UP);
        ck_assert(h.gave_up);
        ck_assert_int_eq(heal_decide(&h, now + 200000, 3), HEAL_WAIT);
        /* health does not undo a give-up; an operator does */
        heal_healthy(&h, now + 300000, 1000);
        heal_healthy(&h, now + 400000, 1000);
        ck_assert(h.gave_up);
        heal_reset(&h);
        ck_assert_int_eq(heal_decide(&h, now + 400001, 3), HEAL_RESTART);
}
END_TEST

START_TEST(test_stable_reset) {
        HealState h = {};

        heal_restarted(&h, 0, 1000, 60000);
        heal_restarted(&h, 1000, 1000, 60000);
        ck_assert_uint_eq(h.attempts, 2);
        heal_healthy(&h, 5000, 60000);
        heal_healthy(&h, 30000, 60000);
        ck_assert_uint_eq(h.attempts, 2);
        heal_unhealthy(&h); /* a flap restarts the stability clock */
        heal_healthy(&h, 40000, 60000);
        heal_healthy(&h, 99999, 60000);
        ck_assert_uint_eq(h.attempts, 2);
        heal_healthy(&h, 100000, 60000);
        ck_assert_uint_eq(h.attempts, 0);
        ck_assert_int_eq(heal_decide(&h, 100000, 3), HEAL_RESTART);
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-heal");
        TCase *tc = tcase_create("heal");

        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_stable_reset);
        suite_add_tcase(s, tc);
        return check_run(s);
}
