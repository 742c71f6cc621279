/* SPDX-License-Identifier: MIT */
/* test-nlp-tokenize.c — English words, stems and sentences; Japanese tokens equal to
 * what the mecab command prints for tests/data/nlp/ja-tokenize.txt with the same
 * dictionary (skipped, exit 77, when the command or the dictionary is absent). */
#include <unistd.h>

#include "check-run.h"
#include "nlp-mecab.h"
#include "nlp-test-util.h"
#include "nlp-tokenize.h"
#include "nlp-utf8.h"

static NlpDoc *doc(const char *text, NlpLang lang) {
        NlpDoc *d = NULL;
        ck_assert_int_eq(nlp_doc_new(text, strlen(text), lang, &d), 0);
        return d;
}

static char *tok(const NlpDoc *d, size_t i) {
        static char buf[256];
        snprintf(buf, sizeof(buf), "%.*s", (int) d->tokens[i].len, d->text + d->tokens[i].start);
        return buf;
}

START_TEST(test_english_words) {
        NlpDoc *d =
                doc("Don't split e-mail addresses; 3.14 costs $1,000. Running runners ran!", NLP_LANG_EN);
        const char *want[] = { "Don't", "split", "e-mail", "addresses", ";",       "3.14", "costs",
                               "$",     "1,000", ".",      "Running",   "runners", "ran",  "!" };

        ck_assert_uint_eq(d->n_tokens, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < d->n_tokens; i++)
                ck_assert_str_eq(tok(d, i), want[i]);
        ck_assert_str_eq(d->tokens[10].stem, "run");
        ck_assert_str_eq(d->tokens[11].stem, "runner");
        ck_assert_str_eq(d->tokens[3].stem, "address");
        ck_assert(!d->tokens[4].word);
        ck_assert_uint_eq(d->n_sentences, 2);
        nlp_doc_free(d);
}
END_TEST

START_TEST(test_english_sentences) {
        NlpDoc *d = doc(
                "Mr. Smith went to Washington. He arrived at 5 p.m. on Monday! Did he stay? \"Yes.\" He did.\n\nNew "
                "paragraph without a stop",
                NLP_LANG_EN);

        ck_assert_uint_eq(d->n_sentences, 6);
        ck_assert_int_eq(
                strncmp(d->text + d->sentences[0].start,
                        "Mr. Smith went to Washington.",
                        d->sentences[0].end - d->sentences[0].start),
                0);
        ck_assert_int_eq(strncmp(d->text + d->sentences[3].start, "\"Yes.\"", 6), 0);
        ck_assert_uint_eq(d->sentences[3].end - d->sentences[3].start, 6);
        nlp_doc_free(d);
}
END_TEST

START_TEST(test_unicode) {
        NlpDoc *d = doc("Ça coûte 5€ — très CHER, naïve café Москва", NLP_LANG_OTHER);
        const char *want[] = {
                "Ça", "coûte", "5", "€", "—", "très", "CHER", ",", "naïve", "café", "Москва"
        };

        ck_assert_uint_eq(d->n_tokens, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < d->n_tokens; i++)
                ck_assert_str_eq(tok(d, i), want[i]);
        ck_assert_str_eq(d->tokens[0].norm, "ça");
        ck_assert_str_eq(d->tokens[6].norm, "cher");
        ck_assert_str_eq(d->tokens[10].norm, "москва");
        nlp_doc_free(d);
}
END_TEST

START_TEST(test_utf8) {
        size_t off = 99;
        ck_assert(nlp_utf8_valid("abc日本", strlen("abc日本"), NULL));
        ck_assert(!nlp_utf8_valid("ab\xff", 3, &off));
        ck_assert_uint_eq(off, 2);
        ck_assert(!nlp_utf8_valid("\xc0\xaf", 2, &off));     /* overlong '/' */
        ck_assert(!nlp_utf8_valid("\xed\xa0\x80", 3, &off)); /* surrogate */
        ck_assert(!nlp_utf8_valid("\xe6\x97", 2, &off));     /* truncated */
        ck_assert(!nlp_utf8_valid("a\0b", 3, &off));
        ck_assert_uint_eq(nlp_utf8_count("日本語abc", strlen("日本語abc")), 6);
}
END_TEST

/* ---- Japanese vs the mecab command ------------------------------------------------ */
static bool mecab_ready;

