/* SPDX-License-Identifier: MIT */
/* http-body.c — a stream route's body, pulled by its handler on the handler's thread:
 * Content-Length or chunked, "Expect: 100-continue" answered on the first read, the
 * route's cap, and a deadline that a dribbling client cannot push back byte by byte. The
 * bytes that came with the head are used first; the connection's buffer never moves
 * while the handler runs, so the strings it was handed stay valid. */
#include <inttypes.h>
#include <limits.h>

#include "http-internal.h"

static bool is_stream_route(const HttpRequest *req) {
        return req->route && (req->route->flags & HTTP_ROUTE_STREAM_BODY);
}

static uint64_t request_max_body(const HttpRequest *req) {
        return req->route && req->route->max_body > 0 ? req->route->max_body : req->server->config.max_body;
}

/* The request's deadline plus 1 s per HTTP_BODY_MIN_RATE bytes read: a large upload at a
 * sane rate may take as long as it needs, a dribble is cut off at about the timeout. */
static uint64_t body_deadline(const HttpRequest *req) {
        return req->deadline + req->body_read * 1000000u / HTTP_BODY_MIN_RATE;
}

static int send_continue(HttpRequest *req) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

        if (!req->head.expect_continue)
                return 0;
        return http_conn_write(req->conn, &(struct iovec){ (void *) cont, sizeof(cont) - 1 }, 1);
}

/* Content-Length: buffered bytes first, then straight from the socket into buf. */
static ssize_t read_identity(HttpRequest *req, char *buf, size_t len) {
        HttpConn *c = req->conn;
        size_t n = MIN(len, (size_t) MIN(req->body_left, (uint64_t) SIZE_MAX));
        ssize_t k;

        if (n == 0)
                return 0;
        if (c->raw < c->len) {
                k = (ssize_t) MIN(n, c->len - c->raw);
                memcpy(buf, c->buf + c->raw, (size_t) k);
                c->raw += (size_t) k;
        } else {
                k = http_conn_read(c, buf, n, body_deadline(req));
                if (k <= 0)
                        return -EIO; /* gone, short of its Content-Length, or too slow */
        }
        req->body_left -= (uint64_t) k;
        return k;
}

/* Chunked: decoded from the buffer into buf; more input goes into the buffer's room
 * after the head (http_input_advance() left at least HTTP_BUF_INITIAL there). */
static ssize_t read_chunked(HttpRequest *req, char *buf, size_t len) {
        HttpConn *c = req->conn;

        for (;;) {
                size_t in = 0, out = 0;
                ssize_t k;
                int r = 0;

                if (c->raw < c->len) {
                        r = http_chunked_decode(
                                &req->chunked,
                                c->buf + c->raw,
                                c->len - c->raw,
                                buf,
                                len,
                                req->server->config.max_header,
                                &in,
                                &out);
                        c->raw += in;
                        if (r < 0)
                                return -EIO;
                        if (r == 1) {
                                req->body_left = 0;
                                req->chunked_end = true;
                                return (ssize_t) out;
                        }
                        if (out > 0)
                                return (ssize_t) out;
                }
                c->len = c->raw = req->head.length; /* all consumed: reuse the room */
                k = http_conn_read(c, c->buf + c->len, c->cap - c->len - 1, body_deadline(req));
                if (k <= 0)
                        return -EIO;
                c->len += (size_t) k;
        }
}

static int body_fail(HttpRequest *req, int r) {
        req->body_error = r;
        req->body_unread = true;
        if (r == -EIO)
                req->body_incomplete = true;
        return r;
}

static void body_finish(HttpRequest *req) {
        req->body_done = true;
        req->conn->next = req->conn->raw; /* a pipelined request may follow */
}

/* The next at most len bytes of the body, at most max in all (one more says -E2BIG). */
static ssize_t read_body(HttpRequest *req, void *buf, size_t len, uint64_t max) {
        ssize_t n;

        if (req->body_error < 0)
                return req->body_error;
        if (req->body_done || len == 0)
                return 0;
        if (!req->body_started) {
                req->body_started = true;
                if (!req->head.chunked && req->head.content_length == 0) {
                        body_finish(req);
                        return 0;
                }
                if (req->head.content_length > max)
                        return body_fail(req, -E2BIG);
                req->body_left = req->head.content_length;
                if (send_continue(req) < 0)
                        return body_fail(req, -EIO);
        }
        len = MIN(len, (size_t) MIN((uint64_t) SSIZE_MAX, max + 1 - req->body_read));
        if (req->head.chunked) {
                if (req->chunked_end) {
                        body_finish(req);
                        return 0;
                }
                n = read_chunked(req, buf, len);
        } else {
                if (req->body_left == 0) {
                        body_finish(req);
                        return 0;
                }
                n = read_identity(req, buf, len);
        }
        if (n < 0)
                return body_fail(req, (int) n);
        req->body_read += (uint64_t) n;
        if (req->body_read > max)
                return body_fail(req, -E2BIG);
        if (n == 0) { /* the last chunk carried no data */
                body_finish(req);
                return 0;
        }
        return n;
}

ssize_t http_request_read_body(HttpRequest *req, void *buf, size_t len) {
        if (!is_stream_route(req) || req->body)
                return -EBADFD;
        return read_body(req, buf, len, request_max_body(req));
}

int http_request_buffer_body(HttpRequest *req, uint64_t max) {
        size_t cap, len = 0;
        char *b;

        if (!is_stream_route(req) || req->body_started)
                return -EBADFD;
        cap = req->head.chunked || req->head.content_length > max ? 16384
                                                                  : (size_t) req->head.content_length + 1;
        b = malloc(cap);
        if (!b)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len + 1 >= cap) {
                        size_t ncap = (size_t) MIN((uint64_t) cap * 2, max + 2);
                        char *nb = realloc(b, ncap);

                        if (!nb) {
                                free(b);
                                return -ENOMEM;
                        }
                        b = nb;
                        cap = ncap;
                }
                n = read_body(req, b + len, cap - 1 - len, max);
                if (n < 0) {
                        free(b);
                        return (int) n;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        b[len] = '\0';
        req->body = req->body_alloc = b;
        req->body_len = len;
        return 0;
}
