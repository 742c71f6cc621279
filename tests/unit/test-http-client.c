/* SPDX-License-Identifier: MIT */
/* test-http-client.c — the libcurl wrapper against an in-process server: bodies, caps,
 * timeouts, error mapping, request ids and parallel requests. */
#include <check.h>

#include <curl/curl.h>

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

static const HttpRoute routes[] = {
        { "GET", "/hello", handle_hello, 0, NULL },
        { "GET", "/big", handle_big, 0, NULL },
        { "GET", "/sleep", handle_sleep, 0, NULL },
        { "POST", "/post", handle_post, 0, NULL },
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

static Suite *suite(void) {
        Suite *s = suite_create("http-client");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_get);
        tcase_add_test(tc, test_post_and_request_id);
        tcase_add_test(tc, test_body_cap);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_parallel);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
