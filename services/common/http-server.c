/* SPDX-License-Identifier: MIT */
/* http-server.c — civetweb wrapper: every request enters through begin_request, so
 * civetweb never serves files, decodes forms or URL-decodes bodies (CVE-2025-9648);
 * we do routing, body limits, problem replies, request ids, access log and metrics. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

#include <civetweb.h>

#include "config.h"
#include "http-server.h"
#include "json-util.h"
#include "log.h"
#include "uuid.h"

#define EXTRA_HEADERS_MAX 2048
#define BODY_READ_CHUNK 16384
#define DRAIN_MAX (64 * 1024)
#define STREAM_COALESCE_MAX 4096

struct HttpServer {
        HttpServerConfig config;
        char *listen;
        HttpRoute *routes;
        size_t n_routes;
        struct mg_context *ctx;
        int port;
        atomic_uint in_flight;
        atomic_bool draining;
        MetricsFamily *m_requests, *m_duration, *m_in_flight;
};

struct HttpRequest {
        HttpServer *server;
        struct mg_connection *conn;
        const struct mg_request_info *ri;
        const char *method, *path, *query;
        const HttpRoute *route;
        char request_id[HTTP_REQUEST_ID_MAX + 1];
        char *body;
        size_t body_len;
        struct {
                const char *name; /* points into the route pattern */
                size_t name_len;
                char *value;
        } params[HTTP_MAX_PARAMS];
        size_t n_params;
        char extra_headers[EXTRA_HEADERS_MAX];
        size_t extra_len;
        bool replied, body_unread, body_incomplete, streaming;
        /* A stream route's body as the handler pulls it. */
        bool body_started, body_done;
        int body_error;
        uint64_t body_read;
        int status;
        size_t bytes;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* ---- request ids ---------------------------------------------------------------- */

bool http_request_id_valid(const char *id) {
        size_t n = 0;

        if (isempty(id))
                return false;
        for (const char *c = id; *c; c++, n++)
                if (n >= HTTP_REQUEST_ID_MAX ||
                    !(isalnum((unsigned char) *c) || *c == '.' || *c == '_' || *c == ':' || *c == '-'))
                        return false;
        return true;
}

int http_generate_request_id(char *buf, size_t size) {
        if (size < UUID_STRING_MAX)
                return -ENOBUFS;
        return uuid_v4_string(buf);
}

/* ---- server lifecycle ------------------------------------------------------------ */

static pthread_once_t civetweb_once = PTHREAD_ONCE_INIT;

static void civetweb_init(void) {
        (void) mg_init_library(0);
}

