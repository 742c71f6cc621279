/* SPDX-License-Identifier: MIT */
/* test-error-message.c — the message goes to the caller with the error code, or nowhere
 * when the caller does not want it. */
#include <check.h>
#include <errno.h>

#include "check-run.h"
#include "error-message.h"

START_TEST(test_message) {
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(error_message(&m, -EINVAL, "%s: '%d' is out of range", "X", 7), -EINVAL);
        ck_assert_str_eq(m, "X: '7' is out of range");
}
END_TEST

START_TEST(test_no_message_wanted) {
        ck_assert_int_eq(error_message(NULL, -EBADMSG, "%s", "dropped"), -EBADMSG);
        ck_assert_int_eq(error_message(NULL, 0, "%s", "dropped"), 0);
}
END_TEST

START_TEST(test_buffer) {
        char buf[8] = "";

        /* truncated to the buffer */
        ck_assert_int_eq(error_message_buf(buf, sizeof(buf), -EPROTO, "reply[%d]", 3), -EPROTO);
        ck_assert_str_eq(buf, "reply[3");
        ck_assert_int_eq(error_message_buf(buf, sizeof(buf), -EIO, "%s", "io"), -EIO);
        ck_assert_str_eq(buf, "io");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("error-message");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_message);
        tcase_add_test(tc, test_no_message_wanted);
        tcase_add_test(tc, test_buffer);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
