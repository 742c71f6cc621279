/* SPDX-License-Identifier: MIT */
/* test-http-server.c — a real server on 127.0.0.1 with an ephemeral port, driven over
 * raw sockets: routing, status codes, body limits, hostile bodies, slow clients,
 * request ids, metrics and draining shutdown; request smuggling, the pre-body hook,
 * total deadlines, many dribbling clients, adopted sockets, a streaming handler that
 * learns its client has gone, and the access log switch. */
#include <check.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "check-run.h"
#include "http-server.h"
#include "json-util.h"
#include "log.h"
#include "test-http-util.h"

static HttpServer *server;
static MetricsRegistry *registry;
static int port;

static int handle_ok(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *o = json_object_new_object();

        json_object_object_add(o, "ok", json_object_new_boolean(true));
        return http_reply_json(req, 200, o);
}

/* POST /echo {name: string (required), count: integer 0..100 (optional)} */
static int handle_echo(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *body = NULL, *errs = NULL, *o = NULL;
        const char *name = NULL;
        int64_t count = 1;
        int r;

        r = http_request_parse_json(req, &body);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        (void) json_get_string(body, "name", true, &errs, &name);
        (void) json_get_int(body, "count", false, 0, 100, &errs, &count);
        if (errs)
                return http_reply_validation(req, errs);
        o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "count", json_object_new_int64(count));
        return http_reply_json(req, 200, o);
}

static int handle_job(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_string(strempty(http_request_param(req, "id"))));
        json_object_object_add(o, "route", json_object_new_string(http_request_route(req)));
        return http_reply_json(req, 200, o);
}

static int handle_slow(HttpRequest *req, void *userdata) {
        usleep(600 * 1000);
        return http_reply_text(req, 200, "slow done");
}

/* Replies at once, then goes on working: a drain can begin between its reply (which
 * said keep-alive) and its return. */
static int handle_reply_first(HttpRequest *req, void *userdata) {
        int r = http_reply_text(req, 200, "replied");

        usleep(800 * 1000);
        return r;
}

static int handle_raw(HttpRequest *req, void *userdata) {
        size_t len;
        char buf[64];

        (void) http_request_body(req, &len);
        snprintf(buf, sizeof(buf), "%zu bytes", len);
        (void) http_reply_add_header(req, "X-Extra", "yes");
        return http_reply_text(req, 200, buf);
}

#define STREAM_CAP 100000
static _Atomic int stream_last_error;

/* POST /stream pulls its body 7 bytes at a time (at most STREAM_CAP in all, far above the
 * server's 1024) and answers with the count and a checksum; ?buffer reads it whole instead. */
static int handle_stream(HttpRequest *req, void *userdata) {
        uint64_t total = 0, sum = 0;
        char buf[7], out[96];
        ssize_t n;

        if (streq(strempty(http_request_query(req)), "buffer")) {
                const char *b;
                size_t len;
                int r = http_request_buffer_body(req, 2000);

                if (r < 0)
                        return r == -E2BIG ? http_reply_error(req, 413, "buffered cap") : r;
                b = http_request_body(req, &len);
                snprintf(out, sizeof(out), "%zu buffered %s", len, strempty(b));
                return http_reply_text(req, 200, out);
        }
        while ((n = http_request_read_body(req, buf, sizeof(buf))) > 0) {
                total += (uint64_t) n;
                for (ssize_t i = 0; i < n; i++)
                        sum += (unsigned char) buf[i];
        }
        stream_last_error = (int) n;
        if (n < 0)
                return (int) n; /* the server answers 413 / 400 */
        snprintf(out, sizeof(out), "%" PRIu64 " bytes sum %" PRIu64, total, sum);
        return http_reply_text(req, 200, out);
}

static int handle_fail(HttpRequest *req, void *userdata) {
        return -EIO;
}

/* GET /count: how many requests reached a handler (a smuggled one would show here). */
static atomic_uint count_calls;
static int handle_count(HttpRequest *req, void *userdata) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%u", atomic_fetch_add(&count_calls, 1) + 1);
        return http_reply_text(req, 200, buf);
}

/* POST /guarded: behind the pre-body hook, which wants "X-Key: yes". */
static atomic_uint guarded_calls, hook_calls;
static atomic_bool hook_saw_body;
static int handle_guarded(HttpRequest *req, void *userdata) {
        size_t len;

        atomic_fetch_add(&guarded_calls, 1);
        (void) http_request_body(req, &len);
        return http_reply_text(req, 200, strempty(((const char *) http_request_scratch(req))));
}

static int hook(HttpRequest *req, const HttpRoute *route, void *userdata) {
        size_t len = 0;

        atomic_fetch_add(&hook_calls, 1);
        if (http_request_body(req, &len) || len > 0)
                atomic_store(&hook_saw_body, true);
        if (!streq(route->path, "/guarded"))
                return 0;
        if (!streq(strempty(http_request_header(req, "X-Key")), "yes")) {
                (void) http_reply_add_header(req, "WWW-Authenticate", "Key");
                (void) http_reply_error(req, 401, "a key is required");
                return -EACCES;
        }
        /* What the hook learned reaches the handler; its headers reach the reply. */
        strcpy(http_request_scratch(req), "checked");
        return http_reply_add_header(req, "X-Hook", "seen");
}

static const HttpRoute routes[] = {
        { "GET", "/ok", handle_ok, 0, NULL },
        { "GET", "/control", handle_ok, HTTP_ROUTE_CONTROL, NULL },
        { "POST", "/echo", handle_echo, 0, NULL },
        { "GET", "/jobs/{id}", handle_job, 0, NULL },
        { "DELETE", "/jobs/{id}", handle_job, 0, NULL },
        { "GET", "/files/*", handle_job, 0, NULL },
        { "POST", "/slow", handle_slow, 0, NULL },
        { "GET", "/reply-first", handle_reply_first, 0, NULL },
        { "POST", "/raw", handle_raw, HTTP_ROUTE_ANY_CONTENT_TYPE, NULL },
        { "GET", "/fail", handle_fail, 0, NULL },
        { "GET", "/count", handle_count, 0, NULL },
        { "POST", "/guarded", handle_guarded, HTTP_ROUTE_ANY_CONTENT_TYPE, NULL, 1 << 30 },
        { "POST",
          "/stream",
          handle_stream,
          HTTP_ROUTE_STREAM_BODY | HTTP_ROUTE_ANY_CONTENT_TYPE,
          NULL,
          STREAM_CAP },
};

static void start_server(uint64_t request_timeout_ms) {
        HttpServerConfig c = {
                .listen = "127.0.0.1:0",
                .threads = 4,
                .max_body = 1024,
                .request_timeout_ms = request_timeout_ms,
                .shutdown_timeout_ms = 5000,
                .metrics = registry,
        };

        ck_assert_int_eq(http_server_new(&c, &server), 0);
        ck_assert_int_eq(http_server_add_routes(server, routes, ELEMENTSOF(routes)), 0);
        ck_assert_int_eq(http_server_set_pre_body(server, hook, NULL), 0);
        ck_assert_int_eq(http_server_get_port(server), -ENOTCONN);
        ck_assert_int_eq(http_server_start(server), 0);
        port = http_server_get_port(server);
        ck_assert_int_gt(port, 0);
}

/* Replaces the fixture's server with one of config c serving routes; adopt_fd >= 0 is
 * adopted before the start. */
