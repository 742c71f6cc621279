/* SPDX-License-Identifier: MIT */
/* test-llm-provider.c — the three wire protocols: request bodies and headers as the real
 * APIs expect them, and parsing of their stream units (text, usage, end, errors). */
#include <check.h>

#include "check-run.h"
#include "json-util.h"
#include "llm-kinds.h"

static LlmBackend backend(const LlmProviderOps *kind, const char *url, const char *key) {
        return (LlmBackend){
                .name = (char *) "b",
                .ops = kind,
                .base_url = (char *) url,
                .api_key = (char *) key,
                .anthropic_version = (char *) "2023-06-01",
        };
}

static LlmModel model = { .name = (char *) "m", .upstream = (char *) "up-m", .context_window = 4096 };

static bool has_header(const LlmHttpCall *c, const char *h) {
        for (const struct curl_slist *l = c->headers; l; l = l->next)
                if (streq(l->data, h))
                        return true;
        return false;
}

static json_object *body_of(const LlmHttpCall *c) {
        json_object *o = NULL;
        ck_assert_int_eq(json_parse_strict(c->body, strlen(c->body), &o, NULL), 0);
        return o;
}

static const char *str(json_object *o, const char *a, const char *b) {
        json_object *v = llm_json_path(o, a, b, NULL);
        return v ? json_object_get_string(v) : NULL;
}

START_TEST(test_build_ollama) {
        LlmBackend b = backend(&llm_ollama_ops, "http://h:11434", NULL);
        LlmCallRequest req = {
                .prompt = "hi", .max_tokens = 7, .temperature = 0.5, .has_temperature = true
        };
        _cleanup_(llm_http_call_done) LlmHttpCall c = {};
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(llm_provider_build(&b, &model, &req, &c), 0);
        ck_assert_str_eq(c.url, "http://h:11434/api/generate");
        o = body_of(&c);
        ck_assert_str_eq(str(o, "model", NULL), "up-m");
        ck_assert_str_eq(str(o, "prompt", NULL), "hi");
        ck_assert_str_eq(str(o, "stream", NULL), "true");
        ck_assert_str_eq(str(o, "options", "num_predict"), "7");
        ck_assert_ptr_null(llm_json_path(o, "options", "top_p", NULL));
        ck_assert_int_eq(b.ops->stream_format, LLM_STREAM_NDJSON);
}
END_TEST

START_TEST(test_build_openai_and_anthropic) {
        LlmMessage msgs[] = { { (char *) "system", (char *) "be brief" },
                              { (char *) "user", (char *) "q" } };
        LlmCallRequest req = { .messages = msgs, .n_messages = 2, .max_tokens = 9 };
        LlmBackend ob = backend(&llm_openai_ops, "http://v/v1", "sk-1"),
                   ab = backend(&llm_anthropic_ops, "https://api.anthropic.com", "sk-ant");
        _cleanup_(llm_http_call_done) LlmHttpCall oc = {}, ac = {};
        _cleanup_json_ json_object *o = NULL, *a = NULL;

        ck_assert_int_eq(llm_provider_build(&ob, &model, &req, &oc), 0);
        ck_assert_str_eq(oc.url, "http://v/v1/chat/completions");
        ck_assert(has_header(&oc, "Authorization: Bearer sk-1"));
        o = body_of(&oc);
        ck_assert_str_eq(str(o, "stream_options", "include_usage"), "true");
        ck_assert_uint_eq(json_object_array_length(llm_json_path(o, "messages", NULL)), 2);

        ck_assert_int_eq(llm_provider_build(&ab, &model, &req, &ac), 0);
        ck_assert_str_eq(ac.url, "https://api.anthropic.com/v1/messages");
        ck_assert(has_header(&ac, "x-api-key: sk-ant"));
        ck_assert(has_header(&ac, "anthropic-version: 2023-06-01"));
        a = body_of(&ac);
        ck_assert_str_eq(str(a, "system", NULL), "be brief");
        ck_assert_uint_eq(json_object_array_length(llm_json_path(a, "messages", NULL)), 1);
        ck_assert_str_eq(str(a, "max_tokens", NULL), "9");
}
END_TEST

