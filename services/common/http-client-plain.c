/* SPDX-License-Identifier: MIT */
/* http-client-plain.c — the plain engine of http-client: an HTTP/1.1 call over a pooled
 * keep-alive connection, for calls between the pod's services. One write of head and body,
 * reads into one buffer that becomes the response body, framing by http-parse (the same
 * strict rules as the server's). A kept connection the peer has closed is seen before use
 * (a peek), and one that dies before any byte of the answer is retried once on a new
 * connection, as libcurl does. */
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http-client-internal.h"
#include "http-parse.h"
#include "time-util.h"

#define PLAIN_IDLE_MAX 64          /* kept connections, all origins together */
#define PLAIN_IDLE_MS 30000        /* a connection idle longer is closed, not reused */
#define PLAIN_ORIGIN_MAX 264       /* "host:port" */
#define PLAIN_HEAD_MAX (64 * 1024) /* a longer response head fails the call */
#define PLAIN_POLL_MS 100          /* longest wait between two looks at req->cancel */

typedef struct PlainConn {
        int fd;
        uint64_t idle_since_ms;
        char origin[PLAIN_ORIGIN_MAX];
} PlainConn;

static pthread_mutex_t plain_lock = PTHREAD_MUTEX_INITIALIZER;
static PlainConn plain_idle[PLAIN_IDLE_MAX];
static size_t plain_n;

/* The parts of an http:// URL. */
typedef struct PlainUrl {
        char host[256]; /* without the brackets of an IPv6 literal */
        char port[8];
        const char *authority; /* for Host: as written in the URL */
        size_t authority_len;
        const char *path; /* from '/' or '?' up to any fragment; "" means "/" */
        size_t path_len;
} PlainUrl;

static int plain_url_parse(const char *url, PlainUrl *ret) {
        const char *a, *end, *colon = NULL, *h;
        size_t hl, pl;

        if (strncasecmp(url, "http://", 7) != 0)
                return -EINVAL;
        a = url + 7;
        end = a + strcspn(a, "/?#");
        if (end == a || memchr(a, '@', (size_t) (end - a)))
                return -EINVAL; /* no host, or credentials: libcurl's */
        if (a[0] == '[') {
                const char *rb = memchr(a, ']', (size_t) (end - a));

                if (!rb)
                        return -EINVAL;
                h = a + 1;
                hl = (size_t) (rb - h);
                if (rb + 1 < end) {
                        if (rb[1] != ':')
                                return -EINVAL;
                        colon = rb + 1;
                }
        } else {
                colon = memchr(a, ':', (size_t) (end - a));
                h = a;
                hl = (size_t) ((colon ?: end) - a);
        }
        pl = colon ? (size_t) (end - colon - 1) : 2;
        if (hl == 0 || hl >= sizeof(ret->host) || pl == 0 || pl >= sizeof(ret->port))
                return -EINVAL;
        memcpy(ret->host, h, hl);
        ret->host[hl] = '\0';
        if (colon) {
                for (const char *p = colon + 1; p < end; p++)
                        if (*p < '0' || *p > '9')
                                return -EINVAL;
                memcpy(ret->port, colon + 1, pl);
                ret->port[pl] = '\0';
        } else
                memcpy(ret->port, "80", 3);
        ret->authority = a;
        ret->authority_len = (size_t) (end - a);
        ret->path = end;
        ret->path_len = strcspn(end, "#");
        return 0;
}

static bool plain_takes(const HttpClientRequest *req) {
        PlainUrl u;

        return !req->read_body && !req->on_header && !req->on_data && req->idle_timeout_ms == 0 &&
                plain_url_parse(req->url, &u) >= 0;
}

/* ---- the pool -------------------------------------------------------------------- */

/* Whether a kept connection is still open with nothing unread: the peer may have closed
 * it while it was idle. */