static void replace_server(const HttpServerConfig *c, const HttpRoute *r, size_t n, int adopt_fd) {
        ck_assert_int_eq(http_server_shutdown(server), 0);
        http_server_free(server);
        ck_assert_int_eq(http_server_new(c, &server), 0);
        ck_assert_int_eq(http_server_add_routes(server, r, n), 0);
        if (adopt_fd >= 0)
                ck_assert_int_eq(http_server_adopt_socket(server, adopt_fd), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        port = http_server_get_port(server);
}

static void setup(void) {
        log_init("test");
        log_set_journal(false);
        log_set_max_level(LOG_WARNING);
        ck_assert_int_eq(metrics_registry_new(&registry), 0);
        start_server(1000);
}

static void teardown(void) {
        if (server) {
                ck_assert_int_eq(http_server_shutdown(server), 0);
                http_server_free(server);
                server = NULL;
        }
        metrics_registry_free(registry);
        registry = NULL;
}

static json_object *body_json(const RawResponse *r) {
        json_object *o = json_tokener_parse(r->body);
        ck_assert_msg(o != NULL, "body is not JSON: %s", r->raw);
        return o;
}

static const char *jget(json_object *o, const char *k) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void post(const char *path, const char *content_type, const char *body, size_t len, RawResponse *r) {
        char head[512];
        _cleanup_free_ char *req = NULL;
        int k;

        k = snprintf(
                head,
                sizeof(head),
                "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: "
                "%zu\r\n\r\n",
                path,
                content_type,
                len);
        req = malloc((size_t) k + len);
        memcpy(req, head, (size_t) k);
        memcpy(req + k, body, len);
        ck_assert_int_eq(test_http_raw(port, req, (size_t) k + len, r), 0);
}

static void assert_problem(const RawResponse *r, int status, const char *type) {
        char buf[256];
        json_object *o, *s;

        ck_assert_msg(r->status == status, "expected %d, got (%zu bytes): %s", status, r->raw_len, r->raw);
        ck_assert_ptr_nonnull(test_header(r, "Content-Type", buf, sizeof(buf)));
        ck_assert_str_eq(buf, "application/problem+json");
        o = body_json(r);
        ck_assert(json_object_object_get_ex(o, "status", &s));
        ck_assert_int_eq(json_object_get_int(s), status);
        ck_assert_ptr_nonnull(jget(o, "title"));
        ck_assert_ptr_nonnull(jget(o, "request_id"));
        if (type)
                ck_assert_str_eq(jget(o, "type"), type);
        json_object_put(o);
}

START_TEST(test_valid_request) {
        RawResponse r;
        char buf[256];
        json_object *o;

        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(test_header(&r, "Content-Type", buf, sizeof(buf)), "application/json");
        ck_assert_str_eq(test_header(&r, "Content-Length", buf, sizeof(buf)), "11");
        ck_assert_str_eq(test_header(&r, "Cache-Control", buf, sizeof(buf)), "no-store");
        ck_assert_str_eq(r.body, "{\"ok\":true}");
        /* A generated request id is a UUIDv4. */
        ck_assert_ptr_nonnull(test_header(&r, "X-Request-ID", buf, sizeof(buf)));
        ck_assert_int_eq((int) strlen(buf), 36);
        ck_assert(buf[14] == '4');
        raw_response_done(&r);

        post("/echo", "application/json; charset=utf-8", "{\"name\":\"x\",\"count\":3}", 22, &r);
        ck_assert_int_eq(r.status, 200);
        o = body_json(&r);
        ck_assert_str_eq(jget(o, "name"), "x");
        ck_assert_str_eq(jget(o, "count"), "3");
        json_object_put(o);
        raw_response_done(&r);
}
END_TEST

START_TEST(test_request_id) {
        RawResponse r;
        char buf[256], id[200];

        ck_assert_int_eq(
                test_http(
                        port,
                        "GET /ok HTTP/1.1\r\nHost: t\r\nX-Request-ID: abc-123.x:y_z\r\nConnection: "
                        "close\r\n\r\n",
                        &r),
                0);
        ck_assert_str_eq(test_header(&r, "X-Request-ID", buf, sizeof(buf)), "abc-123.x:y_z");
        raw_response_done(&r);

        /* Invalid ids are replaced, never echoed (header injection, log forging). */
        ck_assert_int_eq(
                test_http(
                        port,
                        "GET /ok HTTP/1.1\r\nHost: t\r\nX-Request-ID: bad id<script>\r\nConnection: "
                        "close\r\n\r\n",
                        &r),
                0);
        ck_assert_ptr_nonnull(test_header(&r, "X-Request-ID", buf, sizeof(buf)));
        ck_assert_int_eq((int) strlen(buf), 36);
        raw_response_done(&r);

        memset(id, 'a', 129);
        id[129] = '\0';
        ck_assert(!http_request_id_valid(id));
        id[128] = '\0';
        ck_assert(http_request_id_valid(id));
        ck_assert(!http_request_id_valid(""));
        ck_assert(!http_request_id_valid(NULL));

        /* The problem body carries the same id. */
        ck_assert_int_eq(
                test_http(
                        port,
                        "GET /nope HTTP/1.1\r\nHost: t\r\nX-Request-ID: rid-404\r\nConnection: "
                        "close\r\n\r\n",
                        &r),
                0);
        ck_assert_ptr_nonnull(strstr(r.body, "\"request_id\":\"rid-404\""));
        raw_response_done(&r);
}
END_TEST

START_TEST(test_malformed_json) {
        RawResponse r;
        json_object *o;

        post("/echo", "application/json", "{\"name\": ", 9, &r);
        assert_problem(&r, 400, "https://ai-semble.dev/problems/malformed-json");
        o = body_json(&r);
        ck_assert_ptr_nonnull(strstr(jget(o, "detail"), "offset"));
        json_object_put(o);
        raw_response_done(&r);

        post("/echo", "application/json", "{\"name\":\"x\"} trailing", 21, &r);
        assert_problem(&r, 400, NULL);
        raw_response_done(&r);

        post("/echo", "application/json", "", 0, &r);
        assert_problem(&r, 400, NULL);
        raw_response_done(&r);
}
END_TEST

START_TEST(test_validation) {
        RawResponse r;
        json_object *o, *errs, *field;

        post("/echo", "application/json", "{\"name\": 5, \"count\": \"many\"}", 28, &r);
        assert_problem(&r, 422, "https://ai-semble.dev/problems/validation");
        o = body_json(&r);
        ck_assert(json_object_object_get_ex(o, "errors", &errs));
        ck_assert_int_eq((int) json_object_array_length(errs), 2);
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(errs, 0), "field", &field));
        ck_assert_str_eq(json_object_get_string(field), "name");
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(errs, 1), "field", &field));
        ck_assert_str_eq(json_object_get_string(field), "count");
        json_object_put(o);
        raw_response_done(&r);

        post("/echo", "application/json", "{\"invalid\":\"payload\"}", 21, &r);
        assert_problem(&r, 422, NULL);
        ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"name\""));
        raw_response_done(&r);

        post("/echo", "application/json", "[1,2]", 5, &r);
        assert_problem(&r, 422, NULL);
        raw_response_done(&r);
}
END_TEST

