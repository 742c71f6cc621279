/* SPDX-License-Identifier: MIT */
/* http-reply.c — replies: a head and body in one system call from a handler's thread, or
 * queued on the connection when the event threads answer (an error, a refusal by the
 * pre-body hook); streaming replies chunk by chunk; problem+json helpers. */
#include <stdarg.h>

#include "http-internal.h"
#include "json-util.h"

bool http_reply_must_close(const HttpRequest *req) {
        const HttpHead *h = &req->head;

        if (!h->keep_alive || req->body_unread || req->refused || req->said_close)
                return true;
        /* Draining closes a connection only through a reply that says so. One whose reply
         * already said keep-alive stays for the client's next request, which hears
         * Connection: close: closing it now would meet that request (a read error). */
        if (atomic_load(&req->server->draining) && !req->head_sent)
                return true;
        /* A stream route whose handler has not read its whole body. */
        return req->route && (req->route->flags & HTTP_ROUTE_STREAM_BODY) && !req->body_done && !req->body &&
                (h->chunked || h->content_length > 0);
}

static int reply_send(HttpRequest *req, const struct iovec *iov, int n) {
        return req->in_loop ? http_conn_queue(req->conn, iov, n) : http_conn_write(req->conn, iov, n);
}

static bool header_token_valid(const char *s) {
        return !isempty(s) && !strpbrk(s, "\r\n");
}

int http_reply_add_header(HttpRequest *req, const char *name, const char *value) {
        int k;

        if (!header_token_valid(name) || !value || strpbrk(value, "\r\n") || strchr(name, ':'))
                return -EINVAL;
        k = snprintf(
                req->extra_headers + req->extra_len,
                sizeof(req->extra_headers) - req->extra_len,
                "%s: %s\r\n",
                name,
                value);
        if (k < 0 || (size_t) k >= sizeof(req->extra_headers) - req->extra_len) {
                req->extra_headers[req->extra_len] = '\0';
                return -ENOBUFS;
        }
        req->extra_len += (size_t) k;
        return 0;
}

/* The head of a reply; framing is "Content-Length: N", chunked, or none (close-delimited). */
static int reply_head(
        HttpRequest *req,
        char *buf,
        size_t size,
        int status,
        const char *content_type,
        const char *framing) {
        bool close = http_reply_must_close(req);
        int k;

        req->said_close = close;
        req->head_sent = true;
        k = snprintf(
                buf,
                size,
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "%s"
                "X-Request-ID: %s\r\n"
                "Cache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                "%s%s\r\n",
                status,
                problem_status_reason(status),
                content_type,
                framing,
                req->request_id,
                req->extra_headers,
                close                          ? "Connection: close\r\n"
                        : req->head.minor == 0 ? "Connection: keep-alive\r\n"
                                               : "");
        return k < 0 || (size_t) k >= size ? -ENOBUFS : k;
}

int http_reply(HttpRequest *req, int status, const char *content_type, const void *body, size_t len) {
        char head[HTTP_EXTRA_HEADERS_MAX + 512], framing[48];
        struct iovec iov[2];
        int k, r;

        if (req->replied)
                return -EALREADY;
        if (status < 100 || status > 599 || !header_token_valid(content_type))
                return -EINVAL;
        req->replied = true;
        req->status = status;
        snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
        k = reply_head(req, head, sizeof(head), status, content_type, framing);
        if (k < 0)
                return k;
        iov[0] = (struct iovec){ head, (size_t) k };
        iov[1] = (struct iovec){ (void *) body, len };
        r = reply_send(req, iov, len > 0 && !streq(req->method, "HEAD") ? 2 : 1);
        if (r >= 0)
                req->bytes = len;
        return r;
}

int http_reply_stream_begin(HttpRequest *req, int status, const char *content_type) {
        char head[HTTP_EXTRA_HEADERS_MAX + 512];
        int k;

        if (req->replied)
                return -EALREADY;
        if (req->in_loop)
                return -EBADFD;
        if (status < 100 || status > 599 || !header_token_valid(content_type))
                return -EINVAL;
        req->replied = true;
        req->status = status;
        /* HTTP/1.0 has no chunked coding: the body ends when the connection closes. */
        if (req->head.minor == 0) {
                req->stream_raw = req->said_close = true;
                req->head.keep_alive = false;
        } else
                req->streaming = true;
        k = reply_head(
                req,
                head,
                sizeof(head),
                status,
                content_type,
                req->stream_raw ? "X-Accel-Buffering: no\r\n"
                                : "Transfer-Encoding: chunked\r\nX-Accel-Buffering: no\r\n");
        if (k < 0)
                return k;
        return http_conn_write(req->conn, &(struct iovec){ head, (size_t) k }, 1);
}