static bool plain_conn_alive(int fd) {
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A kept connection to origin, or -1. The newest first: the likeliest to be alive. The
 * peek and the closes run outside the lock, which every call takes; the clock is read
 * inside it, so that no connection in the pool was put back after "now". */
static int plain_pool_take(const char *origin) {
        for (;;) {
                int fd = -1;
                bool old = false;

                pthread_mutex_lock(&plain_lock);
                uint64_t now = time_now_ms(CLOCK_MONOTONIC);
                for (size_t i = plain_n; i > 0; i--) {
                        PlainConn *c = &plain_idle[i - 1];

                        old = c->idle_since_ms + PLAIN_IDLE_MS < now;
                        if (old || streq(c->origin, origin)) {
                                fd = c->fd;
                                *c = plain_idle[--plain_n];
                                break;
                        }
                }
                pthread_mutex_unlock(&plain_lock);
                if (fd < 0)
                        return -1;
                if (!old && plain_conn_alive(fd))
                        return fd;
                (void) close(fd);
        }
}

static void plain_pool_put(int fd, const char *origin) {
        pthread_mutex_lock(&plain_lock);
        if (plain_n < PLAIN_IDLE_MAX) {
                PlainConn *c = &plain_idle[plain_n++];

                c->fd = fd;
                c->idle_since_ms = time_now_ms(CLOCK_MONOTONIC);
                snprintf(c->origin, sizeof(c->origin), "%s", origin);
                fd = -1;
        }
        pthread_mutex_unlock(&plain_lock);
        if (fd >= 0)
                (void) close(fd);
}

static void plain_flush(void) {
        pthread_mutex_lock(&plain_lock);
        while (plain_n > 0)
                (void) close(plain_idle[--plain_n].fd);
        pthread_mutex_unlock(&plain_lock);
}

/* ---- one exchange ---------------------------------------------------------------- */

typedef struct Call {
        HttpClientRequest *req;
        uint64_t deadline_ms; /* monotonic */
        uint64_t t0_ms, t0_us;
        int fd;
} Call;

static int call_fail(Call *c, int r, const char *fmt, ...) _printf_(3, 4);
static int call_fail(Call *c, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(c->req->response.error, sizeof(c->req->response.error), fmt, ap);
        va_end(ap);
        return r;
}

/* Waits until fd is ready for events, the deadline passes (-ETIMEDOUT) or the caller
 * cancels (-ECANCELED). */
static int call_wait(Call *c, short events) {
        for (;;) {
                uint64_t now = time_now_ms(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = c->fd, .events = events };
                int k;

                if (c->req->cancel && __atomic_load_n(c->req->cancel, __ATOMIC_RELAXED))
                        return call_fail(c, -ECANCELED, "Callback aborted");
                if (now >= c->deadline_ms)
                        return call_fail(
                                c,
                                -ETIMEDOUT,
                                "Operation timed out after %" PRIu64 " milliseconds",
                                now - c->t0_ms);
                k =
                        poll(&p,
                             1,
                             (int) MIN(
                                     c->deadline_ms - now,
                                     (uint64_t) (c->req->cancel ? PLAIN_POLL_MS : INT32_MAX)));
                if (k > 0)
                        return 0;
                if (k < 0 && errno != EINTR)
                        return call_fail(c, -errno, "poll: %m");
        }
}

static int plain_connect(Call *c, const PlainUrl *u) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
        int k, r = -ECONNREFUSED, one = 1;

        k = getaddrinfo(u->host, u->port, &hints, &ai);
        if (k != 0)
                return call_fail(c, -EHOSTUNREACH, "Could not resolve host: %s", u->host);
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
                socklen_t el = sizeof(err);

                if (fd < 0) {
                        r = call_fail(c, -errno, "socket: %m");
                        continue;
                }
                c->fd = fd;
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
                        err = errno;
                        if (err == EINPROGRESS) {
                                k = call_wait(c, POLLOUT);
                                if (k < 0) {
                                        (void) close(fd);
                                        c->fd = -1;
                                        freeaddrinfo(ai);
                                        return k;
                                }
                                err = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ? errno : err;
                        }
                }
                if (err == 0) {
                        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        freeaddrinfo(ai);
                        return 0;
                }
                (void) close(fd);
                c->fd = -1;
                r = call_fail(
                        c,
                        err == ECONNREFUSED ? -ECONNREFUSED : -EHOSTUNREACH,
                        "Failed to connect to %s port %s: %s",
                        u->host,
                        u->port,
                        strerror(err));
        }
        freeaddrinfo(ai);
        return r;
}

