/* SPDX-License-Identifier: MIT */
/* http-probe.c — a blocking HTTP/1.0 GET with one deadline for connect, send and the
 * status line. Only the status line is read: a probe's verdict is the status. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "http-probe.h"
#include "time-util.h"

/* Waits for events on fd until the deadline. */
static int wait_fd(int fd, short events, int64_t deadline) {
        struct pollfd p = { .fd = fd, .events = events };
        int64_t left = deadline - (int64_t) time_now_ms(CLOCK_MONOTONIC);
        int r;

        if (left <= 0)
                return -ETIMEDOUT;
        r = poll(&p, 1, (int) left);
        if (r < 0)
                return negative_errno();
        return r == 0 ? -ETIMEDOUT : 0;
}

int http_probe_get(const char *ipv4, uint16_t port, const char *path, int timeout_ms, int *ret_status) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        int64_t deadline = (int64_t) time_now_ms(CLOCK_MONOTONIC) + timeout_ms;
        _cleanup_close_ int fd = -1;
        char req[256], buf[128];
        size_t have = 0, sent = 0;
        int len, status, r;
        socklen_t sl = sizeof(r);

        if (inet_pton(AF_INET, ipv4, &sa.sin_addr) != 1)
                return -EINVAL;
        len = snprintf(
                req,
                sizeof(req),
                "GET %s HTTP/1.0\r\nHost: %s:%u\r\nUser-Agent: ai-semble-probe\r\n\r\n",
                path,
                ipv4,
                port);
        if (len < 0 || (size_t) len >= sizeof(req))
                return -ENAMETOOLONG;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                if (errno != EINPROGRESS)
                        return negative_errno();
                r = wait_fd(fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &r, &sl) < 0)
                        return negative_errno();
                if (r != 0)
                        return -r;
        }
        while (sent < (size_t) len) {
                ssize_t n = send(fd, req + sent, (size_t) len - sent, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno != EAGAIN)
                                return negative_errno();
                        r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                sent += (size_t) n;
        }
        /* "HTTP/1.x NNN" is all we need. */
        while (have < 12) {
                ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
                if (n == 0)
                        return -EBADMSG;
                if (n < 0) {
                        if (errno != EAGAIN)
                                return negative_errno();
                        r = wait_fd(fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                have += (size_t) n;
        }
        buf[have] = '\0';
        if (sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100 || status > 599)
                return -EBADMSG;
        *ret_status = status;
        return 0;
}
