/* SPDX-License-Identifier: MIT */
/* test-llm-hybrid.c — how hybrid mode picks its two legs (two different backends, from the
 * ranked route or from two named models), the mode and policy names, and a run whose two
 * legs both fail (threads started, joined, both outcomes reported). The end-to-end cases
 * (answers, cancellation of the loser, streaming) are in tests/llm/test_hybrid.py. */
#include <check.h>

#include "check-run.h"
#include "llm-hybrid.h"

static LlmConfig cfg;

static const char config_text[] =
        "{\"backends\":["
        "{\"name\":\"local\",\"kind\":\"ollama\",\"base_url\":\"http://127.0.0.1:1\",\"retries\":0,"
        " \"connect_timeout_ms\":500,\"models\":["
        "  {\"name\":\"small\",\"context_window\":2048,\"quality\":3,\"speed\":9,\"cost\":0},"
        "  {\"name\":\"coder\",\"context_window\":16384,\"quality\":6,\"speed\":6,\"cost\":0}]},"
        "{\"name\":\"cloud\",\"kind\":\"anthropic\",\"base_url\":\"http://127.0.0.1:1\",\"retries\":0,"
        " \"connect_timeout_ms\":500,\"models\":["
        "  {\"name\":\"big\",\"context_window\":200000,\"quality\":9,\"speed\":4,\"cost\":15}]},"
        "{\"name\":\"mirror\",\"kind\":\"openai\",\"base_url\":\"http://127.0.0.1:1/v1\",\"retries\":0,"
        " \"connect_timeout_ms\":500,\"models\":["
        "  {\"name\":\"big\",\"context_window\":200000,\"quality\":9,\"speed\":4,\"cost\":15}]}"
        "]}";

static void setup(void) {
        _cleanup_free_ char *err = NULL;
        ck_assert_int_eq(llm_config_parse(config_text, strlen(config_text), &cfg, &err), 0);
}

static void teardown(void) {
        llm_config_done(&cfg);
}

START_TEST(test_pick_route) {
        LlmCandidate legs[2];
        LlmRoute r;

        /* quality: big on cloud first; the next candidate on another backend is big on mirror. */
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "auto",
                        LLM_PRIORITY_QUALITY,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r),
                0);
        ck_assert_int_eq(llm_hybrid_pick_route(&r, legs), 0);
        ck_assert_str_eq(legs[0].backend->name, "cloud");
        ck_assert_str_eq(legs[1].backend->name, "mirror");
        /* speed: small and coder share local; the second leg skips to another backend. */
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "auto",
                        LLM_PRIORITY_SPEED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r),
                0);
        ck_assert_int_eq(llm_hybrid_pick_route(&r, legs), 0);
        ck_assert_str_eq(legs[0].model->name, "small");
        ck_assert_str_eq(legs[1].backend->name, "cloud");
        /* An explicit model on one backend only, no fallbacks: nothing to pair with. */
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "coder",
                        LLM_PRIORITY_SPEED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r),
                0);
        ck_assert_int_eq(llm_hybrid_pick_route(&r, legs), -ENOENT);
}
END_TEST

START_TEST(test_pick_models) {
        LlmCandidate legs[2];
        LlmRoute r0, r1;

        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "big",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r0),
                0);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "big",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r1),
                0);
        /* The same model twice races its two backends. */
        ck_assert_int_eq(llm_hybrid_pick_models(&r0, "big", &r1, "big", legs), 0);
        ck_assert_str_eq(legs[0].backend->name, "cloud");
        ck_assert_str_eq(legs[1].backend->name, "mirror");
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "small",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r0),
                0);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "coder",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r1),
                0);
        ck_assert_int_eq(llm_hybrid_pick_models(&r0, "small", &r1, "coder", legs), -EEXIST);
        ck_assert_int_eq(
                llm_router_route(
                        &cfg,
                        "big",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r1),
                0);
        ck_assert_int_eq(llm_hybrid_pick_models(&r0, "small", &r1, "big", legs), 0);
        ck_assert_str_eq(legs[0].backend->name, "local");
        ck_assert_str_eq(legs[1].model->name, "big");
}
END_TEST

START_TEST(test_names) {
        ck_assert_int_eq(llm_hybrid_mode_from_string("both"), LLM_HYBRID_BOTH);
        ck_assert_int_eq(llm_hybrid_mode_from_string("first"), LLM_HYBRID_FIRST);
        ck_assert_int_eq(llm_hybrid_mode_from_string("all"), -EINVAL);
        ck_assert_int_eq(llm_hybrid_mode_from_string(NULL), -EINVAL);
        ck_assert_str_eq(llm_hybrid_mode_to_string(LLM_HYBRID_FIRST), "first");
        ck_assert_int_eq(llm_hybrid_policy_from_string("local"), LLM_HYBRID_POLICY_LOCAL);
        ck_assert_str_eq(llm_hybrid_policy_to_string(LLM_HYBRID_POLICY_OFF), "off");
        ck_assert_int_eq(llm_hybrid_policy_from_string("maybe"), -EINVAL);
}
END_TEST

START_TEST(test_run_both_fail) {
        LlmGateway g = {};
        LlmCandidate legs[2];
        LlmRoute r;
        LlmHybrid h;
        LlmCallRequest req = { .prompt = "hello", .max_tokens = 10 };

        ck_assert_int_eq(llm_upstream_global_init(), 0);
        g.config = cfg;
        cfg = (LlmConfig){}; /* the gateway owns it now */
        llm_gateway_init(&g);
        ck_assert_int_eq(
                llm_router_route(
                        &g.config,
                        "big",
                        LLM_PRIORITY_BALANCED,
                        NULL,
                        &(LlmNeeds){ .tokens = 100, .vision = false },
                        &r),
                0);
        ck_assert_int_eq(llm_hybrid_pick_route(&r, legs), 0);
        for (int mode = 0; mode < _LLM_HYBRID_MODE_MAX; mode++) {
                llm_hybrid_init(&h, &g, (LlmHybridMode) mode, &req, false, NULL, legs);
                ck_assert_int_eq(llm_hybrid_run(&h), -EIO);
                llm_hybrid_finish(&h);
                for (size_t i = 0; i < 2; i++) {
                        ck_assert(h.legs[i].done);
                        ck_assert_int_lt(h.legs[i].r, 0);
                        ck_assert_int_eq(h.legs[i].out.failure, LLM_FAIL_CONNECT);
                        ck_assert(!h.legs[i].lost);
                }
                ck_assert_int_eq(h.winner, -1);
                llm_hybrid_done(&h);
        }
        llm_gateway_done(&g);
        llm_upstream_pool_flush();
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-hybrid");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_pick_route);
        tcase_add_test(tc, test_pick_models);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_run_both_fail);
        tcase_set_timeout(tc, 20);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