/* Appends s (n bytes) to the head being built; false when it does not fit. */
static bool head_add(char *buf, size_t size, size_t *len, const char *s, size_t n) {
        if (*len + n >= size)
                return false;
        memcpy(buf + *len, s, n);
        *len += n;
        return true;
}

static bool head_line(char *buf, size_t size, size_t *len, const char *name, const char *value) {
        return head_add(buf, size, len, name, strlen(name)) &&
                head_add(buf, size, len, value, strlen(value)) && head_add(buf, size, len, "\r\n", 2);
}

/* The request head, without string formatting: this runs for every job. */
static int build_head(
        const HttpClientRequest *req,
        const PlainUrl *u,
        const char *traceparent,
        char *buf,
        size_t size,
        size_t *ret_len) {
        const char *method = req->method ?: (req->body ? "POST" : "GET");
        char cl[24];
        size_t len = 0;
        bool ok;

        ok = head_add(buf, size, &len, method, strlen(method)) && head_add(buf, size, &len, " ", 1) &&
                (u->path_len == 0 || u->path[0] == '?' ? head_add(buf, size, &len, "/", 1) : true) &&
                head_add(buf, size, &len, u->path, u->path_len) &&
                head_add(buf, size, &len, " HTTP/1.1\r\nHost: ", 17) &&
                head_add(buf, size, &len, u->authority, u->authority_len) &&
                head_add(buf, size, &len, "\r\nUser-Agent: ai-semble/1\r\nAccept: */*\r\n", 40);
        if (ok && req->request_id)
                ok = head_line(buf, size, &len, "X-Request-ID: ", req->request_id);
        if (ok && traceparent)
                ok = head_line(buf, size, &len, traceparent, "");
        if (ok && req->body) {
                snprintf(cl, sizeof(cl), "%zu", req->body_len);
                ok = head_line(buf, size, &len, "Content-Type: ", req->content_type ?: "application/json") &&
                        head_line(buf, size, &len, "Content-Length: ", cl);
        }
        for (size_t i = 0; ok && req->headers && req->headers[i]; i++)
                ok = head_line(buf, size, &len, req->headers[i], "");
        if (!ok || !head_add(buf, size, &len, "\r\n", 2))
                return -E2BIG;
        *ret_len = len;
        return 0;
}

/* Sends head and body; -EPIPE when the peer had closed the connection. */
static int call_send(Call *c, const char *head, size_t head_len) {
        struct iovec iov[2] = {
                { .iov_base = (void *) head, .iov_len = head_len },
                { .iov_base = (void *) c->req->body, .iov_len = c->req->body ? c->req->body_len : 0 },
        };
        size_t i = 0;

        while (i < ELEMENTSOF(iov)) {
                struct msghdr m = { .msg_iov = iov + i, .msg_iovlen = ELEMENTSOF(iov) - i };
                ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
                int k;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                return call_fail(
                                        c, errno == ECONNRESET ? -ECONNRESET : -EPIPE, "Send failure: %m");
                        k = call_wait(c, POLLOUT);
                        if (k < 0)
                                return k;
                        continue;
                }
                for (; i < ELEMENTSOF(iov) && (size_t) n >= iov[i].iov_len; i++)
                        n -= (ssize_t) iov[i].iov_len;
                if (i < ELEMENTSOF(iov)) {
                        iov[i].iov_base = (char *) iov[i].iov_base + n;
                        iov[i].iov_len -= (size_t) n;
                }
        }
        return 0;
}

/* The answer as it is read: one buffer, the head at its start, then the body. */
typedef struct Answer {
        char *buf;
        size_t len, size;
        bool eof;
} Answer;

/* Reads what is there (waiting for it): 0, or -errno. At the end of the stream eof is
 * set. */
