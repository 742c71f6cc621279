/* SPDX-License-Identifier: MIT */
/* listen-fds.c — $LISTEN_PID/$LISTEN_FDS/$LISTEN_FDNAMES read as sd_listen_fds() reads
 * them, and sd_is_socket()'s check of what was passed. */
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "listen-fds.h"

static int parse_uint(const char *s, unsigned long *ret) {
        char *end;
        unsigned long v;

        if (!s)
                return -EINVAL;
        s += strspn(s, " \t\n");
        if (!*s || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int listen_fds_take(char **ret_names) {
        const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS"),
                   *names_s = getenv("LISTEN_FDNAMES");
        _cleanup_free_ char *names = NULL;
        unsigned long pid, n;
        int r = 0;

        if (ret_names)
                *ret_names = NULL;
        /* The order of sd_listen_fds(): a PID not ours means 0 whatever the rest says. */
        if (!pid_s)
                goto finish;
        if (parse_uint(pid_s, &pid) < 0) {
                r = -EINVAL;
                goto finish;
        }
        if (pid == 0) {
                r = -ERANGE;
                goto finish;
        }
        if (pid != (unsigned long) getpid() || !fds_s)
                goto finish; /* meant for another process (our parent, say) */
        if (parse_uint(fds_s, &n) < 0 || n == 0 || n > INT_MAX - LISTEN_FDS_START) {
                r = -EINVAL;
                goto finish;
        }
        for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + (int) n; fd++)
                if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                        r = -errno;
                        goto finish;
                }
        if (names_s && ret_names) {
                names = strdup(names_s);
                if (!names) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = (int) n;
finish:
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        if (r > 0 && ret_names)
                *ret_names = TAKE_PTR(names);
        return r;
}

int listen_fds_is_stream_listener(int fd) {
        struct stat st;
        int type = 0, listening = 0;
        socklen_t l = sizeof(int);

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return 0;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
                return -errno;
        l = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) < 0)
                return -errno;
        return type == SOCK_STREAM && listening;
}