static int
parse(const LlmProviderOps *kind,
      bool chat,
      const char *event,
      const char *data,
      LlmEvent *ev,
      json_object **keep) {
        return llm_provider_parse(kind, chat, event, data, strlen(data), ev, keep);
}

START_TEST(test_parse_units) {
        _cleanup_json_ json_object *k1 = NULL, *k2 = NULL, *k3 = NULL, *k4 = NULL, *k5 = NULL, *k6 = NULL;
        json_object *k7 = NULL;
        LlmEvent ev;

        ck_assert_int_eq(
                parse(&llm_ollama_ops,
                      true,
                      NULL,
                      "{\"message\":{\"content\":\"Hi\"},\"done\":false}",
                      &ev,
                      &k1),
                0);
        ck_assert_uint_eq(ev.text_len, 2);
        ck_assert(!ev.done);
        ck_assert_int_eq(
                parse(&llm_ollama_ops,
                      false,
                      NULL,
                      "{\"response\":\"\",\"done\":true,\"prompt_eval_count\":12,\"eval_count\":34}",
                      &ev,
                      &k2),
                0);
        ck_assert(ev.done);
        ck_assert_int_eq(ev.prompt_tokens, 12);
        ck_assert_int_eq(ev.completion_tokens, 34);

        ck_assert_int_eq(
                parse(&llm_openai_ops,
                      true,
                      NULL,
                      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"yo\"},\"finish_reason\":null}]}",
                      &ev,
                      &k3),
                0);
        ck_assert_int_eq(strncmp(ev.text, "yo", ev.text_len), 0);
        ck_assert_int_eq(
                parse(&llm_openai_ops,
                      true,
                      NULL,
                      "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
                      &ev,
                      &k4),
                0);
        ck_assert_int_eq(ev.completion_tokens, 4);
        ck_assert_int_eq(parse(&llm_openai_ops, true, NULL, "[DONE]", &ev, &k7), 0);
        ck_assert(ev.done);

        ck_assert_int_eq(
                parse(&llm_anthropic_ops,
                      true,
                      "content_block_delta",
                      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
                      "\"text\":\"abc\"}}",
                      &ev,
                      &k5),
                0);
        ck_assert_uint_eq(ev.text_len, 3);
        ck_assert_int_eq(
                parse(&llm_anthropic_ops,
                      true,
                      "message_delta",
                      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
                      "\"usage\":{\"output_tokens\":15}}",
                      &ev,
                      &k6),
                0);
        ck_assert_int_eq(ev.completion_tokens, 15);
        ck_assert_str_eq(ev.finish_reason, "length");
}
END_TEST

START_TEST(test_parse_errors) {
        json_object *k = NULL;
        LlmEvent ev;

        ck_assert_int_eq(parse(&llm_ollama_ops, true, NULL, "{\"message\":", &ev, &k), -EBADMSG);
        ck_assert_int_eq(parse(&llm_openai_ops, true, NULL, "[1,2]", &ev, &k), -EBADMSG);
        ck_assert_int_eq(
                parse(&llm_ollama_ops, true, NULL, "{\"error\":\"model not loaded\"}", &ev, &k), -EPROTO);
        ck_assert_str_eq(ev.error, "model not loaded");
        ck_assert_int_eq(
                parse(&llm_anthropic_ops,
                      true,
                      "error",
                      "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
                      &ev,
                      &k),
                -EPROTO);
        ck_assert_str_eq(ev.error, "Overloaded");
        ck_assert_ptr_null(k);
}
END_TEST

START_TEST(test_kinds_by_name) {
        char names[64];

        ck_assert_ptr_eq(llm_kinds_find("ollama"), &llm_ollama_ops);
        ck_assert_ptr_eq(llm_kinds_find("openai"), &llm_openai_ops);
        ck_assert_ptr_eq(llm_kinds_find("anthropic"), &llm_anthropic_ops);
        ck_assert_ptr_null(llm_kinds_find("gpt"));
        ck_assert_ptr_null(llm_kinds_find(NULL));
        llm_kinds_names(names, sizeof(names));
        ck_assert_str_eq(names, "ollama, openai, anthropic");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-provider");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_build_ollama);
        tcase_add_test(tc, test_build_openai_and_anthropic);
        tcase_add_test(tc, test_parse_units);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_kinds_by_name);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