static int answer_read(Call *c, Answer *a, size_t want) {
        ssize_t n;
        int k;

        if (a->size - a->len < want + 1) {
                size_t size = MAX(a->size * 2, a->len + want + 1);
                char *nb = realloc(a->buf, size);

                if (!nb)
                        return call_fail(c, -ENOMEM, "out of memory");
                a->buf = nb;
                a->size = size;
        }
        for (;;) {
                n = recv(c->fd, a->buf + a->len, a->size - a->len - 1, 0);
                if (n > 0) {
                        a->len += (size_t) n;
                        return 0;
                }
                if (n == 0) {
                        a->eof = true;
                        return 0;
                }
                if (errno == EINTR)
                        continue;
                if (errno == ECONNRESET)
                        return call_fail(c, -ECONNRESET, "Recv failure: %m");
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return call_fail(c, -errno, "Recv failure: %m");
                k = call_wait(c, POLLIN);
                if (k < 0)
                        return k;
        }
}

/* Reads one response: status, and its body moved to the start of a->buf (NUL-ended).
 * *ret_keep says whether the connection may carry another call. -ENODATA when the peer
 * closed before sending anything (a kept connection that died: the caller may retry). */
static int
call_receive(Call *c, Answer *a, bool head_only, long *ret_status, size_t *ret_body_len, bool *ret_keep) {
        size_t max = c->req->max_body ?: 1024 * 1024, start = 0, body_len = 0;
        HttpHead h;
        const char *why;
        int k;

        k = answer_read(c, a, 4096); /* a->buf exists from here on */
        if (k < 0)
                return k == -ECONNRESET ? -ENODATA : k;
        for (;;) { /* the head; 1xx interim responses are skipped */
                size_t pos = 0, skip = 0;
                int end;

                while ((end = http_parse_head_end(a->buf + start, a->len - start, &pos, &skip)) == 0) {
                        if (a->len - start > PLAIN_HEAD_MAX)
                                return call_fail(c, -EIO, "response head over %d bytes", PLAIN_HEAD_MAX);
                        if (a->eof)
                                return a->len == 0 ? -ENODATA
                                                   : call_fail(
                                                             c,
                                                             -ECONNRESET,
                                                             "the connection closed in the response head");
                        k = answer_read(c, a, 4096);
                        if (k < 0)
                                return a->len == 0 && k == -ECONNRESET ? -ENODATA : k;
                }
                if (end < 0)
                        return call_fail(c, -EIO, "malformed response head");
                start += skip;
                if (http_parse_status_head(a->buf + start, (size_t) end, &h, &why) != 0)
                        return call_fail(c, -EIO, "malformed response head: %s", why);
                *ret_status = h.status;
                start += (size_t) end;
                if (h.status >= 200 || h.status == 101)
                        break;
        }
        *ret_keep = h.keep_alive;

        if (head_only || h.status == 204 || h.status == 304 || h.status == 101) {
                *ret_keep = *ret_keep && h.status != 101 && a->len == start;
        } else if (h.chunked) {
                HttpChunked ch = {};
                size_t in = start, out = start;

                for (;;) {
                        size_t used = 0, made = 0;

                        k = http_chunked_decode(
                                &ch,
                                a->buf + in,
                                a->len - in,
                                a->buf + out,
                                a->len - in,
                                8192,
                                &used,
                                &made);
                        if (k < 0)
                                return call_fail(c, -EIO, "malformed chunked response body");
                        in += used;
                        out += made;
                        if (out - start > max)
                                return call_fail(c, -EFBIG, "the response is larger than %zu bytes", max);
                        if (k > 0)
                                break;
                        /* Room for what comes: move the undecoded rest next to the decoded body. */
                        memmove(a->buf + out, a->buf + in, a->len - in);
                        a->len -= in - out;
                        in = out;
                        if (a->eof)
                                return call_fail(
                                        c, -ECONNRESET, "the connection closed in the response body");
                        k = answer_read(c, a, 16384);
                        if (k < 0)
                                return k;
                }
                *ret_keep = *ret_keep && in == a->len;
                body_len = out - start;
        } else if (h.has_content_length) {
                if (h.content_length > max)
                        return call_fail(c, -EFBIG, "the response is larger than %zu bytes", max);
                while (a->len - start < h.content_length) {
                        if (a->eof)
                                return call_fail(
                                        c, -ECONNRESET, "the connection closed in the response body");
                        k = answer_read(c, a, (size_t) h.content_length - (a->len - start));
                        if (k < 0)
                                return k;
                }
                body_len = (size_t) h.content_length;
                *ret_keep = *ret_keep && a->len - start == body_len;
        } else { /* the body runs to the end of the connection */
                while (!a->eof) {
                        if (a->len - start > max)
                                return call_fail(c, -EFBIG, "the response is larger than %zu bytes", max);
                        k = answer_read(c, a, 16384);
                        if (k < 0)
                                return k;
                }
                body_len = a->len - start;
                if (body_len > max)
                        return call_fail(c, -EFBIG, "the response is larger than %zu bytes", max);
                *ret_keep = false;
        }
        if (a->buf) {
                memmove(a->buf, a->buf + start, body_len);
                a->buf[body_len] = '\0';
        }
        *ret_body_len = body_len;
        return 0;
}

