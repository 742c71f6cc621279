/* SPDX-License-Identifier: MIT */
/* test-http-util.h — raw-socket HTTP helpers for the unit tests: we talk to the server
 * byte by byte so tests can send what no well-behaved client would. */
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "macro.h"
#include "time-util.h"

typedef struct RawResponse {
        int status;
        char *raw; /* whole response, NUL-terminated */
        size_t raw_len;
        const char *body; /* points into raw */
} RawResponse;

static inline void raw_response_done(RawResponse *r) {
        free(r->raw);
        *r = (RawResponse){};
}

static inline int test_connect(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* A loopback port nobody listens on right now, for a child process to bind (a race with
 * other programs remains; far smaller than a fixed port's). */
static inline int test_free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t l = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

        if (fd < 0)
                return -errno;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &l) == 0)
                port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

static inline int test_send_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static inline double test_now(void) {
        return time_now_s(CLOCK_MONOTONIC);
}

/* Reads until EOF or timeout_ms; returns bytes read or -errno. */
static inline ssize_t test_read_all(int fd, char **ret, int timeout_ms) {
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);
        double deadline = test_now() + timeout_ms / 1000.0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int left = (int) ((deadline - test_now()) * 1000);
                ssize_t n;

                if (left <= 0 || poll(&p, 1, left) <= 0)
                        break;
                if (len + 1 >= cap) {
                        char *nb = realloc(buf, cap * 2);
                        if (!nb)
                                break;
                        buf = nb;
                        cap *= 2;
                }
                n = recv(fd, buf + len, cap - 1 - len, 0);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        *ret = buf;
        return (ssize_t) len;
}

static inline void test_parse_response(RawResponse *r) {
        const char *sep;

        r->status = 0;
        if (r->raw && sscanf(r->raw, "HTTP/1.%*d %d", &r->status) != 1)
                r->status = 0;
        sep = r->raw ? strstr(r->raw, "\r\n\r\n") : NULL;
        r->body = sep ? sep + 4 : "";
}

/* Sends req (len bytes) on a fresh connection and reads the response until EOF. */
static inline int test_http_raw(int port, const char *req, size_t len, RawResponse *ret) {
        int fd = test_connect(port), r;
        ssize_t n;

        *ret = (RawResponse){};
        if (fd < 0)
                return fd;
        r = test_send_all(fd, req, len);
        if (r < 0) {
                close(fd);
                return r;
        }
        n = test_read_all(fd, &ret->raw, 10000);
        close(fd);
        if (n < 0)
                return (int) n;
        ret->raw_len = (size_t) n;
        test_parse_response(ret);
        return 0;
}

static inline int test_http(int port, const char *req, RawResponse *ret) {
        return test_http_raw(port, req, strlen(req), ret);
}

/* Value of header name in the response (copied into buf), NULL if absent. */
static inline const char *test_header(const RawResponse *r, const char *name, char *buf, size_t size) {
        const char *p = r->raw, *end = strstr(r->raw, "\r\n\r\n");
        size_t nl = strlen(name);

        while (p && end && p < end) {
                const char *eol = strstr(p, "\r\n");
                if (!eol)
                        break;
                if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
                        const char *v = p + nl + 1;
                        while (*v == ' ')
                                v++;
                        snprintf(buf, size, "%.*s", (int) (eol - v), v);
                        return buf;
                }
                p = eol + 2;
        }
        return NULL;
}

static inline int test_send_str(int fd, const char *s) {
        return test_send_all(fd, s, strlen(s));
}

/* Waits up to timeout_ms for input and reads what is there (once) into buf, NUL-terminated;
 * returns the bytes read, 0 at EOF or on timeout, -errno. */
static inline ssize_t test_recv_some(int fd, char *buf, size_t size, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n = 0;

        buf[0] = '\0';
        if (poll(&p, 1, timeout_ms) == 1) {
                n = recv(fd, buf, size - 1, 0);
                if (n < 0)
                        return -errno;
                buf[n] = '\0';
        }
        return n;
}

/* Sends len bytes of filler without blocking, waiting when the socket is full, until
 * they are sent, the connection fails (the errno is returned) or timeout_ms passes (0).
 * *ret_sent: how many the kernel took — bounded by the socket buffers if nobody reads. */
static inline int test_send_until_error(int fd, size_t len, int timeout_ms, size_t *ret_sent) {
        static char filler[65536];
        double deadline = test_now() + timeout_ms / 1000.0;
        int flags = fcntl(fd, F_GETFL);

        *ret_sent = 0;
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return errno;
        while (*ret_sent < len && test_now() < deadline) {
                ssize_t n = send(fd, filler, MIN(sizeof(filler), len - *ret_sent), MSG_NOSIGNAL);

                if (n > 0)
                        *ret_sent += (size_t) n;
                else if (n < 0 && errno != EAGAIN)
                        return errno;
                else
                        usleep(20 * 1000);
        }
        return 0;
}
