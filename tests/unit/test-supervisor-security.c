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

#include <sys/stat.h>

#include "check-run.h"
#include "security-apply.h"
#include "security-seccomp.h"
#include "security-selinux.h"
#include "unit-install.h"

#define GOOD_PROFILE                                                   \
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1," \
        "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}],"       \
        "\"syscalls\":[{\"names\":[\"read\",\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}"

static void write_file(const char *dir, const char *name, const char *text) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

static void rm_rf(const char *dir) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

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

/* apply with a temporary HOME: every good profile is installed, 0644, no temporaries left */
START_TEST(test_apply_good) {
        char src[] = "/tmp/test-apply-XXXXXX", dst[4200], path[4300];
        SeccompApplyList l = {};
        SeccompApplyError e = {};
        struct stat st;
        DIR *dp;
        struct dirent *d;
        int n = 0;

        ck_assert_ptr_nonnull(mkdtemp(src));
        write_file(src, "llm.json", GOOD_PROFILE);
        write_file(src, "nlp.json", GOOD_PROFILE);
        write_file(src, "README", "not a profile");
        ck_assert_int_eq(seccomp_apply_validate(src, &l, &e), 0);
        ck_assert_uint_eq(l.n_profiles, 2);
        ck_assert_str_eq(l.profiles[0].file, "llm.json");
        ck_assert_uint_eq(l.profiles[0].n_allowed, 3);
        snprintf(dst, sizeof dst, "%s/home/.config/ai-semble/seccomp", src);
        ck_assert_int_eq(seccomp_apply_install(src, dst, &l), 0);
        snprintf(path, sizeof path, "%s/nlp.json", dst);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0644);
        dp = opendir(dst);
        ck_assert_ptr_nonnull(dp);
        while ((d = readdir(dp)))
                if (d->d_name[0] != '.')
                        n++;
        closedir(dp);
        ck_assert_int_eq(n, 2);
        /* again: the rename replaces the installed copies */
        ck_assert_int_eq(seccomp_apply_install(src, dst, &l), 0);
        seccomp_apply_list_done(&l);
        rm_rf(src);
}
END_TEST

/* one bad profile among good ones: nothing is installed, file and name reported */
START_TEST(test_apply_bad) {
        char src[] = "/tmp/test-apply-XXXXXX";
        SeccompApplyList l = {};
        SeccompApplyError e = {};

        ck_assert_ptr_nonnull(mkdtemp(src));
        write_file(src, "data.json", GOOD_PROFILE);
        write_file(
                src,
                "llm.json",
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"reed\"],"
                "\"action\":\"SCMP_ACT_ALLOW\"}]}");
        write_file(src, "nlp.json", GOOD_PROFILE);
        ck_assert_int_eq(seccomp_apply_validate(src, &l, &e), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e.file, "/llm.json"));
        ck_assert_str_eq(e.name, "reed");
        ck_assert_uint_eq(l.n_profiles, 0); /* untouched on failure: nothing to install */
        seccomp_apply_error_done(&e);
        rm_rf(src);
}
END_TEST

START_TEST(test_apply_empty_dir) {
        char src[] = "/tmp/test-apply-XXXXXX";
        SeccompApplyList l = {};
        SeccompApplyError e = {};

        ck_assert_ptr_nonnull(mkdtemp(src));
        ck_assert_int_eq(seccomp_apply_validate(src, &l, &e), -ENOENT);
        ck_assert_ptr_null(e.file);
        rm_rf(src);
}
END_TEST

START_TEST(test_unit_references) {
        const char *p = "/home/u/.config/ai-semble/seccomp/nlp.json";

        /* podman generate systemd */
        ck_assert(seccomp_apply_unit_references(
                "ExecStart=/usr/bin/podman run \\\n\t--security-opt seccomp=/home/u/.config/ai-semble/seccomp/nlp.json \\\n",
                "/home/u",
                p));
        /* Quadlet, with %h */
        ck_assert(seccomp_apply_unit_references(
                "[Container]\nSeccompProfile=%h/.config/ai-semble/seccomp/nlp.json\n", "/home/u", p));
        /* another service's profile, a prefix, nothing */
        ck_assert(!seccomp_apply_unit_references(
                "--security-opt seccomp=/home/u/.config/ai-semble/seccomp/llm.json", "/home/u", p));
        ck_assert(!seccomp_apply_unit_references(
                "--security-opt seccomp=/home/u/.config/ai-semble/seccomp/nlp.json.old", "/home/u", p));
        ck_assert(!seccomp_apply_unit_references("--security-opt no-new-privileges\n", "/home/u", p));
        ck_assert(!seccomp_apply_unit_references(
                "#SeccompProfile=%h/.config/ai-semble/seccomp/nlp.json\n", "/home/u", p));
}
END_TEST