START_TEST(test_body_too_large) {
        RawResponse r;
        char big[2048];
        int fd;

        /* Declared length over the cap: refused before reading. */
        ck_assert_int_eq(
                test_http(
                        port,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100000000\r\n\r\n",
                        &r),
                0);
        assert_problem(&r, 413, "https://ai-semble.dev/problems/payload-too-large");
        raw_response_done(&r);

        memset(big, ' ', sizeof(big));
        big[0] = '{';
        big[sizeof(big) - 1] = '}';
        post("/echo", "application/json", big, sizeof(big), &r);
        assert_problem(&r, 413, NULL);
        raw_response_done(&r);

        /* Chunked: no length up front, cut at the cap while reading. */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"),
                0);
        for (int i = 0; i < 4; i++) {
                char chunk[600];
                int k = snprintf(chunk, sizeof(chunk), "200\r\n%0512d\r\n", 0);
                if (test_send_all(fd, chunk, (size_t) k) < 0)
                        break;
        }
        ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
        close(fd);
        test_parse_response(&r);
        assert_problem(&r, 413, NULL);
        raw_response_done(&r);

        /* Within the cap, chunked works. */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: "
                        "application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\nc\r\n{\"name\":\"c\"}\r\n0\r\n\r\n"),
                0);
        ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
        close(fd);
        test_parse_response(&r);
        ck_assert_msg(r.status == 200, "%s", r.raw);
        raw_response_done(&r);
}
END_TEST

static void expect_text(int fd, int status, const char *text) {
        RawResponse r = {};

        ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
        close(fd);
        test_parse_response(&r);
        ck_assert_msg(r.status == status, "expected %d: %s", status, r.raw);
        if (text)
                ck_assert_msg(strstr(r.body, text), "expected '%s' in %s", text, r.raw);
        raw_response_done(&r);
}

START_TEST(test_stream_content_length) {
        char head[256], piece[1000];
        uint64_t sum = 0;
        int fd;

        /* 50 000 bytes (50x the server's body cap) trickled in 1000-byte pieces. */
        for (size_t i = 0; i < sizeof(piece); i++) {
                piece[i] = (char) ('a' + i % 26);
                sum += (unsigned char) piece[i];
        }
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        snprintf(
                head,
                sizeof(head),
                "POST /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: text/csv\r\n"
                "Content-Length: 50000\r\n\r\n");
        ck_assert_int_eq(test_send_str(fd, head), 0);
        for (int i = 0; i < 50; i++) {
                ck_assert_int_eq(test_send_all(fd, piece, sizeof(piece)), 0);
                if (i % 10 == 0)
                        usleep(5000);
        }
        snprintf(head, sizeof(head), "50000 bytes sum %" PRIu64, sum * 50);
        expect_text(fd, 200, head);

        /* No body at all: the first read says end. */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(fd, "POST /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), 0);
        expect_text(fd, 200, "0 bytes sum 0");
}
END_TEST

START_TEST(test_stream_chunked) {
        RawResponse r = {};
        int fd;

        /* Chunks of 1, 3000 and 17 bytes, read across several pulls. */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /stream HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n1\r\nA\r\n"),
                0);
        {
                char chunk[3100];
                int k = snprintf(chunk, sizeof(chunk), "bb8\r\n");
                memset(chunk + k, 'B', 3000);
                memcpy(chunk + k + 3000, "\r\n", 2);
                usleep(20000);
                ck_assert_int_eq(test_send_all(fd, chunk, (size_t) k + 3002), 0);
        }
        ck_assert_int_eq(test_send_str(fd, "11\r\nCCCCCCCCCCCCCCCCC\r\n0\r\n\r\n"), 0);
        /* Keep-alive survives a fully read streamed body: a second request on the same socket. */
        ck_assert_int_eq(test_send_str(fd, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), 0);
        ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
        close(fd);
        test_parse_response(&r);
        ck_assert_msg(r.status == 200, "%s", r.raw);
        ck_assert_msg(strstr(r.raw, "3018 bytes sum 199204"), "%s", r.raw);
        ck_assert_msg(strstr(r.raw, "{\"ok\":true}"), "keep-alive lost: %s", r.raw);
        raw_response_done(&r);

        /* ?buffer: the handler chose to read it whole, under its own cap. */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /stream?buffer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
                0);
        expect_text(fd, 200, "5 buffered abcde");
}
END_TEST

START_TEST(test_stream_too_large) {
        char chunk[1100];
        RawResponse r = {};
        int fd;

        /* A declared length over the route's cap: the first read fails, the handler's -E2BIG
         * becomes 413, and the connection closes. */
        stream_last_error = 0;
        ck_assert_int_eq(
                test_http(port, "POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 100001\r\n\r\n", &r),
                0);
        assert_problem(&r, 413, NULL);
        ck_assert_ptr_nonnull(strstr(r.raw, "Connection: close"));
        ck_assert_ptr_nonnull(strstr(r.body, "100000 bytes"));
        ck_assert_int_eq(stream_last_error, -E2BIG);
        raw_response_done(&r);

        /* Chunked: cut off while reading, as soon as the cap is passed. */
        stream_last_error = 0;
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(fd, "POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"),
                0);
        for (int i = 0; i < 120; i++) {
                int k = snprintf(chunk, sizeof(chunk), "3e8\r\n%01000d\r\n", 0);
                if (test_send_all(fd, chunk, (size_t) k) < 0)
                        break;
        }
        ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
        close(fd);
        test_parse_response(&r);
        assert_problem(&r, 413, NULL);
        ck_assert_int_eq(stream_last_error, -E2BIG);
        raw_response_done(&r);

        /* Buffering is held to the handler's own (smaller) cap. */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(fd, "POST /stream?buffer HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n"),
                0);
        expect_text(fd, 413, "buffered cap");
}
END_TEST

START_TEST(test_stream_slow_client) {
        RawResponse r = {};
        double t0;
        int fd;

        /* Part of the declared body, then silence: the read gives up after request_timeout_ms
         * (1 s) with -EIO, and the handler's -EIO becomes 400. */
        stream_last_error = 0;
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(fd, "POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\nabcdef"),
                0);
        t0 = test_now();
        ck_assert_int_ge(test_read_all(fd, &r.raw, 8000), 0);
        close(fd);
        test_parse_response(&r);
        ck_assert_msg(test_now() - t0 < 3.0, "held for %.2fs", test_now() - t0);
        ck_assert_int_eq(stream_last_error, -EIO);
        ck_assert_ptr_null(strstr(r.raw, " 200 "));
        raw_response_done(&r);

        /* Same with chunked encoding, stalled inside a chunk. */
        stream_last_error = 0;
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "64\r\nabc"),
                0);
        t0 = test_now();
        ck_assert_int_ge(test_read_all(fd, &r.raw, 8000), 0);
        close(fd);
        test_parse_response(&r);
        ck_assert_msg(test_now() - t0 < 3.0, "held for %.2fs", test_now() - t0);
        ck_assert_int_eq(stream_last_error, -EIO);
        ck_assert_ptr_null(strstr(r.raw, " 200 "));
        raw_response_done(&r);
}
END_TEST

START_TEST(test_stream_client_gone) {
        static const char *const reqs[] = {
                "POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\nabcdef",
                /* Ends at a chunk boundary without the last chunk: not the end of the body. */
                "POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(reqs); i++) {
                RawResponse r = {};
                double t0 = test_now();
                int fd = test_connect(port);

                stream_last_error = 0;
                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(test_send_str(fd, reqs[i]), 0);
                ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
                ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
                close(fd);
                test_parse_response(&r);
                ck_assert_msg(r.status == 400, "%zu: %s", i, r.raw);
                ck_assert_int_eq(stream_last_error, -EIO);
                ck_assert_msg(test_now() - t0 < 0.9, "noticed after %.2fs", test_now() - t0);
                raw_response_done(&r);
        }
}
END_TEST

