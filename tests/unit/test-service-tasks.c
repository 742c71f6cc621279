/* SPDX-License-Identifier: MIT */
/* test-service-tasks.c — the GET /tasks answer: what a service writes is what the
 * orchestrator reads back, and what it must refuse to read. */
#include <check.h>

#include "check-run.h"
#include "json-util.h"
#include "service-tasks.h"

static const char *const fields[] = { "text", "options?", NULL };

static int fill(ServiceTasks *out, void *userdata) {
        int r = service_tasks_add(
                out,
                &(ServiceTask){ .name = "tokenize",
                                .path = "/process",
                                .field = "task",
                                .idempotent = true,
                                .timeout_ms = 1500,
                                .body = "application/json",
                                .fields = fields });
        if (r >= 0)
                r = service_tasks_add(
                        out, &(ServiceTask){ .name = "v1.models", .method = "GET", .path = "/v1/models" });
        return r;
}

START_TEST(test_round_trip) {
        _cleanup_json_ json_object *o = NULL;
        ServiceTaskList l = {};
        const char *text;
        char err[128] = "";

        ck_assert_int_eq(service_tasks_build("nlp", fill, NULL, &o), 0);
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        ck_assert_int_eq(service_tasks_parse(text, strlen(text), "nlp", &l, err, sizeof(err)), 0);
        ck_assert_uint_eq(l.n, 2);
        ck_assert_str_eq(l.tasks[0].name, "tokenize");
        ck_assert_str_eq(l.tasks[0].method, "POST");
        ck_assert_str_eq(l.tasks[0].path, "/process");
        ck_assert_str_eq(l.tasks[0].field, "task");
        ck_assert(l.tasks[0].idempotent);
        ck_assert_uint_eq(l.tasks[0].timeout_ms, 1500);
        ck_assert_str_eq(l.tasks[0].body, "application/json");
        ck_assert_str_eq(l.tasks[1].method, "GET");
        ck_assert_ptr_null(l.tasks[1].field);
        ck_assert(!l.tasks[1].idempotent);
        ck_assert_ptr_null(l.tasks[1].body);
        service_task_list_done(&l);
        /* Another service's answer is refused (a URL pointing at the wrong service). */
        ck_assert_int_eq(service_tasks_parse(text, strlen(text), "data", &l, err, sizeof(err)), -EBADMSG);
        ck_assert_str_eq(err, "\"service\" is not \"data\"");
}
END_TEST

START_TEST(test_refused) {
        static const struct {
                const char *text, *error;
        } cases[] = {
                { "[]", "not a JSON object" },
                { "{\"service\":\"x\"}", "\"tasks\" is not an array" },
                { "{\"tasks\":[1]}", "tasks[0] is not an object" },
                { "{\"tasks\":[{\"path\":\"/p\"}]}", "tasks[0].name" },
                { "{\"tasks\":[{\"name\":\"a b\",\"path\":\"/p\"}]}", "tasks[0].name: 1-64" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"p\"}]}", "tasks[0].path: an absolute path" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"/../x\"}]}", "tasks[0].path: an absolute path" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"/p?x=1\"}]}", "tasks[0].path: an absolute path" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"/p\",\"method\":\"PUT\"}]}", "tasks[0].method" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"/p\",\"field\":\"a.b\"}]}", "tasks[0].field" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"/p\",\"timeout_ms\":-1}]}",
                  "tasks[0].timeout_ms" },
                { "{\"tasks\":[{\"name\":\"a\",\"path\":\"/p\"},{\"name\":\"a\",\"path\":\"/q\"}]}",
                  "tasks[1].name: \"a\" twice" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ServiceTaskList l = {};
                char err[128] = "";

                ck_assert_int_eq(
                        service_tasks_parse(
                                cases[i].text, strlen(cases[i].text), NULL, &l, err, sizeof(err)),
                        -EBADMSG);
                ck_assert_msg(strstr(err, cases[i].error), "%s: %s", cases[i].text, err);
                ck_assert_ptr_null(l.tasks);
        }
}
END_TEST

START_TEST(test_too_many) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        ServiceTaskList l = {};
        char err[128] = "";

        ck_assert_ptr_nonnull(f);
        fputs("{\"tasks\":[", f);
        for (int i = 0; i <= SERVICE_TASKS_MAX; i++)
                fprintf(f, "%s{\"name\":\"t%d\",\"path\":\"/p\"}", i ? "," : "", i);
        fputs("]}", f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(service_tasks_parse(text, len, NULL, &l, err, sizeof(err)), -EBADMSG);
        ck_assert_str_eq(err, "more than 256 tasks");
}
END_TEST

int main(void) {
        Suite *s = suite_create("service-tasks");
        TCase *tc = tcase_create("format");

        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_too_many);
        suite_add_tcase(s, tc);
        return check_run(s);
}
