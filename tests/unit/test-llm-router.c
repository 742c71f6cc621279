/* SPDX-License-Identifier: MIT */
/* test-llm-router.c — auto routing by priority, task and window; explicit models and
 * their fallback chains; images, embeddings and the features a backend's kind honours;
 * the reason text. */
#include <check.h>

#include "check-run.h"
#include "llm-provider.h"
#include "llm-router.h"

static LlmConfig cfg;

static const char config_text[] =
        "{\"backends\":["
        "{\"name\":\"local\",\"kind\":\"ollama\",\"base_url\":\"http://l\",\"models\":["
        "  {\"name\":\"small\",\"context_window\":2048,\"quality\":3,\"speed\":9,\"cost\":0,\"tasks\":[\"chat\"]},"
        "  {\"name\":\"coder\",\"context_window\":16384,\"quality\":6,\"speed\":6,\"cost\":0,\"tasks\":[\"code\"]},"
        "  {\"name\":\"hidden\",\"auto\":false,\"quality\":10,\"speed\":10}]},"
        "{\"name\":\"cloud\",\"kind\":\"anthropic\",\"base_url\":\"https://c\",\"models\":["
        "  {\"name\":\"big\",\"context_window\":200000,\"quality\":9,\"speed\":4,\"cost\":15,"
        "   \"fallback\":[\"coder\",\"small\"]}]},"
        "{\"name\":\"mirror\",\"kind\":\"openai\",\"base_url\":\"http://m/v1\",\"models\":["
        "  {\"name\":\"big\",\"context_window\":200000,\"quality\":9,\"speed\":4,\"cost\":15}]}"
        "]}";

static void setup(void) {
        _cleanup_free_ char *err = NULL;
        ck_assert_int_eq(llm_config_parse(config_text, strlen(config_text), &cfg, &err), 0);
}

static void teardown(void) {
        llm_config_done(&cfg);
}

static const char *first(LlmPriority p, const char *task, int64_t needed) {
        static LlmRoute r;
        ck_assert_int_eq(
                llm_router_route(
                        &cfg, "auto", p, task, &(LlmNeeds){ .tokens = needed, .vision = false }, &r),
                0);
        return r.candidates[0].model->name;
}

START_TEST(test_priorities) {
        ck_assert_str_eq(first(LLM_PRIORITY_QUALITY, NULL, 100), "big");
        ck_assert_str_eq(first(LLM_PRIORITY_SPEED, NULL, 100), "small");
        ck_assert_str_eq(first(LLM_PRIORITY_COST, NULL, 100), "coder"); /* free, then best quality */
        ck_assert_str_eq(first(LLM_PRIORITY_BALANCED, NULL, 100), "coder");
        ck_assert_str_eq(first(LLM_PRIORITY_BALANCED, "chat", 100), "small"); /* task match */
}
END_TEST

START_TEST(test_window_filter_and_reason) {
        LlmRoute r;

        ck_assert_str_eq(first(LLM_PRIORITY_SPEED, NULL, 10000), "coder");
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        NULL,
                        LLM_PRIORITY_SPEED,
                        NULL,
                        &(LlmNeeds){ .tokens = 50000, .vision = false },
                        &r),
                0);
        ck_assert_str_eq(r.candidates[0].model->name, "big");
        ck_assert_uint_eq(r.n, 2); /* cloud and mirror */
        ck_assert_ptr_nonnull(strstr(r.reason, "2 of 4 models fit"));
        ck_assert_ptr_nonnull(strstr(r.reason, "priority=speed"));
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "auto",
                        LLM_PRIORITY_SPEED,
                        NULL,
                        &(LlmNeeds){ .tokens = 300000, .vision = false },
                        &r),
                -E2BIG);
        ck_assert_ptr_nonnull(strstr(r.reason, "largest window is 200000"));
}
END_TEST