static int plain_perform(HttpClientRequest *req, const char *traceparent) {
        HttpClientResponse *resp = &req->response;
        uint64_t timeout = req->timeout_ms ?: 10000;
        Call c = { .req = req, .fd = -1 };
        char head[8192], origin[PLAIN_ORIGIN_MAX];
        const char *method;
        size_t head_len;
        PlainUrl u;
        int k;

        if (plain_url_parse(req->url, &u) < 0)
                return call_fail(&c, -EINVAL, "not a plain http URL");
        k = build_head(req, &u, traceparent, head, sizeof(head), &head_len);
        if (k < 0)
                return call_fail(&c, k, "request head over %zu bytes", sizeof(head));
        method = req->method ?: (req->body ? "POST" : "GET");
        snprintf(origin, sizeof(origin), "%s:%s", u.host, u.port);
        c.t0_us = time_now_usec(CLOCK_MONOTONIC);
        c.t0_ms = c.t0_us / 1000;
        c.deadline_ms = c.t0_ms + timeout;

        for (unsigned attempt = 0;; attempt++) {
                Answer a = {};
                bool reused, keep = false;
                long status = 0;
                size_t body_len = 0;

                /* A retry takes a new connection: the kept one died under it. */
                c.fd = attempt == 0 ? plain_pool_take(origin) : -1;
                reused = c.fd >= 0;
                if (!reused) {
                        k = plain_connect(&c, &u);
                        if (k < 0)
                                break;
                }
                k = call_send(&c, head, head_len);
                if (k >= 0)
                        k = call_receive(&c, &a, strcasecmp(method, "HEAD") == 0, &status, &body_len, &keep);
                else if (reused && (k == -EPIPE || k == -ECONNRESET))
                        k = -ENODATA;
                resp->status = status;
                if (k == -ENODATA && reused) {
                        free(a.buf);
                        (void) close(TAKE_FD(c.fd));
                        continue;
                }
                if (k == -ENODATA || k == -EPIPE)
                        k = call_fail(
                                &c,
                                -ECONNRESET,
                                k == -ENODATA ? "Empty reply from server" : "Send failure: Broken pipe");
                if (k < 0) {
                        free(a.buf);
                        (void) close(TAKE_FD(c.fd));
                        break;
                }
                if (keep)
                        plain_pool_put(TAKE_FD(c.fd), origin);
                else
                        (void) close(TAKE_FD(c.fd));
                resp->body = body_len > 0 ? a.buf : NULL;
                resp->body_len = body_len;
                if (body_len == 0)
                        free(a.buf);
                break;
        }
        resp->total_ms = (double) (time_now_usec(CLOCK_MONOTONIC) - c.t0_us) / 1000.0;
        return k;
}

const HttpClientEngine http_client_engine_plain = {
        .name = "plain",
        .takes = plain_takes,
        .perform = plain_perform,
        .flush = plain_flush,
};
