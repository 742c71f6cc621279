/* SPDX-License-Identifier: MIT */
/* test-supervisor-alert.c — seed 002's thresholds, the store's dedup and rate limit,
 * the alert JSON, the Slack payload and the HMAC-SHA256 signature. */
#include <check.h>
#include <stdlib.h>

#include "alert-sink.h"
#include "alert.h"
#include "check-run.h"
#include "json-util.h"

#define S 1000000ULL

START_TEST(test_levels) {
        ck_assert_str_eq(alert_level_to_string(ALERT_CRITICAL), "CRITICAL");
        ck_assert_int_eq(alert_level_from_string("warning"), ALERT_WARNING);
        ck_assert_int_eq(alert_level_from_string("bogus"), _ALERT_LEVEL_INVALID);
        ck_assert_int_eq(alert_level_from_string(NULL), _ALERT_LEVEL_INVALID);
        ck_assert_str_eq(alert_level_color(ALERT_INFO), "#36a64f");
        ck_assert_str_eq(alert_level_color(ALERT_CRITICAL), "#990000");
}
END_TEST

START_TEST(test_thresholds) {
        ck_assert_int_eq(alert_level_for_idle(299.9), _ALERT_LEVEL_INVALID);
        ck_assert_int_eq(alert_level_for_idle(300), ALERT_WARNING);
        ck_assert_int_eq(alert_level_for_idle(600), ALERT_ERROR);
        ck_assert_int_eq(alert_level_for_idle(899), ALERT_ERROR);
        ck_assert_int_eq(alert_level_for_idle(900), ALERT_CRITICAL);
        ck_assert_int_eq(alert_level_for_restarts(2), _ALERT_LEVEL_INVALID);
        ck_assert_int_eq(alert_level_for_restarts(3), ALERT_WARNING);
        ck_assert_int_eq(alert_level_for_restarts(5), ALERT_ERROR);
        ck_assert_int_eq(alert_level_for_restarts(10), ALERT_CRITICAL);
        ck_assert_int_eq(alert_level_for_stopped(0), _ALERT_LEVEL_INVALID);
        ck_assert_int_eq(alert_level_for_stopped(1), ALERT_WARNING);
        ck_assert_int_eq(alert_level_for_stopped(2), ALERT_ERROR);
        ck_assert_int_eq(alert_level_for_stopped(3), ALERT_CRITICAL);
}
END_TEST

START_TEST(test_dedup) {
        AlertStore s;
        const Alert *a = NULL;

        ck_assert_int_eq(alert_store_init(&s, 4, 60 * S, 100, 60 * S), 0);
        ck_assert_int_eq(alert_store_raise(&s, ALERT_ERROR, "down:llm", "llm", "down", 100 * S, &a), 1);
        ck_assert_uint_eq(a->id, 1);
        /* same key and level within the window: folded */
        a = NULL;
        ck_assert_int_eq(alert_store_raise(&s, ALERT_ERROR, "down:llm", "llm", "down", 130 * S, &a), 0);
        ck_assert_ptr_nonnull(a); /* the alert it was folded into, for the journal line */
        ck_assert_uint_eq(a->id, 1);
        ck_assert_uint_eq(s.n, 1);
        ck_assert_uint_eq(alert_store_get(&s, 0)->count, 2);
        /* the window counts from the last occurrence */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_ERROR, "down:llm", "llm", "down", 185 * S, &a), 0);
        /* another level of the same key is news */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_CRITICAL, "down:llm", "llm", "down", 186 * S, &a), 1);
        /* back to ERROR: the latest of the key was CRITICAL, so news again */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_ERROR, "down:llm", "llm", "down", 187 * S, &a), 1);
        /* after the window */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_ERROR, "down:llm", "llm", "down", 300 * S, &a), 1);
        ck_assert_uint_eq(s.totals[ALERT_ERROR], 3);
        ck_assert_uint_eq(s.totals[ALERT_CRITICAL], 1);
        /* the ring keeps the newest max */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_INFO, "x", NULL, "x", 301 * S, &a), 1);
        ck_assert_uint_eq(s.n, 4);
        ck_assert_uint_eq(alert_store_get(&s, 0)->id, 2);
        ck_assert_uint_eq(alert_store_get(&s, 3)->id, 5);
        ck_assert_ptr_null(alert_store_get(&s, 4));
        ck_assert_int_eq(alert_store_raise(&s, _ALERT_LEVEL_MAX, "x", NULL, "x", 302 * S, &a), -EINVAL);
        alert_store_done(&s);
}
END_TEST

