/* SPDX-License-Identifier: MIT */
/* test-nlp-langid.c — libexttextcat identification on tests/data/nlp/langid.tsv (26
 * samples, 12 languages): every sample must be right. Exit 77 without fingerprints. */
#include <unistd.h>

#include "check-run.h"
#include "nlp-langid.h"
#include "nlp-test-util.h"

typedef struct Tally {
        int right, total;
        char langs[64][8];
        int n_langs;
} Tally;

static void identify(const char *want, const char *text, void *userdata) {
        Tally *t = userdata;
        char got[16];
        bool seen = false;

        ck_assert_int_eq(nlp_langid_detect(text, strlen(text), got, sizeof(got), NULL), 0);
        t->total++;
        if (strcmp(got, want) == 0)
                t->right++;
        else
                printf("miss: %s labelled %s, got %s\n", text, want, got);
        for (int i = 0; i < t->n_langs; i++)
                seen = seen || strcmp(t->langs[i], want) == 0;
        if (!seen && t->n_langs < 64)
                snprintf(t->langs[t->n_langs++], 8, "%.7s", want);
}

START_TEST(test_samples) {
        Tally t = {};

        nlp_test_tsv("langid.tsv", identify, &t);
        printf("language identification: %d/%d right, %d languages\n", t.right, t.total, t.n_langs);
        ck_assert_int_ge(t.total, 20);
        ck_assert_int_ge(t.n_langs, 8);
        ck_assert_int_eq(t.right, t.total);
}
END_TEST

static void english(const char *label, const char *text, void *userdata) {
        int *n = userdata;
        char got[16];

        ck_assert_int_eq(nlp_langid_detect(text, strlen(text), got, sizeof(got), NULL), 0);
        if (strcmp(got, "en") == 0 || strcmp(got, "und") == 0)
                n[0]++;
        else
                printf("english sentence taken for %s: %s\n", got, text);
        n[1]++;
}

/* Short everyday English must stay on the English pipeline (en, or und when too short),
 * or its sentiment would be refused: 118/120 with the image's language list. */
START_TEST(test_short_english) {
        int n[2] = {};

        nlp_test_tsv("sentiment-en.tsv", english, n);
        printf("short English kept English: %d/%d\n", n[0], n[1]);
        ck_assert(n[0] >= 0.95 * n[1]);
}
END_TEST

START_TEST(test_short_and_odd) {
        char got[16];
        const char *method = NULL;

        ck_assert_int_eq(nlp_langid_detect("ok", 2, got, sizeof(got), &method), 0);
        ck_assert_str_eq(got, "und");
        ck_assert_int_eq(nlp_langid_detect("カタカナ", strlen("カタカナ"), got, sizeof(got), &method), 0);
        ck_assert_str_eq(got, "ja");
        ck_assert_str_eq(method, "script");
        ck_assert_int_eq(nlp_langid_detect("12345 67890 !!!", 15, got, sizeof(got), &method), 0);
}
END_TEST

int main(void) {
        NlpConfig c = nlp_test_config();
        Suite *s = suite_create("nlp-langid");
        TCase *tc = tcase_create("textcat");
        int r;
        char conf[1024];

        snprintf(conf, sizeof(conf), "%s/en.lm", c.textcat_dir);
        if (access(conf, R_OK) < 0) {
                printf("SKIP: no %s (libexttextcat-data)\n", conf);
                return 77;
        }
        if (nlp_langid_init(c.textcat_conf, c.textcat_dir) < 0)
                return 1;
        tcase_add_test(tc, test_samples);
        tcase_add_test(tc, test_short_and_odd);
        tcase_add_test(tc, test_short_english);
        suite_add_tcase(s, tc);
        r = check_run(s);
        nlp_langid_done();
        return r;
}
