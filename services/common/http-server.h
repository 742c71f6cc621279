/* SPDX-License-Identifier: MIT */
/* http-server.h — the HTTP/1.1 server every service uses: a route table with {param} and
 * prefix patterns, strict framing (RFC 9112), bodies read before a handler runs (or pulled
 * by it on stream routes), a pre-body hook that may refuse before any body byte is read,
 * adopted listening sockets (systemd socket activation), request ids, access log, metrics
 * and a draining shutdown. Connections are multiplexed on a few threads with epoll: a slow
 * or idle client costs a small buffer, never a thread; handlers run on HTTP_THREADS
 * threads and may block. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "metrics.h"
#include "problem.h"
#include "trace.h"

typedef struct HttpServer HttpServer;
typedef struct HttpRequest HttpRequest;

/* Handlers reply with http_reply_*() and return >= 0, or return -errno without replying
 * (the server answers 500 and logs). */
typedef int (*HttpHandler)(HttpRequest *req, void *userdata);

typedef enum HttpRouteFlags {
        HTTP_ROUTE_ANY_CONTENT_TYPE = 1 << 0, /* accept bodies that are not application/json */
        /* The handler runs before the body is read and pulls it with http_request_read_body()
         * (or buffers it with http_request_buffer_body()); max_body caps the bytes it may pull. */
        HTTP_ROUTE_STREAM_BODY = 1 << 1,
        /* A control route (the /health routes, /metrics, the supervisor's notices): when every
         * handler thread is busy it still runs, on one of HTTP_CONTROL_SLOTS threads of its
         * own, instead of waiting in the queue behind the work it reports on or releases.
         * Its handler must be quick and never wait for that work. */
        HTTP_ROUTE_CONTROL = 1 << 2,
        /* No span line and no trace started or continued (health probes, metrics scrapes:
         * frequent, and no part of a job). */
        HTTP_ROUTE_UNTRACED = 1 << 3,
} HttpRouteFlags;

typedef struct HttpRoute {
        const char *method; /* "GET", "POST", ... */
        const char *path;   /* "/jobs/{id}", a prefix "/static/" + "*", or an exact path */
        HttpHandler handler;
        unsigned flags;
        void *userdata;
        uint64_t max_body; /* this route's body cap (streamed bytes on a stream route); 0 = the server's */
} HttpRoute;

typedef struct HttpServerConfig {
        const char *listen;  /* "host:port"; port 0 = ephemeral */
        unsigned threads;    /* handlers running at once; 0 = 16 */
        uint64_t max_body;   /* 0 = 1 MiB */
        uint64_t max_header; /* 0 = 16 KiB */
        /* 0 = 10 s: from a request's first byte (a new connection's accept) until its head
         * and an ordinary route's body are complete, in total, however the bytes trickle.
         * A stream route's handler gets this plus 1 s per HTTP_BODY_MIN_RATE bytes read. */
        uint64_t request_timeout_ms;
        uint64_t keep_alive_timeout_ms; /* 0 = 2 s */
        uint64_t shutdown_timeout_ms;   /* 0 = 10 s */
        unsigned listen_backlog;        /* 0 = 128 */
        /* 0 = 4096. At the cap the connection idle longest (keep-alive) is closed for a new
         * one; with none idle the new one is answered 503 and closed. */
        unsigned max_connections;
        bool access_log; /* one info line per request; 5xx are logged anyway */
        /* A request without a valid traceparent starts a trace (the door); otherwise it is
         * traced only when it brings one. Either way only while trace_enabled(). */
        bool trace_start;
        MetricsRegistry *metrics; /* NULL = no http_* metrics */
} HttpServerConfig;

#define HTTP_BODY_MIN_RATE (64u * 1024) /* bytes per second a stream route's upload must keep */