START_TEST(test_explicit_and_fallbacks) {
        LlmRoute r;

        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "big",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 1000, .vision = false },
                        &r),
                0);
        ck_assert_uint_eq(r.n, 4); /* cloud, mirror, then coder and small */
        ck_assert_str_eq(r.candidates[0].backend->name, "cloud");
        ck_assert_str_eq(r.candidates[1].backend->name, "mirror");
        ck_assert_str_eq(r.candidates[2].model->name, "coder");
        ck_assert_str_eq(r.candidates[3].model->name, "small");
        /* fallbacks too small for the request are left out */
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "big",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 4000, .vision = false },
                        &r),
                0);
        ck_assert_uint_eq(r.n, 3);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "hidden",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 10, .vision = false },
                        &r),
                0);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "nope",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 10, .vision = false },
                        &r),
                -ENOENT);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "small",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 5000, .vision = false },
                        &r),
                -E2BIG);
}
END_TEST

START_TEST(test_priority_names) {
        ck_assert_int_eq(llm_priority_from_string("cost"), LLM_PRIORITY_COST);
        ck_assert_int_eq(llm_priority_from_string("fast"), -EINVAL);
        ck_assert_str_eq(llm_priority_to_string(LLM_PRIORITY_QUALITY), "quality");
}
END_TEST

/* Requests with images go only to models marked "vision", fallbacks included. */
START_TEST(test_route_vision) {
        static const char text[] =
                "{\"backends\":[{\"name\":\"l\",\"kind\":\"ollama\",\"base_url\":\"http://l\",\"models\":["
                "  {\"name\":\"fast\",\"quality\":9,\"speed\":9},"
                "  {\"name\":\"llava\",\"vision\":true,\"quality\":2,\"fallback\":[\"fast\",\"llava2\"]},"
                "  {\"name\":\"llava2\",\"vision\":true,\"auto\":false}]}]}";
        _cleanup_free_ char *err = NULL;
        LlmConfig vc;
        LlmRoute r;

        ck_assert_int_eq(llm_config_parse(text, strlen(text), &vc, &err), 0);
        ck_assert_int_eq(
                llm_router_route(
                        &vc,
                        "auto",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = true },
                        &r),
                0);
        ck_assert_uint_eq(r.n, 1);
        ck_assert_str_eq(r.candidates[0].model->name, "llava");
        ck_assert_int_eq(
                llm_router_route(
                        &vc,
                        "auto",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r),
                0);
        ck_assert_str_eq(r.candidates[0].model->name, "fast");
        ck_assert_int_eq(
                llm_router_route(
                        &vc,
                        "llava",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = true },
                        &r),
                0);
        ck_assert_uint_eq(r.n, 2); /* llava, then llava2; "fast" cannot take images */
        ck_assert_str_eq(r.candidates[1].model->name, "llava2");
        ck_assert_int_eq(
                llm_router_route(
                        &vc,
                        "fast",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = true },
                        &r),
                -EMEDIUMTYPE);
        ck_assert_ptr_nonnull(strstr(r.reason, "\"vision\""));
        llm_config_done(&vc);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "auto",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = true },
                        &r),
                -ENOMEDIUM);
        ck_assert_ptr_nonnull(strstr(r.reason, "LLM_BACKENDS_FILE"));
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "big",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = true },
                        &r),
                -ENOMEDIUM);
}
END_TEST

/* A request using what one kind cannot honour goes to backends that can, or is refused
 * naming what the closest lacks. */