int http_reply_stream_write(HttpRequest *req, const void *buf, size_t len) {
        char size[32];
        int k, r;

        if (!req->streaming && !req->stream_raw)
                return -EBADFD;
        if (atomic_load(&req->gone))
                return -EPIPE;
        if (len == 0 || streq(req->method, "HEAD"))
                return 0; /* an empty chunk would end the body */
        if (req->stream_raw)
                r = http_conn_write(req->conn, &(struct iovec){ (void *) buf, len }, 1);
        else {
                /* One system call per chunk: size line, data and CRLF together. */
                k = snprintf(size, sizeof(size), "%zx\r\n", len);
                r = http_conn_write(
                        req->conn,
                        (struct iovec[]){
                                { size, (size_t) k }, { (void *) buf, len }, { (void *) "\r\n", 2 } },
                        3);
        }
        if (r >= 0)
                req->bytes += len;
        return r;
}

int http_reply_stream_end(HttpRequest *req) {
        if (req->stream_raw) {
                req->stream_raw = false;
                return 0; /* the connection's close ends it */
        }
        if (!req->streaming)
                return -EBADFD;
        req->streaming = false;
        if (streq(req->method, "HEAD"))
                return 0;
        return http_conn_write(req->conn, &(struct iovec){ (void *) "0\r\n\r\n", 5 }, 1);
}

int http_reply_text(HttpRequest *req, int status, const char *text) {
        return http_reply(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

int http_reply_json(HttpRequest *req, int status, json_object *obj) {
        size_t len;
        const char *s = json_object_to_json_string_length(
                obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

        if (!s)
                return -ENOMEM;
        return http_reply(req, status, "application/json", s, len);
}

int http_reply_problem(HttpRequest *req, const Problem *p) {
        _cleanup_json_ json_object *o = NULL;
        const char *s;
        size_t len;
        int r;

        r = problem_to_json(p, req->request_id, &o);
        if (r < 0)
                return r;
        s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        return http_reply(req, problem_get_status(p), PROBLEM_CONTENT_TYPE, s, len);
}

static int reply_problem_typed(HttpRequest *req, int status, const char *type, const char *detail) {
        _cleanup_problem_ Problem *p = problem_new(status, NULL, detail);

        if (!p)
                return -ENOMEM;
        if (type && problem_set_type(p, type) < 0)
                return -ENOMEM;
        return http_reply_problem(req, p);
}

int http_reply_error(HttpRequest *req, int status, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL;
        va_list ap;

        va_start(ap, detail_fmt);
        if (vasprintf(&d, detail_fmt, ap) < 0)
                d = NULL;
        va_end(ap);
        if (!d)
                return -ENOMEM;
        return reply_problem_typed(req, status, NULL, d);
}

int http_reply_validation(HttpRequest *req, json_object *errors) {
        _cleanup_problem_ Problem *p = NULL;
        size_t n = errors && json_object_is_type(errors, json_type_array) ? json_object_array_length(errors)
                                                                          : 0;

        p = problem_newf(422, "Validation failed", "%zu field%s failed validation", n, n == 1 ? "" : "s");
        if (!p || problem_add_errors(p, errors) < 0)
                return -ENOMEM;
        return http_reply_problem(req, p);
}

int http_request_parse_json(HttpRequest *req, json_object **ret) {
        _cleanup_free_ char *err = NULL;
        json_object *o = NULL;
        int r;

        if (!req->body || req->body_len == 0) {
                r = reply_problem_typed(
                        req, 400, PROBLEM_TYPE_BASE "malformed-json", "request body is empty");
                return r < 0 ? r : -EBADMSG;
        }
        r = json_parse_strict(req->body, req->body_len, &o, &err);
        if (r == -EBADMSG) {
                r = reply_problem_typed(
                        req, 400, PROBLEM_TYPE_BASE "malformed-json", err ? err : "invalid JSON");
                return r < 0 ? r : -EBADMSG;
        }
        if (r < 0)
                return r;
        *ret = o;
        return 0;
}