START_TEST(test_expect_continue) {
        RawResponse r = {};
        char *out = NULL;
        double t0;
        int fd;

        /* We answer 100 Continue ourselves before reading (mg_read does not). */
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: "
                        "application/json\r\n"
                        "Content-Length: 12\r\nExpect: 100-continue\r\n\r\n"),
                0);
        {
                char buf[64] = "";
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ck_assert_int_eq(poll(&p, 1, 2000), 1);
                ck_assert_int_gt(recv(fd, buf, sizeof(buf) - 1, 0), 0);
                ck_assert_ptr_nonnull(startswith(buf, "HTTP/1.1 100 Continue\r\n\r\n"));
        }
        ck_assert_int_eq(test_send_str(fd, "{\"name\":\"e\"}"), 0);
        ck_assert_int_ge(test_read_all(fd, &r.raw, 5000), 0);
        close(fd);
        test_parse_response(&r);
        ck_assert_msg(r.status == 200, "%s", r.raw);
        raw_response_done(&r);

        /* Too large with Expect: refused at once, body never requested, connection closed. */
        t0 = test_now();
        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        "Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n"),
                0);
        ck_assert_int_ge(test_read_all(fd, &out, 5000), 0);
        close(fd);
        ck_assert_ptr_nonnull(startswith(out, "HTTP/1.1 413 "));
        ck_assert_ptr_null(strstr(out, "100 Continue"));
        ck_assert(test_now() - t0 < 0.9);
        free(out);
}
END_TEST

