/* SPDX-License-Identifier: MIT */
/* test-webhook.c — webhook signatures in both formats: valid, stale, replay, wrong secret,
 * one body byte changed, malformed headers, several v1 (rotation). */
#include <check.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "macro.h"
#include "webhook.h"

#define NOW 1800000000LL
static const char SECRET[] = "whsec-test-secret";
static const char BODY[] = "{\"type\":\"order.created\",\"id\":42}";

static void hex_mac(const char *key, const char *prefix, const char *body, char out[65]) {
        unsigned char m[32];
        unsigned len = 32;
        _cleanup_free_ char *msg = NULL;

        ck_assert_int_ge(asprintf(&msg, "%s%s", prefix, body), 0);
        HMAC(EVP_sha256(), key, (int) strlen(key), (unsigned char *) msg, strlen(msg), m, &len);
        for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", m[i]);
}

static char *hub(const char *key, const char *body) {
        char h[65], *s;
        hex_mac(key, "", body, h);
        ck_assert_int_ge(asprintf(&s, "sha256=%s", h), 0);
        return s;
}

static char *xsig(const char *key, long long t, const char *body) {
        char h[65], prefix[32], *s;
        snprintf(prefix, sizeof(prefix), "%lld.", t);
        hex_mac(key, prefix, body, h);
        ck_assert_int_ge(asprintf(&s, "t=%lld,v1=%s", t, h), 0);
        return s;
}

static WebhookVerifier *verifier_max(size_t replay_max) {
        WebhookVerifier *v = NULL;
        ck_assert_int_eq(webhook_verifier_new(SECRET, strlen(SECRET), 300, replay_max, &v), 0);
        return v;
}

static WebhookVerifier *verifier(void) {
        return verifier_max(0);
}

static WebhookResult check(WebhookVerifier *v, const char *h, const char *x, const char *body, int64_t now) {
        const char *why = NULL;
        WebhookResult r = webhook_verify(v, h, x, body, strlen(body), now, &why);
        ck_assert(r == WEBHOOK_VALID ? why == NULL : why != NULL);
        return r;
}

START_TEST(test_both_formats_valid) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier();
        _cleanup_free_ char *h = hub(SECRET, BODY), *x = xsig(SECRET, NOW - 10, BODY);

        ck_assert_int_eq(check(v, h, NULL, BODY, NOW), WEBHOOK_VALID);
        ck_assert_int_eq(check(v, NULL, x, BODY, NOW), WEBHOOK_VALID);
}
END_TEST

START_TEST(test_stale) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier();
        _cleanup_free_ char *old = xsig(SECRET, NOW - 301, BODY), *future = xsig(SECRET, NOW + 301, BODY);
        _cleanup_free_ char *edge = xsig(SECRET, NOW - 300, BODY);

        ck_assert_int_eq(check(v, NULL, old, BODY, NOW), WEBHOOK_STALE);
        ck_assert_int_eq(check(v, NULL, future, BODY, NOW), WEBHOOK_STALE);
        ck_assert_int_eq(check(v, NULL, edge, BODY, NOW), WEBHOOK_VALID);
}
END_TEST

START_TEST(test_replay) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier();
        _cleanup_free_ char *h = hub(SECRET, BODY), *x = xsig(SECRET, NOW, BODY),
                            *x2 = xsig(SECRET, NOW + 1, BODY);

        ck_assert_int_eq(check(v, h, NULL, BODY, NOW), WEBHOOK_VALID);
        ck_assert_int_eq(check(v, h, NULL, BODY, NOW + 5), WEBHOOK_REPLAY);
        ck_assert_int_eq(check(v, NULL, x, BODY, NOW), WEBHOOK_VALID);
        ck_assert_int_eq(check(v, NULL, x, BODY, NOW + 200), WEBHOOK_REPLAY);
        /* Same body, new timestamp: a new delivery. */
        ck_assert_int_eq(check(v, NULL, x2, BODY, NOW + 1), WEBHOOK_VALID);
        /* Hub format has no timestamp: after the window the cache forgets (documented). */
        ck_assert_int_eq(check(v, h, NULL, BODY, NOW + 400), WEBHOOK_VALID);
}
END_TEST

