/* SPDX-License-Identifier: MIT */
/* check-run.h — how every Check program runs its suite and turns it into an exit code. */
#pragma once

#include <check.h>
#include <stdlib.h>

static inline int check_run_with(Suite *s, enum fork_status fork) {
        SRunner *sr = srunner_create(s);
        int failed;

        if (fork != CK_FORK_GETENV)
                srunner_set_fork_status(sr, fork);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Each test in its own process (or as CK_FORK says). */
static inline int check_run(Suite *s) {
        return check_run_with(s, CK_FORK_GETENV);
}

/* All tests in this process: for tests that share state set up in main(). */
static inline int check_run_nofork(Suite *s) {
        return check_run_with(s, CK_NOFORK);
}
