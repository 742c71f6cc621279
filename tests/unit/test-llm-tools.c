/* SPDX-License-Identifier: MIT */
/* test-llm-tools.c — assembling an answer's tool calls from streamed pieces: numbering,
 * ids, a call split across many pieces, a new id at a reused number, and the check that
 * each call's arguments are one JSON object. */
#include <check.h>

#include "check-run.h"
#include "llm-tools.h"

static LlmToolDelta piece(size_t index, const char *id, const char *name, const char *args) {
        return (LlmToolDelta){ .index = index,
                               .id = id,
                               .name = name,
                               .arguments = args,
                               .arguments_len = args ? strlen(args) : 0 };
}

START_TEST(test_split_across_pieces) {
        static const char *const parts[] = { "{\"ci", "ty\": \"Ly", "on\", \"n\": ", "3}" };
        LlmToolCalls t = {};
        LlmToolDelta d = piece(0, "call_1", "get_weather", "");
        char err[128];

        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_uint_eq(d.index, 0);
        ck_assert_str_eq(d.id, "call_1");
        ck_assert_str_eq(d.name, "get_weather");
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                d = piece(0, NULL, NULL, parts[i]);
                ck_assert_int_eq(llm_tool_calls_add(&t, &d), 0);
                ck_assert_ptr_null(d.id); /* only a call's first piece names it */
                ck_assert_uint_eq(d.arguments_len, strlen(parts[i]));
        }
        ck_assert_uint_eq(t.n, 1);
        ck_assert_str_eq(t.calls[0].arguments.p, "{\"city\": \"Lyon\", \"n\": 3}");
        ck_assert_int_eq(llm_tool_calls_check(&t, err, sizeof(err)), 0);
        llm_tool_calls_clear(&t);
        ck_assert_uint_eq(t.n, 0);
}
END_TEST

START_TEST(test_ids_and_numbering) {
        LlmToolCalls t = {};
        LlmToolDelta d;

        /* No id from the backend (Ollama): one is made, call_ and 24 hex digits. */
        d = piece(0, NULL, "a", "{}");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_uint_eq(strlen(d.id), 29);
        ck_assert(startswith(d.id, "call_"));
        ck_assert_uint_eq(strspn(d.id + 5, "0123456789abcdef"), 24);
        /* The same id again continues the call; a new id at the same number is a new call
         * (servers that number every call of a batch 0). */
        d = piece(5, "x1", "b", "{\"k\":");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_uint_eq(d.index, 1);
        d = piece(5, "x1", NULL, "1}");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 0);
        ck_assert_uint_eq(d.index, 1);
        d = piece(5, "x2", "c", "{}");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_uint_eq(d.index, 2);
        ck_assert_uint_eq(t.n, 3);
        ck_assert_str_eq(t.calls[1].arguments.p, "{\"k\":1}");
        ck_assert_str_ne(t.calls[0].id, t.calls[2].id);
        llm_tool_calls_clear(&t);
}
END_TEST

START_TEST(test_faults) {
        LlmToolCalls t = {};
        LlmToolDelta d;
        char err[128] = "";

        /* A call that begins without its function's name. */
        d = piece(0, "c", NULL, "{}");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), -EPROTO);
        ck_assert_uint_eq(t.n, 0);
        /* Arguments that are not a JSON object: refused at the end, naming the call. */
        d = piece(0, "c", "f", "{\"a\": ");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_int_eq(llm_tool_calls_check(&t, err, sizeof(err)), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "tool call 0 (f)"));
        llm_tool_calls_clear(&t);
        d = piece(0, "c", "f", "[1, 2]");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_int_eq(llm_tool_calls_check(&t, err, sizeof(err)), -EBADMSG);
        llm_tool_calls_clear(&t);
        /* No arguments at all: {}. */
        d = piece(0, "c", "f", NULL);
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        ck_assert_int_eq(llm_tool_calls_check(&t, err, sizeof(err)), 0);
        ck_assert_str_eq(t.calls[0].arguments.p, "{}");
        llm_tool_calls_clear(&t);
        /* Too many calls. */
        for (size_t i = 0; i < LLM_TOOL_CALLS_MAX; i++) {
                d = piece(i, NULL, "f", "{}");
                ck_assert_int_eq(llm_tool_calls_add(&t, &d), 1);
        }
        d = piece(LLM_TOOL_CALLS_MAX, NULL, "f", "{}");
        ck_assert_int_eq(llm_tool_calls_add(&t, &d), -EPROTO);
        llm_tool_calls_clear(&t);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("llm-tools");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_split_across_pieces);
        tcase_add_test(tc, test_ids_and_numbering);
        tcase_add_test(tc, test_faults);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
