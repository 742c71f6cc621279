/* SPDX-License-Identifier: MIT */
/* test-nlp-process.c — POST /process's contract through nlp_process(): the seed's
 * response shape, and every bad input answered with the right status naming the
 * field (413 too big, 422 invalid UTF-8 / unknown task / unknown language / wrong
 * types), and Japanese sentiment's 501. */
#include "check-run.h"
#include "nlp-sentiment-ja.h"
#include "nlp-test-util.h"

static NlpConfig config;

static void setup(void) {
        char *missing = NULL;
        config = nlp_test_config();
        ck_assert_int_eq(nlp_resources_load(&config, &missing), 0);
        free(missing); /* tests needing a missing resource check the status they get */
}

static void teardown(void) {
        nlp_resources_free();
}

static int req(const char *body, json_object **ret) {
        return nlp_test_request(&config, body, ret);
}

static const char *field0(json_object *o) {
        return nlp_test_path(o, "errors.0.field");
}

START_TEST(test_shape) {
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(
                req("{\"text\":\"I love this phone.\",\"task\":\"sentiment\",\"language\":\"en\"}", &o),
                200);
        ck_assert_str_eq(nlp_test_path(o, "task"), "sentiment");
        ck_assert_str_eq(nlp_test_path(o, "language_detected"), "en");
        ck_assert_str_eq(nlp_test_path(o, "results.method"), "vader");
        ck_assert_str_eq(nlp_test_path(o, "results.label"), "positive");
        ck_assert(json_object_is_type(json_object_object_get(o, "processing_time"), json_type_double));
        ck_assert_int_eq(json_object_object_length(o), 4);
}
END_TEST

START_TEST(test_analyze_defaults) {
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(
                req("{\"text\":\"The weather in London was lovely today. We walked along the river.\"}", &o),
                200);
        ck_assert_str_eq(nlp_test_path(o, "task"), "analyze");
        ck_assert_str_eq(nlp_test_path(o, "language_detected"), "en");
        ck_assert_str_eq(nlp_test_path(o, "results.sentiment.method"), "vader");
        ck_assert_str_eq(nlp_test_path(o, "results.keywords.method"), "rake");
        ck_assert_str_eq(nlp_test_path(o, "results.summary.method"), "textrank");
        ck_assert_str_eq(nlp_test_path(o, "results.entities.entities.0.text"), "London");
        ck_assert_ptr_null(nlp_test_path(o, "results.similarity"));
}
END_TEST

START_TEST(test_too_big) {
        _cleanup_json_ json_object *o = NULL;
        char *body = malloc(config.max_text + 64);

        snprintf(body, config.max_text + 64, "{\"text\":\"%0*d\"}", (int) config.max_text + 1, 0);
        ck_assert_int_eq(req(body, &o), 413);
        ck_assert_str_eq(field0(o), "text");
        free(body);
}
END_TEST

START_TEST(test_invalid_utf8) {
        _cleanup_json_ json_object *body = json_object_new_object(), *o = NULL;
        Problem *p = NULL;

        /* A string json-c holds but that is not UTF-8 (a client escaping a lone surrogate
         * gets here too). */
        json_object_object_add(body, "text", json_object_new_string_len("ab\xff\xfe", 4));
        ck_assert_int_eq(nlp_process(&config, body, &o, &p), 422);
        ck_assert_int_eq(problem_to_json(p, NULL, &o), 0);
        ck_assert_str_eq(field0(o), "text");
        ck_assert_ptr_nonnull(strstr(nlp_test_path(o, "detail"), "UTF-8"));
        problem_free(p);
}
END_TEST

START_TEST(test_unknown_task_and_language) {
        _cleanup_json_ json_object *a = NULL, *b = NULL;

        ck_assert_int_eq(req("{\"text\":\"hello\",\"task\":\"translate\"}", &a), 422);
        ck_assert_str_eq(field0(a), "task");
        ck_assert_ptr_nonnull(strstr(nlp_test_path(a, "detail"), "'translate'"));
        ck_assert_int_eq(req("{\"text\":\"hello\",\"language\":\"klingon\"}", &b), 422);
        ck_assert_str_eq(field0(b), "language");
        ck_assert_ptr_nonnull(strstr(nlp_test_path(b, "detail"), "'klingon'"));
}
END_TEST

/* GET /tasks lists exactly the tasks /process knows: each listed name is accepted. */
static int collect(ServiceTasks *out, void *userdata) {
        return nlp_process_tasks(out, NULL);
}

