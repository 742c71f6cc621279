/* SPDX-License-Identifier: MIT */
/* http-server.c — the server's API and a request's life around the event engine
 * (http-loop.c): configuration, routes, start and draining shutdown; admission once a head
 * is complete (request id, routing, the pre-body hook, body limits), the handler's run on
 * a handler thread, and the end (metrics, access log). */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "http-internal.h"
#include "log.h"
#include "uuid.h"

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
        if (s->config.max_connections == 0)
                s->config.max_connections = 4096;
        s->port = -1;
        s->epfd = s->timerfd = s->stopfd = s->pingfd = s->spare_fd = -1;
        pthread_mutex_init(&s->slots_lock, NULL);
        pthread_mutex_init(&s->tlock, NULL);
        pthread_mutex_init(&s->qlock, NULL);

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

        if (s->started)
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

int http_server_set_pre_body(HttpServer *s, HttpPreBodyHook hook, void *userdata) {
        if (s->started)
                return -EBUSY;
        s->pre_body = hook;
        s->pre_body_userdata = userdata;
        return 0;
}

int http_server_adopt_socket(HttpServer *s, int fd) {
        int type = 0, listening = 0, flags;
        socklen_t l = sizeof(int);

        if (s->started)
                return -EBUSY;
        if (s->n_listeners + 1 >= HTTP_MAX_LISTENERS) /* one is kept for the own address */
                return -E2BIG;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
                return -errno;
        l = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) < 0)
                return -errno;
        if (type != SOCK_STREAM || !listening)
                return -EINVAL;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;
        s->listeners[s->n_listeners++] = (HttpListener){ .fd = fd, .adopted = true };
        return 0;
}

int http_server_start(HttpServer *s) {
        uint64_t largest = s->config.max_body;
        int r;

        if (s->started)
                return -EBUSY;
        for (size_t i = 0; i < s->n_routes; i++)
                if (!(s->routes[i].flags & HTTP_ROUTE_STREAM_BODY))
                        largest = MAX(largest, s->routes[i].max_body);
        s->body_budget = (uint64_t) s->config.threads * largest;
        atomic_store(&s->body_reserved, 0);
        atomic_store(&s->draining, false);
        atomic_store(&s->stopping, false);
        r = http_loop_start(s);
        if (r < 0) {
                http_loop_stop(s);
                return r;
        }
        s->started = true;
        return 0;
}

void http_server_free(HttpServer *s) {
        if (!s)
                return;
        if (s->started)
                http_loop_stop(s);
        for (size_t i = 0; i < s->n_listeners; i++) /* adopted, never started */
                (void) close(s->listeners[i].fd);
        pthread_mutex_destroy(&s->slots_lock);
        pthread_mutex_destroy(&s->tlock);
        pthread_mutex_destroy(&s->qlock);
        free(s->routes);
        free(s->listen);
        free(s);
}

int http_server_get_port(HttpServer *s) {
        return s->started ? s->port : -ENOTCONN;
}

bool http_server_is_running(HttpServer *s) {
        return s->started;
}

bool http_server_is_draining(HttpServer *s) {
        return atomic_load(&s->draining);
}

unsigned http_server_in_flight(HttpServer *s) {
        return atomic_load(&s->in_flight);
}

uint64_t http_server_ping(HttpServer *s) {
        uint64_t answered = atomic_load(&s->pongs);

        if (s->pingfd >= 0)
                (void) eventfd_write(s->pingfd, 1);
        return answered;
}

unsigned http_server_connections(HttpServer *s) {
        return atomic_load(&s->n_conns);
}

/* Until no request runs and no connection from an adopted socket is left (they close
 * after their one last request, or after HTTP_DRAIN_IDLE_GRACE_MS idle). */
static bool wait_idle(HttpServer *s, uint64_t deadline) {
        while (atomic_load(&s->in_flight) > 0 || (deadline && atomic_load(&s->n_adopted_conns) > 0)) {
                if (deadline && http_now_usec() >= deadline)
                        return false;
                (void) nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
        }
        return true;
}

