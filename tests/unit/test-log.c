/* SPDX-License-Identifier: MIT */
/* test-log.c — JSON line shape, escaping, level filtering, request id, %m and extras. */
#include <check.h>
#include <json-c/json.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "check-run.h"
#include "log.h"

static int saved_stderr = -1, capture_fd = -1;

static void capture_begin(void) {
        capture_fd = memfd_create("log", MFD_CLOEXEC);
        ck_assert_int_ge(capture_fd, 0);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(dup2(capture_fd, STDERR_FILENO), 0);
}

static char *capture_end(void) {
        off_t size = lseek(capture_fd, 0, SEEK_END);
        char *buf = calloc(1, (size_t) size + 1);

        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pread(capture_fd, buf, (size_t) size, 0), size);
        close(capture_fd);
        return buf;
}

static json_object *parse_line(const char *s) {
        json_object *o;
        const char *nl = strchr(s, '\n');

        ck_assert_ptr_nonnull(nl);
        ck_assert_ptr_null(strchr(nl + 1, '\n')); /* exactly one line */
        o = json_tokener_parse(s);
        ck_assert_ptr_nonnull(o);
        return o;
}

static const char *field(json_object *o, const char *k) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void setup(void) {
        log_init("unit");
        log_set_journal(false);
        log_set_max_level(LOG_INFO);
        log_set_request_id(NULL);
}

START_TEST(test_line_shape) {
        _cleanup_free_ char *out = NULL;
        json_object *o;

        capture_begin();
        log_info("hello %d", 42);
        out = capture_end();
        o = parse_line(out);
        ck_assert_str_eq(field(o, "level"), "info");
        ck_assert_str_eq(field(o, "service"), "unit");
        ck_assert_str_eq(field(o, "msg"), "hello 42");
        ck_assert_ptr_nonnull(field(o, "ts"));
        ck_assert_int_eq((int) strlen(field(o, "ts")), 24); /* 2026-01-01T00:00:00.000Z */
        ck_assert(field(o, "ts")[23] == 'Z');
        ck_assert_ptr_null(field(o, "request_id"));
        ck_assert_ptr_null(field(o, "errno"));
        json_object_put(o);
}
END_TEST

START_TEST(test_escaping) {
        _cleanup_free_ char *out = NULL;
        const char *nasty = "quote\" backslash\\ newline\n tab\t ctl\x01 utf8 \xc3\xa9";
        json_object *o;

        capture_begin();
        log_warning("%s", nasty);
        out = capture_end();
        ck_assert_ptr_null(strchr(out, '\t'));
        o = parse_line(out);
        ck_assert_str_eq(field(o, "msg"), nasty);
        ck_assert_str_eq(field(o, "level"), "warning");
        json_object_put(o);
}
END_TEST

START_TEST(test_level_filtering) {
        _cleanup_free_ char *out = NULL;
        json_object *o;

        log_set_max_level(LOG_WARNING);
        capture_begin();
        log_info("dropped");
        log_debug("dropped too");
        log_error("kept");
        out = capture_end();
        o = parse_line(out);
        ck_assert_str_eq(field(o, "msg"), "kept");
        ck_assert_str_eq(field(o, "level"), "error");
        json_object_put(o);
}
END_TEST

START_TEST(test_level_env) {
        setenv("LOG_LEVEL", "debug", 1);
        log_init("unit");
        ck_assert_int_eq(log_get_max_level(), LOG_DEBUG);
        setenv("LOG_LEVEL", "bogus", 1);
        log_init("unit");
        ck_assert_int_eq(log_get_max_level(), LOG_INFO);
        unsetenv("LOG_LEVEL");
        ck_assert_int_eq(log_level_from_string("warning"), LOG_WARNING);
        ck_assert_int_eq(log_level_from_string("ERROR"), LOG_ERR);
        ck_assert_int_eq(log_level_from_string("3"), 3);
        ck_assert_int_eq(log_level_from_string("8"), -EINVAL);
        ck_assert_int_eq(log_level_from_string(""), -EINVAL);
        ck_assert_int_eq(log_level_from_string(NULL), -EINVAL);
}
END_TEST

