/* SPDX-License-Identifier: MIT */
/* test-supervisor-security.c — the seccomp profile check: a good profile passes and
 * counts its names, a misspelt name and a bad action fail naming the culprit, and the
 * project's own profiles (security/seccomp) all validate. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "security-seccomp.h"

static char *write_tmp(const char *text) {
        char *path = strdup("/tmp/test-seccomp-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        return path;
}

START_TEST(test_good) {
        SeccompProfileInfo info = {};
        char *p = write_tmp(
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[]}],"
                "\"syscalls\":[{\"names\":[\"read\",\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}");
        ck_assert_int_eq(seccomp_profile_check(p, &info), 0);
        ck_assert_uint_eq(info.n_allowed, 3);
        seccomp_profile_info_done(&info);
        unlink(p);
        free(p);
}
END_TEST

START_TEST(test_bad_name) {
        SeccompProfileInfo info = {};
        char *p = write_tmp(
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}],"
                "\"syscalls\":[{\"names\":[\"read\",\"no_such_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
        ck_assert_int_eq(seccomp_profile_check(p, &info), -ENOENT);
        ck_assert_str_eq(info.bad_name, "no_such_syscall");
        seccomp_profile_info_done(&info);
        unlink(p);
        free(p);
}
END_TEST

START_TEST(test_bad_action) {
        SeccompProfileInfo info = {};
        char *p = write_tmp("{\"defaultAction\":\"SCMP_ACT_MAYBE\",\"syscalls\":[]}");
        ck_assert_int_eq(seccomp_profile_check(p, &info), -EINVAL);
        ck_assert_str_eq(info.bad_name, "defaultAction");
        seccomp_profile_info_done(&info);
        unlink(p);
        free(p);
        p = write_tmp("not json");
        ck_assert_int_eq(seccomp_profile_check(p, &info), -EBADMSG);
        unlink(p);
        free(p);
}
END_TEST

START_TEST(test_project_profiles) {
        const char *dir = getenv("AI_SEMBLE_TEST_SECCOMP");
        struct dirent *d;
        DIR *dp;
        int n = 0;

        ck_assert_ptr_nonnull(dir);
        dp = opendir(dir);
        ck_assert_ptr_nonnull(dp);
        while ((d = readdir(dp))) {
                char path[4096];
                SeccompProfileInfo info = {};
                size_t l = strlen(d->d_name);
                if (l < 6 || strcmp(d->d_name + l - 5, ".json") != 0)
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
                ck_assert_msg(
                        seccomp_profile_check(path, &info) == 0,
                        "%s: %s",
                        path,
                        info.bad_name ? info.bad_name : "?");
                ck_assert_uint_le(info.n_allowed, 150);
                seccomp_profile_info_done(&info);
                n++;
        }
        closedir(dp);
        ck_assert_int_ge(n, 5);
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-security");
        TCase *tc = tcase_create("seccomp");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_good);
        tcase_add_test(tc, test_bad_name);
        tcase_add_test(tc, test_bad_action);
        tcase_add_test(tc, test_project_profiles);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