/* A timestamp as far ahead as the window allows stays acceptable until t + window: the
 * memory keeps its MAC that long, not just for the window after it arrived. Beyond the
 * window ahead it is stale. */
START_TEST(test_future_dated) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier();
        _cleanup_free_ char *ahead = xsig(SECRET, NOW + 300, BODY), *beyond = xsig(SECRET, NOW + 301, BODY);

        ck_assert_int_eq(check(v, NULL, beyond, BODY, NOW), WEBHOOK_STALE);
        ck_assert_int_eq(check(v, NULL, ahead, BODY, NOW), WEBHOOK_VALID);
        ck_assert_int_eq(check(v, NULL, ahead, BODY, NOW + 301), WEBHOOK_REPLAY);
        ck_assert_int_eq(check(v, NULL, ahead, BODY, NOW + 600), WEBHOOK_REPLAY);
        ck_assert_int_eq(check(v, NULL, ahead, BODY, NOW + 601), WEBHOOK_STALE);
}
END_TEST

/* The memory covers the whole window however many deliveries came: full of live
 * signatures it refuses a new one (busy) instead of forgetting an old one; expired ones
 * make room. */
START_TEST(test_replay_memory_bounded) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier_max(5000);
        _cleanup_free_ char *first = NULL, *extra = NULL, *later = NULL;
        char body[64];

        for (int i = 0; i < 5000; i++) {
                _cleanup_free_ char *x = NULL;

                snprintf(body, sizeof(body), "{\"type\":\"t\",\"n\":%d}", i);
                x = xsig(SECRET, NOW, body);
                ck_assert_int_eq(check(v, NULL, x, body, NOW + i % 100), WEBHOOK_VALID);
        }
        /* 4,097 and more deliveries later the first is still remembered. */
        snprintf(body, sizeof(body), "{\"type\":\"t\",\"n\":%d}", 0);
        first = xsig(SECRET, NOW, body);
        ck_assert_int_eq(check(v, NULL, first, body, NOW + 299), WEBHOOK_REPLAY);
        snprintf(body, sizeof(body), "{\"type\":\"t\",\"n\":%d}", 5000);
        extra = xsig(SECRET, NOW + 200, body);
        ck_assert_int_eq(check(v, NULL, extra, body, NOW + 250), WEBHOOK_BUSY);
        /* Once the first ones expire there is room again. */
        ck_assert_int_eq(check(v, NULL, extra, body, NOW + 301), WEBHOOK_VALID);
        ck_assert_int_eq(check(v, NULL, extra, body, NOW + 302), WEBHOOK_REPLAY);
        snprintf(body, sizeof(body), "{\"type\":\"t\",\"n\":%d}", 5001);
        later = hub(SECRET, body);
        ck_assert_int_eq(check(v, later, NULL, body, NOW + 302), WEBHOOK_VALID);
        ck_assert_int_eq(check(v, later, NULL, body, NOW + 602), WEBHOOK_REPLAY);
}
END_TEST

START_TEST(test_wrong_secret_and_byte_changed) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier();
        _cleanup_free_ char *h = hub("other-secret", BODY), *x = xsig("other-secret", NOW, BODY);
        _cleanup_free_ char *hg = hub(SECRET, BODY), *xg = xsig(SECRET, NOW, BODY);
        char body2[sizeof(BODY)];

        ck_assert_int_eq(check(v, h, NULL, BODY, NOW), WEBHOOK_INVALID);
        ck_assert_int_eq(check(v, NULL, x, BODY, NOW), WEBHOOK_INVALID);
        for (size_t i = 0; i < strlen(BODY); i++) {
                memcpy(body2, BODY, sizeof(BODY));
                body2[i] ^= 1;
                ck_assert_msg(check(v, hg, NULL, body2, NOW) == WEBHOOK_INVALID, "hub byte %zu", i);
                ck_assert_msg(check(v, NULL, xg, body2, NOW) == WEBHOOK_INVALID, "x byte %zu", i);
        }
        /* The timestamp is signed too: same v1 under another t fails. */
        {
                _cleanup_free_ char *moved = strdup(xg);
                moved[2 + 9] = moved[2 + 9] == '0' ? '1' : '0';
                ck_assert_int_eq(check(v, NULL, moved, BODY, NOW), WEBHOOK_INVALID);
        }
}
END_TEST