START_TEST(test_not_found_and_method) {
        RawResponse r;
        char buf[128];

        ck_assert_int_eq(
                test_http(port, "GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        assert_problem(&r, 404, "about:blank");
        raw_response_done(&r);

        ck_assert_int_eq(
                test_http(
                        port,
                        "PUT /jobs/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                        &r),
                0);
        assert_problem(&r, 405, NULL);
        ck_assert_str_eq(test_header(&r, "Allow", buf, sizeof(buf)), "GET, DELETE");
        raw_response_done(&r);

        ck_assert_int_eq(
                test_http(port, "DELETE /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        assert_problem(&r, 405, NULL);
        ck_assert_str_eq(test_header(&r, "Allow", buf, sizeof(buf)), "GET");
        raw_response_done(&r);
}
END_TEST

START_TEST(test_routing_params) {
        RawResponse r;
        json_object *o;

        ck_assert_int_eq(
                test_http(port, "GET /jobs/abc-1?x=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r),
                0);
        ck_assert_int_eq(r.status, 200);
        o = body_json(&r);
        ck_assert_str_eq(jget(o, "id"), "abc-1");
        ck_assert_str_eq(jget(o, "route"), "/jobs/{id}");
        json_object_put(o);
        raw_response_done(&r);

        ck_assert_int_eq(
                test_http(port, "GET /jobs/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 404);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "GET /jobs/a/b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 404);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "GET /files/a/b/c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "GET /okx HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 404);
        raw_response_done(&r);
        /* Percent-encoding is not decoded: no route sees "/ok" here. */
        ck_assert_int_eq(
                test_http(port, "GET /%6Fk HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 404);
        raw_response_done(&r);
}
END_TEST

START_TEST(test_content_type) {
        RawResponse r;
        char buf[64];

        post("/echo", "text/plain", "{\"name\":\"x\"}", 12, &r);
        assert_problem(&r, 415, "https://ai-semble.dev/problems/unsupported-media-type");
        raw_response_done(&r);
        post("/echo", "application/jsonx", "{\"name\":\"x\"}", 12, &r);
        assert_problem(&r, 415, NULL);
        raw_response_done(&r);
        post("/echo", "Application/JSON", "{\"name\":\"x\"}", 12, &r);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);

        /* Opted-out route takes anything, including NUL bytes. */
        post("/raw", "application/octet-stream", "a\0b", 3, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "3 bytes");
        ck_assert_str_eq(test_header(&r, "X-Extra", buf, sizeof(buf)), "yes");
        raw_response_done(&r);
}
END_TEST

START_TEST(test_nul_byte) {
        RawResponse r;
        static const char body[] = "{\"name\":\"a\0b\"}";

        post("/echo", "application/json", body, sizeof(body) - 1, &r);
        assert_problem(&r, 400, NULL);
        ck_assert_ptr_nonnull(strstr(r.body, "NUL byte"));
        raw_response_done(&r);

        /* Same body as a form: still just JSON-parsed by us, never form-decoded. */
        post("/echo", "application/json", "a=\0&b=%00", 9, &r);
        assert_problem(&r, 400, NULL);
        raw_response_done(&r);

        /* And the server still answers. */
        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
}
END_TEST

START_TEST(test_handler_error) {
        RawResponse r;

        ck_assert_int_eq(
                test_http(port, "GET /fail HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        assert_problem(&r, 500, NULL);
        ck_assert_ptr_null(strstr(r.body, "Input/output")); /* internals are not leaked */
        raw_response_done(&r);
}
END_TEST

START_TEST(test_slow_client) {
        RawResponse r;
        char *junk = NULL;
        double t0, elapsed;
        int slow[3];

        /* Half a header, then silence: each waits, holding no thread, until request_timeout_ms. */
        for (size_t i = 0; i < ELEMENTSOF(slow); i++) {
                slow[i] = test_connect(port);
                ck_assert_int_ge(slow[i], 0);
                ck_assert_int_eq(test_send_str(slow[i], "GET /ok HTTP/1.1\r\nHost: t\r\nX-Slow:"), 0);
        }
        t0 = test_now();
        /* Others are served meanwhile. */
        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert(test_now() - t0 < 0.9);
        raw_response_done(&r);

        /* The stalled connections are cut off within the timeout (1 s) plus slack, without
         * a 200 (408 or nothing). */
        for (size_t i = 0; i < ELEMENTSOF(slow); i++) {
                ck_assert_int_ge(test_read_all(slow[i], &junk, 5000), 0);
                ck_assert_ptr_null(strstr(junk, " 200 "));
                free(junk);
                close(slow[i]);
        }
        elapsed = test_now() - t0;
        ck_assert_msg(elapsed < 3.0, "slow clients held for %.2fs", elapsed);

        /* Fully recovered afterwards. */
        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
}
END_TEST

START_TEST(test_keep_alive) {
        int fd = test_connect(port);
        char *out = NULL;
        const char *p;
        int n = 0;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /jobs/2 HTTP/1.1\r\nHost: t\r\nConnection: "
                        "close\r\n\r\n"),
                0);
        ck_assert_int_ge(test_read_all(fd, &out, 5000), 0);
        close(fd);
        for (p = out; (p = strstr(p, "HTTP/1.1 200")); p++)
                n++;
        ck_assert_msg(n == 2, "%s", out);
        free(out);
}
END_TEST

START_TEST(test_metrics) {
        RawResponse r;
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(
                test_http(port, "GET /jobs/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "GET /jobs/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "GET /random/path/123 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r),
                0);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "BREW /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        raw_response_done(&r);

        ck_assert_int_eq(metrics_registry_render(registry, &text, NULL), 0);
        /* The pattern, never the raw path. */
        ck_assert_ptr_nonnull(
                strstr(text, "http_requests_total{route=\"/jobs/{id}\",method=\"GET\",status=\"200\"} 2\n"));
        ck_assert_ptr_nonnull(
                strstr(text, "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"));
        ck_assert_ptr_null(strstr(text, "/random/path"));
        ck_assert_ptr_null(strstr(text, "/jobs/1"));
        ck_assert_ptr_null(strstr(text, "BREW"));
        ck_assert_ptr_nonnull(strstr(
                text, "http_request_duration_seconds_count{route=\"/jobs/{id}\",method=\"GET\"} 2\n"));
        ck_assert_ptr_nonnull(strstr(text, "http_requests_in_flight 0\n"));
}
END_TEST

typedef struct SlowCall {
        int port;
        RawResponse r;
} SlowCall;

static void *slow_call(void *userdata) {
        SlowCall *c = userdata;
        (void) test_http(
                c->port,
                "POST /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                &c->r);
        return NULL;
}

static pthread_t shutdown_thread;
static atomic_bool shutdown_started;

static void *shutdown_async(void *userdata) {
        atomic_store(&shutdown_started, true);
        (void) http_server_shutdown(userdata);
        return NULL;
}

START_TEST(test_graceful_drain) {
        SlowCall call = { .port = port };
        pthread_t t;
        double t0;
        int fd;

        ck_assert_int_eq(pthread_create(&t, NULL, slow_call, &call), 0);
        t0 = test_now();
        while (http_server_in_flight(server) == 0 && test_now() - t0 < 5)
                usleep(1000);
        ck_assert_uint_eq(http_server_in_flight(server), 1);

        /* Shutdown waits for the in-flight request, which completes normally. */
        ck_assert_int_eq(http_server_shutdown(server), 0);
        ck_assert(!http_server_is_running(server));
        ck_assert(test_now() - t0 >= 0.4);
        pthread_join(t, NULL);
        ck_assert_msg(call.r.status == 200, "%s", strempty(call.r.raw));
        ck_assert_str_eq(call.r.body, "slow done");
        raw_response_done(&call.r);

        /* Nothing listens any more. */
        fd = test_connect(port);
        ck_assert_int_lt(fd, 0);
        http_server_free(server);
        server = NULL;
}
END_TEST

/* Four /slow calls at once: every handler slot of the fixture's server is busy on return. */
static void slow_calls_start(SlowCall calls[static 4], pthread_t t[static 4]) {
        double t0;

        for (int i = 0; i < 4; i++) {
                calls[i] = (SlowCall){ .port = port };
                ck_assert_int_eq(pthread_create(&t[i], NULL, slow_call, &calls[i]), 0);
        }
        t0 = test_now();
        while (http_server_in_flight(server) < 4 && test_now() - t0 < 5)
                usleep(1000);
        ck_assert_uint_eq(http_server_in_flight(server), 4);
}

/* Each of them answered 200. */
static void slow_calls_join(SlowCall calls[static 4], pthread_t t[static 4]) {
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                ck_assert_int_eq(calls[i].r.status, 200);
                raw_response_done(&calls[i].r);
        }
}

/* The watchdog's ping is answered while every handler slot is busy (busy is not stuck). */
START_TEST(test_ping_while_busy) {
        SlowCall calls[4];
        pthread_t t[4];
        uint64_t before;
        double t0;

        slow_calls_start(calls, t);
        before = http_server_ping(server);
        t0 = test_now();
        while (http_server_ping(server) == before && test_now() - t0 < 5)
                usleep(10 * 1000);
        ck_assert_uint_gt(http_server_ping(server), before);
        ck_assert_uint_eq(http_server_in_flight(server), 4); /* answered before any handler ended */
        slow_calls_join(calls, t);
}
END_TEST

/* A control route is answered while every handler slot is busy; any other route waits its turn. */
START_TEST(test_control_while_busy) {
        static const char get_control[] = "GET /control HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                          get_ok[] = "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        SlowCall calls[4];
        RawResponse r = {};
        pthread_t t[4];

        slow_calls_start(calls, t);
        for (int i = 0; i < 3; i++) { /* one after another: a slot is given back each time */
                ck_assert_int_eq(test_http(port, get_control, &r), 0);
                ck_assert_int_eq(r.status, 200);
                raw_response_done(&r);
        }
        ck_assert_uint_eq(http_server_in_flight(server), 4); /* no slow handler has ended */
        ck_assert_int_eq(test_http(port, get_ok, &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
        ck_assert_uint_le(http_server_in_flight(server), 3); /* /ok ran once a slow one ended */
        slow_calls_join(calls, t);
}
END_TEST

START_TEST(test_drain_timeout) {
        SlowCall call = { .port = port };
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 2, .shutdown_timeout_ms = 100 };
        pthread_t t;
        double t0;

        /* Replace the fixture's server with one whose drain deadline is shorter than /slow. */
        ck_assert_int_eq(http_server_shutdown(server), 0);
        http_server_free(server);
        ck_assert_int_eq(http_server_new(&c, &server), 0);
        ck_assert_int_eq(http_server_add_routes(server, routes, ELEMENTSOF(routes)), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        call.port = http_server_get_port(server);

        ck_assert_int_eq(pthread_create(&t, NULL, slow_call, &call), 0);
        t0 = test_now();
        while (http_server_in_flight(server) == 0 && test_now() - t0 < 5)
                usleep(1000);
        ck_assert_int_eq(http_server_shutdown(server), -ETIMEDOUT);
        pthread_join(t, NULL);
        raw_response_done(&call.r);
        http_server_free(server);
        server = NULL;
}
END_TEST

/* ---- request smuggling ----------------------------------------------------------- */

/* Each head frames its body ambiguously and carries a second request ("GET /count")
 * where a lenient parser would see one: 400, the connection closes, and no handler runs. */
START_TEST(test_smuggling_refused) {
#define RAW(x) \
        { x, sizeof(x) - 1 }
        static const struct {
                const char *data;
                size_t len;
        } attacks[] = {
                RAW("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                RAW("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 45\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 45\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
                    "0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 0\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \x0b"
                    "chunked\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: +0\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nX-A: b\0c\r\nContent-Length: 0\r\n\r\n"),
                /* Well-framed heads, broken chunked bodies: read by the server, refused. */
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "10000000000000045\r\n\r\n"),
                RAW("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"),
        };
        static const char second[] = "GET /count HTTP/1.1\r\nHost: t\r\n\r\n";

        for (size_t i = 0; i < ELEMENTSOF(attacks); i++) {
                const char *a = attacks[i].data;
                size_t alen = attacks[i].len;
                char *out = NULL, buf[512];
                unsigned before = atomic_load(&count_calls);
                double t0 = test_now();
                int fd = test_connect(port), n = 0;

                ck_assert_int_ge(fd, 0);
                memcpy(buf, a, alen);
                memcpy(buf + alen, second, sizeof(second) - 1);
                ck_assert_int_eq(test_send_all(fd, buf, alen + sizeof(second) - 1), 0);
                ck_assert_int_ge(test_read_all(fd, &out, 5000), 0);
                close(fd);
                ck_assert_msg(startswith(out, "HTTP/1.1 400 "), "case %zu: %s", i, out);
                ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
                for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")); p++)
                        n++;
                ck_assert_msg(n == 1, "case %zu: %d responses: %s", i, n, out);
                ck_assert_msg(test_now() - t0 < 2.0, "case %zu: closed after %.2fs", i, test_now() - t0);
                ck_assert_uint_eq(atomic_load(&count_calls), before);
                free(out);
        }
        /* The same second request, well framed after a good one, is served (pipelining). */
        {
                RawResponse r;
                unsigned before = atomic_load(&count_calls);

                ck_assert_int_eq(
                        test_http(
                                port,
                                "POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"
                                "GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                                &r),
                        0);
                ck_assert_ptr_nonnull(strstr(r.raw, "2 bytes"));
                ck_assert_uint_eq(atomic_load(&count_calls), before + 1);
                raw_response_done(&r);
        }
}
END_TEST

/* ---- the pre-body hook ----------------------------------------------------------- */

/* Refused with 401 from the head alone: the 64 MiB body the client then tries to send is
 * never read (the send stalls at what the socket buffers hold, then the connection is
 * reset), and the handler never runs. */
START_TEST(test_pre_body_refusal) {
        char head[256], buf[4096] = "";
        unsigned hooks = atomic_load(&hook_calls), calls = atomic_load(&guarded_calls);
        size_t sent = 0;
        int fd, err;

        fd = test_connect(port);
        ck_assert_int_ge(fd, 0);
        snprintf(
                head,
                sizeof(head),
                "POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n",
                64 << 20);
        ck_assert_int_eq(test_send_str(fd, head), 0);
        ck_assert_int_gt(test_recv_some(fd, buf, sizeof(buf), 2000), 0);
        ck_assert_msg(startswith(buf, "HTTP/1.1 401 "), "%s", buf);
        ck_assert_ptr_nonnull(strstr(buf, "WWW-Authenticate: Key\r\n"));
        ck_assert_ptr_nonnull(strstr(buf, "Connection: close\r\n"));

        err = test_send_until_error(fd, 64u << 20, 5000, &sent);
        ck_assert_msg(err == EPIPE || err == ECONNRESET, "send went on: %zu bytes, errno %d", sent, err);
        ck_assert_msg(sent < (16u << 20), "the server read %zu bytes of the refused body", sent);
        close(fd);
        ck_assert_uint_eq(atomic_load(&hook_calls), hooks + 1);
        ck_assert_uint_eq(atomic_load(&guarded_calls), calls);
        ck_assert(!atomic_load(&hook_saw_body));
}
END_TEST

START_TEST(test_pre_body_pass) {
        RawResponse r;
        char buf[64];
        unsigned calls = atomic_load(&guarded_calls);

        ck_assert_int_eq(
                test_http(
                        port,
                        "POST /guarded HTTP/1.1\r\nHost: t\r\nX-Key: yes\r\nConnection: close\r\n"
                        "Content-Length: 3\r\n\r\nabc",
                        &r),
                0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "checked"); /* the scratch the hook wrote */
        ck_assert_str_eq(test_header(&r, "X-Hook", buf, sizeof(buf)), "seen");
        ck_assert_uint_eq(atomic_load(&guarded_calls), calls + 1);
        raw_response_done(&r);

        /* With Expect: 100-continue a refused client is never asked for its body. */
        ck_assert_int_eq(
                test_http(
                        port,
                        "POST /guarded HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                        "Content-Length: 3\r\n\r\n",
                        &r),
                0);
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_null(strstr(r.raw, "100 Continue"));
        raw_response_done(&r);
}
END_TEST

/* ---- deadlines and slow clients ------------------------------------------------------ */

/* One byte of the body every 100 ms: each byte used to restart the timeout; now the
 * request's deadline (1 s from its first byte) ends it, and no handler runs. */
static void dribble_body(const char *path, double max_s) {
        char *out = NULL;
        double t0 = test_now(), cut;
        int fd = test_connect(port), i;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        path[1] == 'r' ? "POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
                                       : "POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"),
                0);
        for (i = 0; i < 100; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                if (poll(&p, 1, 100) > 0)
                        break; /* answered or closed */
                if (test_send_all(fd, "x", 1) < 0)
                        break;
        }
        cut = test_now() - t0;
        ck_assert_int_ge(test_read_all(fd, &out, 3000), 0);
        close(fd);
        ck_assert_msg(cut >= 0.9 && cut < max_s, "%s: cut off after %.2fs (%d bytes sent)", path, cut, i);
        ck_assert_ptr_null(strstr(out, " 200 "));
        free(out);
}

START_TEST(test_total_deadline) {
        dribble_body("/raw", 1.6);
        /* A stream route's handler reads it: the same deadline (plus 1 s per 64 KiB). */
        stream_last_error = 0;
        dribble_body("/stream", 1.6);
        ck_assert_int_eq(stream_last_error, -EIO);
}
END_TEST

typedef struct Dribblers {
        int *fds;
        size_t n;
        atomic_bool stop;
} Dribblers;

static void *dribble(void *userdata) {
        Dribblers *d = userdata;

        while (!atomic_load(&d->stop)) {
                for (size_t i = 0; i < d->n; i++)
                        (void) send(d->fds[i], "a", 1, MSG_NOSIGNAL);
                usleep(100 * 1000);
        }
        return NULL;
}

/* 300 connections sending their headers a byte every 100 ms hold no thread: a normal
 * request is answered at once, and the dribblers are still connected meanwhile. */
START_TEST(test_many_dribblers) {
        Dribblers d = { .n = 300 };
        RawResponse r;
        pthread_t t;
        double t0, took;

        /* A server whose deadline outlasts the test, with a registry of its own. */
        ck_assert_int_eq(http_server_shutdown(server), 0);
        http_server_free(server);
        metrics_registry_free(registry);
        ck_assert_int_eq(metrics_registry_new(&registry), 0);
        start_server(10000);
        d.fds = calloc(d.n, sizeof(int));
        for (size_t i = 0; i < d.n; i++) {
                d.fds[i] = test_connect(port);
                ck_assert_int_ge(d.fds[i], 0);
                ck_assert_int_eq(test_send_str(d.fds[i], "GET /ok HTTP/1.1\r\nHost: t\r\nX-Slow: "), 0);
        }
        ck_assert_int_eq(pthread_create(&t, NULL, dribble, &d), 0);
        usleep(300 * 1000);
        ck_assert_uint_ge(http_server_connections(server), d.n);
        for (int k = 0; k < 5; k++) {
                t0 = test_now();
                ck_assert_int_eq(
                        test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
                took = test_now() - t0;
                ck_assert_int_eq(r.status, 200);
                ck_assert_msg(took < 1.0, "served after %.3fs with %zu dribblers", took, d.n);
                raw_response_done(&r);
        }
        atomic_store(&d.stop, true);
        pthread_join(t, NULL);
        ck_assert_uint_ge(http_server_connections(server), d.n);
        for (size_t i = 0; i < d.n; i++)
                close(d.fds[i]);
        free(d.fds);
}
END_TEST

/* At the cap the connection idle longest makes room; with none idle, 503. */
START_TEST(test_connection_cap) {
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 2, .max_connections = 16 };
        int fds[16], p, idle;
        char *out = NULL;
        RawResponse r;

        replace_server(&c, routes, ELEMENTSOF(routes), -1);
        p = port;

        /* One idle keep-alive connection (it had a request), 15 with a half head. */
        idle = test_connect(p);
        ck_assert_int_eq(test_send_str(idle, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
        {
                char buf[512];
                ck_assert_int_gt(test_recv_some(idle, buf, sizeof(buf), 2000), 0);
        }
        for (int i = 0; i < 15; i++) {
                fds[i] = test_connect(p);
                ck_assert_int_eq(test_send_str(fds[i], "GET /ok HTTP/1.1\r\n"), 0);
        }
        usleep(200 * 1000);
        ck_assert_uint_eq(http_server_connections(server), 16);
        /* The 17th evicts the idle one and is served. */
        ck_assert_int_eq(test_http(p, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
        ck_assert_int_ge(test_read_all(idle, &out, 2000), 0);
        ck_assert_str_eq(out, ""); /* closed */
        free(out);
        close(idle);
        /* Now all 16 are mid-request: a new one hears 503. */
        fds[15] = test_connect(p);
        ck_assert_int_eq(test_send_str(fds[15], "GET /ok HTTP/1.1\r\n"), 0);
        usleep(200 * 1000);
        ck_assert_int_eq(test_http(p, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 503);
        ck_assert_ptr_nonnull(strstr(r.raw, "Retry-After: 1"));
        raw_response_done(&r);
        for (int i = 0; i < 16; i++)
                close(fds[i]);
}
END_TEST

/* Bodies being received cost memory: their total is held to HTTP_THREADS full bodies (here
 * 2 x 4096 bytes), as when a thread read each; one more gets 503 until one completes. */
START_TEST(test_body_budget) {
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 2, .max_body = 4096 };
        HttpRoute raw = { "POST", "/raw", handle_raw, HTTP_ROUTE_ANY_CONTENT_TYPE, NULL };
        static const char head[] = "POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 4000\r\n\r\nabc";
        char body[4100];
        int a, b;
        RawResponse r;

        replace_server(&c, &raw, 1, -1);
        memset(body, 'x', sizeof(body));

        a = test_connect(port);
        b = test_connect(port);
        ck_assert_int_eq(test_send_str(a, head), 0);
        ck_assert_int_eq(test_send_str(b, head), 0);
        usleep(200 * 1000);
        ck_assert_int_eq(test_http(port, head, &r), 0); /* its body never comes: answered at once */
        ck_assert_msg(r.status == 503, "%s", r.raw);
        ck_assert_ptr_nonnull(strstr(r.raw, "Retry-After: 1\r\n"));
        raw_response_done(&r);

        /* One completes: its share is free again. */
        ck_assert_int_eq(test_send_all(a, body, 3997), 0);
        expect_text(a, 200, "4000 bytes");
        memcpy(body, head, sizeof(head) - 1);
        memset(body + sizeof(head) - 1, 'x', 3997);
        ck_assert_int_eq(test_http_raw(port, body, sizeof(head) - 1 + 3997, &r), 0);
        ck_assert_msg(r.status == 200, "%s", r.raw);
        raw_response_done(&r);
        close(b);
}
END_TEST

/* ---- adopted sockets ------------------------------------------------------------------ */

static int listening_socket(int *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 16), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

/* Sends request on fd and reads until EOF or timeout_ms: a 200 whose head says
 * Connection: close exactly when close is true. */
static void send_expect_200(int fd, const char *request, int timeout_ms, bool close) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(test_send_str(fd, request), 0);
        ck_assert_int_gt(test_read_all(fd, &out, timeout_ms), 0);
        ck_assert_msg(
                startswith(out, "HTTP/1.1 200 ") && !!strcasestr(out, "Connection: close") == close,
                "%s",
                out);
}

START_TEST(test_adopt_socket) {
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 2 };
        int fd, other, adopted_port;
        RawResponse r;

        /* Not a listening socket, or a server already started: refused. */
        other = socket(AF_INET, SOCK_STREAM, 0);
        {
                _cleanup_(http_server_freep) HttpServer *unstarted = NULL;

                ck_assert_int_eq(http_server_new(&c, &unstarted), 0);
                ck_assert_int_eq(http_server_adopt_socket(unstarted, other), -EINVAL);
        }
        ck_assert_int_eq(http_server_adopt_socket(server, other), -EBUSY);
        close(other);
        fd = listening_socket(&adopted_port);
        replace_server(&c, routes, ELEMENTSOF(routes), fd);
        ck_assert_int_ne(port, adopted_port);

        /* Served on both: the adopted socket and the own address. */
        ck_assert_int_eq(
                test_http(adopted_port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);

        /* Draining: the adopted socket is no longer accepted on (the connection waits in
         * its queue for the next instance), the own address answers 503; a keep-alive
         * connection from the adopted socket is still served, with Connection: close, so
         * that its client reconnects to the queue. */
        {
                SlowCall call = { .port = port };
                pthread_t t;
                int waiting, kept, replied;
                char *out = NULL;

                kept = test_connect(adopted_port);
                ck_assert_int_ge(kept, 0);
                send_expect_200(kept, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", 300, false);
                /* Its handler still runs when the drain begins: the reply said keep-alive,
                 * so the connection must stay for the client's next request. */
                replied = test_connect(adopted_port);
                ck_assert_int_ge(replied, 0);
                send_expect_200(replied, "GET /reply-first HTTP/1.1\r\nHost: t\r\n\r\n", 100, false);

                ck_assert_int_eq(pthread_create(&t, NULL, slow_call, &call), 0);
                while (http_server_in_flight(server) < 2) /* /reply-first and /slow */
                        usleep(1000);
                atomic_store(&shutdown_started, false);
                ck_assert_int_eq(pthread_create(&shutdown_thread, NULL, shutdown_async, server), 0);
                while (!http_server_is_draining(server))
                        usleep(1000);
                waiting = test_connect(adopted_port); /* completes in the kernel's queue */
                ck_assert_int_ge(waiting, 0);
                ck_assert_int_eq(test_send_str(waiting, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
                ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", &r), 0);
                ck_assert_int_eq(r.status, 503);
                raw_response_done(&r);
                send_expect_200(kept, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", 2000, true);
                close(kept);
                /* Sent while its handler still runs, served once it returns. */
                send_expect_200(replied, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", 3000, true);
                close(replied);
                pthread_join(t, NULL);
                pthread_join(shutdown_thread, NULL);
                ck_assert_int_eq(call.r.status, 200);
                raw_response_done(&call.r);
                /* Never answered by this instance: still queued (nothing read, no EOF). */
                ck_assert_int_eq(test_read_all(waiting, &out, 300), 0);
                free(out);
                close(waiting);
        }
        http_server_free(server);
        server = NULL;
}
END_TEST

/* ---- a streaming handler and its client's close ------------------------------------------ */

typedef struct GoneWait {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool woken;
} GoneWait;

static _Atomic double gone_noticed_after;
static atomic_bool gone_seen;

static void on_gone(void *userdata) {
        GoneWait *w = userdata;

        pthread_mutex_lock(&w->lock);
        w->woken = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

/* GET /events: an SSE-like stream that waits up to 5 s for its client to go away, with
 * what the callback touches on its stack (so it ends the watch before returning). */
static int handle_events(HttpRequest *req, void *userdata) {
        GoneWait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
        struct timespec ts;
        double t0;
        int r;

        r = http_reply_stream_begin(req, 200, "text/event-stream");
        if (r >= 0)
                r = http_reply_stream_write(req, "data: hello\n\n", 13);
        if (r < 0)
                return 0;
        t0 = test_now();
        if (streq(strempty(http_request_query(req)), "poll")) {
                while (!http_request_client_gone(req) && test_now() - t0 < 5)
                        usleep(10 * 1000);
        } else {
                ck_assert_int_eq(http_request_watch_gone(req, on_gone, &w), 0);
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 5;
                pthread_mutex_lock(&w.lock);
                while (!w.woken)
                        if (pthread_cond_timedwait(&w.cond, &w.lock, &ts) != 0)
                                break;
                pthread_mutex_unlock(&w.lock);
                ck_assert_int_eq(http_request_watch_gone(req, NULL, NULL), 0);
        }
        atomic_store(&gone_seen, http_request_client_gone(req));
        atomic_store(&gone_noticed_after, test_now() - t0);
        ck_assert_int_eq(http_reply_stream_write(req, "data: late\n\n", 12), -EPIPE);
        return 0;
}

START_TEST(test_stream_client_closed) {
        static const char *const modes[] = { "", "?poll" };
        HttpRoute ev = { "GET", "/events", handle_events, 0, NULL };
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 2 };

        replace_server(&c, &ev, 1, -1);

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                char req[128], buf[1024] = "";
                struct pollfd p;
                double t0;
                int fd = test_connect(port);

                atomic_store(&gone_noticed_after, -1.0);
                snprintf(req, sizeof(req), "GET /events%s HTTP/1.1\r\nHost: t\r\n\r\n", modes[i]);
                ck_assert_int_eq(test_send_str(fd, req), 0);
                p = (struct pollfd){ .fd = fd, .events = POLLIN };
                for (size_t got = 0; !strstr(buf, "hello");) {
                        ssize_t k;

                        ck_assert_int_eq(poll(&p, 1, 2000), 1);
                        k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
                        ck_assert_int_gt(k, 0);
                        got += (size_t) k;
                }
                usleep(100 * 1000);
                close(fd);
                t0 = test_now();
                while (atomic_load(&gone_noticed_after) < 0 && test_now() - t0 < 6)
                        usleep(5000);
                ck_assert_msg(
                        test_now() - t0 < 0.5, "mode '%s': noticed after %.2fs", modes[i], test_now() - t0);
                ck_assert(atomic_load(&gone_seen));
        }
}
END_TEST

/* ---- HTTP/1.0, HEAD and pipelining ----------------------------------------------------------- */

START_TEST(test_http10_and_head) {
        RawResponse r;
        char buf[64];
        int fd;
        char *out = NULL;

        /* 1.0 without keep-alive: the reply closes. */
        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.0\r\n\r\n", &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.raw, "Connection: close\r\n"));
        raw_response_done(&r);

        /* 1.0 with keep-alive: said so, and a second request on the connection works. */
        fd = test_connect(port);
        ck_assert_int_eq(
                test_send_str(
                        fd,
                        "GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                        "HEAD /ok HTTP/1.0\r\n\r\n"),
                0);
        ck_assert_int_ge(test_read_all(fd, &out, 3000), 0);
        close(fd);
        ck_assert_ptr_nonnull(strstr(out, "Connection: keep-alive\r\n"));
        /* HEAD (no route for it here: 405): the length of the body it would have had,
         * and no body; the connection closes right after the head. */
        {
                const char *second = strstr(out + 1, "HTTP/1.1 405"), *end;

                ck_assert_msg(second != NULL, "%s", out);
                ck_assert_ptr_nonnull(strstr(second, "Allow: GET\r\n"));
                ck_assert_ptr_null(strstr(second, "Content-Length: 0\r\n"));
                end = strstr(second, "\r\n\r\n");
                ck_assert_ptr_nonnull(end);
                ck_assert_str_eq(end, "\r\n\r\n");
        }
        free(out);

        /* Three pipelined requests sent at once are answered in order. */
        ck_assert_int_eq(
                test_http(
                        port,
                        "GET /jobs/a HTTP/1.1\r\nHost: t\r\n\r\nGET /jobs/b HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /jobs/c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                        &r),
                0);
        {
                const char *a = strstr(r.raw, "\"id\":\"a\""), *b = strstr(r.raw, "\"id\":\"b\""),
                           *c = strstr(r.raw, "\"id\":\"c\"");
                ck_assert(a && b && c && a < b && b < c);
        }
        (void) buf;
        raw_response_done(&r);
}
END_TEST

/* ---- the access log ---------------------------------------------------------------------- */

static char *capture_log(bool access_log) {
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 2, .access_log = access_log };
        char path[] = "/tmp/test-http-log-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        char *text = NULL;
        RawResponse r;
        FILE *f;
        long size;

        replace_server(&c, routes, ELEMENTSOF(routes), -1);
        log_set_max_level(LOG_INFO);
        ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        ck_assert_int_eq(test_http(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        raw_response_done(&r);
        ck_assert_int_eq(
                test_http(port, "GET /fail HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r), 0);
        raw_response_done(&r);
        ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        log_set_max_level(LOG_WARNING);
        f = fdopen(fd, "r");
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        rewind(f);
        text = calloc(1, (size_t) size + 1);
        ck_assert_uint_eq(fread(text, 1, (size_t) size, f), (size_t) size);
        fclose(f);
        close(saved);
        unlink(path);
        return text;
}

START_TEST(test_access_log_switch) {
        char *off = capture_log(false), *on = capture_log(true);

        /* Off (the default): no line for the 200, a warning for the 500. */
        ck_assert_msg(!strstr(off, "\"path\":\"/ok\""), "%s", off);
        ck_assert_msg(strstr(off, "\"level\":\"warning\"") && strstr(off, "\"path\":\"/fail\""), "%s", off);
        /* On: an info line per request with its fields. */
        ck_assert_msg(strstr(on, "\"path\":\"/ok\"") && strstr(on, "\"status\":\"200\""), "%s", on);
        ck_assert_ptr_nonnull(strstr(on, "\"duration_ms\":"));
        free(off);
        free(on);
}
END_TEST

START_TEST(test_bad_config) {
        HttpServer *s = NULL;

        ck_assert_int_eq(http_server_new(&(HttpServerConfig){ .listen = "nonsense" }, &s), -EINVAL);
        ck_assert_int_eq(http_server_new(&(HttpServerConfig){}, &s), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(
                http_server_add_routes(server, &(HttpRoute){ "GET", "relative", handle_ok, 0, NULL }, 1),
                -EBUSY);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-server");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 30);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_valid_request);
        tcase_add_test(tc, test_ping_while_busy);
        tcase_add_test(tc, test_control_while_busy);
        tcase_add_test(tc, test_request_id);
        tcase_add_test(tc, test_malformed_json);
        tcase_add_test(tc, test_validation);
        tcase_add_test(tc, test_body_too_large);
        tcase_add_test(tc, test_expect_continue);
        tcase_add_test(tc, test_stream_content_length);
        tcase_add_test(tc, test_stream_chunked);
        tcase_add_test(tc, test_stream_too_large);
        tcase_add_test(tc, test_stream_slow_client);
        tcase_add_test(tc, test_stream_client_gone);
        tcase_add_test(tc, test_not_found_and_method);
        tcase_add_test(tc, test_routing_params);
        tcase_add_test(tc, test_content_type);
        tcase_add_test(tc, test_nul_byte);
        tcase_add_test(tc, test_handler_error);
        tcase_add_test(tc, test_slow_client);
        tcase_add_test(tc, test_keep_alive);
        tcase_add_test(tc, test_metrics);
        tcase_add_test(tc, test_graceful_drain);
        tcase_add_test(tc, test_drain_timeout);
        tcase_add_test(tc, test_bad_config);
        tcase_add_test(tc, test_smuggling_refused);
        tcase_add_test(tc, test_pre_body_refusal);
        tcase_add_test(tc, test_pre_body_pass);
        tcase_add_test(tc, test_total_deadline);
        tcase_add_test(tc, test_many_dribblers);
        tcase_add_test(tc, test_connection_cap);
        tcase_add_test(tc, test_body_budget);
        tcase_add_test(tc, test_adopt_socket);
        tcase_add_test(tc, test_stream_client_closed);
        tcase_add_test(tc, test_http10_and_head);
        tcase_add_test(tc, test_access_log_switch);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
