/* SPDX-License-Identifier: MIT */
/* test-supervisor-unit-source.c — the quadlet parser: sections, comments, continuation
 * lines, repeated keys, empty assignments, syntax errors, and the real quadlet directory. */
#include <check.h>
#include <stdlib.h>

#include "check-run.h"
#include "unit-source.h"

START_TEST(test_sections_and_comments) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        const char *text =
                "# leading comment\n"
                "; semicolon comment\n"
                "\n"
                "[Unit]\n"
                "Description = ai-semble llm  \n"
                "[Container]\n"
                "  # indented comment\n"
                "Image=localhost/x:latest\n"
                "Environment=A=1\n"
                "Environment=B=2\n";

        ck_assert_int_eq(unit_source_parse("x.container", text, &u, NULL), 0);
        ck_assert_int_eq(u->kind, UNIT_KIND_CONTAINER);
        ck_assert_uint_eq(u->n_entries, 4);
        ck_assert_str_eq(unit_file_get(u, "Unit", "Description"), "ai-semble llm");
        ck_assert_str_eq(unit_file_get(u, "Container", "Image"), "localhost/x:latest");
        /* repeated keys kept in order, get returns the last */
        ck_assert_str_eq(u->entries[2].value, "A=1");
        ck_assert_str_eq(u->entries[3].value, "B=2");
        ck_assert_str_eq(unit_file_get(u, "Container", "Environment"), "B=2");
        ck_assert_uint_eq(u->entries[1].line, 8);
        ck_assert_ptr_null(unit_file_get(u, "Unit", "Image"));
}
END_TEST

START_TEST(test_continuation) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        const char *text =
                "[Container]\n"
                "PodmanArgs=--a \\\n"
                "# a comment inside is skipped\n"
                "  --b \\\n"
                "  --c\n"
                "Image=i\n";

        ck_assert_int_eq(unit_source_parse("x.container", text, &u, NULL), 0);
        ck_assert_str_eq(unit_file_get(u, "Container", "PodmanArgs"), "--a  --b  --c");
        ck_assert_uint_eq(u->entries[0].line, 2);
        ck_assert_str_eq(unit_file_get(u, "Container", "Image"), "i");
}
END_TEST

START_TEST(test_continuation_at_eof) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;

        ck_assert_int_eq(unit_source_parse("x.pod", "[Pod]\nPodName=a\\", &u, NULL), 0);
        ck_assert_str_eq(unit_file_get(u, "Pod", "PodName"), "a");
}
END_TEST

START_TEST(test_empty_assignment_resets) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;

        ck_assert_int_eq(
                unit_source_parse(
                        "x.container", "[Container]\nVolume=a:/a\nVolume=\nVolume=b:/b\n", &u, NULL),
                0);
        ck_assert_uint_eq(u->n_entries, 1);
        ck_assert_str_eq(u->entries[0].value, "b:/b");
}
END_TEST

START_TEST(test_errors) {
        UnitFile *u = NULL;
        char *error = NULL;

        ck_assert_int_eq(unit_source_parse("x.container", "Image=i\n", &u, &error), -EBADMSG);
        ck_assert_str_eq(error, "x.container:1: assignment outside of a section");
        free(error);
        error = NULL;
        ck_assert_int_eq(
                unit_source_parse("x.container", "[Container]\n\nnot an assignment\n", &u, &error),
                -EBADMSG);
        ck_assert_str_eq(error, "x.container:3: expected Key=Value");
        free(error);
        error = NULL;
        ck_assert_int_eq(unit_source_parse("x.container", "[Container\n", &u, &error), -EBADMSG);
        ck_assert_str_eq(error, "x.container:1: malformed section header");
        free(error);
        error = NULL;
        ck_assert_int_eq(unit_source_parse("x.container", "[Container]\n=v\n", &u, &error), -EBADMSG);
        free(error);
        error = NULL;
        ck_assert_int_eq(unit_source_parse("x.network", "[Network]\n", &u, &error), -EOPNOTSUPP);
        free(error);
        ck_assert_ptr_null(u);
}
END_TEST

START_TEST(test_bool_and_stem) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *stem = NULL;

        ck_assert_int_eq(unit_parse_bool("true"), 1);
        ck_assert_int_eq(unit_parse_bool("YES"), 1);
        ck_assert_int_eq(unit_parse_bool("off"), 0);
        ck_assert_int_eq(unit_parse_bool("healthy"), -EINVAL);
        ck_assert_int_eq(unit_source_parse("ai-semble-llm.container", "[Container]\n", &u, NULL), 0);
        stem = unit_file_stem(u);
        ck_assert_str_eq(stem, "ai-semble-llm");
}
END_TEST

START_TEST(test_real_quadlets) {
        _cleanup_(unit_set_freep) UnitSet *s = NULL;
        const char *dir = getenv("AI_SEMBLE_TEST_QUADLETS");
        char *error = NULL;
        const UnitFile *pod;

        if (!dir)
                return;
        ck_assert_msg(unit_source_load_dir(dir, &s, &error) == 0, "%s", error ? error : "?");
        ck_assert_uint_eq(s->n_files, 9);
        pod = unit_set_pod(s);
        ck_assert_ptr_nonnull(pod);
        ck_assert_str_eq(pod->name, "ai-semble.pod");
        ck_assert_str_eq(unit_file_get(pod, "Pod", "PodName"), "ai-semble");
        /* sorted by name */
        ck_assert_str_eq(s->files[0]->name, "ai-semble-data.container");
        ck_assert_ptr_nonnull(unit_set_find(s, "ai-semble-models.volume"));
        ck_assert_int_eq(unit_set_find(s, "ai-semble-orchestrator.socket")->kind, UNIT_KIND_SOCKET);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("supervisor-unit-source");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_sections_and_comments);
        tcase_add_test(tc, test_continuation);
        tcase_add_test(tc, test_continuation_at_eof);
        tcase_add_test(tc, test_empty_assignment_resets);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_bool_and_stem);
        tcase_add_test(tc, test_real_quadlets);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