int http_server_new(const HttpServerConfig *config, HttpServer **ret) {
        static const char *const req_labels[] = { "route", "method", "status", NULL },
                                 *const dur_labels[] = { "route", "method", NULL };
        HttpServer *s;
        uint16_t port;
        int r;

        if (!config || !config->listen || config_parse_host_port(config->listen, NULL, &port) < 0)
                return -EINVAL;

        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return -ENOMEM;
        s->config = *config;
        s->listen = strdup(config->listen);
        if (!s->listen) {
                free(s);
                return -ENOMEM;
        }
        s->config.listen = s->listen;
        if (s->config.threads == 0)
                s->config.threads = 16;
        if (s->config.max_body == 0)
                s->config.max_body = 1024 * 1024;
        if (s->config.max_header == 0)
                s->config.max_header = 16 * 1024;
        if (s->config.request_timeout_ms == 0)
                s->config.request_timeout_ms = 10000;
        if (s->config.keep_alive_timeout_ms == 0)
                s->config.keep_alive_timeout_ms = MIN((uint64_t) 2000, s->config.request_timeout_ms);
        if (s->config.shutdown_timeout_ms == 0)
                s->config.shutdown_timeout_ms = 10000;
        if (s->config.listen_backlog == 0)
                s->config.listen_backlog = 128;
        s->port = -1;

        if (config->metrics) {
                r = metrics_counter_new(
                        config->metrics,
                        "http_requests_total",
                        "HTTP requests served, by route pattern.",
                        req_labels,
                        &s->m_requests);
                if (r >= 0)
                        r = metrics_histogram_new(
                                config->metrics,
                                "http_request_duration_seconds",
                                "Time from request start to the end of the response.",
                                dur_labels,
                                NULL,
                                0,
                                &s->m_duration);
                if (r >= 0)
                        r = metrics_gauge_new(
                                config->metrics,
                                "http_requests_in_flight",
                                "Requests being served now.",
                                NULL,
                                &s->m_in_flight);
                if (r >= 0)
                        r = metrics_gauge_set(s->m_in_flight, NULL, 0);
                if (r < 0) {
                        http_server_free(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

int http_server_add_routes(HttpServer *s, const HttpRoute *routes, size_t n) {
        HttpRoute *nr;

        if (s->ctx)
                return -EBUSY;
        for (size_t i = 0; i < n; i++)
                if (!routes[i].method || !routes[i].path || routes[i].path[0] != '/' || !routes[i].handler)
                        return -EINVAL;
        nr = reallocarray(s->routes, s->n_routes + n, sizeof(HttpRoute));
        if (!nr)
                return -ENOMEM;
        memcpy(nr + s->n_routes, routes, n * sizeof(HttpRoute));
        s->routes = nr;
        s->n_routes += n;
        return 0;
}

void http_server_free(HttpServer *s) {
        if (!s)
                return;
        if (s->ctx)
                mg_stop(s->ctx);
        free(s->routes);
        free(s->listen);
        free(s);
}

int http_server_get_port(HttpServer *s) {
        return s->ctx ? s->port : -ENOTCONN;
}

bool http_server_is_running(HttpServer *s) {
        return s->ctx != NULL;
}

bool http_server_is_draining(HttpServer *s) {
        return atomic_load(&s->draining);
}

unsigned http_server_in_flight(HttpServer *s) {
        return atomic_load(&s->in_flight);
}

int http_server_shutdown(HttpServer *s) {
        uint64_t deadline;
        int r = 0;

        if (!s->ctx)
                return 0;
        atomic_store(&s->draining, true);
        deadline = now_usec() + s->config.shutdown_timeout_ms * 1000u;
        while (atomic_load(&s->in_flight) > 0) {
                if (now_usec() >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                (void) nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        mg_stop(s->ctx);
        s->ctx = NULL;
        return r;
}

/* ---- routing -------------------------------------------------------------------- */

/* Matches path against pattern segment by segment; captures {name} segments into req
 * when it is non-NULL. A last segment "*" matches "/x/" followed by anything. */
static bool route_match(const char *pattern, const char *path, HttpRequest *req) {
        const char *p = pattern, *s = path;

        if (req) {
                for (size_t i = 0; i < req->n_params; i++)
                        free(req->params[i].value);
                req->n_params = 0;
        }
        for (;;) {
                const char *pe, *se;
                size_t pl, sl;

                if (*p != '/' || *s != '/')
                        return *p == '\0' && *s == '\0';
                p++, s++;
                pe = strchrnul(p, '/');
                se = strchrnul(s, '/');
                pl = (size_t) (pe - p);
                sl = (size_t) (se - s);
                if (pl == 1 && p[0] == '*' && *pe == '\0')
                        return true;
                if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
                        if (sl == 0)
                                return false;
                        if (req) {
                                if (req->n_params >= HTTP_MAX_PARAMS)
                                        return false;
                                req->params[req->n_params].name = p + 1;
                                req->params[req->n_params].name_len = pl - 2;
                                req->params[req->n_params].value = strndup(s, sl);
                                if (!req->params[req->n_params].value)
                                        return false;
                                req->n_params++;
                        }
                } else if (pl != sl || memcmp(p, s, pl) != 0)
                        return false;
                p = pe;
                s = se;
        }
}

/* ---- request accessors ---------------------------------------------------------- */

const char *http_request_method(const HttpRequest *req) {
        return req->method;
}
const char *http_request_path(const HttpRequest *req) {
        return req->path;
}
const char *http_request_query(const HttpRequest *req) {
        return req->query;
}
const char *http_request_route(const HttpRequest *req) {
        return req->route ? req->route->path : "unmatched";
}
const char *http_request_id(const HttpRequest *req) {
        return req->request_id;
}
const char *http_request_header(const HttpRequest *req, const char *name) {
        return mg_get_header(req->conn, name);
}
const char *http_request_remote_addr(const HttpRequest *req) {
        return req->ri ? req->ri->remote_addr : "";
}
HttpServer *http_request_server(const HttpRequest *req) {
        return req->server;
}
bool http_request_replied(const HttpRequest *req) {
        return req->replied;
}

int http_reply_status(const HttpRequest *req) {
        return req->status;
}

const char *http_request_param(const HttpRequest *req, const char *name) {
        size_t l = strlen(name);

        for (size_t i = 0; i < req->n_params; i++)
                if (req->params[i].name_len == l && memcmp(req->params[i].name, name, l) == 0)
                        return req->params[i].value;
        return NULL;
}

const char *http_request_body(const HttpRequest *req, size_t *ret_len) {
        if (ret_len)
                *ret_len = req->body_len;
        return req->body;
}

/* ---- responses ------------------------------------------------------------------ */

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

static int write_all(struct mg_connection *conn, const void *buf, size_t len) {
        const char *p = buf;

        while (len > 0) {
                int n = mg_write(conn, p, MIN(len, (size_t) INT32_MAX));
                if (n <= 0)
                        return -EPIPE;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static bool is_stream_route(const HttpRequest *req) {
        return req->route && (req->route->flags & HTTP_ROUTE_STREAM_BODY);
}

static bool is_chunked(const HttpRequest *req);

/* A reply going out while body bytes may still be unread (including a stream route whose
 * handler stopped pulling) must close the connection. */
static bool must_close(const HttpRequest *req) {
        if (req->body_unread || atomic_load(&req->server->draining))
                return true;
        return is_stream_route(req) && !req->body_done && !req->body &&
                (req->ri->content_length > 0 || is_chunked(req));
}

int http_reply(HttpRequest *req, int status, const char *content_type, const void *body, size_t len) {
        char head[EXTRA_HEADERS_MAX + 512];
        int k, r;

        if (req->replied)
                return -EALREADY;
        if (status < 100 || status > 599 || !header_token_valid(content_type))
                return -EINVAL;
        req->replied = true;
        req->status = status;
        k = snprintf(
                head,
                sizeof(head),
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "X-Request-ID: %s\r\n"
                "Cache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                "%s%s\r\n",
                status,
                problem_status_reason(status),
                content_type,
                len,
                req->request_id,
                req->extra_headers,
                must_close(req) ? "Connection: close\r\n" : "");
        if (k < 0 || (size_t) k >= sizeof(head))
                return -ENOBUFS;
        r = write_all(req->conn, head, (size_t) k);
        if (r >= 0 && len > 0 && !streq(req->method, "HEAD"))
                r = write_all(req->conn, body, len);
        if (r >= 0)
                req->bytes = len;
        return r;
}

int http_reply_stream_begin(HttpRequest *req, int status, const char *content_type) {
        char head[EXTRA_HEADERS_MAX + 512];
        int k;

        if (req->replied)
                return -EALREADY;
        if (status < 100 || status > 599 || !header_token_valid(content_type))
                return -EINVAL;
        req->replied = req->streaming = true;
        req->status = status;
        k = snprintf(
                head,
                sizeof(head),
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Transfer-Encoding: chunked\r\n"
                "X-Request-ID: %s\r\n"
                "Cache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                "X-Accel-Buffering: no\r\n"
                "%s%s\r\n",
                status,
                problem_status_reason(status),
                content_type,
                req->request_id,
                req->extra_headers,
                must_close(req) ? "Connection: close\r\n" : "");
        if (k < 0 || (size_t) k >= sizeof(head))
                return -ENOBUFS;
        return write_all(req->conn, head, (size_t) k);
}

int http_reply_stream_write(HttpRequest *req, const void *buf, size_t len) {
        char size[32];
        int k, r;

        if (!req->streaming)
                return -EBADFD;
        if (len == 0)
                return 0; /* an empty chunk would end the body */
        k = snprintf(size, sizeof(size), "%zx\r\n", len);
        if (len <= STREAM_COALESCE_MAX) {
                /* One write per chunk: one packet on the wire, one syscall. */
                char one[STREAM_COALESCE_MAX + 32];

                memcpy(one, size, (size_t) k);
                memcpy(one + k, buf, len);
                memcpy(one + k + len, "\r\n", 2);
                r = write_all(req->conn, one, (size_t) k + len + 2);
        } else {
                r = write_all(req->conn, size, (size_t) k);
                if (r >= 0)
                        r = write_all(req->conn, buf, len);
                if (r >= 0)
                        r = write_all(req->conn, "\r\n", 2);
        }
        if (r >= 0)
                req->bytes += len;
        return r;
}

int http_reply_stream_end(HttpRequest *req) {
        if (!req->streaming)
                return -EBADFD;
        req->streaming = false;
        return write_all(req->conn, "0\r\n\r\n", 5);
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

/* ---- request processing ---------------------------------------------------------- */

static bool is_body_method(const char *m) {
        return streq(m, "POST") || streq(m, "PUT") || streq(m, "PATCH");
}

static bool content_type_is_json(const char *ct) {
        const char *rest;

        if (!ct)
                return false;
        ct += strspn(ct, " \t");
        if (strncasecmp(ct, "application/json", 16) != 0)
                return false;
        rest = ct + 16;
        return *rest == '\0' || *rest == ';' || *rest == ' ' || *rest == '\t';
}

static bool is_chunked(const HttpRequest *req) {
        const char *te = mg_get_header(req->conn, "Transfer-Encoding");
        return te && strcasestr(te, "chunked");
}

/* The matched route's own cap (a data upload) or the server's. */
static uint64_t request_max_body(const HttpRequest *req) {
        return req->route && req->route->max_body > 0 ? req->route->max_body : req->server->config.max_body;
}

/* mg_read() does not answer "Expect: 100-continue" (only civetweb's file and CGI paths
 * do); without this, curl waits a second before sending the body. */
static void send_continue(HttpRequest *req) {
        const char *expect = mg_get_header(req->conn, "Expect");

        if (expect && strcasecmp(expect, "100-continue") == 0)
                (void) mg_write(req->conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* Reads the body into req->body, at most max bytes. -E2BIG over the cap, -EIO when the
 * client went away or stalled past request_timeout_ms. */
static int read_body(HttpRequest *req, uint64_t max) {
        long long cl = req->ri->content_length;
        size_t cap, len = 0;
        char *buf;

        if (cl > 0 && (uint64_t) cl > max)
                return -E2BIG;
        if (cl <= 0 && !is_chunked(req))
                return 0;

        send_continue(req);

        cap = cl > 0 ? (size_t) cl + 1 : BODY_READ_CHUNK;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t want;
                int n;

                if (len + 1 >= cap) {
                        size_t ncap = MIN(cap * 2, (size_t) max + 2);
                        char *nb;

                        if (ncap <= cap) {
                                free(buf);
                                return -E2BIG;
                        }
                        nb = realloc(buf, ncap);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                        cap = ncap;
                }
                /* civetweb's chunked mg_read() blocks until it has filled the whole request,
                 * across chunks: never ask for more than one byte past the cap, or a client
                 * that stops right after exceeding it would stall us into the timeout. */
                want = MIN(MIN(cap - 1 - len, (size_t) BODY_READ_CHUNK), (size_t) max + 1 - len);
                n = mg_read(req->conn, buf + len, want);
                if (n < 0) {
                        free(buf);
                        return -EIO;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max) {
                        free(buf);
                        return -E2BIG;
                }
        }
        if (cl > 0 && len != (size_t) cl) {
                free(buf);
                return -EIO;
        }
        buf[len] = '\0';
        req->body = buf;
        req->body_len = len;
        return 0;
}

/* ---- streamed bodies --------------------------------------------------------------- */

static int body_fail(HttpRequest *req, int r) {
        req->body_error = r;
        req->body_unread = true;
        if (r == -EIO)
                req->body_incomplete = true;
        return r;
}

ssize_t http_request_read_body(HttpRequest *req, void *buf, size_t len) {
        uint64_t max = request_max_body(req);
        long long cl = req->ri->content_length;
        size_t want;
        int n;

        if (!is_stream_route(req) || req->body)
                return -EBADFD;
        if (req->body_error < 0)
                return req->body_error;
        if (req->body_done || len == 0)
                return 0;
        if (!req->body_started) {
                req->body_started = true;
                if (cl <= 0 && !is_chunked(req)) {
                        req->body_done = true;
                        return 0;
                }
                if (cl > 0 && (uint64_t) cl > max)
                        return body_fail(req, -E2BIG);
                send_continue(req);
        }
        /* As in read_body(): never ask for more than one byte past the cap, since civetweb's
         * chunked mg_read() waits until it has filled the whole request. */
        want = MIN(len, (size_t) INT_MAX);
        if (max + 1 - req->body_read < want)
                want = (size_t) (max + 1 - req->body_read);
        n = mg_read(req->conn, buf, want);
        if (n < 0)
                return body_fail(req, -EIO);
        if (n == 0) {
                if (cl > 0 && req->body_read != (uint64_t) cl)
                        return body_fail(req, -EIO);
                req->body_done = true;
                return 0;
        }
        req->body_read += (uint64_t) n;
        if (req->body_read > max)
                return body_fail(req, -E2BIG);
        return n;
}

int http_request_buffer_body(HttpRequest *req, uint64_t max) {
        int r;

        if (!is_stream_route(req) || req->body_started)
                return -EBADFD;
        req->body_started = true;
        r = read_body(req, max);
        if (r < 0)
                return body_fail(req, r);
        req->body_done = true;
        return 0;
}

/* A stream route's handler runs with the body unread; what it leaves unread closes the
 * connection, and the body errors it passes up unreplied become the usual 413 and 400. */
static int dispatch_stream(HttpRequest *req) {
        int r = req->route->handler(req, req->route->userdata);

        if (!req->body_done && (req->ri->content_length > 0 || is_chunked(req)))
                req->body_unread = true;
        if (req->replied)
                return r;
        if (r == -E2BIG)
                return http_reply_error(
                        req, 413, "request body is larger than %" PRIu64 " bytes", request_max_body(req));
        if (r == -EIO)
                return http_reply_error(req, 400, "request body was incomplete");
        return r;
}

static const char *method_label(const char *m) {
        static const char *const known[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS" };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(m, known[i]))
                        return known[i];
        return "other";
}

static int dispatch(HttpRequest *req) {
        HttpServer *s = req->server;
        const HttpRoute *route = NULL;
        char allow[128] = "";
        int r;

        if (atomic_load(&s->draining)) {
                r = http_reply_add_header(req, "Retry-After", "1");
                return r < 0 ? r : http_reply_error(req, 503, "the service is shutting down");
        }

        for (size_t i = 0; i < s->n_routes; i++) {
                if (!route_match(s->routes[i].path, req->path, NULL))
                        continue;
                if (streq(s->routes[i].method, req->method)) {
                        route = &s->routes[i];
                        break;
                }
                if (!strstr(allow, s->routes[i].method) &&
                    strlen(allow) + strlen(s->routes[i].method) + 3 < sizeof(allow)) {
                        if (allow[0])
                                strcat(allow, ", ");
                        strcat(allow, s->routes[i].method);
                }
        }
        if (!route && allow[0]) {
                r = http_reply_add_header(req, "Allow", allow);
                if (r < 0)
                        return r;
                return http_reply_error(
                        req, 405, "method %s is not allowed here; use %s", req->method, allow);
        }
        if (!route)
                return http_reply_error(req, 404, "no route for %s", req->path);

        req->route = route;
        if (!route_match(route->path, req->path, req))
                return -ENOMEM; /* matched before: only allocation can fail now */

        if (is_body_method(req->method)) {
                bool has_body = req->ri->content_length > 0 || is_chunked(req);

                /* A stream route's handler hears of it from its first read and names its cap. */
                if (req->ri->content_length > 0 && !(route->flags & HTTP_ROUTE_STREAM_BODY) &&
                    (uint64_t) req->ri->content_length > request_max_body(req)) {
                        req->body_unread = true;
                        return http_reply_error(
                                req,
                                413,
                                "request body is larger than %" PRIu64 " bytes",
                                request_max_body(req));
                }
                if (has_body && !(route->flags & HTTP_ROUTE_ANY_CONTENT_TYPE) &&
                    !content_type_is_json(mg_get_header(req->conn, "Content-Type"))) {
                        req->body_unread = true;
                        return http_reply_error(req, 415, "Content-Type must be application/json");
                }
                if (route->flags & HTTP_ROUTE_STREAM_BODY)
                        return dispatch_stream(req);
                r = read_body(req, request_max_body(req));
                if (r == -E2BIG) {
                        req->body_unread = true;
                        return http_reply_error(
                                req,
                                413,
                                "request body is larger than %" PRIu64 " bytes",
                                request_max_body(req));
                }
                if (r == -EIO) {
                        req->body_unread = req->body_incomplete = true;
                        return http_reply_error(req, 400, "request body was incomplete");
                }
                if (r < 0)
                        return r;
        }

        return route->handler(req, route->userdata);
}

/* After replying without reading the whole body the connection must close: otherwise
 * civetweb would read and discard the rest of a declared body of any size before the
 * next request. A little is drained first so that closing a socket with unread data
 * (which makes the kernel send RST) does not destroy the response before the client
 * reads it; a client that sent "Expect: 100-continue" never sent the body at all. */
static void close_after_unread_body(HttpRequest *req) {
        const char *expect = mg_get_header(req->conn, "Expect");
        long long cl = req->ri->content_length;
        uint64_t deadline =
                now_usec() + MIN(req->server->config.request_timeout_ms, (uint64_t) 1000) * 1000u;
        size_t drained = 0;
        char buf[4096];

        mg_disable_connection_keep_alive(req->conn);
        /* Only small declared bodies are worth waiting for; huge or chunked ones get the
         * reset, and a client that stalled mid-body would just hold the thread. */
        if ((expect && strcasecmp(expect, "100-continue") == 0) || cl <= 0 || cl > DRAIN_MAX ||
            req->body_incomplete)
                return;
        while (drained < DRAIN_MAX && now_usec() < deadline) {
                int n = mg_read(req->conn, buf, sizeof(buf));
                if (n <= 0)
                        break;
                drained += (size_t) n;
        }
}

static int begin_request(struct mg_connection *conn) {
        HttpServer *s = mg_get_user_data(mg_get_context(conn));
        HttpRequest req = {
                .server = s,
                .conn = conn,
                .ri = mg_get_request_info(conn),
        };
        uint64_t t0 = now_usec();
        const char *rid;
        double secs;
        int r;

        atomic_fetch_add(&s->in_flight, 1);
        if (s->m_in_flight)
                (void) metrics_gauge_add(s->m_in_flight, NULL, 1);

        req.method = strempty(req.ri->request_method);
        req.path = req.ri->local_uri_raw ? req.ri->local_uri_raw : strempty(req.ri->local_uri);
        req.query = req.ri->query_string;

        rid = mg_get_header(conn, "X-Request-ID");
        if (http_request_id_valid(rid))
                snprintf(req.request_id, sizeof(req.request_id), "%s", rid);
        else if (http_generate_request_id(req.request_id, sizeof(req.request_id)) < 0)
                snprintf(req.request_id, sizeof(req.request_id), "%" PRIu64, t0);
        log_set_request_id(req.request_id);

        r = dispatch(&req);
        if (!req.replied) {
                if (r < 0)
                        log_error_errno(
                                r,
                                "Request handler for %s %s failed: %m",
                                req.method,
                                http_request_route(&req));
                else
                        log_error(
                                "Request handler for %s %s returned without replying",
                                req.method,
                                http_request_route(&req));
                (void) http_reply_error(&req, 500, "internal error");
        }

        if (req.body_unread || atomic_load(&s->draining))
                close_after_unread_body(&req);
        else if (req.streaming) /* an unterminated chunked body: the connection cannot be reused */
                mg_disable_connection_keep_alive(conn);

        secs = (double) (now_usec() - t0) / 1e6;
        if (log_get_max_level() >= LOG_INFO) {
                char f_method[32], f_path[300], f_route[300], f_status[32], f_dur[48], f_bytes[48];
                const char *fields[] = { f_method, f_path, f_route, f_status, f_dur, f_bytes, NULL };

                snprintf(f_method, sizeof(f_method), "METHOD=%.20s", req.method);
                snprintf(f_path, sizeof(f_path), "PATH=%.256s", req.path);
                snprintf(f_route, sizeof(f_route), "ROUTE=%.256s", http_request_route(&req));
                snprintf(f_status, sizeof(f_status), "STATUS=%d", req.status);
                snprintf(f_dur, sizeof(f_dur), "DURATION_MS=%.3f", secs * 1000.0);
                snprintf(f_bytes, sizeof(f_bytes), "BYTES=%zu", req.bytes);
                log_fields(LOG_INFO, fields, "%.20s %.256s %d", req.method, req.path, req.status);
        }
        if (s->m_requests) {
                char status[16];
                const char *route = http_request_route(&req), *method = method_label(req.method);

                snprintf(status, sizeof(status), "%d", req.status);
                (void) metrics_counter_add(s->m_requests, (const char *[]){ route, method, status }, 1);
                (void) metrics_histogram_observe(s->m_duration, (const char *[]){ route, method }, secs);
                (void) metrics_gauge_add(s->m_in_flight, NULL, -1);
        }

        for (size_t i = 0; i < req.n_params; i++)
                free(req.params[i].value);
        free(req.body);
        log_set_request_id(NULL);
        atomic_fetch_sub(&s->in_flight, 1);
        return req.status > 0 ? req.status : 500;
}

static int log_message(const struct mg_connection *conn, const char *message) {
        log_debug("civetweb: %s", message);
        return 1;
}

int http_server_start(HttpServer *s) {
        char threads[16], max_header[32], timeout[32], keep_alive[32], backlog[16], linger[32];
        struct mg_callbacks callbacks = {
                .begin_request = begin_request,
                .log_message = log_message,
        };
        struct mg_server_port ports[4];
        const char *options[] = {
                "listening_ports",
                s->listen,
                "num_threads",
                threads,
                "max_request_size",
                max_header,
                "request_timeout_ms",
                timeout,
                "keep_alive_timeout_ms",
                keep_alive,
                "linger_timeout_ms",
                linger,
                "listen_backlog",
                backlog,
                "enable_keep_alive",
                "yes",
                "enable_directory_listing",
                "no",
                "decode_url",
                "no",
                "decode_query_string",
                "no",
                "allow_sendfile_call",
                "no",
                "tcp_nodelay",
                "1",
                NULL,
        };
        int n;

        if (s->ctx)
                return -EBUSY;
        pthread_once(&civetweb_once, civetweb_init);
        snprintf(threads, sizeof(threads), "%u", s->config.threads);
        snprintf(max_header, sizeof(max_header), "%" PRIu64, s->config.max_header);
        snprintf(timeout, sizeof(timeout), "%" PRIu64, s->config.request_timeout_ms);
        snprintf(keep_alive, sizeof(keep_alive), "%" PRIu64, s->config.keep_alive_timeout_ms);
        snprintf(linger, sizeof(linger), "%" PRIu64, MIN(s->config.request_timeout_ms, (uint64_t) 1000));
        snprintf(backlog, sizeof(backlog), "%u", s->config.listen_backlog);

        atomic_store(&s->draining, false);
        s->ctx = mg_start(&callbacks, s, options);
        if (!s->ctx)
                return -EADDRNOTAVAIL; /* civetweb does not say why; bind failure is by far the most common
                                        */
        n = mg_get_server_ports(s->ctx, (int) ELEMENTSOF(ports), ports);
        s->port = n > 0 ? ports[0].port : -1;
        return 0;
}