START_TEST(test_malformed_and_rotation) {
        _cleanup_(webhook_verifier_freep) WebhookVerifier *v = verifier();
        _cleanup_free_ char *good = xsig(SECRET, NOW, BODY), *rot = NULL;
        char h[65];

        ck_assert_int_eq(check(v, NULL, NULL, BODY, NOW), WEBHOOK_MISSING);
        ck_assert_int_eq(check(v, "sha1=abcd", NULL, BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, "sha256=zz", NULL, BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, "sha256=", NULL, BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, NULL, "v1=00", BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, NULL, "t=abc,v1=00", BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, NULL, "t=1800000000", BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, NULL, "t=1800000000,t=1800000000,v1=00", BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, NULL, "t=-5,v1=00", BODY, NOW), WEBHOOK_MALFORMED);
        ck_assert_int_eq(check(v, NULL, "t=1800000000,v1=", BODY, NOW), WEBHOOK_MALFORMED);
        /* An old key's v1 next to the current one: accepted. */
        hex_mac("old-secret", "1800000000.", BODY, h);
        ck_assert_int_ge(asprintf(&rot, "t=1800000000,v1=%s,%s", h, strchr(good, ',') + 1), 0);
        ck_assert_int_eq(check(v, NULL, rot, BODY, NOW), WEBHOOK_VALID);
        ck_assert_str_eq(webhook_result_to_string(WEBHOOK_REPLAY), "replay");
}
END_TEST

START_TEST(test_events_map) {
        WebhookEvent ev[WEBHOOK_EVENTS_MAX];
        size_t n = 99;

        ck_assert_int_eq(webhook_events_parse("", ev, WEBHOOK_EVENTS_MAX, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(
                webhook_events_parse(
                        "order.created=data/analyze,push=nlp/sentiment", ev, WEBHOOK_EVENTS_MAX, &n),
                0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(ev[0].event, "order.created");
        ck_assert_str_eq(ev[0].service, "data");
        ck_assert_str_eq(ev[0].task, "analyze");
        ck_assert_str_eq(webhook_events_find(ev, n, "push")->task, "sentiment");
        ck_assert_ptr_null(webhook_events_find(ev, n, "ping"));
        ck_assert_ptr_null(webhook_events_find(ev, n, NULL));
        ck_assert_int_eq(webhook_events_parse("push", ev, WEBHOOK_EVENTS_MAX, &n), -EINVAL);
        ck_assert_int_eq(webhook_events_parse("push=nlp", ev, WEBHOOK_EVENTS_MAX, &n), -EINVAL);
        ck_assert_int_eq(webhook_events_parse("push=/x", ev, WEBHOOK_EVENTS_MAX, &n), -EINVAL);
        ck_assert_int_eq(webhook_events_parse("push=nlp/", ev, WEBHOOK_EVENTS_MAX, &n), -EINVAL);
        ck_assert_int_eq(webhook_events_parse("a b=nlp/x", ev, WEBHOOK_EVENTS_MAX, &n), -EINVAL);
        ck_assert_int_eq(webhook_events_parse("a=b/c,d=e/f", ev, 1, &n), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("webhook");
        TCase *tc = tcase_create("signatures");

        tcase_add_test(tc, test_both_formats_valid);
        tcase_add_test(tc, test_stale);
        tcase_add_test(tc, test_replay);
        tcase_add_test(tc, test_future_dated);
        tcase_add_test(tc, test_replay_memory_bounded);
        tcase_add_test(tc, test_wrong_secret_and_byte_changed);
        tcase_add_test(tc, test_malformed_and_rotation);
        tcase_add_test(tc, test_events_map);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