START_TEST(test_listed_tasks) {
        _cleanup_json_ json_object *o = NULL;
        ServiceTaskList l = {};
        const char *text;
        char err[128];

        ck_assert_int_eq(service_tasks_build("nlp", collect, NULL, &o), 0);
        text = json_object_to_json_string(o);
        ck_assert_int_eq(service_tasks_parse(text, strlen(text), "nlp", &l, err, sizeof(err)), 0);
        ck_assert_uint_eq(l.n, 7);
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_json_ json_object *a = NULL;
                char body[160];

                ck_assert_str_eq(l.tasks[i].path, "/process");
                ck_assert_str_eq(l.tasks[i].field, "task");
                ck_assert(l.tasks[i].idempotent);
                snprintf(
                        body,
                        sizeof(body),
                        "{\"text\":\"Hello there.\",\"task\":\"%s\",\"language\":\"en\","
                        "\"options\":{\"text2\":\"hi\"}}",
                        l.tasks[i].name);
                ck_assert_msg(
                        req(body, &a) == 200, "%s: %s", l.tasks[i].name, json_object_to_json_string(a));
        }
        service_task_list_done(&l);
}
END_TEST

START_TEST(test_wrong_fields) {
        _cleanup_json_ json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;

        ck_assert_int_eq(req("{\"invalid\":\"payload\"}", &a), 422);
        ck_assert_str_eq(field0(a), "text");
        ck_assert_int_eq(req("{\"text\":42}", &b), 422);
        ck_assert_str_eq(field0(b), "text");
        ck_assert_int_eq(req("{\"text\":\"x\",\"options\":{\"max_keywords\":0}}", &c), 422);
        ck_assert_str_eq(field0(c), "max_keywords");
        ck_assert_int_eq(req("{\"text\":\"x\",\"task\":\"similarity\"}", &d), 422);
        ck_assert_str_eq(field0(d), "options.text2");
        ck_assert_int_eq(req("{\"text\":\"\"}", &e), 422);
        ck_assert_int_eq(req("{\"text\":\"x\",\"options\":{\"texts\":[\"a\",1]}}", &f), 422);
        ck_assert_str_eq(field0(f), "options.texts");
}
END_TEST

START_TEST(test_japanese_sentiment_501) {
        _cleanup_json_ json_object *o = NULL, *a = NULL;
        int r = req("{\"text\":\"今日はとても良い天気です。\",\"task\":\"sentiment\"}", &o);

        ck_assert_int_eq(r, 501);
        ck_assert_ptr_nonnull(strstr(nlp_test_path(o, "detail"), "NLP_JA_SENTIMENT_LEXICON"));
        /* analyze still answers, with the part that cannot be given marked unavailable. */
        r = req("{\"text\":\"今日はとても良い天気です。\"}", &a);
        if (r == 503) /* no MeCab dictionary on this machine */
                return;
        ck_assert_int_eq(r, 200);
        ck_assert_str_eq(nlp_test_path(a, "language_detected"), "ja");
        ck_assert_str_eq(nlp_test_path(a, "results.sentiment.available"), "false");
        ck_assert_str_eq(nlp_test_path(a, "results.sentiment.status"), "501");
        ck_assert_str_eq(nlp_test_path(a, "results.tokens.method"), "mecab-ipadic");
}
END_TEST

START_TEST(test_japanese_lexicon) {
        _cleanup_json_ json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        char path[1024];

        snprintf(
                path,
                sizeof(path),
                "%s/ja-polarity-fixture.tsv",
                nlp_test_env("NLP_TEST_DATA", "tests/data/nlp"));
        if (req("{\"text\":\"この映画は素晴らしい。\",\"task\":\"sentiment\"}", &a) == 503)
                return; /* no MeCab dictionary here */
        json_object_put(TAKE_PTR(a));
        ck_assert_int_eq(nlp_sentiment_ja_init(path), 0);
        ck_assert_int_eq(req("{\"text\":\"この映画は素晴らしい。\",\"task\":\"sentiment\"}", &a), 200);
        ck_assert_str_eq(nlp_test_path(a, "results.method"), "polarity-lexicon");
        ck_assert_str_eq(nlp_test_path(a, "results.label"), "positive");
        ck_assert_str_eq(nlp_test_path(a, "results.matched"), "1");
        ck_assert_int_eq(req("{\"text\":\"この映画は良くない。\",\"task\":\"sentiment\"}", &b), 200);
        ck_assert_str_eq(nlp_test_path(b, "results.label"), "negative");
        ck_assert_int_eq(
                req("{\"text\":\"彼のことが好きではありません。\",\"task\":\"sentiment\"}", &c), 200);
        ck_assert_str_eq(nlp_test_path(c, "results.label"), "negative");
        ck_assert_int_eq(req("{\"text\":\"今日は月曜日です。\",\"task\":\"sentiment\"}", &d), 200);
        ck_assert_str_eq(nlp_test_path(d, "results.label"), "neutral");
        ck_assert_str_eq(nlp_test_path(d, "results.matched"), "0");
        nlp_sentiment_ja_done();
        ck_assert_int_eq(nlp_sentiment_ja_init("/nonexistent"), -ENOENT);
}
END_TEST

