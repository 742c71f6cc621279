/* SPDX-License-Identifier: MIT */
/* test-supervisor-bus.c — unit_manager against the real user manager: installs
 * ai-semble-test-sleep.service (/bin/sleep 300) in the user unit directory, then
 * start, restart and stop it through the API, checking ActiveState each time.
 * Exits 77 (skip) when there is no user bus. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "argv-util.h"
#include "check-run.h"
#include "paths.h"
#include "unit-manager.h"

#define TEST_UNIT "ai-semble-test-sleep.service"
#define TEST_FAIL_UNIT "ai-semble-test-fail.service"
#define TIMEOUT_USEC (30ULL * 1000000ULL)

static char unit_path[4096], fail_path[4096];

/* runs before the suite, so it reports with perror instead of ck_assert */
static int write_unit(const char *path, const char *type, const char *exec) {
        FILE *f = fopen(path, "we");

        if (!f) {
                perror(path);
                return -1;
        }
        fprintf(f,
                "[Unit]\nDescription=ai-semble supervisor bus test\n[Service]\nType=%s\nExecStart=%s\n",
                type,
                exec);
        if (fclose(f) != 0) {
                perror(path);
                return -1;
        }
        return 0;
}

static void assert_state(UnitManager *m, const char *unit, const char *active) {
        _cleanup_(unit_state_done) UnitState st = {};
        char *error = NULL;

        ck_assert_msg(unit_manager_get_state(m, unit, &st, &error) == 0, "%s", error ? error : "?");
        ck_assert_str_eq(st.load_state, "loaded");
        ck_assert_msg(
                streq(st.active_state, active),
                "%s is %s/%s, want %s",
                unit,
                st.active_state,
                st.sub_state,
                active);
        if (streq(active, "active"))
                ck_assert_uint_gt(st.state_change_usec, 0);
}

static void wait_ok(UnitManager *m) {
        _cleanup_argv_free_ char **failures = NULL;
        int r = unit_manager_wait(m, TIMEOUT_USEC, &failures);

        ck_assert_msg(r == 0, "wait: %d %s", r, failures && failures[0] ? failures[0] : "");
}

START_TEST(test_start_restart_stop) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(unit_state_done) UnitState before = {}, after = {};
        char *error = NULL;

        ck_assert_msg(unit_manager_open(&m, &error) == 0, "%s", error ? error : "?");
        ck_assert_int_eq(unit_manager_reload(m, NULL), 0);
        assert_state(m, TEST_UNIT, "inactive");

        ck_assert_int_eq(unit_manager_start(m, TEST_UNIT, NULL), 0);
        /* a second request merges into the same job and must not hang the wait */
        ck_assert_int_eq(unit_manager_start(m, TEST_UNIT, NULL), 0);
        wait_ok(m);
        assert_state(m, TEST_UNIT, "active");

        ck_assert_int_eq(unit_manager_get_state(m, TEST_UNIT, &before, NULL), 0);
        usleep(20000);
        ck_assert_int_eq(unit_manager_restart(m, TEST_UNIT, NULL), 0);
        wait_ok(m);
        assert_state(m, TEST_UNIT, "active");
        ck_assert_int_eq(unit_manager_get_state(m, TEST_UNIT, &after, NULL), 0);
        ck_assert_uint_gt(after.state_change_usec, before.state_change_usec);

        ck_assert_int_eq(unit_manager_stop(m, TEST_UNIT, NULL), 0);
        wait_ok(m);
        assert_state(m, TEST_UNIT, "inactive");
}
END_TEST

START_TEST(test_failed_job) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_argv_free_ char **failures = NULL;

        ck_assert_int_eq(unit_manager_open(&m, NULL), 0);
        ck_assert_int_eq(unit_manager_reload(m, NULL), 0);
        ck_assert_int_eq(unit_manager_start(m, TEST_FAIL_UNIT, NULL), 0);
        ck_assert_int_eq(unit_manager_wait(m, TIMEOUT_USEC, &failures), -EIO);
        ck_assert_ptr_nonnull(failures);
        ck_assert_str_eq(failures[0], TEST_FAIL_UNIT ": failed");
}
END_TEST

START_TEST(test_unknown_unit) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_free_ char *error = NULL;

        ck_assert_int_eq(unit_manager_open(&m, NULL), 0);
        ck_assert_int_lt(unit_manager_start(m, "ai-semble-does-not-exist.service", &error), 0);
        ck_assert_ptr_nonnull(error);
}
END_TEST

int main(void) {
        _cleanup_(paths_done) Paths p = {};
        const char *rt = getenv("XDG_RUNTIME_DIR");
        char bus[4096];
        struct stat st;
        Suite *s;
        TCase *tc;
        int r;

        if (isempty(rt) || snprintf(bus, sizeof(bus), "%s/bus", rt) >= (int) sizeof(bus) ||
            stat(bus, &st) < 0) {
                fprintf(stderr, "no user bus ($XDG_RUNTIME_DIR/bus): skipping\n");
                return 77;
        }
        if (paths_init(&p) < 0 || paths_mkdir_p(p.unit_dir, 0755) < 0) {
                fprintf(stderr, "cannot create the user unit directory\n");
                return EXIT_FAILURE;
        }
        snprintf(unit_path, sizeof(unit_path), "%s/%s", p.unit_dir, TEST_UNIT);
        snprintf(fail_path, sizeof(fail_path), "%s/%s", p.unit_dir, TEST_FAIL_UNIT);

        s = suite_create("supervisor-bus");
        tc = tcase_create("bus");
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, test_start_restart_stop);
        tcase_add_test(tc, test_failed_job);
        tcase_add_test(tc, test_unknown_unit);
        suite_add_tcase(s, tc);

        if (write_unit(unit_path, "exec", "/bin/sleep 300") < 0 ||
            /* oneshot: the start job itself fails, with result "failed" */
            write_unit(fail_path, "oneshot", "/bin/false") < 0)
                return EXIT_FAILURE;
        r = check_run_nofork(s);
        (void) unlink(unit_path);
        (void) unlink(fail_path);
        return r;
}
