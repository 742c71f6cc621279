/* SPDX-License-Identifier: MIT */
/* test-redact.c — real-looking keys of each provider, a PEM block, a JWT, e-mail, Luhn-valid
 * and invalid card numbers, overlapping candidates, UTF-8 around replacements, and the JSON
 * walk. The keys are assembled from pieces so that no secret scanner mistakes this file
 * for a leak; the shapes are the providers' documented formats. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "json-util.h"
#include "macro.h"
#include "redact.h"

/* Redacts s and compares with want (NULL = unchanged). */
static void expect(const char *s, const char *want, RedactKind kind, unsigned count) {
        _cleanup_free_ char *out = NULL;
        RedactCounts c = {};
        size_t len = 0;
        int r = redact_text(s, strlen(s), &c, &out, &len);

        if (!want) {
                ck_assert_msg(r == 0, "\"%s\" was redacted to \"%s\"", s, out);
                ck_assert_uint_eq(redact_counts_total(&c), 0);
                return;
        }
        ck_assert_msg(r == 1, "\"%s\" was not redacted", s);
        ck_assert_str_eq(out, want);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert_uint_eq(c.n[kind], count);
        ck_assert_uint_eq(redact_counts_total(&c), count);
}

START_TEST(test_provider_keys) {
        char s[512];

        snprintf(s, sizeof(s), "key=%s%s done", "sk-proj-", "Qx3v9TzR8bLm2Wn4Ya7Kc1Hd6Fg0Js5Pe-Ut_Vo8Ri");
        expect(s, "key=[REDACTED:openai_key] done", REDACT_OPENAI_KEY, 1);
        snprintf(s, sizeof(s), "%s%s", "sk-", "abcdefghijklmnopqrstT3BlbkFJuvwxyz0123456789AB");
        expect(s, "[REDACTED:openai_key]", REDACT_OPENAI_KEY, 1);
        /* sk-ant- is Anthropic's, not OpenAI's: the longer prefix wins. */
        snprintf(s, sizeof(s), "\"%s%s\"", "sk-ant-", "api03-Zq8Lw2Xv7Nb4Mc9Kd1Jf6Hg3Ps5Rt0Ya-Ue2Io8Wq4AA");
        expect(s, "\"[REDACTED:anthropic_key]\"", REDACT_ANTHROPIC_KEY, 1);
        snprintf(s, sizeof(s), "aws_access_key_id = %s%s", "AKIA", "IOSFODNN7EXAMPLE");
        expect(s, "aws_access_key_id = [REDACTED:aws_access_key]", REDACT_AWS_ACCESS_KEY, 1);
        snprintf(
                s,
                sizeof(s),
                "token %s%s.",
                "gh"
                "p_",
                "16C7e42F292c6912E7710c838347Ae178B4a");
        expect(s, "token [REDACTED:github_token].", REDACT_GITHUB_TOKEN, 1);
        snprintf(
                s,
                sizeof(s),
                "%s%s",
                "github_"
                "pat_",
                "11ABCDEFG0123456789abc_DEFghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS");
        expect(s, "[REDACTED:github_token]", REDACT_GITHUB_TOKEN, 1);
        snprintf(
                s,
                sizeof(s),
                "slack: %s%s",
                "xo"
                "xb-",
                "2648902395-4590359812234-a8Fz3kLqP0wXy7Tb");
        expect(s, "slack: [REDACTED:slack_token]", REDACT_SLACK_TOKEN, 1);
        snprintf(
                s,
                sizeof(s),
                "url?key=%s%s&x=1",
                "AI"
                "za",
                "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY");
        expect(s, "url?key=[REDACTED:google_api_key]&x=1", REDACT_GOOGLE_API_KEY, 1);
}
END_TEST

START_TEST(test_key_near_misses) {
        expect("ask-me-anything-about-the-weather-please", NULL, 0, 0); /* no boundary before sk- */
        expect("sk-short", NULL, 0, 0);
        expect("AKIAIOSFODNN7EXAMPL", NULL, 0, 0);   /* 15 after AKIA */
        expect("AKIAIOSFODNN7EXAMPLEX", NULL, 0, 0); /* 17 */
        expect("AKIAiosfodnn7example", NULL, 0, 0);  /* lowercase */
        expect("ghp_tooShort123", NULL, 0, 0);
        expect("the xoxb- prefix alone", NULL, 0, 0);
        expect("eyJhbGciOiJIUzI1NiJ9 alone is not a token", NULL, 0, 0);
        expect("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", NULL, 0, 0);
}
END_TEST

START_TEST(test_pem_and_jwt) {
        char s[1024];

        snprintf(
                s,
                sizeof(s),
                "here:\n-----BEGIN %sPRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"
                "-----END %sPRIVATE KEY-----\nbye",
                "RSA ",
                "RSA ");
        expect(s, "here:\n[REDACTED:private_key]\nbye", REDACT_PRIVATE_KEY, 1);
        /* Cut off before END: everything after BEGIN goes. */
        expect("x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
               "x [REDACTED:private_key]",
               REDACT_PRIVATE_KEY,
               1);
        expect("Authorization: Bearer "
               "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
               "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c rest",
               "Authorization: Bearer [REDACTED:jwt] rest",
               REDACT_JWT,
               1);
}
END_TEST