START_TEST(test_syscall_filter) {
        char *p = write_tmp(GOOD_PROFILE), *names = NULL;

        ck_assert_int_eq(seccomp_apply_syscall_filter(p, &names), 0);
        ck_assert_str_eq(names, "read write exit_group");
        free(names);
        unlink(p);
        free(p);
}
END_TEST

/* every branch of the decision, without SELinux on the host */
START_TEST(test_selinux_plan) {
        SelinuxState s = {};
        SelinuxPlan p;

        p = selinux_plan(&s);
        ck_assert_int_eq(p.kind, SELINUX_PLAN_DISABLED);
        ck_assert_str_eq(p.message, "SELinux is disabled on this host: no labels applied");

        s = (SelinuxState){ .enabled = true, .enforcing = true, .missing_type = "ai_semble_nlp_t" };
        p = selinux_plan(&s);
        ck_assert_int_eq(p.kind, SELINUX_PLAN_MODULE_MISSING);
        ck_assert_ptr_nonnull(strstr(p.message, "scripts/install-security.sh"));
        s.enforcing = false;
        ck_assert_int_eq(selinux_plan(&s).kind, SELINUX_PLAN_MODULE_MISSING);

        s = (SelinuxState){ .enabled = true, .enforcing = true, .types_present = true };
        p = selinux_plan(&s);
        ck_assert_int_eq(p.kind, SELINUX_PLAN_LABEL);
        ck_assert(p.enforcing);
        ck_assert_ptr_nonnull(strstr(p.message, "enforcing"));
        s.enforcing = false;
        p = selinux_plan(&s);
        ck_assert_int_eq(p.kind, SELINUX_PLAN_LABEL);
        ck_assert(!p.enforcing);
        ck_assert_ptr_nonnull(strstr(p.message, "permissive"));

        /* a host without SELinux (this one, CI) reports itself as disabled */
        selinux_state_get(&s);
        if (!s.enabled)
                ck_assert_int_eq(selinux_plan(&s).kind, SELINUX_PLAN_DISABLED);
}
END_TEST

START_TEST(test_selinux_labels) {
        char *t = NULL, *text = NULL;

        ck_assert_int_eq(selinux_service_type("nlp", &t), 0);
        ck_assert_str_eq(t, "ai_semble_nlp_t");
        free(t);
        ck_assert_int_eq(selinux_service_type("a:b", &t), -EINVAL);
        ck_assert_int_eq(
                unit_install_add_label(
                        "[Unit]\nX=1\n[Container]\nImage=i\n[Service]\nR=1\n", "ai_semble_nlp_t", &text),
                0);
        ck_assert_str_eq(
                text,
                "[Unit]\nX=1\n[Container]\nSecurityLabelType=ai_semble_nlp_t\nImage=i\n[Service]\nR=1\n");
        free(text);
        ck_assert_int_eq(unit_install_add_label("[Pod]\nX=#[Container]\n", "t", &text), -ENOENT);
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-security");
        TCase *tc = tcase_create("seccomp");

        tcase_add_test(tc, test_good);
        tcase_add_test(tc, test_bad_name);
        tcase_add_test(tc, test_bad_action);
        tcase_add_test(tc, test_project_profiles);
        tcase_add_test(tc, test_apply_good);
        tcase_add_test(tc, test_apply_bad);
        tcase_add_test(tc, test_apply_empty_dir);
        tcase_add_test(tc, test_unit_references);
        tcase_add_test(tc, test_syscall_filter);
        tcase_add_test(tc, test_selinux_plan);
        tcase_add_test(tc, test_selinux_labels);
        suite_add_tcase(s, tc);
        return check_run(s);
}
