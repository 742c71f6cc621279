/* SPDX-License-Identifier: MIT */
/* test-llm-client.c — the llm service's client against an in-process server that answers
 * like the llm service: the request it sends (echoed back as the answer's content), the
 * answer's content and model, problem details, and transport failures. */
#include <check.h>

#include "check-run.h"
#include "http-server.h"
#include "json-util.h"
#include "llm-client.h"
#include "log.h"

static HttpServer *server;
static char base[64];

/* The model named in the request picks the answer. */
static int handle_chat(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *in = NULL, *out = json_object_new_object();
        size_t len;
        const char *body = http_request_body(req, &len), *model;
        static char big[300000];

        ck_assert_int_eq(json_parse_strict(body, len, &in, NULL), 0);
        model = json_object_get_string(json_object_object_get(in, "model"));
        if (streq(model, "down"))
                return http_reply_error(req, 503, "no backend: set LLM_BACKENDS_FILE");
        if (streq(model, "big")) {
                memset(big, ' ', sizeof(big));
                return http_reply(req, 200, "application/json", big, sizeof(big));
        }
        if (!streq(model, "bare")) {
                json_object *choice = json_object_new_object(), *message = json_object_new_object(),
                            *choices = json_object_new_array();
                char echo[4096];

                snprintf(
                        echo,
                        sizeof(echo),
                        "%s|%s",
                        strempty(http_request_header(req, "X-Request-ID")),
                        body);
                json_object_object_add(message, "content", json_object_new_string(echo));
                json_object_object_add(choice, "message", message);
                json_object_array_add(choices, choice);
                json_object_object_add(out, "choices", choices);
        }
        json_object_object_add(out, "model", json_object_new_string("served-model"));
        return http_reply_json(req, 200, out);
}

static const HttpRoute routes[] = {
        { "POST", "/v1/chat/completions", handle_chat, 0, NULL },
};

static void setup(void) {
        log_init("test");
        log_set_journal(false);
        log_set_max_level(LOG_WARNING);
        ck_assert_int_eq(
                http_server_new(
                        &(HttpServerConfig){ .listen = "127.0.0.1:0", .threads = 4, .max_body = 1 << 20 },
                        &server),
                0);
        ck_assert_int_eq(http_server_add_routes(server, routes, ELEMENTSOF(routes)), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d//", http_server_get_port(server));
}

static void teardown(void) {
        (void) http_server_shutdown(server);
        http_server_free(server);
        http_client_pool_flush();
}

static int ask(const char *model, json_object *user, LlmClientReply *a) {
        return llm_client_chat(
                &(LlmClientRequest){
                        .url = base,
                        .model = model,
                        .system = "be brief",
                        .user = user,
                        .max_tokens = 60,
                        .timeout_ms = 5000,
                        .max_reply = 256 * 1024,
                        .request_id = "rid-7",
                },
                a);
}

/* The request: its URL (trailing slashes trimmed) and the body, member by member. */
START_TEST(test_request_and_answer) {
        _cleanup_json_ json_object *user = json_object_new_string("こんにちは \"x\"");
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};
        char want[512];

        ck_assert_int_eq(ask("m1", user, &a), 0);
        ck_assert_int_eq(a.status, 200);
        ck_assert_str_eq(a.model, "served-model");
        snprintf(
                want, sizeof(want), "http://127.0.0.1:%d/v1/chat/completions", http_server_get_port(server));
        ck_assert_str_eq(a.endpoint, want);
        ck_assert_str_eq(
                a.content,
                "rid-7|{\"model\":\"m1\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                "{\"role\":\"user\",\"content\":\"こんにちは \\\"x\\\"\"}],\"temperature\":0,\"max_tokens\":60,"
                "\"stream\":false}");
}
END_TEST

/* Content parts (an array) go in as they are. */
START_TEST(test_parts) {
        _cleanup_json_ json_object *parts = json_object_new_array(), *text = json_object_new_object();
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};

        json_object_object_add(text, "type", json_object_new_string("text"));
        json_object_array_add(parts, json_object_get(text));
        ck_assert_int_eq(ask("m2", parts, &a), 0);
        ck_assert_ptr_nonnull(strstr(a.content, "{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}"));
}
END_TEST

START_TEST(test_problem) {
        _cleanup_json_ json_object *user = json_object_new_string("x");
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};

        ck_assert_int_eq(ask("down", user, &a), 0);
        ck_assert_int_eq(a.status, 503);
        ck_assert_str_eq(llm_client_detail(&a), "no backend: set LLM_BACKENDS_FILE");
        ck_assert_ptr_null(a.content);
}
END_TEST

START_TEST(test_no_choices) {
        _cleanup_json_ json_object *user = json_object_new_string("x");
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};

        ck_assert_int_eq(ask("bare", user, &a), 0);
        ck_assert_int_eq(a.status, 200);
        ck_assert_ptr_null(a.content);
        ck_assert_str_eq(a.model, "served-model");
        ck_assert_str_eq(llm_client_detail(&a), "no detail");
}
END_TEST

START_TEST(test_too_big) {
        _cleanup_json_ json_object *user = json_object_new_string("x");
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};

        ck_assert_int_eq(ask("big", user, &a), -EFBIG);
        ck_assert_ptr_nonnull(a.endpoint);
}
END_TEST

START_TEST(test_unreachable) {
        _cleanup_json_ json_object *user = json_object_new_string("x");
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};
        int r;

        /* port 1 on loopback: nothing listens */
        r = llm_client_chat(
                &(LlmClientRequest){ .url = "http://127.0.0.1:1",
                                     .model = "m",
                                     .system = "s",
                                     .user = user,
                                     .timeout_ms = 2000 },
                &a);
        ck_assert_int_eq(r, -ECONNREFUSED);
        ck_assert_str_eq(a.endpoint, "http://127.0.0.1:1/v1/chat/completions");
        ck_assert(a.error[0] != '\0');
        ck_assert_int_eq(a.status, 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-client");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_request_and_answer);
        tcase_add_test(tc, test_parts);
        tcase_add_test(tc, test_problem);
        tcase_add_test(tc, test_no_choices);
        tcase_add_test(tc, test_too_big);
        tcase_add_test(tc, test_unreachable);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