static void ja_setup(void) {
        NlpConfig c = nlp_test_config();
        mecab_ready = nlp_mecab_init(c.mecab_rc, c.mecab_dicdir) >= 0;
}

START_TEST(test_japanese_equals_mecab_command) {
        NlpConfig c = nlp_test_config();
        char path[1024], cmd[4096], line[4096], expected[4096];
        FILE *in, *out;
        size_t lines = 0, tokens = 0;

        ck_assert(mecab_ready);
        snprintf(path, sizeof(path), "%s/ja-tokenize.txt", nlp_test_env("NLP_TEST_DATA", "tests/data/nlp"));
        snprintf(cmd, sizeof(cmd), "mecab -r '%s' -d '%s' '%s'", c.mecab_rc, c.mecab_dicdir, path);
        in = fopen(path, "re");
        out = popen(cmd, "re");
        ck_assert_ptr_nonnull(in);
        ck_assert_ptr_nonnull(out);
        while (fgets(line, sizeof(line), in)) {
                NlpDoc *d;
                size_t i = 0;

                line[strcspn(line, "\n")] = 0;
                d = doc(line, NLP_LANG_JA);
                /* mecab prints "surface\tfeature" per morpheme and EOS per line. */
                while (fgets(expected, sizeof(expected), out)) {
                        char got[4096];
                        expected[strcspn(expected, "\n")] = 0;
                        if (strcmp(expected, "EOS") == 0)
                                break;
                        ck_assert_msg(
                                i < d->n_tokens, "line %zu: mecab has more tokens than we do", lines + 1);
                        snprintf(got, sizeof(got), "%s\t%s", tok(d, i), d->tokens[i].feature);
                        ck_assert_str_eq(got, expected);
                        i++;
                }
                ck_assert_uint_eq(i, d->n_tokens);
                tokens += i;
                lines++;
                nlp_doc_free(d);
        }
        printf("japanese: %zu lines, %zu tokens equal to the mecab command\n", lines, tokens);
        ck_assert_uint_ge(lines, 5);
        fclose(in);
        ck_assert_int_eq(pclose(out), 0);
}
END_TEST

START_TEST(test_japanese_fields) {
        NlpDoc *d;

        ck_assert(mecab_ready);
        d = doc("山田太郎は走った。\n次の文", NLP_LANG_JA);
        ck_assert_str_eq(tok(d, 0), "山田");
        ck_assert_str_eq(d->tokens[0].pos, "名詞-固有名詞-人名-姓");
        ck_assert_str_eq(d->tokens[0].reading, "ヤマダ");
        ck_assert(d->tokens[0].proper);
        ck_assert_str_eq(tok(d, 3), "走っ");
        ck_assert_str_eq(d->tokens[3].norm, "走る");
        ck_assert_uint_eq(d->n_sentences, 2);
        /* Features are borrowed from the dictionary: still right after the next line's parse. */
        ck_assert_str_eq(d->tokens[0].feature, "名詞,固有名詞,人名,姓,*,*,山田,ヤマダ,ヤマダ");
        nlp_doc_free(d);
}
END_TEST

int main(void) {
        Suite *s = suite_create("nlp-tokenize");
        TCase *en = tcase_create("english"), *ja = tcase_create("japanese");
        NlpConfig c = nlp_test_config();
        char cmd[2048];

        tcase_add_test(en, test_english_words);
        tcase_add_test(en, test_english_sentences);
        tcase_add_test(en, test_unicode);
        tcase_add_test(en, test_utf8);
        suite_add_tcase(s, en);
        snprintf(
                cmd,
                sizeof(cmd),
                "command -v mecab >/dev/null && test -f '%s/sys.dic' && test -f '%s'",
                c.mecab_dicdir,
                c.mecab_rc);
        /* mecab and its dictionary are in scripts/packages/nlp*.txt: missing is a failure */
        if (system(cmd) != 0) {
                fprintf(stderr,
                        "no mecab command or dictionary at %s (packages mecab, mecab-ipadic-utf8)\n",
                        c.mecab_dicdir);
                return EXIT_FAILURE;
        }
        tcase_add_unchecked_fixture(ja, ja_setup, nlp_mecab_done);
        tcase_add_test(ja, test_japanese_equals_mecab_command);
        tcase_add_test(ja, test_japanese_fields);
        suite_add_tcase(s, ja);
        return check_run(s);
}