/* Called on a server thread once a request's head is complete and its route is known
 * (a 404 or 405 is answered without it), before any byte of its body is read and before
 * "100 Continue". It runs on the thread that polls connections, so it must be quick and
 * never block (a token check, a rate limit; no upstream call, no disk). Returns >= 0 to
 * go on; a hook that refuses replies (401, 403, 429, ...) and returns < 0: the body is
 * then never read and the connection closes. Returning < 0 without a reply answers 500.
 * Headers it adds with http_reply_add_header() go out with the handler's reply as well. */
typedef int (*HttpPreBodyHook)(HttpRequest *req, const HttpRoute *route, void *userdata);

#define HTTP_MAX_PARAMS 8
#define HTTP_REQUEST_ID_MAX 128

int http_server_new(const HttpServerConfig *config, HttpServer **ret);
/* Routes are copied; add them before http_server_start(). */
int http_server_add_routes(HttpServer *s, const HttpRoute *routes, size_t n);
/* Before start: the hook above (NULL = none). */
int http_server_set_pre_body(HttpServer *s, HttpPreBodyHook hook, void *userdata);
/* Before start: also accept on fd, an already listening stream socket (e.g. passed by
 * systemd socket activation). The server owns fd from then on. -ENOTSOCK / -EINVAL if fd
 * is not a listening stream socket; -E2BIG beyond 7 sockets. While draining, the server
 * stops accepting on adopted sockets (connections wait in their queue for the next
 * instance) and keeps answering 503 on its own address. */
int http_server_adopt_socket(HttpServer *s, int fd);
int http_server_start(HttpServer *s);
/* The bound port (useful with port 0), or -ENOTCONN before start. */
int http_server_get_port(HttpServer *s);
bool http_server_is_running(HttpServer *s);
bool http_server_is_draining(HttpServer *s);
unsigned http_server_in_flight(HttpServer *s);
/* Open connections now. */
unsigned http_server_connections(HttpServer *s);
/* Liveness of the event loop: posts an event that one of its threads answers (while
 * handlers run too: one thread is always left for events) and returns how many earlier
 * ones were answered. A count that no longer moves means the loop is stuck, not busy. */
uint64_t http_server_ping(HttpServer *s);
/* Stops taking new work (new requests get 503 + Connection: close; idle keep-alive
 * connections close; adopted sockets are no longer accepted on), waits for in-flight
 * requests up to shutdown_timeout_ms, then stops. -ETIMEDOUT if requests were still
 * running when the deadline passed: every open connection is then shut down (a running
 * handler's writes fail) and the call waits for the handlers to return. */
int http_server_shutdown(HttpServer *s);
void http_server_free(HttpServer *s);
static inline void http_server_freep(HttpServer **s) {
        if (*s)
                http_server_free(*s);
}

/* ---- requests ------------------------------------------------------------------ */
const char *http_request_method(const HttpRequest *req);
const char *http_request_path(const HttpRequest *req);
const char *http_request_query(const HttpRequest *req); /* raw, NULL if none */
const char *http_request_route(const HttpRequest *req); /* matched pattern */
const char *http_request_id(const HttpRequest *req);
/* The request's span: its trace continued from a valid traceparent, or started here when
 * the server starts traces; NULL when it is not traced. */
const TraceContext *http_request_trace(const HttpRequest *req);
const char *http_request_header(const HttpRequest *req, const char *name);
/* Value of a {name} segment of the matched route, NULL if the route has none. */
const char *http_request_param(const HttpRequest *req, const char *name);
/* Body bytes (NUL-terminated for convenience; may contain NULs), NULL/0 if none. */
const char *http_request_body(const HttpRequest *req, size_t *ret_len);
HttpServer *http_request_server(const HttpRequest *req);

/* On an HTTP_ROUTE_STREAM_BODY route: the next at most len bytes of the body (Content-Length
 * or chunked), answering "Expect: 100-continue" on the first call. Returns the bytes read,
 * 0 at the end of the body, -E2BIG once more than the route's max_body would be read (also
 * at once for a larger Content-Length), -EIO when the client went away, sent less than its
 * Content-Length, framed its chunks badly, or was too slow (request_timeout_ms from the
 * request's first byte, plus 1 s per HTTP_BODY_MIN_RATE bytes read); an error sticks. A handler may
 * reply before the end (the reply then says Connection: close and the connection closes);
 * one that returns -E2BIG or -EIO without replying gets 413 or 400. Memory stays the
 * caller's buffer: nothing is kept. */
