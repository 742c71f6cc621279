/* SPDX-License-Identifier: MIT */
/* test-http-host.c — the Host allow-list (DNS rebinding) and the cross-site test (CSRF),
 * the second through a real server and raw requests. */
#include <check.h>

#include "check-run.h"
#include "http-host.h"
#include "test-http-util.h"

START_TEST(test_allowed) {
        static const char *const ok[] = {
                "localhost",      "localhost:8080", "LOCALHOST:1", "127.0.0.1",
                "127.0.0.1:8080", "[::1]",          "[::1]:8090",
        };
        static const char *const refused[] = {
                "evil.example",
                "evil.example:8080",
                "localhost.",
                "localhost.evil.example",
                "127.0.0.2:8080",
                "127.0.0.1.nip.io",
                "[::2]:80",
                "0.0.0.0:8080",
                "",
                ":8080",
                "localhost:",
                "localhost:123456",
                "localhost:80x",
                "[::1",
                "local host",
                "localhost:80:80",
                "10.0.0.5:8080",
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                ck_assert_msg(http_host_allowed(ok[i], NULL), "%s", ok[i]);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                ck_assert_msg(!http_host_allowed(refused[i], ""), "%s", refused[i]);
        ck_assert(http_host_allowed(NULL, NULL)); /* HTTP/1.0 without Host: no browser */

        /* Extra names: any port, or the one named; case-insensitive. */
        ck_assert(http_host_allowed("ai.example.internal", " ai.example.internal , 10.0.0.5:8443"));
        ck_assert(http_host_allowed("AI.Example.Internal:8080", "ai.example.internal,10.0.0.5:8443"));
        ck_assert(http_host_allowed("10.0.0.5:8443", "ai.example.internal,10.0.0.5:8443"));
        ck_assert(!http_host_allowed("10.0.0.5:8080", "ai.example.internal,10.0.0.5:8443"));
        ck_assert(!http_host_allowed("10.0.0.5", "ai.example.internal,10.0.0.5:8443"));
        ck_assert(!http_host_allowed("example.internal", "ai.example.internal"));
        ck_assert(http_host_allowed("[fd00::5]:80", "[fd00::5]"));
}
END_TEST

START_TEST(test_list_check) {
        char bad[64] = "";

        ck_assert_int_eq(http_host_list_check(NULL, bad, sizeof(bad)), 0);
        ck_assert_int_eq(http_host_list_check("", bad, sizeof(bad)), 0);
        ck_assert_int_eq(http_host_list_check("a.example, b.example:8080,[fd00::1]:1", bad, sizeof(bad)), 0);
        ck_assert_int_eq(http_host_list_check("a.example, http://b.example", bad, sizeof(bad)), -EINVAL);
        ck_assert_str_eq(bad, "http://b.example");
        ck_assert_int_eq(http_host_list_check("a.example,b example", bad, sizeof(bad)), -EINVAL);
        ck_assert_str_eq(bad, "b example");
        ck_assert_int_eq(http_host_list_check("*.example", bad, sizeof(bad)), -EINVAL);
}
END_TEST

static int answer(HttpRequest *req, void *userdata) {
        int r = http_host_check(req, userdata, "TEST_ALLOWED_HOSTS");

        if (r < 0)
                return 0; /* answered 421 */
        return http_reply_text(req, 200, http_request_cross_site(req) ? "cross-site" : "same-site");
}

static int port;

static const char *ask(const char *headers, RawResponse *r) {
        char req[1024];

        snprintf(
                req,
                sizeof(req),
                "POST /x HTTP/1.1\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
                headers);
        ck_assert_int_eq(test_http(port, req, r), 0);
        return r->body;
}

START_TEST(test_through_a_server) {
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        const HttpRoute route = { "POST", "/x", answer, HTTP_ROUTE_ANY_CONTENT_TYPE, (void *) "ai.example" };
        static const struct {
                const char *headers;
                int status;
                const char *body;
        } cases[] = {
                { "Host: 127.0.0.1:8090\r\n", 200, "same-site" },
                { "Host: 127.0.0.1:8090\r\nOrigin: http://127.0.0.1:8090\r\nSec-Fetch-Site: same-origin\r\n",
                  200,
                  "same-site" },
                { "Host: localhost\r\nSec-Fetch-Site: none\r\n", 200, "same-site" },
                { "Host: ai.example:443\r\n", 200, "same-site" },
                /* a form or fetch from another page */
                { "Host: 127.0.0.1:8090\r\nOrigin: http://evil.example\r\n", 200, "cross-site" },
                { "Host: 127.0.0.1:8090\r\nOrigin: http://localhost:3000\r\n", 200, "cross-site" },
                { "Host: 127.0.0.1:8090\r\nOrigin: null\r\n", 200, "cross-site" },
                { "Host: 127.0.0.1:8090\r\nSec-Fetch-Site: cross-site\r\n", 200, "cross-site" },
                { "Host: 127.0.0.1:8090\r\nSec-Fetch-Site: same-site\r\n", 200, "cross-site" },
                { "Host: 127.0.0.1:8090\r\nOrigin: https://127.0.0.1:8090\r\n", 200, "cross-site" },
                /* a rebound name */
                { "Host: evil.example:8090\r\n", 421, NULL },
        };

        ck_assert_int_eq(
                http_server_new(&(HttpServerConfig){ .listen = "127.0.0.1:0", .threads = 2 }, &s), 0);
        ck_assert_int_eq(http_server_add_routes(s, &route, 1), 0);
        ck_assert_int_eq(http_server_start(s), 0);
        port = http_server_get_port(s);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                RawResponse r;
                const char *body = ask(cases[i].headers, &r);

                ck_assert_msg(r.status == cases[i].status, "case %zu: %d", i, r.status);
                if (cases[i].body)
                        ck_assert_msg(streq(body, cases[i].body), "case %zu: %s", i, body);
                else
                        ck_assert_msg(
                                strstr(body, "not served under the name 'evil.example:8090'") &&
                                        strstr(body, "TEST_ALLOWED_HOSTS") &&
                                        strstr(r.raw, "Content-Type: application/problem+json"),
                                "case %zu: %s",
                                i,
                                r.raw);
                raw_response_done(&r);
        }
        (void) http_server_shutdown(s);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-host");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_allowed);
        tcase_add_test(tc, test_list_check);
        tcase_add_test(tc, test_through_a_server);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
