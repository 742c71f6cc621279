/* SPDX-License-Identifier: MIT */
/* test-llm-config.c — the backends file: defaults, key files, and errors naming the field. */
#include <check.h>
#include <stdio.h>

#include "check-run.h"
#include "llm-config.h"
#include "llm-kinds.h"

static LlmConfig cfg; /* large: not on the stack */

static int parse(const char *text, char **ret_error) {
        return llm_config_parse(text, strlen(text), &cfg, ret_error);
}

START_TEST(test_minimal_with_defaults) {
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(
                parse("{\"backends\":[{\"name\":\"local\",\"kind\":\"ollama\","
                      "\"base_url\":\"http://127.0.0.1:11434/\",\"models\":[{\"name\":\"llama3\"}]}]}",
                      &err),
                0);
        ck_assert_uint_eq(cfg.n_backends, 1);
        ck_assert_str_eq(cfg.backends[0].base_url, "http://127.0.0.1:11434"); /* slash trimmed */
        ck_assert_ptr_eq(cfg.backends[0].ops, &llm_ollama_ops);
        ck_assert_int_eq(cfg.backends[0].retries, 1);
        ck_assert_int_eq(cfg.backends[0].allowed_fails, 3);
        ck_assert_uint_eq(cfg.backends[0].cooldown_ms, 5000);
        ck_assert_ptr_null(cfg.backends[0].api_key);
        ck_assert_str_eq(cfg.backends[0].models[0].upstream, "llama3");
        ck_assert_int_eq(cfg.backends[0].models[0].context_window, 4096);
        ck_assert(cfg.backends[0].models[0].in_auto);
        ck_assert(!cfg.backends[0].models[0].vision);
        ck_assert_ptr_nonnull(llm_backend_find_model(&cfg.backends[0], "llama3"));
        llm_config_done(&cfg);
}
END_TEST

START_TEST(test_key_file) {
        char path[] = "/tmp/test-llm-key-XXXXXX", text[512];
        _cleanup_free_ char *err = NULL;
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "sk-secret\n", 10), 10);
        close(fd);
        snprintf(
                text,
                sizeof(text),
                "{\"backends\":[{\"name\":\"c\",\"kind\":\"anthropic\",\"base_url\":\"https://api.anthropic.com\","
                "\"api_key_file\":\"%s\",\"models\":[{\"name\":\"claude\",\"context_window\":200000}]}]}",
                path);
        ck_assert_int_eq(parse(text, &err), 0);
        ck_assert_str_eq(cfg.backends[0].api_key, "sk-secret");
        ck_assert_str_eq(cfg.backends[0].anthropic_version, "2023-06-01");
        llm_config_done(&cfg);
        unlink(path);

        ck_assert_int_eq(parse(text, &err), -EINVAL); /* the file is gone now */
        ck_assert_ptr_nonnull(strstr(err, "backends[0].api_key_file"));
}
END_TEST

static void expect_error(const char *text, const char *needle) {
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(parse(text, &err), -EINVAL);
        ck_assert_msg(err && strstr(err, needle), "'%s' not in '%s'", needle, err);
}

START_TEST(test_errors_name_the_field) {
        expect_error("{", "not valid JSON");
        expect_error("{}", "backends");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"gpt\",\"base_url\":\"http://a\",\"models\":[]}]}",
                "backends[0].kind");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"ftp://a.b\",\"models\":[]}]}",
                "backends[0].base_url");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"http://a.b\",\"models\":[]}]}",
                "backends[0].models");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"http://a.b\","
                "\"models\":[{\"name\":\"m\",\"context_window\":\"big\"}]}]}",
                "backends[0].models[0].context_window");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"http://a.b\","
                "\"models\":[{\"name\":\"auto\"}]}]}",
                "reserved");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"http://a.b\","
                "\"models\":[{\"name\":\"m\"},{\"name\":\"m\"}]}]}",
                "duplicate model");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"http://a.b\","
                "\"models\":[{\"name\":\"m\",\"vision\":\"yes\"}]}]}",
                "backends[0].models[0].vision");
        expect_error(
                "{\"backends\":[{\"name\":\"x\",\"kind\":\"openai\",\"base_url\":\"http://a.b\","
                "\"models\":[{\"name\":\"m\"}]},{\"name\":\"x\",\"kind\":\"ollama\",\"base_url\":\"http://c\","
                "\"models\":[{\"name\":\"n\"}]}]}",
                "backends[1].name: duplicate backend");
}
END_TEST

START_TEST(test_embeddings_models) {
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        ck_assert_int_eq(
                parse("{\"backends\":[{\"name\":\"l\",\"kind\":\"ollama\",\"base_url\":\"http://l\","
                      "\"models\":[{\"name\":\"nomic\",\"embeddings\":true},{\"name\":\"chat\"}]}]}",
                      &err),
                0);
        ck_assert(cfg.backends[0].models[0].embeddings);
        ck_assert(!cfg.backends[0].models[1].embeddings);
        llm_config_done(&cfg);
        /* Anthropic has no embeddings API: refused at start, naming the field. */
        ck_assert_int_eq(
                parse("{\"backends\":[{\"name\":\"c\",\"kind\":\"anthropic\",\"base_url\":\"http://c\","
                      "\"models\":[{\"name\":\"e\",\"embeddings\":true}]}]}",
                      &err2),
                -EINVAL);
        ck_assert_str_eq(
                err2, "backends[0].models[0].embeddings: a backend of kind anthropic has no embeddings API");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-config");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_minimal_with_defaults);
        tcase_add_test(tc, test_key_file);
        tcase_add_test(tc, test_errors_name_the_field);
        tcase_add_test(tc, test_embeddings_models);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
