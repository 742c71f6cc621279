/* SPDX-License-Identifier: MIT */
/* test-http-client.c — the libcurl wrapper against an in-process server: bodies, caps,
 * timeouts, error mapping, request ids and parallel requests. */
#include <check.h>

#include <curl/curl.h>
#include <pthread.h>

#include "check-run.h"
#include "http-client.h"
#include "http-server.h"
#include "log.h"
#include "test-http-util.h"

static HttpServer *server;
static int port;

static int handle_hello(HttpRequest *req, void *userdata) {
        char buf[256];

        snprintf(buf, sizeof(buf), "hello %s", strempty(http_request_header(req, "X-Request-ID")));
        return http_reply_text(req, 200, buf);
}

static int handle_big(HttpRequest *req, void *userdata) {
        static char big[100000];

        memset(big, 'x', sizeof(big));
        return http_reply(req, 200, "text/plain", big, sizeof(big));
}

static int handle_sleep(HttpRequest *req, void *userdata) {
        usleep(300 * 1000);
        return http_reply_text(req, 200, "late");
}

static int handle_post(HttpRequest *req, void *userdata) {
        size_t len;
        const char *body = http_request_body(req, &len);
        return http_reply(req, 201, "application/json", body, len);
}

/* A streamed upload: counts what arrives; upload_result says how it ended (bytes, or
 * -EIO when the body was cut short). */
static int64_t upload_result;
static pthread_mutex_t upload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t upload_done = PTHREAD_COND_INITIALIZER;

static int handle_upload(HttpRequest *req, void *userdata) {
        char buf[16384];
        int64_t total = 0;
        ssize_t n;

        while ((n = http_request_read_body(req, buf, sizeof(buf))) > 0)
                total += n;
        pthread_mutex_lock(&upload_lock);
        upload_result = n < 0 ? n : total;
        pthread_cond_broadcast(&upload_done);
        pthread_mutex_unlock(&upload_lock);
        return n < 0 ? http_reply_error(req, 400, "cut short") : http_reply_text(req, 201, "stored");
}

/* 3 MiB in 48 writes: more than a collected body may hold (1 MiB by default). */
static int handle_stream(HttpRequest *req, void *userdata) {
        static char piece[65536];
        int r;

        memset(piece, 'y', sizeof(piece));
        (void) http_reply_add_header(req, "X-Test", "yes");
        r = http_reply_stream_begin(req, 200, "text/event-stream");
        for (int i = 0; r >= 0 && i < 48; i++)
                r = http_reply_stream_write(req, piece, sizeof(piece));
        if (r >= 0)
                r = http_reply_stream_end(req);
        return r == -EPIPE ? 0 : r;
}

static const HttpRoute routes[] = {
        { "GET", "/hello", handle_hello, 0, NULL },
        { "GET", "/big", handle_big, 0, NULL },
        { "GET", "/sleep", handle_sleep, 0, NULL },
        { "POST", "/post", handle_post, 0, NULL },
        { "POST",
          "/upload",
          handle_upload,
          HTTP_ROUTE_STREAM_BODY | HTTP_ROUTE_ANY_CONTENT_TYPE,
          NULL,
          1 << 30 },
        { "GET", "/stream", handle_stream, 0, NULL },
};

