/* SPDX-License-Identifier: MIT */
/* test-supervisor-api.c — the supervisor's HTTP API (daemon-http.c) as a browser or another
 * local user would reach it: Host checked on every route (DNS rebinding), the POST routes
 * (monitoring off and on) refusing cross-site requests and wanting an admin token signed
 * with the pod's JWT secret. A daemon with no units behind it, served on an ephemeral port. */
#include <check.h>

#include "auth-jwt.h"
#include "check-run.h"
#include "daemon.h"
#include "test-http-util.h"

static const char SECRET[] = "0123456789abcdef0123456789abcdef-supervisor-test";

static Supervisor sup;
static Daemon d;
static int port;

static void start_daemon(bool with_key) {
        sup = (Supervisor){ .cfg = { .listen = (char *) "127.0.0.1:0", .check_interval_ms = 5000 } };
        d = (Daemon){ .s = &sup, .monitoring = true, .started_usec = time_now_usec(CLOCK_REALTIME) };
        pthread_mutex_init(&d.lock, NULL);
        d.w = calloc(1, sizeof(Watched));
        ck_assert_ptr_nonnull(d.w);
        d.w[0] = (Watched){ .name = strdup("pod"), .unit = strdup("pod-ai-semble.service"), .is_pod = true };
        ck_assert_int_eq(alert_store_init(&d.alerts, 16, 1000000, 100, 60000000), 0);
        if (with_key)
                ck_assert_int_eq(
                        auth_jwt_new(
                                &(AuthJwtOptions){ .hs_secret = SECRET, .hs_secret_len = strlen(SECRET) },
                                &d.jwt),
                        0);
        ck_assert_int_eq(daemon_http_start(&d), 0);
        port = http_server_get_port(d.http);
        ck_assert_int_gt(port, 0);
}

static void stop_daemon(void) {
        daemon_done(&d);
}

/* "Authorization: Bearer <token>\r\n" for sub/role, signed with key. */
static void bearer(char *buf, size_t size, const char *key, const char *role) {
        _cleanup_free_ char *tok = NULL;

        ck_assert_int_eq(
                auth_jwt_mint_hs256(
                        key, strlen(key), "ops", role, NULL, NULL, (int64_t) time(NULL), 600, &tok),
                0);
        snprintf(buf, size, "Authorization: Bearer %s\r\n", tok);
}

/* One request with the given header lines; returns the status, the body into body. */
static int ask(const char *method, const char *path, const char *headers, char *body, size_t size) {
        char req[2048];
        RawResponse r;
        int status;

        snprintf(
                req,
                sizeof(req),
                "%s %s HTTP/1.1\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
                method,
                path,
                headers);
        ck_assert_int_eq(test_http(port, req, &r), 0);
        status = r.status;
        if (body)
                snprintf(body, size, "%s", r.body);
        raw_response_done(&r);
        return status;
}

static bool monitoring(void) {
        bool on;

        pthread_mutex_lock(&d.lock);
        on = d.monitoring;
        pthread_mutex_unlock(&d.lock);
        return on;
}

/* A form on evil.example (text/plain, no token) cannot switch self-healing off, nor can
 * a token sent from another origin; the admin's own request can. */
START_TEST(test_post_needs_admin_token) {
        char admin[1024], viewer[1024], forged[1024], h[2048], body[1024];

        start_daemon(true);
        bearer(admin, sizeof(admin), SECRET, "admin");
        bearer(viewer, sizeof(viewer), SECRET, "viewer");
        bearer(forged, sizeof(forged), "another-secret-of-32-bytes-or-more!!", "admin");

        ck_assert_int_eq(
                ask("POST",
                    "/api/monitoring/stop",
                    "Host: 127.0.0.1:8090\r\nContent-Type: text/plain\r\n",
                    body,
                    sizeof(body)),
                401);
        ck_assert_ptr_nonnull(strstr(body, "deploy.sh token --role admin"));
        snprintf(h, sizeof(h), "Host: 127.0.0.1:8090\r\n%s", viewer);
        ck_assert_int_eq(ask("POST", "/api/monitoring/stop", h, NULL, 0), 403);
        snprintf(h, sizeof(h), "Host: 127.0.0.1:8090\r\n%s", forged);
        ck_assert_int_eq(ask("POST", "/api/monitoring/stop", h, NULL, 0), 401);
        snprintf(h, sizeof(h), "Host: 127.0.0.1:8090\r\nOrigin: http://evil.example\r\n%s", admin);
        ck_assert_int_eq(ask("POST", "/api/monitoring/stop", h, body, sizeof(body)), 403);
        ck_assert_ptr_nonnull(strstr(body, "cross-site"));
        snprintf(h, sizeof(h), "Host: 127.0.0.1:8090\r\nSec-Fetch-Site: cross-site\r\n%s", admin);
        ck_assert_int_eq(ask("POST", "/api/monitoring/stop", h, NULL, 0), 403);
        ck_assert(monitoring());

        /* The status page's own button: same origin, admin token. */
        snprintf(
                h,
                sizeof(h),
                "Host: 127.0.0.1:8090\r\nOrigin: http://127.0.0.1:8090\r\nSec-Fetch-Site: same-origin\r\n%s",
                admin);
        ck_assert_int_eq(ask("POST", "/api/monitoring/stop", h, body, sizeof(body)), 200);
        ck_assert_ptr_nonnull(strstr(body, "\"monitoring\":false"));
        ck_assert(!monitoring());
        snprintf(h, sizeof(h), "Host: localhost:8090\r\n%s", admin);
        ck_assert_int_eq(ask("POST", "/api/monitoring/start", h, NULL, 0), 200);
        ck_assert(monitoring());
        stop_daemon();
}
END_TEST

/* GET routes stay open on loopback, but only under the names the supervisor serves. */
START_TEST(test_host_checked) {
        char body[1024];

        start_daemon(true);
        ck_assert_int_eq(ask("GET", "/api/status", "Host: 127.0.0.1:8090\r\n", NULL, 0), 200);
        ck_assert_int_eq(ask("GET", "/", "Host: [::1]:8090\r\n", NULL, 0), 200);
        ck_assert_int_eq(ask("GET", "/api/status", "Host: evil.example:8090\r\n", body, sizeof(body)), 421);
        ck_assert_ptr_nonnull(strstr(body, "SUPERVISOR_ALLOWED_HOSTS"));
        ck_assert_int_eq(ask("GET", "/metrics", "Host: evil.example:8090\r\n", NULL, 0), 421);
        ck_assert_int_eq(ask("GET", "/", "Host: evil.example:8090\r\n", NULL, 0), 421);
        stop_daemon();
}
END_TEST

/* Without the pod's secret nothing can vouch for a caller: the POST routes answer 503. */
START_TEST(test_no_secret) {
        char body[1024];

        start_daemon(false);
        ck_assert_int_eq(
                ask("POST", "/api/monitoring/stop", "Host: 127.0.0.1\r\n", body, sizeof(body)), 503);
        ck_assert_ptr_nonnull(strstr(body, "SUPERVISOR_JWT_SECRET_FILE"));
        ck_assert(monitoring());
        ck_assert_int_eq(ask("GET", "/api/status", "Host: 127.0.0.1\r\n", NULL, 0), 200);
        stop_daemon();
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("supervisor-api");
        TCase *tc = tcase_create("api");

        tcase_add_test(tc, test_post_needs_admin_token);
        tcase_add_test(tc, test_host_checked);
        tcase_add_test(tc, test_no_secret);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
