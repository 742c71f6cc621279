/* SPDX-License-Identifier: MIT */
/* test-llm-provider.c — the three wire protocols: request bodies and headers as the real
 * APIs expect them (tools, tool history, structured output, the sampling fields,
 * embeddings), and parsing of their stream units (text, tool call pieces, usage, end,
 * errors) with each protocol's faults. */
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
        LlmParseState st = { .mode = chat ? LLM_CALL_CHAT : LLM_CALL_COMPLETION };

        return llm_provider_parse(kind, &st, event, data, strlen(data), ev, keep);
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

/* The member at path of the body, compared with the JSON text want. */
static void expect_json(json_object *o, const char *const *path, const char *want) {
        _cleanup_json_ json_object *w = NULL;
        json_object *got = llm_json_path_v(o, path);

        ck_assert_int_eq(json_parse_strict(want, strlen(want), &w, NULL), 0);
        if (!json_object_equal(got, w))
                ck_abort_msg(
                        "%s: got %s, want %s",
                        path[0],
                        got ? json_object_to_json_string(got) : "(none)",
                        want);
}
#define EXPECT_JSON(o, want, ...) expect_json((o), (const char *const[]){ __VA_ARGS__, NULL }, (want))

static const LlmTool tools[] = {
        { .name = "get_weather",
          .description = "The weather",
          .parameters = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}",
          .strict = true },
        { .name = "get_time" },
};
static LlmToolCall calls[] = {
        { (char *) "call_1", (char *) "get_weather", (char *) "{\"city\":\"Lyon\"}" }
};
static const char *const stops[] = { "END", "\n\n" };

/* user, assistant calling a tool, the tool's result, user. */
static LlmMessage history[] = {
        { .role = (char *) "system", .content = (char *) "be brief" },
        { .role = (char *) "user", .content = (char *) "weather?" },
        { .role = (char *) "assistant", .content = (char *) "", .tool_calls = calls, .n_tool_calls = 1 },
        { .role = (char *) "tool",
          .content = (char *) "sunny",
          .tool_call_id = (char *) "call_1",
          .name = (char *) "get_weather" },
        { .role = (char *) "user", .content = (char *) "and tomorrow?" },
};

static LlmCallRequest tool_request(void) {
        return (LlmCallRequest){
                .messages = history,
                .n_messages = ELEMENTSOF(history),
                .max_tokens = 50,
                .tools = tools,
                .n_tools = 2,
                .tool_choice = LLM_TOOL_CHOICE_NAMED,
                .tool_choice_name = "get_time",
                .output = LLM_OUTPUT_JSON_SCHEMA,
                .output_name = "w",
                .output_schema = "{\"type\":\"object\"}",
                .output_strict = true,
                .stop = stops,
                .n_stop = 2,
                .seed = 7,
                .top_k = 20,
                .presence_penalty = 0.5,
                .frequency_penalty = -1,
                .user = "u-1",
                .features = LLM_FEATURE_TOOLS | LLM_FEATURE_TOOL_NAMED | LLM_FEATURE_SERIAL_TOOLS |
                        LLM_FEATURE_STRICT_TOOLS | LLM_FEATURE_JSON_SCHEMA | LLM_FEATURE_STOP |
                        LLM_FEATURE_SEED | LLM_FEATURE_PRESENCE_PENALTY | LLM_FEATURE_FREQUENCY_PENALTY |
                        LLM_FEATURE_USER | LLM_FEATURE_TOP_K,
        };
}