START_TEST(test_route_features) {
        LlmNeeds seed = { .tokens = 100, .features = LLM_FEATURE_SEED };
        LlmNeeds required = { .tokens = 100, .features = LLM_FEATURE_TOOLS | LLM_FEATURE_TOOL_REQUIRED };
        LlmNeeds both = { .tokens = 100, .features = LLM_FEATURE_SEED | LLM_FEATURE_TOOL_REQUIRED };
        LlmNeeds json = { .tokens = 100, .features = LLM_FEATURE_JSON_OBJECT };
        LlmRoute r;

        /* big is on cloud (anthropic: no seed) and mirror (openai): mirror, then its
         * fallbacks on local (ollama takes a seed). */
        ck_assert_int_eq(llm_router_route(&cfg, "big", LLM_PRIORITY_BALANCED, NULL, &seed, &r), 0);
        ck_assert_uint_eq(r.n, 3);
        ck_assert_str_eq(r.candidates[0].backend->name, "mirror");
        ck_assert_str_eq(r.candidates[1].model->name, "coder");
        /* coder is on local (ollama) only, which has no tool_choice=required. */
        ck_assert_int_eq(
                llm_router_route(&cfg, "coder", LLM_PRIORITY_BALANCED, NULL, &required, &r),
                -EPROTONOSUPPORT);
        ck_assert_uint_eq(r.missing, LLM_FEATURE_TOOL_REQUIRED);
        ck_assert_ptr_nonnull(strstr(r.reason, "local (ollama)"));
        ck_assert_ptr_nonnull(strstr(r.reason, "tool_choice=required"));
        /* auto: quality would choose big on cloud; with a seed the anthropic kind is passed over. */
        ck_assert_int_eq(llm_router_route(&cfg, "auto", LLM_PRIORITY_QUALITY, NULL, &seed, &r), 0);
        ck_assert_str_eq(r.candidates[0].backend->name, "mirror");
        for (size_t i = 0; i < r.n; i++)
                ck_assert_str_ne(r.candidates[i].backend->name, "cloud");
        ck_assert_int_eq(llm_router_route(&cfg, "auto", LLM_PRIORITY_QUALITY, NULL, &both, &r), 0);
        ck_assert_uint_eq(r.n, 1);
        ck_assert_str_eq(r.candidates[0].backend->name, "mirror");
        /* json_object: openai and ollama can; the fallbacks of big on cloud stay. */
        ck_assert_int_eq(llm_router_route(&cfg, "big", LLM_PRIORITY_BALANCED, NULL, &json, &r), 0);
        ck_assert_str_eq(r.candidates[0].backend->name, "mirror");
        ck_assert_str_eq(r.candidates[1].model->name, "coder");
}
END_TEST

START_TEST(test_route_embeddings) {
        static const char text[] =
                "{\"backends\":[{\"name\":\"l\",\"kind\":\"ollama\",\"base_url\":\"http://l\",\"models\":["
                "  {\"name\":\"chat\",\"quality\":9},"
                "  {\"name\":\"nomic\",\"embeddings\":true,\"quality\":1}]}]}";
        _cleanup_free_ char *err = NULL;
        LlmNeeds embed = { .embeddings = true }, chat = { .tokens = 100 };
        LlmConfig ec;
        LlmRoute r;

        ck_assert_int_eq(llm_config_parse(text, strlen(text), &ec, &err), 0);
        ck_assert_int_eq(llm_router_route(&ec, "auto", LLM_PRIORITY_QUALITY, NULL, &embed, &r), 0);
        ck_assert_uint_eq(r.n, 1);
        ck_assert_str_eq(r.candidates[0].model->name, "nomic");
        /* An embeddings model serves nothing else, and the other way round. */
        ck_assert_int_eq(llm_router_route(&ec, "auto", LLM_PRIORITY_QUALITY, NULL, &chat, &r), 0);
        ck_assert_uint_eq(r.n, 1);
        ck_assert_str_eq(r.candidates[0].model->name, "chat");
        ck_assert_int_eq(
                llm_router_route(&ec, "nomic", LLM_PRIORITY_QUALITY, NULL, &chat, &r), -EMEDIUMTYPE);
        ck_assert_ptr_nonnull(strstr(r.reason, "/v1/embeddings"));
        ck_assert_int_eq(
                llm_router_route(&ec, "chat", LLM_PRIORITY_QUALITY, NULL, &embed, &r), -EMEDIUMTYPE);
        llm_config_done(&ec);
        /* None configured: 503-worthy, naming what to add. */
        ck_assert_int_eq(llm_router_route(&cfg, "auto", LLM_PRIORITY_QUALITY, NULL, &embed, &r), -ENOMEDIUM);
        ck_assert_ptr_nonnull(strstr(r.reason, "\"embeddings\": true"));
        ck_assert_int_eq(llm_router_route(&cfg, "big", LLM_PRIORITY_QUALITY, NULL, &embed, &r), -ENOMEDIUM);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-router");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_priorities);
        tcase_add_test(tc, test_window_filter_and_reason);
        tcase_add_test(tc, test_explicit_and_fallbacks);
        tcase_add_test(tc, test_priority_names);
        tcase_add_test(tc, test_route_vision);
        tcase_add_test(tc, test_route_features);
        tcase_add_test(tc, test_route_embeddings);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
