/* SPDX-License-Identifier: MIT */
/* test-nlp-tasks.c — keywords, entities, summaries and similarity on texts whose
 * answers are known by construction, in English and (with MeCab) Japanese. */
#include "check-run.h"
#include "nlp-entities.h"
#include "nlp-keywords.h"
#include "nlp-mecab.h"
#include "nlp-similarity.h"
#include "nlp-summarize.h"
#include "nlp-test-util.h"
#include "nlp-tokenize.h"

static NlpDoc *doc(const char *text, NlpLang lang) {
        NlpDoc *d = NULL;
        ck_assert_int_eq(nlp_doc_new(text, strlen(text), lang, &d), 0);
        return d;
}

/* ---- keywords -------------------------------------------------------------------------- */
START_TEST(test_keywords_rake_paper) {
        /* The abstract RAKE's paper (Rose et al., 2010) works through: its top two phrases are
         * "minimal generating sets" (8.7) and "linear diophantine equations" (8.5). */
        NlpDoc *d = doc(
                "Compatibility of systems of linear constraints over the set of natural numbers. Criteria of "
                "compatibility of a system of linear Diophantine equations, strict inequations, and nonstrict "
                "inequations are considered. Upper bounds for components of a minimal set of solutions and "
                "algorithms of construction of minimal generating sets of solutions for all types of systems "
                "are given. These criteria and the corresponding algorithms for constructing a minimal "
                "supporting set of solutions can be used in solving all the considered types of systems and "
                "systems of mixed types.",
                NLP_LANG_EN);
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(nlp_keywords(d, 5, &o), 0);
        ck_assert_str_eq(nlp_test_path(o, "method"), "rake");
        ck_assert_str_eq(nlp_test_path(o, "keywords.0.phrase"), "minimal generating sets");
        ck_assert_str_eq(nlp_test_path(o, "keywords.1.phrase"), "linear diophantine equations");
        ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "keywords")), 5);
        nlp_doc_free(d);
}
END_TEST

START_TEST(test_keywords_merge_stems) {
        NlpDoc *d =
                doc("Neural networks are useful. A neural network is trained. The weather is nice.",
                    NLP_LANG_EN);
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(nlp_keywords(d, 10, &o), 0);
        ck_assert_str_eq(nlp_test_path(o, "keywords.0.phrase"), "neural networks");
        ck_assert_str_eq(nlp_test_path(o, "keywords.0.count"), "2");
        nlp_doc_free(d);
}
END_TEST

/* ---- entities --------------------------------------------------------------------------- */
static void expect_entities(json_object *o, const char *const want[][2], size_t n) {
        json_object *arr = json_object_object_get(o, "entities");
        ck_assert_uint_eq(json_object_array_length(arr), n);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                ck_assert_str_eq(nlp_test_path(e, "text"), want[i][0]);
                ck_assert_str_eq(nlp_test_path(e, "type"), want[i][1]);
        }
}

START_TEST(test_entities_english) {
        NlpDoc *d = doc(
                "Apple Inc. said on January 5, 2024 that Tim Cook will visit Tokyo. Write to press@apple.com or "
                "call +1 408-996-1010 or (555) 123-4567. Tickets cost $1,250.50 or 20 euros, see "
                "https://www.apple.com/newsroom. The report is due 2024-03-31.",
                NLP_LANG_EN);
        _cleanup_json_ json_object *o = NULL;
        const char *const want[][2] = {
                { "Apple Inc", "proper_noun" }, { "January 5, 2024", "date" },
                { "Tim Cook", "proper_noun" },  { "Tokyo", "proper_noun" },
                { "press@apple.com", "email" }, { "+1 408-996-1010", "phone" },
                { "(555) 123-4567", "phone" },  { "$1,250.50", "money" },
                { "20 euros", "money" },        { "https://www.apple.com/newsroom", "url" },
                { "2024-03-31", "date" },
        };

        ck_assert_int_eq(nlp_entities(d, &o), 0);
        expect_entities(o, want, sizeof(want) / sizeof(want[0]));
        ck_assert_str_eq(nlp_test_path(o, "entities.1.start"), "19");
        nlp_doc_free(d);
}
END_TEST

START_TEST(test_entities_not_sentence_initial) {
        NlpDoc *d = doc("Yesterday it rained. However the match went on.", NLP_LANG_EN);
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(nlp_entities(d, &o), 0);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "entities")), 0);
        nlp_doc_free(d);
}
END_TEST