START_TEST(test_build_openai_tools_and_fields) {
        LlmBackend b = backend(&llm_openai_ops, "http://v/v1", NULL);
        LlmCallRequest req = tool_request();
        _cleanup_(llm_http_call_done) LlmHttpCall c = {};
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(llm_provider_build(&b, &model, &req, &c), 0);
        o = body_of(&c);
        /* The request's own fields, as they are. */
        EXPECT_JSON(
                o,
                "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"The weather\","
                "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}},"
                "\"strict\":true}}",
                "tools",
                "0");
        EXPECT_JSON(o, "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", "tools", "1");
        EXPECT_JSON(o, "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", "tool_choice");
        EXPECT_JSON(o, "false", "parallel_tool_calls");
        EXPECT_JSON(
                o,
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":{\"type\":\"object\"},"
                "\"strict\":true}}",
                "response_format");
        EXPECT_JSON(o, "[\"END\",\"\\n\\n\"]", "stop");
        EXPECT_JSON(o, "7", "seed");
        EXPECT_JSON(o, "0.5", "presence_penalty");
        EXPECT_JSON(o, "-1.0", "frequency_penalty");
        EXPECT_JSON(o, "\"u-1\"", "user");
        ck_assert_ptr_null(
                llm_json_path(o, "top_k", NULL)); /* not an OpenAI field: the router keeps it away */
        /* The history: arguments as text, the result with its call's id. */
        EXPECT_JSON(
                o,
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Lyon\\\"}\"}}]}",
                "messages",
                "2");
        EXPECT_JSON(
                o, "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_call_id\":\"call_1\"}", "messages", "3");
}
END_TEST

START_TEST(test_build_ollama_tools_and_fields) {
        LlmBackend b = backend(&llm_ollama_ops, "http://h:11434", NULL);
        LlmCallRequest req = tool_request();
        _cleanup_(llm_http_call_done) LlmHttpCall c = {}, c2 = {};
        _cleanup_json_ json_object *o = NULL, *o2 = NULL;

        req.tool_choice = LLM_TOOL_CHOICE_AUTO;
        ck_assert_int_eq(llm_provider_build(&b, &model, &req, &c), 0);
        ck_assert_str_eq(c.url, "http://h:11434/api/chat");
        o = body_of(&c);
        EXPECT_JSON(
                o,
                "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"The weather\","
                "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}},"
                "\"strict\":true}}",
                "tools",
                "0");
        EXPECT_JSON(o, "{\"type\":\"object\"}", "format");
        EXPECT_JSON(
                o,
                "{\"num_predict\":50,\"top_k\":20,\"stop\":[\"END\",\"\\n\\n\"],\"seed\":7,"
                "\"presence_penalty\":0.5,\"frequency_penalty\":-1.0}",
                "options");
        /* The history: arguments as an object, the result naming its function. */
        EXPECT_JSON(o, "{\"city\":\"Lyon\"}", "messages", "2", "tool_calls", "0", "function", "arguments");
        EXPECT_JSON(
                o,
                "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":\"get_weather\",\"tool_call_id\":\"call_1\"}",
                "messages",
                "3");
        /* tool_choice none: Ollama has no such field, the tools stay home; json_object: "json". */
        req.tool_choice = LLM_TOOL_CHOICE_NONE;
        req.output = LLM_OUTPUT_JSON_OBJECT;
        ck_assert_int_eq(llm_provider_build(&b, &model, &req, &c2), 0);
        o2 = body_of(&c2);
        ck_assert_ptr_null(llm_json_path(o2, "tools", NULL));
        EXPECT_JSON(o2, "\"json\"", "format");
}
END_TEST

