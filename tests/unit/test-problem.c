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

static Suite *suite(void) {
        Suite *s = suite_create("problem");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_shape);
        tcase_add_test(tc, test_for_field);
        tcase_add_test(tc, test_validation_errors);
        tcase_add_test(tc, test_custom_type);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