int http_server_shutdown(HttpServer *s) {
        int r = 0;

        if (!s->started)
                return 0;
        atomic_store(&s->draining, true);
        http_loop_begin_drain(s);
        if (!wait_idle(s, http_now_usec() + s->config.shutdown_timeout_ms * 1000u)) {
                r = -ETIMEDOUT;
                http_loop_abort_running(s);
                (void) wait_idle(s, 0);
        }
        http_loop_stop(s);
        s->started = false;
        return r;
}

/* ---- routing -------------------------------------------------------------------- */

/* Matches path against pattern segment by segment; captures {name} segments into req
 * (values copied into the connection's aux buffer) when it is non-NULL. A last segment
 * "*" matches "/x/" followed by anything. */
static bool route_match(const char *pattern, const char *path, HttpRequest *req) {
        const char *p = pattern, *s = path;
        char *aux = req ? req->conn->aux : NULL;

        if (req)
                req->n_params = 0;
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
                                memcpy(aux, s, sl);
                                aux[sl] = '\0';
                                req->params[req->n_params].name = p + 1;
                                req->params[req->n_params].name_len = pl - 2;
                                req->params[req->n_params].value = aux;
                                req->n_params++;
                                aux += sl + 1;
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

const TraceContext *http_request_trace(const HttpRequest *req) {
        return req->trace.trace_id[0] ? &req->trace : NULL;
}
const char *http_request_header(const HttpRequest *req, const char *name) {
        const HttpField *f = http_head_field(&req->head, req->conn->buf, name);

        return f ? req->conn->buf + f->value.off : NULL;
}
const char *http_request_remote_addr(const HttpRequest *req) {
        return req->conn->remote_addr;
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

void *http_request_scratch(HttpRequest *req) {
        if (!req->scratch_used) {
                memset(req->scratch, 0, sizeof(req->scratch));
                req->scratch_used = true;
        }
        return req->scratch;
}

bool http_request_client_gone(HttpRequest *req) {
        if (atomic_load(&req->gone))
                return true;
        if (req->in_loop || !http_conn_peer_closed(req->conn))
                return false;
        atomic_store(&req->gone, true);
        return true;
}

int http_request_watch_gone(HttpRequest *req, void (*cb)(void *userdata), void *userdata) {
        HttpConn *c = req->conn;
        int r;

        if (req->in_loop)
                return -EBADFD;
        if (!cb) {
                http_conn_unwatch_gone(c);
                return 0;
        }
        pthread_mutex_lock(&c->lock);
        req->gone_cb = cb;
        req->gone_userdata = userdata;
        pthread_mutex_unlock(&c->lock);
        r = http_conn_watch_gone(c);
        return r == -ETIMEDOUT ? 0 : r;
}

/* ---- a request's life ---------------------------------------------------------------- */

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

static uint64_t request_max_body(const HttpRequest *req) {
        return req->route && req->route->max_body > 0 ? req->route->max_body : req->server->config.max_body;
}

static void request_start(HttpRequest *req) {
        HttpServer *s = req->server;
        const char *rid = http_request_header(req, "X-Request-ID");

        if (http_request_id_valid(rid))
                snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
        else if (http_generate_request_id(req->request_id, sizeof(req->request_id)) < 0)
                snprintf(req->request_id, sizeof(req->request_id), "%" PRIu64, req->t0);
        atomic_fetch_add(&s->in_flight, 1);
        if (s->m_in_flight)
                (void) metrics_gauge_add(s->m_in_flight, NULL, 1);
}

/* Once the route is known: a child of the caller's span when the traceparent is valid;
 * otherwise (absent or invalid: ignored, never an error) a new trace at the door. */
static void request_trace(HttpRequest *req) {
        TraceContext caller;

        if (!trace_enabled() || (req->route->flags & HTTP_ROUTE_UNTRACED))
                return;
        if (trace_parse(http_request_header(req, "traceparent"), &caller) >= 0)
                (void) trace_child(&caller, &req->trace);
        else if (req->server->config.trace_start)
                (void) trace_child(NULL, &req->trace);
        log_set_trace(&req->trace);
}

static int reply_too_large(HttpRequest *req) {
        req->body_unread = true;
        return http_reply_error(
                req, 413, "request body is larger than %" PRIu64 " bytes", request_max_body(req));
}

static HttpAdmit admit(HttpRequest *req) {
        HttpServer *s = req->server;
        const HttpRoute *route = NULL;
        const HttpHead *h = &req->head;
        bool has_body = h->chunked || h->content_length > 0;
        char allow[128] = "";
        int r;

        req->body_unread = has_body; /* until read */
        /* Draining: a connection from an adopted socket is still served (its reply says
         * Connection: close; the client reconnects to the socket's queue, where the next
         * instance takes it); on the own address the client hears 503 at once. */
        if (atomic_load(&s->draining) && !req->conn->adopted) {
                (void) http_reply_add_header(req, "Retry-After", "1");
                (void) http_reply_error(req, 503, "the service is shutting down");
                return HTTP_ADMIT_REPLIED;
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
                (void) http_reply_add_header(req, "Allow", allow);
                (void) http_reply_error(
                        req, 405, "method %s is not allowed here; use %s", req->method, allow);
                return HTTP_ADMIT_REPLIED;
        }
        if (!route) {
                (void) http_reply_error(req, 404, "no route for %s", req->path);
                return HTTP_ADMIT_REPLIED;
        }
        req->route = route;
        request_trace(req);
        if (http_buf_reserve(&req->conn->aux, &req->conn->aux_cap, strlen(req->path) + 1) < 0 ||
            !route_match(route->path, req->path, req))
                return HTTP_ADMIT_REPLIED; /* out of memory: no reply, the connection closes */

        if (s->pre_body) {
                r = s->pre_body(req, route, s->pre_body_userdata);
                if (r < 0 || req->replied) {
                        req->refused = true;
                        if (!req->replied) {
                                log_error_errno(
                                        r, "Pre-body hook for %s %s failed: %m", req->method, route->path);
                                (void) http_reply_error(req, 500, "internal error");
                        }
                        return HTTP_ADMIT_REPLIED;
                }
        }
        if (!has_body)
                return HTTP_ADMIT_RUN;
        if (!is_body_method(req->method))
                return HTTP_ADMIT_RUN; /* not read: the reply closes the connection */
        if (route->flags & HTTP_ROUTE_STREAM_BODY) {
                req->body_unread = false; /* the handler pulls it */
                return HTTP_ADMIT_RUN;
        }
        if (h->has_content_length && h->content_length > request_max_body(req)) {
                (void) reply_too_large(req);
                return HTTP_ADMIT_REPLIED;
        }
        if (!(route->flags & HTTP_ROUTE_ANY_CONTENT_TYPE) &&
            !content_type_is_json(http_request_header(req, "Content-Type"))) {
                (void) http_reply_error(req, 415, "Content-Type must be application/json");
                return HTTP_ADMIT_REPLIED;
        }
        req->body_unread = false;
        return HTTP_ADMIT_READ_BODY;
}

HttpAdmit http_server_admit(HttpRequest *req) {
        HttpAdmit a;

        request_start(req);
        log_set_request_id(req->request_id);
        a = admit(req);
        if (a == HTTP_ADMIT_REPLIED && !req->replied)
                req->status = 500; /* unanswered: counted, and the connection closes */
        log_set_request_id(NULL);
        log_set_trace(NULL);
        return a;
}

void http_server_reject_body(HttpRequest *req, int error) {
        req->body_unread = true;
        if (error == -E2BIG)
                (void) reply_too_large(req);
        else if (error == -ENOBUFS) {
                (void) http_reply_add_header(req, "Retry-After", "1");
                (void) http_reply_error(req, 503, "too many request bodies are being received; retry");
        } else {
                req->body_incomplete = error == -EIO;
                (void) http_reply_error(
                        req, 400, error == -EIO ? "request body was incomplete" : "malformed chunked body");
        }
        http_server_end(req);
}

void http_server_reply_bad_head(HttpRequest *req, int status, const char *why) {
        req->t0 = http_now_usec();
        req->head.minor = 1;
        req->head.n_fields = 0;
        request_start(req);
        log_debug("Refused a request head: %s", why);
        (void) http_reply_error(req, status, "%s", why);
        http_server_end(req);
}

/* A stream route's handler runs with the body unread; what it leaves unread closes the
 * connection, and the body errors it passes up unreplied become the usual 413 and 400. */
static int run_stream(HttpRequest *req) {
        int r = req->route->handler(req, req->route->userdata);
        bool has_body = req->head.chunked || req->head.content_length > 0;

        if (!req->body_done && has_body)
                req->body_unread = true;
        if (req->replied)
                return r;
        if (r == -E2BIG)
                return reply_too_large(req);
        if (r == -EIO)
                return http_reply_error(req, 400, "request body was incomplete");
        return r;
}

void http_server_run(HttpRequest *req) {
        int r;

        log_set_request_id(req->request_id);
        log_set_trace(&req->trace);
        if (req->route->flags & HTTP_ROUTE_STREAM_BODY)
                r = run_stream(req);
        else
                r = req->route->handler(req, req->route->userdata);
        if (!req->replied) {
                if (r < 0)
                        log_error_errno(
                                r,
                                "Request handler for %s %s failed: %m",
                                req->method,
                                http_request_route(req));
                else
                        log_error(
                                "Request handler for %s %s returned without replying",
                                req->method,
                                http_request_route(req));
                (void) http_reply_error(req, 500, "internal error");
        }
        http_server_end(req);
        log_set_request_id(NULL);
        log_set_trace(NULL);
}

static const char *method_label(const char *m) {
        static const char *const known[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS" };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(m, known[i]))
                        return known[i];
        return "other";
}

/* The access line; for a sampled trace it is also its span line (one line, not two). */
static void log_request(HttpRequest *req, int level, uint64_t usec) {
        char f_method[32], f_path[300], f_route[300], f_status[32], f_dur[48], f_bytes[48], name[300];
        const char *fields[] = { f_method, f_path, f_route, f_status, f_bytes, NULL, NULL };

        snprintf(f_method, sizeof(f_method), "METHOD=%.20s", req->method);
        snprintf(f_path, sizeof(f_path), "PATH=%.256s", req->path);
        snprintf(f_route, sizeof(f_route), "ROUTE=%.256s", http_request_route(req));
        snprintf(f_status, sizeof(f_status), "STATUS=%d", req->status);
        snprintf(f_bytes, sizeof(f_bytes), "BYTES=%zu", req->bytes);
        if (trace_sampled(&req->trace)) {
                snprintf(name, sizeof(name), "%.20s %.256s", req->method, http_request_route(req));
                trace_log_span(
                        level,
                        &req->trace,
                        TRACE_SPAN_SERVER,
                        name,
                        usec,
                        trace_outcome(req->status),
                        fields,
                        "%.20s %.256s %d",
                        req->method,
                        req->path,
                        req->status);
                return;
        }
        snprintf(f_dur, sizeof(f_dur), "DURATION_MS=%.3f", (double) usec / 1000.0);
        fields[5] = f_dur;
        log_fields(level, fields, "%.20s %.256s %d", req->method, req->path, req->status);
}

void http_server_end(HttpRequest *req) {
        HttpServer *s = req->server;
        uint64_t usec = http_now_usec() - req->t0;
        double secs = (double) usec / 1e6;
        int level = req->status >= 500 || req->status == 0 ? LOG_WARNING : LOG_INFO;

        /* The access log is off by default: under load one line per request competes with
         * the work itself. A sampled trace's line is its span, which the trace needs. */
        if ((s->config.access_log || level == LOG_WARNING || trace_sampled(&req->trace)) &&
            log_get_max_level() >= level)
                log_request(req, level, usec);
        if (s->m_requests) {
                char status[16];
                const char *route = http_request_route(req), *method = method_label(req->method);

                snprintf(status, sizeof(status), "%d", req->status);
                (void) metrics_counter_add(s->m_requests, (const char *[]){ route, method, status }, 1);
                (void) metrics_histogram_observe(s->m_duration, (const char *[]){ route, method }, secs);
                (void) metrics_gauge_add(s->m_in_flight, NULL, -1);
        }
        atomic_fetch_sub(&s->in_flight, 1);
}
