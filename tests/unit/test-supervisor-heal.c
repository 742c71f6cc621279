/* SPDX-License-Identifier: MIT */
/* test-supervisor-heal.c — start limit, backoff schedule and reset of the self-healing
 * policy (the backoff itself: test-backoff.c); what a check makes of a unit, and when the
 * pod is restarted (never for a saturated host). */
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

/* Five minutes of a saturated host, checked every 5 s: every unit active, every readiness
 * probe timing out (or the orchestrator not answering at all). Nothing is restarted and the
 * pod is not escalated: alive but slow is not a fault. */
START_TEST(test_saturated_host) {
        HealState units[5] = {}, pod = {};
        const HealObservation slow = { .active = true, .slow = true },
                              pod_up = { .active = true, .ready = true };

        for (uint64_t now = 0; now <= 300000; now += 5000) {
                size_t n_down = 0;

                for (size_t i = 0; i < 5; i++) {
                        HealNeed n = heal_assess(&units[i], &slow, now, 60000);

                        ck_assert_int_eq(n, HEAL_NEED_NOTHING);
                        n_down += n == HEAL_NEED_DOWN;
                }
                ck_assert_int_eq(heal_assess(&pod, &pod_up, now, 60000), HEAL_NEED_NOTHING);
                ck_assert(!heal_escalate(n_down, 3, &pod, &pod_up));
        }
}
END_TEST

/* A service that answers "not ready" is restarted alone after agent_timeout, and unready
 * services never escalate to the pod, however many; services that are down do. */
START_TEST(test_unready_and_down) {
        HealState units[5] = {}, pod = {};
        const HealObservation unready = { .active = true }, failed = { .failed = true, .down = true },
                              pod_up = { .active = true, .ready = true };
        size_t n_down = 0;

        for (size_t i = 0; i < 5; i++)
                ck_assert_int_eq(heal_assess(&units[i], &unready, 1000, 60000), HEAL_NEED_WAIT);
        for (size_t i = 0; i < 5; i++)
                ck_assert_int_eq(heal_assess(&units[i], &unready, 61000, 60000), HEAL_NEED_UNREADY);
        ck_assert(!heal_escalate(0, 3, &pod, &pod_up));

        /* three failed at once: the pod */
        for (size_t i = 0; i < 3; i++)
                n_down += heal_assess(&units[i], &failed, 62000, 60000) == HEAL_NEED_DOWN;
        ck_assert_uint_eq(n_down, 3);
        ck_assert(heal_escalate(n_down, 3, &pod, &pod_up));

        /* inactive (an operator's stop): only on the second check */
        {
                HealState h = {};
                const HealObservation inactive = { .down = true };

                ck_assert_int_eq(heal_assess(&h, &inactive, 0, 60000), HEAL_NEED_WAIT);
                ck_assert_int_eq(heal_assess(&h, &inactive, 5000, 60000), HEAL_NEED_DOWN);
        }
        /* the pod unit down for two checks */
        {
                const HealObservation pod_down = { .down = true };

                (void) heal_assess(&pod, &pod_down, 70000, 60000);
                ck_assert(!heal_escalate(0, 3, &pod, &pod_down));
                (void) heal_assess(&pod, &pod_down, 75000, 60000);
                ck_assert(heal_escalate(0, 3, &pod, &pod_down));
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-heal");
        TCase *tc = tcase_create("heal");

        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_stable_reset);
        tcase_add_test(tc, test_saturated_host);
        tcase_add_test(tc, test_unready_and_down);
        suite_add_tcase(s, tc);
        return check_run(s);
}
