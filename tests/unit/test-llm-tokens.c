/* SPDX-License-Identifier: MIT */
/* test-llm-tokens.c — the estimate and /chat trimming (system kept, newest first). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "check-run.h"
#include "llm-tokens.h"

#define MSG(r, c) \
        { (char *) (r), (char *) (c) }

START_TEST(test_estimate) {
        LlmMessage m[] = { MSG("user", "abcd"), MSG("assistant", "abcde") };

        ck_assert_int_eq(llm_tokens_estimate_text("", 0), 0);
        ck_assert_int_eq(llm_tokens_estimate_text("a", 1), 1);
        ck_assert_int_eq(llm_tokens_estimate_text("abcd", 4), 1);
        ck_assert_int_eq(llm_tokens_estimate_text("abcde", 5), 2);
        /* 3 priming + (4 + 1) + (4 + 2) */
        ck_assert_int_eq(llm_tokens_estimate_messages(m, 2), 14);
}
END_TEST

START_TEST(test_trim_keeps_system_and_newest) {
        /* each non-system message: 4 + 10 = 14 tokens; system: 4 + 1 = 5; priming 3 */
        static const char forty[] = "0123456789012345678901234567890123456789";
        LlmMessage m[] = {
                MSG("system", "sys"), MSG("user", forty),      MSG("assistant", forty),
                MSG("user", forty),   MSG("assistant", forty), MSG("user", forty),
        };
        bool keep[6];
        size_t dropped;
        int64_t tokens;

        /* budget for system + two newest: 3 + 5 + 28 = 36 */
        ck_assert_int_eq(llm_tokens_trim(m, 6, 36, keep, &dropped, &tokens), 0);
        ck_assert(keep[0]);
        ck_assert(!keep[1] && !keep[2] && !keep[3]);
        ck_assert(keep[4] && keep[5]);
        ck_assert_uint_eq(dropped, 3);
        ck_assert_int_eq(tokens, 36);

        /* everything fits */
        ck_assert_int_eq(llm_tokens_trim(m, 6, 1000, keep, &dropped, &tokens), 0);
        ck_assert_uint_eq(dropped, 0);
        ck_assert_int_eq(tokens, llm_tokens_estimate_messages(m, 6));

        /* the newest message alone does not fit */
        ck_assert_int_eq(llm_tokens_trim(m, 6, 20, keep, &dropped, &tokens), -E2BIG);
}
END_TEST

START_TEST(test_trim_no_holes) {
        /* A short old message must not survive once a newer, longer one was dropped. */
        LlmMessage m[] = {
                MSG("user", "hi"),
                MSG("assistant", "0123456789012345678901234567890123456789"),
                MSG("user", "ok"),
        };
        bool keep[3];
        size_t dropped;
        int64_t tokens;

        ck_assert_int_eq(llm_tokens_trim(m, 3, 14, keep, &dropped, &tokens), 0);
        ck_assert(!keep[0] && !keep[1] && keep[2]);
        ck_assert_uint_eq(dropped, 2);
}
END_TEST

START_TEST(test_trim_tool_results_keep_their_call) {
        /* The window holds the tool result and the question after it, not the call before:
         * the result goes too rather than answer a call nobody made. */
        LlmToolCall call = { (char *) "c1",
                             (char *) "f",
                             (char *) "{\"a\":\"0123456789012345678901234567890\"}" };
        LlmMessage m[] = {
                MSG("user", "hi"),
                { .role = (char *) "assistant",
                  .content = (char *) "",
                  .tool_calls = &call,
                  .n_tool_calls = 1 },
                { .role = (char *) "tool", .content = (char *) "result", .tool_call_id = (char *) "c1" },
                MSG("user", "ok"),
        };
        bool keep[4];
        size_t dropped;
        int64_t tokens;

        /* The call's name and arguments count: 4 + (1 + 10) tokens. */
        ck_assert_int_eq(llm_tokens_estimate_messages(&m[1], 1), 3 + 4 + 1 + 10);
        ck_assert_int_eq(llm_tokens_trim(m, 4, 20, keep, &dropped, &tokens), 0);
        ck_assert(!keep[0] && !keep[1] && !keep[2] && keep[3]);
        ck_assert_uint_eq(dropped, 3);
        ck_assert_int_eq(tokens, 3 + 5);
        /* The newest message is the result itself: it cannot go without its call. */
        ck_assert_int_eq(llm_tokens_trim(m, 3, 10, keep, &dropped, &tokens), -E2BIG);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-tokens");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_estimate);
        tcase_add_test(tc, test_trim_keeps_system_and_newest);
        tcase_add_test(tc, test_trim_no_holes);
        tcase_add_test(tc, test_trim_tool_results_keep_their_call);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
