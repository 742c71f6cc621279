/* SPDX-License-Identifier: MIT */
/* test-listen-fds.c — our reading of $LISTEN_PID/$LISTEN_FDS agrees with libsystemd's
 * sd_listen_fds() and sd_is_socket() (linked here only, as the reference) on every case,
 * and leaves the variables unset for children. */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "check-run.h"
#include "listen-fds.h"

/* In a child (descriptors 3 and 4 are rewired there, which Check's own may use):
 * 3 = a listening TCP socket, 4 = a pipe's read end. Exit 0 if both implementations
 * agree on every case. */
static int compare_in_child(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        char pid[32], other[32];
        int lfd = socket(AF_INET, SOCK_STREAM, 0), p[2];
        const struct {
                const char *pid, *fds;
                int want;
        } cases[] = {
                { NULL, "2", 0 },        { pid, NULL, 0 },       { other, "2", 0 },
                { pid, "2", 2 },         { pid, "1", 1 },        { pid, "0", -EINVAL },
                { pid, "x", -EINVAL },   { pid, "-1", -EINVAL }, { "0", "1", -ERANGE },
                { "abc", "1", -EINVAL }, { " 1", "1", 0 },       { pid, "1 ", -EINVAL },
        };

        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0 ||
            pipe(p) < 0)
                return 10;
        if (dup2(lfd, 3) != 3 || dup2(p[0], 4) != 4)
                return 11;
        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        snprintf(other, sizeof(other), "%d", (int) getpid() + 1);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int theirs = -1, ours = -1;
                char *names = NULL;

                for (int pass = 0; pass < 2; pass++) {
                        if (cases[i].pid)
                                setenv("LISTEN_PID", cases[i].pid, 1);
                        else
                                unsetenv("LISTEN_PID");
                        if (cases[i].fds)
                                setenv("LISTEN_FDS", cases[i].fds, 1);
                        else
                                unsetenv("LISTEN_FDS");
                        setenv("LISTEN_FDNAMES", "web:other", 1);
                        if (pass == 0)
                                theirs = sd_listen_fds(0);
                        else
                                ours = listen_fds_take(&names);
                }
                if (theirs != ours || ours != cases[i].want)
                        return 20 + (int) i;
                if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") || getenv("LISTEN_FDNAMES"))
                        return 40 + (int) i;
                if ((ours > 0) != (names != NULL) || (names && strcmp(names, "web:other") != 0))
                        return 60 + (int) i;
                if (ours > 0 && !(fcntl(3, F_GETFD) & FD_CLOEXEC))
                        return 80 + (int) i;
                free(names);
                (void) fcntl(3, F_SETFD, 0);
        }
        /* What was passed: a listening stream socket, or not. */
        if (listen_fds_is_stream_listener(3) != 1 || sd_is_socket(3, AF_UNSPEC, SOCK_STREAM, 1) != 1)
                return 100;
        if (listen_fds_is_stream_listener(4) != 0 || sd_is_socket(4, AF_UNSPEC, SOCK_STREAM, 1) != 0)
                return 101;
        {
                int s = socket(AF_INET, SOCK_STREAM, 0);
                if (listen_fds_is_stream_listener(s) != 0 || sd_is_socket(s, AF_UNSPEC, SOCK_STREAM, 1) != 0)
                        return 102;
        }
        if (listen_fds_is_stream_listener(999) != -EBADF)
                return 103;
        return 0;
}

START_TEST(test_same_as_libsystemd) {
        int status = 0;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(compare_in_child());
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(
                WIFEXITED(status) && WEXITSTATUS(status) == 0, "disagreement, code %d", WEXITSTATUS(status));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("listen-fds");
        TCase *tc = tcase_create("sd_listen_fds");

        tcase_add_test(tc, test_same_as_libsystemd);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