START_TEST(test_rate_limit) {
        AlertStore s;
        char key[16];

        ck_assert_int_eq(alert_store_init(&s, 16, 60 * S, 3, 60 * S), 0);
        for (int i = 0; i < 3; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                ck_assert_int_eq(alert_store_raise(&s, ALERT_WARNING, key, NULL, "m", 10 * S, NULL), 1);
        }
        ck_assert_int_eq(alert_store_raise(&s, ALERT_WARNING, "k9", NULL, "m", 20 * S, NULL), -EAGAIN);
        ck_assert_uint_eq(s.suppressed, 1);
        /* CRITICAL always passes */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_CRITICAL, "pod", NULL, "m", 21 * S, NULL), 1);
        /* next window */
        ck_assert_int_eq(alert_store_raise(&s, ALERT_WARNING, "k9", NULL, "m", 71 * S, NULL), 1);
        alert_store_done(&s);
}
END_TEST

START_TEST(test_json) {
        AlertStore s;
        const Alert *a = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *slack = NULL;
        json_object *v, *att;

        ck_assert_int_eq(alert_store_init(&s, 4, 60 * S, 10, 60 * S), 0);
        ck_assert_int_eq(
                alert_store_raise(
                        &s, ALERT_WARNING, "idle:nlp", "nlp", "nlp idle \"300\" s", 1700000000ULL * S, &a),
                1);
        ck_assert_int_eq(alert_to_json(a, &o), 0);
        ck_assert(json_object_object_get_ex(o, "level", &v));
        ck_assert_str_eq(json_object_get_string(v), "WARNING");
        ck_assert(json_object_object_get_ex(o, "timestamp", &v));
        ck_assert_str_eq(json_object_get_string(v), "2023-11-14T22:13:20Z");
        ck_assert(json_object_object_get_ex(o, "service", &v));
        ck_assert_str_eq(json_object_get_string(v), "nlp");
        ck_assert(json_object_object_get_ex(o, "count", &v));
        ck_assert_int_eq(json_object_get_int(v), 1);

        ck_assert_int_eq(alert_slack_payload(a, &slack), 0);
        json_object_put(o);
        o = json_tokener_parse(slack);
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "attachments", &v));
        att = json_object_array_get_idx(v, 0);
        ck_assert(json_object_object_get_ex(att, "color", &v));
        ck_assert_str_eq(json_object_get_string(v), "#ff9900");
        ck_assert(json_object_object_get_ex(att, "title", &v));
        ck_assert_str_eq(json_object_get_string(v), "[WARNING] nlp");
        ck_assert(json_object_object_get_ex(att, "text", &v));
        ck_assert_str_eq(json_object_get_string(v), "nlp idle \"300\" s");
        ck_assert(json_object_object_get_ex(att, "ts", &v));
        ck_assert_int_eq(json_object_get_int64(v), 1700000000);
        alert_store_done(&s);
}
END_TEST

START_TEST(test_sign) {
        _cleanup_free_ char *h = NULL;
        const char body[] = "{\"a\":1}";

        /* python3: hmac.new(b'sekret', b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
        ck_assert_int_eq(alert_sign("sekret", 6, 1700000000, body, strlen(body), &h), 0);
        ck_assert_str_eq(
                h, "t=1700000000,v1=10be3b6b2644ed2b13d525be7004b23fae6ab58a4646a0a4b89a0fb5ef23c7b8");
        ck_assert_int_eq(alert_sign("", 0, 1, body, strlen(body), &h), -EINVAL);
}
END_TEST

START_TEST(test_mail) {
        AlertStore s;
        const Alert *a = NULL;
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(alert_store_init(&s, 4, 60 * S, 10, 60 * S), 0);
        ck_assert_int_eq(
                alert_store_raise(
                        &s, ALERT_CRITICAL, "pod", NULL, "pod down\r\nBcc: evil@x", 1700000000ULL * S, &a),
                1);
        ck_assert_int_eq(alert_sinks_format_mail("sup@example.org", "ops@example.org", a, &m), 0);
        ck_assert_ptr_nonnull(strstr(m, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
        ck_assert_ptr_nonnull(strstr(m, "From: sup@example.org\r\nTo: ops@example.org\r\n"));
        /* no header injection through the message */
        ck_assert_ptr_nonnull(strstr(m, "Subject: [CRITICAL] ai-semble cluster: pod down  Bcc: evil@x\r\n"));
        char *end = strstr(m, "\r\n\r\n");
        ck_assert_ptr_nonnull(end);
        *end = 0; /* the headers alone */
        ck_assert_ptr_null(strstr(m, "\nBcc:"));
        *end = '\r';
        ck_assert_ptr_nonnull(strstr(m, "\r\n\r\nLevel:   CRITICAL\r\n"));
        alert_store_done(&s);
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-alert");
        TCase *tc = tcase_create("alert");

        tcase_add_test(tc, test_levels);
        tcase_add_test(tc, test_thresholds);
        tcase_add_test(tc, test_dedup);
        tcase_add_test(tc, test_rate_limit);
        tcase_add_test(tc, test_json);
        tcase_add_test(tc, test_sign);
        tcase_add_test(tc, test_mail);
        suite_add_tcase(s, tc);
        return check_run(s);
}
