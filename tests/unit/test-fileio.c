/* SPDX-License-Identifier: MIT */
/* test-fileio.c — read_full_file(): contents, the size cap at its edge, empty files,
 * files whose size stat() does not tell (/proc), and missing files. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "fileio.h"

static char path[64];

static void write_bytes(size_t n) {
        FILE *f;

        snprintf(path, sizeof(path), "/tmp/test-fileio-%d", (int) getpid());
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < n; i++)
                fputc('a' + (int) (i % 26), f);
        ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_contents_and_cap) {
        char *buf = NULL;
        size_t size = 0;

        write_bytes(10000); /* past the first 4 KiB buffer */
        ck_assert_int_eq(read_full_file(path, SIZE_MAX, &buf, &size), 0);
        ck_assert_uint_eq(size, 10000);
        ck_assert_uint_eq(strlen(buf), 10000);
        ck_assert_int_eq(buf[9999], 'a' + 9999 % 26);
        free(buf);
        buf = NULL;
        ck_assert_int_eq(read_full_file(path, 10000, &buf, NULL), 0); /* exactly at the cap */
        free(buf);
        buf = NULL;
        ck_assert_int_eq(read_full_file(path, 9999, &buf, NULL), -EFBIG);
        ck_assert_ptr_null(buf);
        unlink(path);
}
END_TEST

START_TEST(test_empty_proc_missing) {
        char *buf = NULL;
        size_t size = 1;

        write_bytes(0);
        ck_assert_int_eq(read_full_file(path, 16, &buf, &size), 0);
        ck_assert_uint_eq(size, 0);
        ck_assert_str_eq(buf, "");
        free(buf);
        buf = NULL;
        unlink(path);
        ck_assert_int_eq(read_full_file("/proc/self/status", SIZE_MAX, &buf, &size), 0);
        ck_assert_ptr_nonnull(strstr(buf, "Pid:"));
        free(buf);
        buf = NULL;
        ck_assert_int_eq(read_full_file(path, SIZE_MAX, &buf, NULL), -ENOENT);
}
END_TEST

int main(void) {
        Suite *s = suite_create("fileio");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_contents_and_cap);
        tcase_add_test(tc, test_empty_proc_missing);
        suite_add_tcase(s, tc);
        return check_run(s);
}
