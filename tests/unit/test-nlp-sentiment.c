/* SPDX-License-Identifier: MIT */
/* test-nlp-sentiment.c — the VADER port against the figures vaderSentiment's README
 * prints for its own examples, and its accuracy on tests/data/nlp/sentiment-en.tsv.
 *
 * The accuracy floor is 0.85. VADER's paper reports a 3-class F1 of 0.96 on tweets
 * and 0.61–0.85 on reviews and editorials; our set is short, everyday sentences, so the
 * measured figure (0.942, 113/120 on the committed set) sits near the tweet end. A
 * broken rule (negation, "but", capitals, boosters) moves several sentences of the set
 * at once, so 0.85 catches such a regression while leaving room for lexicon gaps in
 * sentences added later (the seven misses today are all words VADER's lexicon lacks or
 * rates neutral, such as "stale", "unbearable", "can't stand"). */
#include <math.h>

#include "check-run.h"
#include "nlp-sentiment.h"
#include "nlp-test-util.h"

#define ACCURACY_FLOOR 0.85

static void setup(void) {
        ck_assert_int_eq(nlp_sentiment_init(nlp_test_env("NLP_VADER_LEXICON", "")), 0);
}

static void teardown(void) {
        nlp_sentiment_done();
}

static NlpSentimentScores score(const char *s) {
        NlpSentimentScores r;
        ck_assert_int_eq(nlp_sentiment_vader(s, strlen(s), &r), 0);
        return r;
}

START_TEST(test_reference_values) {
        static const struct {
                const char *text;
                double compound, pos, neg, neu;
        } cases[] = {
                { "VADER is smart, handsome, and funny.", 0.8316, 0.746, 0.0, 0.254 },
                { "VADER is smart, handsome, and funny!", 0.8439, 0.752, 0.0, 0.248 },
                { "VADER is very smart, handsome, and funny.", 0.8545, 0.701, 0.0, 0.299 },
                { "VADER is VERY SMART, handsome, and FUNNY.", 0.9227, 0.754, 0.0, 0.246 },
                { "VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342, 0.767, 0.0, 0.233 },
                { "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469, 0.706, 0.0, 0.294 },
                { "VADER is not smart, handsome, nor funny.", -0.7424, 0.0, 0.646, 0.354 },
                { "The book was good.", 0.4404, 0.492, 0.0, 0.508 },
                { "At least it isn't a horrible book.", 0.431, 0.322, 0.0, 0.678 },
                { "The book was only kind of good.", 0.3832, 0.303, 0.0, 0.697 },
                { "The plot was good, but the characters are uncompelling and the dialog is not great.",
                  -0.7042,
                  0.094,
                  0.327,
                  0.579 },
                { "Today SUX!", -0.5461, 0.0, 0.779, 0.221 },
                { "Today only kinda sux! But I'll get by, lol", 0.5249, 0.317, 0.127, 0.556 },
                { "Make sure you :) or :D today!", 0.8633, 0.706, 0.0, 0.294 },
                { "Not bad at all", 0.431, 0.487, 0.0, 0.513 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                NlpSentimentScores s = score(cases[i].text);
                ck_assert_msg(
                        fabs(s.compound - cases[i].compound) < 1e-9,
                        "%s: compound %g, want %g",
                        cases[i].text,
                        s.compound,
                        cases[i].compound);
                ck_assert_double_eq_tol(s.pos, cases[i].pos, 1e-9);
                ck_assert_double_eq_tol(s.neg, cases[i].neg, 1e-9);
                ck_assert_double_eq_tol(s.neu, cases[i].neu, 1e-9);
        }
}
END_TEST

START_TEST(test_empty_and_neutral) {
        NlpSentimentScores s = score("");
        ck_assert_double_eq(s.compound, 0);
        s = score("   \n ");
        ck_assert_double_eq(s.neu, 0);
        s = score("The table has four legs.");
        ck_assert_double_eq(s.compound, 0);
        ck_assert_double_eq(s.neu, 1.0);
}
END_TEST

typedef struct Tally {
        int right, total;
} Tally;

static void classify(const char *label, const char *text, void *userdata) {
        Tally *t = userdata;
        NlpSentimentScores s = score(text);
        const char *got = s.compound >= 0.05 ? "positive" : s.compound <= -0.05 ? "negative" : "neutral";

        t->total++;
        if (strcmp(got, label) == 0)
                t->right++;
        else
                printf("miss: %s labelled %s, got %s (%.4f)\n", text, label, got, s.compound);
}

START_TEST(test_accuracy) {
        Tally t = {};

        nlp_test_tsv("sentiment-en.tsv", classify, &t);
        ck_assert_int_ge(t.total, 100);
        printf("sentiment accuracy: %d/%d = %.3f (floor %.2f)\n",
               t.right,
               t.total,
               (double) t.right / t.total,
               ACCURACY_FLOOR);
        ck_assert((double) t.right / t.total >= ACCURACY_FLOOR);
}
END_TEST

START_TEST(test_long_text) {
        size_t n = 200000;
        char *s = malloc(n + 1);
        NlpSentimentScores r;

        for (size_t i = 0; i < n; i++)
                s[i] = "good bad  "[i % 10];
        s[n] = 0;
        ck_assert_int_eq(nlp_sentiment_vader(s, n, &r), 0);
        ck_assert(r.compound >= -1 && r.compound <= 1);
        free(s);
}
END_TEST

int main(void) {
        Suite *s = suite_create("nlp-sentiment");
        TCase *tc = tcase_create("vader");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_reference_values);
        tcase_add_test(tc, test_empty_and_neutral);
        tcase_add_test(tc, test_accuracy);
        tcase_add_test(tc, test_long_text);
        suite_add_tcase(s, tc);
        return check_run(s);
}