START_TEST(test_request_id) {
        _cleanup_free_ char *out = NULL;
        json_object *o;

        log_set_request_id("req-123");
        ck_assert_str_eq(log_get_request_id(), "req-123");
        capture_begin();
        log_info("with id");
        out = capture_end();
        o = parse_line(out);
        ck_assert_str_eq(field(o, "request_id"), "req-123");
        json_object_put(o);
        log_set_request_id(NULL);
        ck_assert_ptr_null(log_get_request_id());
}
END_TEST

START_TEST(test_errno_and_m) {
        _cleanup_free_ char *out = NULL;
        json_object *o;
        int r;

        errno = 0;
        capture_begin();
        r = log_error_errno(-ENOENT, "open failed: %m");
        out = capture_end();
        ck_assert_int_eq(r, -ENOENT);
        ck_assert_int_eq(log_error_errno(EACCES, "positive"), -EACCES);
        o = parse_line(out);
        ck_assert_str_eq(field(o, "msg"), "open failed: No such file or directory");
        ck_assert_str_eq(field(o, "errno"), "2");
        json_object_put(o);

        /* Filtered out still returns the error. */
        log_set_max_level(LOG_ERR);
        ck_assert_int_eq(log_debug_errno(-EIO, "x"), -EIO);
}
END_TEST

START_TEST(test_extra_fields) {
        _cleanup_free_ char *out = NULL;
        json_object *o;

        capture_begin();
        log_fields(
                LOG_INFO,
                ((const char *[]){ "ROUTE=/jobs/{id}", "STATUS=200", "bad key=x", "NOEQUALS", NULL }),
                "access");
        out = capture_end();
        o = parse_line(out);
        ck_assert_str_eq(field(o, "route"), "/jobs/{id}");
        ck_assert_str_eq(field(o, "status"), "200");
        ck_assert_ptr_null(field(o, "bad key"));
        ck_assert_int_eq(json_object_object_length(o), 6);
        json_object_put(o);
}
END_TEST

START_TEST(test_journal_mode) {
        _cleanup_free_ char *out = NULL;

        /* Journal mode never writes JSON to stderr (sd_journal_send fails quietly when
         * there is no journald, which is fine for a log call). */
        log_set_journal(true);
        capture_begin();
        ck_assert_int_eq(log_error_errno(-EPERM, "to the journal: %m"), -EPERM);
        log_fields(LOG_INFO, ((const char *[]){ "ROUTE=/x", NULL }), "with fields");
        out = capture_end();
        ck_assert_str_eq(out, "");
        log_set_journal(false);

        /* JOURNAL_STREAM that does not match stderr is ignored by log_init(). */
        setenv("JOURNAL_STREAM", "1:1", 1);
        log_init("unit");
        unsetenv("JOURNAL_STREAM");
        capture_begin();
        log_info("json again");
        out = (free(out), capture_end());
        ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"json again\""));
}
END_TEST

START_TEST(test_journal_stream_detection) {
        _cleanup_free_ char *out = NULL;
        struct stat st;
        char env[64];

        /* When JOURNAL_STREAM names our stderr, JSON lines stop. */
        capture_begin();
        ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
        snprintf(
                env,
                sizeof(env),
                "%llu:%llu",
                (unsigned long long) st.st_dev,
                (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", env, 1);
        log_init("unit");
        log_info("should go to the journal");
        out = capture_end();
        unsetenv("JOURNAL_STREAM");
        log_set_journal(false);
        ck_assert_str_eq(out, "");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_line_shape);
        tcase_add_test(tc, test_escaping);
        tcase_add_test(tc, test_level_filtering);
        tcase_add_test(tc, test_level_env);
        tcase_add_test(tc, test_request_id);
        tcase_add_test(tc, test_errno_and_m);
        tcase_add_test(tc, test_extra_fields);
        tcase_add_test(tc, test_journal_mode);
        tcase_add_test(tc, test_journal_stream_detection);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