static void setup(void) {
        log_init("test");
        log_set_journal(false);
        log_set_max_level(LOG_WARNING);
        ck_assert_int_eq(
                http_server_new(&(HttpServerConfig){ .listen = "127.0.0.1:0", .threads = 8 }, &server), 0);
        ck_assert_int_eq(http_server_add_routes(server, routes, ELEMENTSOF(routes)), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        port = http_server_get_port(server);
}

static void teardown(void) {
        (void) http_server_shutdown(server);
        http_server_free(server);
        http_client_pool_flush();
}

static char *url(const char *path) {
        char *u = NULL;
        ck_assert_int_ge(asprintf(&u, "http://127.0.0.1:%d%s", port, path), 0);
        return u;
}

START_TEST(test_get) {
        _cleanup_free_ char *u = url("/hello");
        HttpClientResponse r;

        ck_assert_int_eq(http_client_get(u, 2000, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "hello ");
        ck_assert_uint_eq(r.body_len, 6);
        ck_assert(r.total_ms >= 0);
        http_client_response_done(&r);
        ck_assert_ptr_null(r.body);

        /* Not found is a response, not an error. */
        free(u);
        u = url("/missing");
        ck_assert_int_eq(http_client_get(u, 2000, 0, &r), 0);
        ck_assert_int_eq(r.status, 404);
        ck_assert_ptr_nonnull(strstr(r.body, "\"status\":404"));
        http_client_response_done(&r);
}
END_TEST

START_TEST(test_post_and_request_id) {
        _cleanup_free_ char *u = url("/post"), *h = url("/hello");
        HttpClientRequest req = { .url = u, .body = "{\"a\":1}", .body_len = 7, .request_id = "rid-7" };
        HttpClientRequest get = { .url = h, .request_id = "rid-8" };

        ck_assert_int_eq(http_client_perform(&req), 0);
        ck_assert_int_eq(req.result, 0);
        ck_assert_int_eq(req.response.status, 201);
        ck_assert_str_eq(req.response.body, "{\"a\":1}");
        http_client_response_done(&req.response);

        ck_assert_int_eq(http_client_perform(&get), 0);
        ck_assert_str_eq(get.response.body, "hello rid-8");
        http_client_response_done(&get.response);
}
END_TEST

START_TEST(test_body_cap) {
        _cleanup_free_ char *u = url("/big");
        HttpClientResponse r = {};

        ck_assert_int_eq(http_client_get(u, 2000, 1000, &r), -EFBIG);
        ck_assert_ptr_null(r.body);
        ck_assert_int_eq(http_client_get(u, 2000, 200000, &r), 0);
        ck_assert_uint_eq(r.body_len, 100000);
        http_client_response_done(&r);
}
END_TEST

START_TEST(test_errors) {
        _cleanup_free_ char *u = url("/sleep"), *dead = NULL;
        HttpClientResponse r = {};
        double t0 = test_now();

        ck_assert_int_eq(http_client_get(u, 100, 0, &r), -ETIMEDOUT);
        ck_assert(test_now() - t0 < 0.29);

        ck_assert_int_ge(asprintf(&dead, "http://127.0.0.1:%d/", 1), 0);
        ck_assert_int_eq(http_client_get(dead, 1000, 0, &r), -ECONNREFUSED);
        ck_assert_int_eq(http_client_get("ftp://127.0.0.1/", 1000, 0, &r), -EINVAL);
        ck_assert_int_eq(http_client_get("file:///etc/passwd", 1000, 0, &r), -EINVAL);
        ck_assert_int_eq(http_client_get(NULL, 1000, 0, &r), -EINVAL);

        ck_assert_int_eq(http_client_errno_from_curl(CURLE_OK), 0);
        ck_assert_int_eq(http_client_errno_from_curl(CURLE_COULDNT_RESOLVE_HOST), -EHOSTUNREACH);
        ck_assert_int_eq(http_client_errno_from_curl(CURLE_GOT_NOTHING), -ECONNRESET);
        ck_assert_int_eq(http_client_errno_from_curl(CURLE_PEER_FAILED_VERIFICATION), -EPROTO);
        ck_assert_int_eq(http_client_errno_from_curl(CURLE_LDAP_CANNOT_BIND), -EIO);
}
END_TEST

START_TEST(test_parallel) {
        _cleanup_free_ char *s = url("/sleep"), *h = url("/hello");
        HttpClientRequest reqs[4] = {
                { .url = s, .timeout_ms = 2000 },
                { .url = s, .timeout_ms = 2000 },
                { .url = s, .timeout_ms = 2000 },
                { .url = h, .timeout_ms = 2000 },
        };
        double t0 = test_now();

        ck_assert_int_eq(http_client_perform_many(reqs, ELEMENTSOF(reqs)), 0);
        /* Three 300 ms handlers in parallel, not in sequence. */
        ck_assert_msg(test_now() - t0 < 0.8, "took %.2fs", test_now() - t0);
        for (size_t i = 0; i < ELEMENTSOF(reqs); i++) {
                ck_assert_int_eq(reqs[i].result, 0);
                ck_assert_int_eq(reqs[i].response.status, 200);
                http_client_response_done(&reqs[i].response);
        }
        ck_assert_int_eq(http_client_perform_many(NULL, 0), 0);
}
END_TEST

typedef struct Source {
        size_t left, stop_at; /* stop_at: fail once this much is sent (0 = never) */
        size_t sent;
} Source;

static ssize_t source_read(void *buf, size_t len, void *userdata) {
        Source *src = userdata;
        size_t n = MIN(len, src->left);

        if (src->stop_at && src->sent >= src->stop_at)
                return -EIO;
        memset(buf, 'z', n);
        src->left -= n;
        src->sent += n;
        return (ssize_t) n;
}

static int64_t wait_upload(void) {
        int64_t r;

        pthread_mutex_lock(&upload_lock);
        while (upload_result == 0)
                pthread_cond_wait(&upload_done, &upload_lock);
        r = upload_result;
        upload_result = 0;
        pthread_mutex_unlock(&upload_lock);
        return r;
}

START_TEST(test_streamed_upload) {
        _cleanup_free_ char *u = url("/upload");
        Source src = { .left = 5 * 1024 * 1024 };
        HttpClientRequest req = {
                .url = u, .content_type = "text/csv", .read_body = source_read, .userdata = &src
        };

        /* Chunked (no size given): all of it arrives. */
        ck_assert_int_eq(http_client_perform(&req), 0);
        ck_assert_int_eq(req.response.status, 201);
        ck_assert_int_eq(wait_upload(), 5 * 1024 * 1024);
        http_client_response_done(&req.response);

        /* With its size, then cut short by the source: the server sees the body end early. */
        src = (Source){ .left = 5 * 1024 * 1024, .stop_at = 1024 * 1024 };
        req = (HttpClientRequest){
                .url = u, .read_body = source_read, .userdata = &src, .body_len = 5 * 1024 * 1024
        };
        ck_assert_int_eq(http_client_perform(&req), -ECANCELED);
        ck_assert_int_eq(wait_upload(), -EIO);
        http_client_response_done(&req.response);
}
END_TEST

typedef struct Sink {
        size_t bytes, pieces;
        long status;
        char x_test[16], content_type[64];
        size_t stop_after;
} Sink;

static int sink_header(const char *name, const char *value, void *userdata) {
        Sink *k = userdata;

        if (streq(name, "X-Test"))
                snprintf(k->x_test, sizeof(k->x_test), "%s", value);
        if (streq(name, "Content-Type"))
                snprintf(k->content_type, sizeof(k->content_type), "%s", value);
        return 0;
}

static int sink_data(long status, const char *buf, size_t len, void *userdata) {
        Sink *k = userdata;

        k->status = status;
        k->bytes += len;
        k->pieces++;
        return k->stop_after && k->bytes >= k->stop_after ? -EPIPE : 0;
}

START_TEST(test_streamed_response) {
        _cleanup_free_ char *u = url("/stream");
        Sink k = {};
        HttpClientRequest req = { .url = u, .on_header = sink_header, .on_data = sink_data, .userdata = &k };

        /* Handed on as it arrives: no cap, nothing collected. */
        ck_assert_int_eq(http_client_perform(&req), 0);
        ck_assert_int_eq(k.status, 200);
        ck_assert_uint_eq(k.bytes, 48 * 65536);
        ck_assert_uint_gt(k.pieces, 1);
        ck_assert_str_eq(k.x_test, "yes");
        ck_assert_str_eq(k.content_type, "text/event-stream");
        ck_assert_ptr_null(req.response.body);

        /* The callback failing stops the transfer. */
        k = (Sink){ .stop_after = 65536 };
        req = (HttpClientRequest){ .url = u, .on_data = sink_data, .userdata = &k };
        ck_assert_int_eq(http_client_perform(&req), -ECANCELED);
        ck_assert_uint_lt(k.bytes, 48 * 65536);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-client");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_get);
        tcase_add_test(tc, test_post_and_request_id);
        tcase_add_test(tc, test_body_cap);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_parallel);
        tcase_add_test(tc, test_streamed_upload);
        tcase_add_test(tc, test_streamed_response);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