ssize_t http_request_read_body(HttpRequest *req, void *buf, size_t len);
/* On an HTTP_ROUTE_STREAM_BODY route: reads the whole body into memory as other routes do,
 * at most max bytes, so that http_request_body() and http_request_parse_json() work.
 * -E2BIG over max, -EIO as above; the handler replies. */
int http_request_buffer_body(HttpRequest *req, uint64_t max);
/* The peer's IP address as text ("" if unknown). */
const char *http_request_remote_addr(const HttpRequest *req);

/* HTTP_REQUEST_SCRATCH_SIZE bytes of the request's own, zeroed on the first call of each
 * request and gone with it: what the pre-body hook learns (a caller's identity) for the
 * handler to read, without an allocation. */
#define HTTP_REQUEST_SCRATCH_SIZE 256
void *http_request_scratch(HttpRequest *req);

/* For a long-running handler (SSE, a long poll): whether the client has closed or reset
 * its connection. Cheap (a flag, else one poll() without waiting). */
bool http_request_client_gone(HttpRequest *req);
/* Has the server watch the connection while the handler runs: once the client closes or
 * resets it, cb(userdata) is called once, on a server thread, so the handler can stop
 * waiting (signal its condition variable, write its eventfd). cb must be quick, must not
 * block and must not call http_* on req. The handler then sees http_request_client_gone()
 * and -EPIPE from stream writes. cb NULL ends the watch: on return cb neither runs nor
 * will run. A handler whose userdata dies with it (its stack) must end the watch before
 * returning; the server ends it after the handler returns. */
int http_request_watch_gone(HttpRequest *req, void (*cb)(void *userdata), void *userdata);

/* Parses the body with json_parse_strict(); on failure replies 400 (problem+json) and
 * returns -EBADMSG, so handlers simply `if (r < 0) return 0;`. */
int http_request_parse_json(HttpRequest *req, json_object **ret);

/* ---- responses ----------------------------------------------------------------- */
/* Queues an extra response header; name and value must not contain CR/LF. */
int http_reply_add_header(HttpRequest *req, const char *name, const char *value);
int http_reply(HttpRequest *req, int status, const char *content_type, const void *body, size_t len);
int http_reply_text(HttpRequest *req, int status, const char *text);
/* Serializes obj (not consumed). */
int http_reply_json(HttpRequest *req, int status, json_object *obj);
int http_reply_problem(HttpRequest *req, const Problem *p);
int http_reply_error(HttpRequest *req, int status, const char *detail_fmt, ...) _printf_(3, 4);
/* 422 with errors from json_errors_add(). */
int http_reply_validation(HttpRequest *req, json_object *errors);
bool http_request_replied(const HttpRequest *req);
/* The status replied (0 before a reply). */
int http_reply_status(const HttpRequest *req);

/* Streaming replies (SSE, NDJSON): the head goes out with Transfer-Encoding: chunked and
 * each write is sent as one chunk at once, never buffered. A write fails with -EPIPE
 * once the client has gone away, which is how a handler learns to cancel its own
 * upstream work. http_reply_stream_end() sends the last chunk. */
int http_reply_stream_begin(HttpRequest *req, int status, const char *content_type);
int http_reply_stream_write(HttpRequest *req, const void *buf, size_t len);
int http_reply_stream_end(HttpRequest *req);

/* Validates a client-supplied request id: 1..128 chars of [A-Za-z0-9._:-]. */
bool http_request_id_valid(const char *id);
/* A random UUIDv4 into buf (at least 37 bytes). */
int http_generate_request_id(char *buf, size_t size);