START_TEST(test_build_anthropic_tools_and_fields) {
        LlmBackend b = backend(&llm_anthropic_ops, "https://api.anthropic.com", "k");
        LlmMessage two[ELEMENTSOF(history) + 1];
        LlmCallRequest req = tool_request();
        _cleanup_(llm_http_call_done) LlmHttpCall c = {}, c2 = {};
        _cleanup_json_ json_object *o = NULL, *o2 = NULL;

        /* Two results in a row, the second an error, then the user's text. */
        memcpy(two, history, 4 * sizeof(LlmMessage));
        two[4] = history[3];
        two[4].tool_error = true;
        two[5] = history[4];
        req.messages = two;
        req.n_messages = ELEMENTSOF(two);
        ck_assert_int_eq(llm_provider_build(&b, &model, &req, &c), 0);
        o = body_of(&c);
        EXPECT_JSON(o, "\"be brief\"", "system");
        EXPECT_JSON(
                o,
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get_weather\","
                "\"input\":{\"city\":\"Lyon\"}}]}",
                "messages",
                "1");
        EXPECT_JSON(
                o,
                "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":"
                "\"sunny\"},{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":\"sunny\",\"is_error\":true},"
                "{\"type\":\"text\",\"text\":\"and tomorrow?\"}]}",
                "messages",
                "2");
        ck_assert_uint_eq(json_object_array_length(llm_json_path(o, "messages", NULL)), 3);
        EXPECT_JSON(
                o,
                "{\"name\":\"get_weather\",\"description\":\"The weather\",\"input_schema\":{\"type\":\"object\","
                "\"properties\":{\"city\":{\"type\":\"string\"}}},\"strict\":true}",
                "tools",
                "0");
        /* A tool without parameters takes no input: Anthropic needs a schema. */
        EXPECT_JSON(
                o,
                "{\"name\":\"get_time\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}",
                "tools",
                "1");
        EXPECT_JSON(
                o,
                "{\"type\":\"tool\",\"name\":\"get_time\",\"disable_parallel_tool_use\":true}",
                "tool_choice");
        EXPECT_JSON(
                o,
                "{\"format\":{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\"}}}",
                "output_config");
        EXPECT_JSON(o, "[\"END\",\"\\n\\n\"]", "stop_sequences");
        EXPECT_JSON(o, "20", "top_k");
        EXPECT_JSON(o, "{\"user_id\":\"u-1\"}", "metadata");
        ck_assert_ptr_null(llm_json_path(o, "seed", NULL));

        req.tool_choice = LLM_TOOL_CHOICE_REQUIRED;
        ck_assert_int_eq(llm_provider_build(&b, &model, &req, &c2), 0);
        o2 = body_of(&c2);
        EXPECT_JSON(o2, "{\"type\":\"any\",\"disable_parallel_tool_use\":true}", "tool_choice");
}
END_TEST

/* Parses units in order with one state, as a stream would. */
static int parse_seq(
        const LlmProviderOps *kind, LlmParseState *st, const char *data, LlmEvent *ev, json_object **keep) {
        json_object_put(*keep);
        *keep = NULL;
        return llm_provider_parse(kind, st, NULL, data, strlen(data), ev, keep);
}

