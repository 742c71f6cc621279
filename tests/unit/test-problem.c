/* SPDX-License-Identifier: MIT */
/* test-problem.c — RFC 9457 shape of our problem details. */
#include <check.h>

#include "check-run.h"
#include "json-util.h"
#include "problem.h"

static const char *get(json_object *o, const char *k) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(test_shape) {
        _cleanup_problem_ Problem *p = problem_new(404, NULL, "no route for /x");
        _cleanup_json_ json_object *o = NULL;
        json_object *status;

        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(problem_to_json(p, "rid-1", &o), 0);
        ck_assert_str_eq(get(o, "type"), "about:blank");
        ck_assert_str_eq(get(o, "title"), "Not Found");
        ck_assert_str_eq(get(o, "detail"), "no route for /x");
        ck_assert_str_eq(get(o, "request_id"), "rid-1");
        ck_assert(json_object_object_get_ex(o, "status", &status));
        ck_assert(json_object_is_type(status, json_type_int));
        ck_assert_int_eq(json_object_get_int(status), 404);
        ck_assert_ptr_null(get(o, "errors"));
        ck_assert_int_eq(json_object_object_length(o), 5);
}
END_TEST

START_TEST(test_for_field) {
        _cleanup_problem_ Problem *p = NULL, *q = NULL;
        _cleanup_json_ json_object *o = NULL, *o2 = NULL;
        json_object *errors;

        ck_assert_int_eq(problem_for_field(&p, 501, "language", "no method for %s", "ja"), 501);
        ck_assert_int_eq(problem_to_json(p, NULL, &o), 0);
        ck_assert_str_eq(get(o, "title"), "Not Implemented");
        ck_assert_str_eq(get(o, "detail"), "no method for ja");
        ck_assert(json_object_object_get_ex(o, "errors", &errors));
        ck_assert_str_eq(get(json_object_array_get_idx(errors, 0), "field"), "language");
        ck_assert_str_eq(get(json_object_array_get_idx(errors, 0), "message"), "no method for ja");
        /* no field: no errors member */
        ck_assert_int_eq(problem_for_field(&q, 504, NULL, "timed out"), 504);
        ck_assert_int_eq(problem_to_json(q, NULL, &o2), 0);
        ck_assert_str_eq(get(o2, "title"), "Gateway Timeout");
        ck_assert_ptr_null(get(o2, "errors"));
}
END_TEST

START_TEST(test_validation_errors) {
        _cleanup_problem_ Problem *p = problem_new(422, "Validation failed", NULL);
        _cleanup_json_ json_object *o = NULL, *errs = NULL;
        json_object *arr, *e, *v;

        ck_assert_str_eq(problem_status_reason(422), "Unprocessable Content");
        ck_assert_int_eq(problem_add_error(p, "prompt", "field is required"), 0);
        json_errors_add(&errs, "max_tokens", "must be an integer, got %s", "string");
        ck_assert_int_eq(problem_add_errors(p, errs), 0);
        ck_assert_int_eq(problem_to_json(p, NULL, &o), 0);
        ck_assert_str_eq(get(o, "type"), "https://ai-semble.dev/problems/validation");
        ck_assert_str_eq(get(o, "title"), "Validation failed");
        ck_assert_ptr_null(get(o, "detail"));
        ck_assert_ptr_null(get(o, "request_id"));
        ck_assert(json_object_object_get_ex(o, "errors", &arr));
        ck_assert_int_eq((int) json_object_array_length(arr), 2);
        e = json_object_array_get_idx(arr, 1);
        ck_assert(json_object_object_get_ex(e, "field", &v));
        ck_assert_str_eq(json_object_get_string(v), "max_tokens");
        ck_assert(json_object_object_get_ex(e, "message", &v));
        ck_assert_str_eq(json_object_get_string(v), "must be an integer, got string");
}
END_TEST

START_TEST(test_custom_type) {
        _cleanup_problem_ Problem *p = problem_newf(400, NULL, "invalid JSON at offset %d", 3);
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(problem_set_type(p, PROBLEM_TYPE_BASE "malformed-json"), 0);
        ck_assert_int_eq(problem_get_status(p), 400);
        ck_assert_int_eq(problem_to_json(p, NULL, &o), 0);
        ck_assert_str_eq(get(o, "type"), "https://ai-semble.dev/problems/malformed-json");
        ck_assert_str_eq(get(o, "title"), "Bad Request");
        ck_assert_str_eq(get(o, "detail"), "invalid JSON at offset 3");
}
END_TEST

/* Extension members come after the standard ones, in the order added. */
START_TEST(test_extensions) {
        _cleanup_problem_ Problem *p = problem_newf(409, NULL, "lock %s is held", "a");
        _cleanup_json_ json_object *o = NULL;
        const char *txt;

        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(problem_add_extension(p, "job_id", json_object_new_string("j1")), 0);
        ck_assert_int_eq(problem_add_extension(p, "lock", NULL), 0);
        ck_assert_int_eq(problem_to_json(p, "req-1", &o), 0);
        txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        ck_assert_str_eq(
                txt,
                "{\"type\":\"about:blank\",\"title\":\"Conflict\",\"status\":409,\"detail\":\"lock a is held\","
                "\"request_id\":\"req-1\",\"job_id\":\"j1\",\"lock\":null}");
}
END_TEST

/* An upstream's problem is relayed as it is, with our status, our detail only when it has
 * none, and our extensions. */
START_TEST(test_relay) {
        static const char *const upstream[] = {
                "{\"type\":\"https://x/validation\",\"title\":\"Unprocessable\",\"status\":422,\"detail\":\"theirs\"}",
                "{\"type\":\"about:blank\",\"status\":500}",
        };
        static const char *const want[] = {
                "{\"type\":\"https://x/validation\",\"title\":\"Unprocessable\",\"status\":502,\"detail\":\"theirs\","
                "\"service\":\"nlp\"}",
                "{\"type\":\"about:blank\",\"status\":502,\"detail\":\"ours\",\"service\":\"nlp\"}",
        };

        for (size_t i = 0; i < 2; i++) {
                _cleanup_problem_ Problem *p = problem_new(502, NULL, "ours");
                _cleanup_json_ json_object *base = NULL, *o = NULL;

                ck_assert_int_eq(json_parse_strict(upstream[i], strlen(upstream[i]), &base, NULL), 0);
                problem_relay(p, base);
                ck_assert_int_eq(problem_add_extension(p, "service", json_object_new_string("nlp")), 0);
                ck_assert_int_eq(problem_to_json(p, "req-1", &o), 0);
                ck_assert_str_eq(
                        json_object_to_json_string_ext(
                                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        want[i]);
                ck_assert_int_eq(problem_get_status(p), 502);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("problem");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_shape);
        tcase_add_test(tc, test_for_field);
        tcase_add_test(tc, test_validation_errors);
        tcase_add_test(tc, test_custom_type);
        tcase_add_test(tc, test_extensions);
        tcase_add_test(tc, test_relay);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