START_TEST(test_email_and_cards) {
        expect("mail john.doe+tag@example.co.uk or ops@corp.example.",
               "mail [REDACTED:email] or [REDACTED:email].",
               REDACT_EMAIL,
               2);
        expect("not@mail, user@localhost, a@b.c", NULL, 0, 0);
        expect("card 4111 1111 1111 1111 exp 12/29", "card [REDACTED:card] exp 12/29", REDACT_CARD, 1);
        expect("4111-1111-1111-1111", "[REDACTED:card]", REDACT_CARD, 1);
        expect("amex 378282246310005.", "amex [REDACTED:card].", REDACT_CARD, 1);
        expect("4111 1111 1111 1112", NULL, 0, 0);        /* fails Luhn */
        expect("1234567890123456", NULL, 0, 0);           /* fails Luhn */
        expect("order 41111111111111110000", NULL, 0, 0); /* 20 digits: not a card */
        expect("v1.4111111111111111", NULL, 0, 0);        /* part of a version-like token */
        expect("call 555-1234 now", NULL, 0, 0);
        ck_assert(redact_luhn_valid("79927398713", 11));
        ck_assert(!redact_luhn_valid("79927398710", 11));
}
END_TEST

START_TEST(test_overlaps_and_utf8) {
        char s[512];
        _cleanup_free_ char *out = NULL;
        RedactCounts c = {};
        size_t len;

        /* Adjacent and mixed: each counted once, in order. */
        snprintf(
                s,
                sizeof(s),
                "顧客 jane@example.jp のカード 4111111111111111、キー %s%s です",
                "AKIA",
                "IOSFODNN7EXAMPLE");
        ck_assert_int_eq(redact_text(s, strlen(s), &c, &out, &len), 1);
        ck_assert_str_eq(
                out, "顧客 [REDACTED:email] のカード [REDACTED:card]、キー [REDACTED:aws_access_key] です");
        ck_assert_uint_eq(c.n[REDACT_EMAIL], 1);
        ck_assert_uint_eq(c.n[REDACT_CARD], 1);
        ck_assert_uint_eq(c.n[REDACT_AWS_ACCESS_KEY], 1);
        /* The output is valid UTF-8 (json-c's validating parser accepts it as a string). */
        {
                _cleanup_json_ json_object *o = json_object_new_string(out);
                _cleanup_json_ json_object *back = NULL;
                const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

                ck_assert_int_eq(json_parse_strict(txt, strlen(txt), &back, NULL), 0);
        }
        /* A JWT inside an e-mail-like run, a key right after an address: first match wins. */
        free(TAKE_PTR(out));
        c = (RedactCounts){};
        snprintf(s, sizeof(s), "a@example.com,%s%s", "sk-", "abcdefghijklmnopqrstuvwx");
        ck_assert_int_eq(redact_text(s, strlen(s), &c, &out, &len), 1);
        ck_assert_str_eq(out, "[REDACTED:email],[REDACTED:openai_key]");
        /* A PEM block holding something card-like is one private key. */
        free(TAKE_PTR(out));
        c = (RedactCounts){};
        snprintf(
                s,
                sizeof(s),
                "-----BEGIN EC PRIVATE KEY-----\n4111111111111111\n-----END EC PRIVATE KEY-----");
        ck_assert_int_eq(redact_text(s, strlen(s), &c, &out, &len), 1);
        ck_assert_str_eq(out, "[REDACTED:private_key]");
        ck_assert_uint_eq(redact_counts_total(&c), 1);
}
END_TEST

START_TEST(test_json_walk) {
        _cleanup_json_ json_object *o = NULL, *counts = NULL;
        RedactCounts c = {};
        const char *in =
                "{\"text\":\"reach me at bob@example.org\",\"model\":\"m\","
                "\"choices\":[{\"message\":{\"content\":\"card 5555 5555 5555 4444 and bob@example.org\"}}],"
                "\"n\":4111111111111111,\"bob@example.org\":true}";

        ck_assert_int_eq(json_parse_strict(in, strlen(in), &o, NULL), 0);
        ck_assert_int_eq(redact_json(o, &c), 3);
        ck_assert_str_eq(
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                "{\"text\":\"reach me at [REDACTED:email]\",\"model\":\"m\","
                "\"choices\":[{\"message\":{\"content\":\"card [REDACTED:card] and [REDACTED:email]\"}}],"
                "\"n\":4111111111111111,\"bob@example.org\":true}");
        counts = redact_counts_to_json(&c);
        ck_assert_str_eq(
                json_object_to_json_string_ext(counts, JSON_C_TO_STRING_PLAIN), "{\"email\":2,\"card\":1}");
        /* A top-level string is replaced in place too. */
        json_object_put(TAKE_PTR(o));
        o = json_object_new_string("x ops@example.net");
        ck_assert_int_eq(redact_json(o, &c), 1);
        ck_assert_str_eq(json_object_get_string(o), "x [REDACTED:email]");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("redact");
        TCase *tc = tcase_create("kinds");

        tcase_add_test(tc, test_provider_keys);
        tcase_add_test(tc, test_key_near_misses);
        tcase_add_test(tc, test_pem_and_jwt);
        tcase_add_test(tc, test_email_and_cards);
        tcase_add_test(tc, test_overlaps_and_utf8);
        tcase_add_test(tc, test_json_walk);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