START_TEST(test_parse_openai_tool_calls) {
        LlmParseState st = { .mode = LLM_CALL_CHAT };
        _cleanup_json_ json_object *k = NULL;
        LlmEvent ev;

        ck_assert_int_eq(
                parse_seq(
                        &llm_openai_ops,
                        &st,
                        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":"
                        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 1);
        ck_assert_str_eq(ev.tools[0].id, "call_a");
        ck_assert_str_eq(ev.tools[0].name, "f");
        ck_assert_uint_eq(ev.tools[0].arguments_len, 0);
        /* Two calls' pieces in one chunk. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_openai_ops,
                        &st,
                        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                        "\"{\\\"a\"}},{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},"
                        "\"finish_reason\":null}]}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 2);
        ck_assert_uint_eq(ev.tools[0].index, 0);
        ck_assert_int_eq(strncmp(ev.tools[0].arguments, "{\"a", ev.tools[0].arguments_len), 0);
        ck_assert_ptr_null(ev.tools[0].id);
        ck_assert_uint_eq(ev.tools[1].index, 1);
        ck_assert_int_eq(
                parse_seq(
                        &llm_openai_ops,
                        &st,
                        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
                        &ev,
                        &k),
                0);
        ck_assert_str_eq(ev.finish_reason, "tool_calls");
        /* A piece without its index. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_openai_ops,
                        &st,
                        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"x\"}}]}}]}",
                        &ev,
                        &k),
                -EBADMSG);
        ck_assert_ptr_nonnull(strstr(ev.error, "index"));
}
END_TEST

START_TEST(test_parse_anthropic_tool_blocks) {
        LlmParseState st = { .mode = LLM_CALL_CHAT };
        _cleanup_json_ json_object *k = NULL;
        LlmEvent ev;

        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops,
                        &st,
                        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 0);
        /* An input_json_delta in a text block breaks the protocol. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops,
                        &st,
                        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
                        "\"partial_json\":\"{\"}}",
                        &ev,
                        &k),
                -EBADMSG);
        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops,
                        &st,
                        "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":"
                        "\"toolu_1\",\"name\":\"f\",\"input\":{}}}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 1);
        ck_assert_uint_eq(ev.tools[0].index, 0);
        ck_assert_str_eq(ev.tools[0].id, "toolu_1");
        ck_assert_str_eq(ev.tools[0].name, "f");
        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops,
                        &st,
                        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                        "\"partial_json\":\"{\\\"a\\\": 1\"}}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.tools[0].index, 0);
        ck_assert_int_eq(strncmp(ev.tools[0].arguments, "{\"a\": 1", ev.tools[0].arguments_len), 0);
        ck_assert_int_eq(
                parse_seq(&llm_anthropic_ops, &st, "{\"type\":\"content_block_stop\",\"index\":1}", &ev, &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 0); /* it had arguments */
        /* A second call whose input streams nothing: its arguments are {}. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops,
                        &st,
                        "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":"
                        "\"toolu_2\",\"name\":\"g\",\"input\":{}}}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.tools[0].index, 1);
        ck_assert_int_eq(
                parse_seq(&llm_anthropic_ops, &st, "{\"type\":\"content_block_stop\",\"index\":2}", &ev, &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 1);
        ck_assert_str_eq(ev.tools[0].arguments, "{}");
        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops,
                        &st,
                        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}",
                        &ev,
                        &k),
                0);
        ck_assert_str_eq(ev.finish_reason, "tool_calls");
        ck_assert_int_eq(
                parse_seq(
                        &llm_anthropic_ops, &st, "{\"type\":\"content_block_stop\",\"index\":64}", &ev, &k),
                -EBADMSG);
}
END_TEST

START_TEST(test_parse_ollama_tool_calls) {
        LlmParseState st = { .mode = LLM_CALL_CHAT };
        _cleanup_json_ json_object *k = NULL;
        LlmEvent ev;

        ck_assert_int_eq(
                parse_seq(
                        &llm_ollama_ops,
                        &st,
                        "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"index\":0,"
                        "\"name\":\"f\",\"arguments\":{\"city\":\"Oslo\"}}},{\"id\":\"call_x\",\"function\":{\"index\":1,"
                        "\"name\":\"g\",\"arguments\":{}}}]},\"done\":false}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.n_tools, 2);
        ck_assert_ptr_null(ev.tools[0].id); /* the gateway gives it one */
        ck_assert_str_eq(ev.tools[0].name, "f");
        ck_assert_str_eq(ev.tools[0].arguments, "{\"city\":\"Oslo\"}");
        ck_assert_str_eq(ev.tools[1].id, "call_x");
        /* The next line's calls are numbered on: Ollama restarts its own index per line. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_ollama_ops,
                        &st,
                        "{\"message\":{\"content\":\"\",\"tool_calls\":[{\"function\":{\"index\":0,\"name\":\"h\","
                        "\"arguments\":{}}}]},\"done\":false}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(ev.tools[0].index, 2);
        ck_assert_int_eq(
                parse_seq(
                        &llm_ollama_ops,
                        &st,
                        "{\"message\":{\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"h\",\"arguments\":"
                        "\"{oops\"}}]},\"done\":false}",
                        &ev,
                        &k),
                -EBADMSG);
}
END_TEST

START_TEST(test_embeddings_both_directions) {
        static const char *const inputs[] = { "one", "two" };
        LlmCallRequest req = {
                .inputs = inputs, .n_inputs = 2, .dimensions = 3, .features = LLM_FEATURE_DIMENSIONS
        };
        LlmBackend ob = backend(&llm_openai_ops, "http://v/v1", "sk"),
                   lb = backend(&llm_ollama_ops, "http://h", NULL),
                   ab = backend(&llm_anthropic_ops, "http://a", NULL);
        _cleanup_(llm_http_call_done) LlmHttpCall oc = {}, lc = {}, ac = {};
        _cleanup_json_ json_object *o = NULL, *l = NULL, *k = NULL;
        LlmParseState st = { .mode = LLM_CALL_EMBED, .n_inputs = 2, .dimensions = 3 };
        LlmEvent ev;

        ck_assert_int_eq(llm_provider_build(&ob, &model, &req, &oc), 0);
        ck_assert_str_eq(oc.url, "http://v/v1/embeddings");
        ck_assert_int_eq(oc.format, LLM_STREAM_WHOLE);
        o = body_of(&oc);
        expect_json(
                o,
                (const char *const[]){ NULL },
                "{\"model\":\"up-m\",\"input\":[\"one\",\"two\"],\"encoding_format\":\"float\",\"dimensions\":3}");
        ck_assert_int_eq(llm_provider_build(&lb, &model, &req, &lc), 0);
        ck_assert_str_eq(lc.url, "http://h/api/embed");
        l = body_of(&lc);
        EXPECT_JSON(l, "false", "truncate");
        EXPECT_JSON(l, "3", "dimensions");
        ck_assert_int_eq(llm_provider_build(&ab, &model, &req, &ac), -EOPNOTSUPP);

        /* OpenAI: the vectors by index; Ollama: in order. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_openai_ops,
                        &st,
                        "{\"data\":[{\"index\":0,\"embedding\":[1,2,3]},{\"index\":1,\"embedding\":[0.5,0,-1]}],"
                        "\"usage\":{\"prompt_tokens\":2}}",
                        &ev,
                        &k),
                0);
        ck_assert_uint_eq(json_object_array_length(ev.embeddings), 2);
        ck_assert_int_eq(ev.prompt_tokens, 2);
        ck_assert(ev.done);
        ck_assert_int_eq(
                parse_seq(
                        &llm_ollama_ops,
                        &st,
                        "{\"embeddings\":[[1,2,3],[4,5,6]],\"prompt_eval_count\":4}",
                        &ev,
                        &k),
                0);
        ck_assert_int_eq(ev.prompt_tokens, 4);
        /* Faults: out of order, one vector too few, the wrong length, not numbers. */
        ck_assert_int_eq(
                parse_seq(
                        &llm_openai_ops,
                        &st,
                        "{\"data\":[{\"index\":1,\"embedding\":[1,2,3]},{\"index\":0,\"embedding\":[1,2,3]}]}",
                        &ev,
                        &k),
                -EBADMSG);
        ck_assert_int_eq(parse_seq(&llm_ollama_ops, &st, "{\"embeddings\":[[1,2,3]]}", &ev, &k), -EBADMSG);
        ck_assert_str_eq(ev.error, "1 embeddings for 2 inputs");
        ck_assert_int_eq(
                parse_seq(&llm_ollama_ops, &st, "{\"embeddings\":[[1,2,3],[1,2]]}", &ev, &k), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(ev.error, "(dimensions)"));
        ck_assert_int_eq(
                parse_seq(&llm_ollama_ops, &st, "{\"embeddings\":[[1,2,3],[1,\"2\",3]]}", &ev, &k),
                -EBADMSG);
        ck_assert_int_eq(
                parse_seq(&llm_ollama_ops, &st, "{\"error\":\"model not found\"}", &ev, &k), -EPROTO);
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
        tcase_add_test(tc, test_build_openai_tools_and_fields);
        tcase_add_test(tc, test_build_ollama_tools_and_fields);
        tcase_add_test(tc, test_build_anthropic_tools_and_fields);
        tcase_add_test(tc, test_parse_openai_tool_calls);
        tcase_add_test(tc, test_parse_anthropic_tool_blocks);
        tcase_add_test(tc, test_parse_ollama_tool_calls);
        tcase_add_test(tc, test_embeddings_both_directions);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