/* ---- summaries ------------------------------------------------------------------------ */
START_TEST(test_summary_central_sentences) {
        /* Sentences 0, 2 and 4 share the topic words (cat, mat, warm, window); 1 and 3 are off topic. */
        NlpDoc *d = doc(
                "The cat sat on the warm mat. Stock prices fell on Monday. The cat likes the warm mat near the "
                "window. Rain is expected tomorrow. A warm window is where the cat sleeps on its mat.",
                NLP_LANG_EN);
        _cleanup_json_ json_object *o = NULL, *o1 = NULL;

        ck_assert_int_eq(nlp_summarize(d, 2, 0, &o), 0);
        ck_assert_str_eq(nlp_test_path(o, "method"), "textrank");
        ck_assert_str_eq(nlp_test_path(o, "total_sentences"), "5");
        ck_assert_str_eq(nlp_test_path(o, "sentences.0.index"), "2");
        ck_assert_str_eq(nlp_test_path(o, "sentences.1.index"), "4");
        ck_assert_str_eq(
                nlp_test_path(o, "summary"),
                "The cat likes the warm mat near the window. A warm window is where the cat sleeps on its mat.");
        ck_assert_int_eq(nlp_summarize(d, 99, 0, &o1), 0);
        ck_assert_str_eq(nlp_test_path(o1, "sentences.4.index"), "4"); /* clamped to all, in order */
        nlp_doc_free(d);
}
END_TEST

/* ---- similarity ------------------------------------------------------------------------ */
START_TEST(test_similarity) {
        NlpDoc *docs[4] = {
                doc("The cat sat on the mat.", NLP_LANG_EN),
                doc("The cat sat on the mat.", NLP_LANG_EN),
                doc("A cat was sitting on a mat.", NLP_LANG_EN),
                doc("Stock markets fell sharply today.", NLP_LANG_EN),
        };
        double s[3];

        ck_assert_int_eq(nlp_similarity(docs, 4, 0, s), 0);
        ck_assert_double_eq_tol(s[0], 1.0, 1e-6);
        ck_assert(s[1] > 0.3 && s[1] < 1.0);
        ck_assert_double_eq(s[2], 0.0);
        for (int i = 0; i < 4; i++)
                nlp_doc_free(docs[i]);
}
END_TEST

/* ---- Japanese ---------------------------------------------------------------------------- */
START_TEST(test_japanese_tasks) {
        NlpConfig c = nlp_test_config();
        NlpDoc *d;
        _cleanup_json_ json_object *k = NULL, *e = NULL;
        const char *const want[][2] = {
                { "東京", "location" },           { "山田太郎", "person" },
                { "2024年1月5日", "date" },       { "トヨタ自動車", "organization" },
                { "yamada@example.jp", "email" }, { "03-1234-5678", "phone" },
                { "5,000円", "money" },
        };

        if (nlp_mecab_init(c.mecab_rc, c.mecab_dicdir) < 0)
                return; /* reported by test-nlp-tokenize */
        d = doc("東京都の山田太郎さんは2024年1月5日にトヨタ自動車を訪問しました。連絡先は yamada@example.jp、電話は"
                "03-1234-5678、費用は5,000円です。",
                NLP_LANG_JA);
        ck_assert_int_eq(nlp_entities(d, &e), 0);
        expect_entities(e, want, sizeof(want) / sizeof(want[0]));
        nlp_doc_free(d);

        d = doc("人工知能の研究は急速に進んでいます。機械学習と深層学習が人工知能の中心です。", NLP_LANG_JA);
        ck_assert_int_eq(nlp_keywords(d, 3, &k), 0);
        ck_assert_str_eq(nlp_test_path(k, "keywords.0.phrase"), "人工知能");
        ck_assert_str_eq(nlp_test_path(k, "keywords.0.count"), "2");
        nlp_doc_free(d);
        nlp_mecab_done();
}
END_TEST

START_TEST(test_stopwords) {
        ck_assert(nlp_stopword(NLP_LANG_EN, "the"));
        ck_assert(nlp_stopword(NLP_LANG_EN, "yourself"));
        ck_assert(nlp_stopword(NLP_LANG_EN, "a"));
        ck_assert(!nlp_stopword(NLP_LANG_EN, "cat"));
        ck_assert(nlp_stopword(NLP_LANG_JA, "こと"));
        ck_assert(nlp_stopword(NLP_LANG_JA, "際"));
        ck_assert(nlp_stopword(NLP_LANG_JA, "ある"));
        ck_assert(!nlp_stopword(NLP_LANG_JA, "猫"));
}
END_TEST

int main(void) {
        Suite *s = suite_create("nlp-tasks");
        TCase *tc = tcase_create("tasks");

        tcase_add_test(tc, test_keywords_rake_paper);
        tcase_add_test(tc, test_keywords_merge_stems);
        tcase_add_test(tc, test_entities_english);
        tcase_add_test(tc, test_entities_not_sentence_initial);
        tcase_add_test(tc, test_summary_central_sentences);
        tcase_add_test(tc, test_similarity);
        tcase_add_test(tc, test_japanese_tasks);
        tcase_add_test(tc, test_stopwords);
        suite_add_tcase(s, tc);
        return check_run(s);
}