START_TEST(test_other_language) {
        _cleanup_json_ json_object *o = NULL, *t = NULL;

        ck_assert_int_eq(
                req("{\"text\":\"Der Hund läuft schnell über die Straße und bellt laut.\",\"task\":\"sentiment\"}",
                    &o),
                501);
        ck_assert_ptr_nonnull(strstr(nlp_test_path(o, "detail"), "'de'"));
        ck_assert_int_eq(
                req("{\"text\":\"Der Hund läuft schnell über die Straße und bellt laut.\",\"task\":\"tokenize\"}",
                    &t),
                200);
        ck_assert_str_eq(nlp_test_path(t, "language_detected"), "de");
        ck_assert_str_eq(nlp_test_path(t, "results.tokens.2.surface"), "läuft");
}
END_TEST

static char *many_sentences(const char *task) {
        char *body = malloc(1 << 16), *p = body;

        p += sprintf(p, "{\"task\":\"%s\",\"language\":\"en\",\"text\":\"", task);
        for (int i = 0; i < 1200; i++)
                p += sprintf(p, "Go %d. ", i % 10);
        sprintf(p, "\"}");
        return body;
}

START_TEST(test_too_many_sentences) {
        _cleanup_json_ json_object *o = NULL, *a = NULL;
        NlpConfig saved = config;
        char *body;

        config.max_text = 1 << 16;
        body = many_sentences("summarize");
        ck_assert_int_eq(req(body, &o), 413);
        ck_assert_str_eq(field0(o), "text");
        free(body);
        /* analyze gives the other parts and marks the summary unavailable */
        body = many_sentences("analyze");
        ck_assert_int_eq(req(body, &a), 200);
        ck_assert_str_eq(nlp_test_path(a, "results.summary.status"), "413");
        ck_assert_str_eq(nlp_test_path(a, "results.sentiment.method"), "vader");
        free(body);
        config = saved;
}
END_TEST

START_TEST(test_similarity_list) {
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(
                req("{\"text\":\"The cat sat on the mat.\",\"task\":\"similarity\",\"options\":{\"texts\":[\"The "
                    "cat sat on the mat.\",\"Stock markets fell.\"]}}",
                    &o),
                200);
        ck_assert_str_eq(nlp_test_path(o, "results.method"), "tfidf-cosine");
        ck_assert_str_eq(nlp_test_path(o, "results.scores.0"), "1");
        ck_assert_str_eq(nlp_test_path(o, "results.scores.1"), "0");
}
END_TEST

START_TEST(test_time_limit) {
        _cleanup_json_ json_object *o = NULL;
        NlpConfig saved = config;
        size_t n = 4000;
        char *body = malloc(n * 12 + 64), *p = body;

        /* TextRank's graph is quadratic in sentences; a 1 ms limit must stop a large one. */
        p += sprintf(p, "{\"task\":\"summarize\",\"language\":\"en\",\"text\":\"");
        for (size_t i = 0; i < n / 12; i++)
                p += sprintf(p, "Cats nap %zu. ", i % 7);
        sprintf(p, "\"}");
        config.time_limit_ms = 0; /* first: no limit, it completes */
        ck_assert_int_eq(req(body, &o), 200);
        json_object_put(o);
        o = NULL;
        config.max_text = 1 << 20;
        config.time_limit_ms = 1;
        free(body);
        /* 900 long sentences (under the 1000 TextRank ranks): tokenizing alone outlasts 1 ms. */
        n = 900 * 140;
        body = malloc(n + 256);
        p = body;
        p += sprintf(p, "{\"task\":\"summarize\",\"language\":\"en\",\"text\":\"");
        for (int i = 0; i < 900; i++)
                p += sprintf(
                        p,
                        "Cats nap on warm mats near sunny windows while dogs %d bark at passing cars and "
                        "the neighbours complain about noise. ",
                        i % 13);
        sprintf(p, "\"}");
        ck_assert_int_eq(req(body, &o), 503);
        ck_assert_ptr_nonnull(strstr(nlp_test_path(o, "detail"), "NLP_TIME_LIMIT"));
        free(body);
        config = saved;
}
END_TEST

int main(void) {
        Suite *s = suite_create("nlp-process");
        TCase *tc = tcase_create("process");

        if (!*nlp_test_env("NLP_VADER_LEXICON", "")) {
                printf("SKIP: NLP_VADER_LEXICON is not set\n");
                return 77;
        }
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_shape);
        tcase_add_test(tc, test_analyze_defaults);
        tcase_add_test(tc, test_too_big);
        tcase_add_test(tc, test_invalid_utf8);
        tcase_add_test(tc, test_unknown_task_and_language);
        tcase_add_test(tc, test_listed_tasks);
        tcase_add_test(tc, test_wrong_fields);
        tcase_add_test(tc, test_japanese_sentiment_501);
        tcase_add_test(tc, test_japanese_lexicon);
        tcase_add_test(tc, test_other_language);
        tcase_add_test(tc, test_similarity_list);
        tcase_add_test(tc, test_too_many_sentences);
        tcase_add_test(tc, test_time_limit);
        suite_add_tcase(s, tc);
        return check_run(s);
}
