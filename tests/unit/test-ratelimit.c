/* SPDX-License-Identifier: MIT */
/* test-ratelimit.c — token-bucket edges: burst then refusal, Retry-After, refill at the
 * configured rate, principals independent, a full table still answering. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "check-run.h"
#include "ratelimit.h"

START_TEST(test_burst_then_refuse) {
        RateLimiter *l = NULL;
        RateLimitDecision d;

        ck_assert_int_eq(ratelimit_new(2.0, 5, &l), 0);
        for (unsigned i = 0; i < 5; i++) {
                ratelimit_take(l, "sub:alice", 100.0, &d);
                ck_assert(d.allowed);
                ck_assert_uint_eq(d.limit, 5);
                ck_assert_uint_eq(d.remaining, 4 - i);
        }
        ratelimit_take(l, "sub:alice", 100.0, &d);
        ck_assert(!d.allowed);
        ck_assert_uint_eq(d.remaining, 0);
        ck_assert_uint_eq(d.retry_after_s, 1); /* 0.5 s to the next token, rounded up */
        ck_assert_uint_eq(d.reset_s, 3);       /* 5 tokens at 2/s */
        /* Another principal is unaffected. */
        ratelimit_take(l, "addr:10.0.0.1", 100.0, &d);
        ck_assert(d.allowed);
        /* Refill: 0.4 s is not a token, 0.5 s is. */
        ratelimit_take(l, "sub:alice", 100.4, &d);
        ck_assert(!d.allowed);
        ratelimit_take(l, "sub:alice", 100.5, &d);
        ck_assert(d.allowed);
        ck_assert_uint_eq(d.remaining, 0);
        /* Long idle: back to burst, never above. */
        ratelimit_take(l, "sub:alice", 1000.0, &d);
        ck_assert(d.allowed);
        ck_assert_uint_eq(d.remaining, 4);
        /* A clock going backwards does not mint tokens. */
        ratelimit_take(l, "sub:alice", 10.0, &d);
        ck_assert_uint_eq(d.remaining, 3);
        ratelimit_free(l);
}
END_TEST

START_TEST(test_slow_rate_retry_after) {
        RateLimiter *l = NULL;
        RateLimitDecision d;

        ck_assert_int_eq(ratelimit_new(0.1, 1, &l), 0); /* one request per 10 s */
        ratelimit_take(l, "k", 0.0, &d);
        ck_assert(d.allowed);
        ratelimit_take(l, "k", 1.0, &d);
        ck_assert(!d.allowed);
        ck_assert_uint_eq(d.retry_after_s, 9);
        ck_assert_int_eq(ratelimit_new(0, 1, &l), -EINVAL);
        ck_assert_int_eq(ratelimit_new(1, 0, &l), -EINVAL);
        ratelimit_free(l);
}
END_TEST

START_TEST(test_full_table) {
        RateLimiter *l = NULL;
        RateLimitDecision d;
        char key[32];

        ck_assert_int_eq(ratelimit_new(1.0, 2, &l), 0);
        /* Many more principals than slots: every one still gets its first request. */
        for (unsigned i = 0; i < 3 * RATELIMIT_SLOTS; i++) {
                snprintf(key, sizeof(key), "addr:%u", i);
                ratelimit_take(l, key, 5.0, &d);
                ck_assert(d.allowed);
        }
        /* A drained principal survives among idle ones (full buckets are evicted first). */
        ratelimit_take(l, "sub:busy", 6.0, &d);
        ratelimit_take(l, "sub:busy", 6.0, &d);
        ratelimit_take(l, "sub:busy", 6.0, &d);
        ck_assert(!d.allowed);
        for (unsigned i = 0; i < RATELIMIT_SLOTS; i++) {
                snprintf(key, sizeof(key), "idle:%u", i);
                ratelimit_take(l, key, 6.0, &d);
        }
        ratelimit_take(l, "sub:busy", 6.0, &d);
        ck_assert(!d.allowed);
        ratelimit_free(l);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("ratelimit");
        TCase *tc = tcase_create("buckets");

        tcase_add_test(tc, test_burst_then_refuse);
        tcase_add_test(tc, test_slow_rate_retry_after);
        tcase_add_test(tc, test_full_table);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
