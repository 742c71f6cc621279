/* SPDX-License-Identifier: MIT */
/* test-health.c — the health endpoints' shapes (the original's contract) and readiness
 * that follows the service's callback and the server's lifecycle. */
#include <check.h>
#include <math.h>

#include "check-run.h"
#include "health.h"
#include "log.h"
#include "test-http-util.h"
#include "time-util.h"

static HttpServer *server;
static HealthContext health = { .service = "unit", .version = "9.9.9" };
static int port;
static bool backend_ready;
static int backend_error;

static int readiness(json_object *response, bool *ret_ready, void *userdata) {
        json_object *checks = json_object_new_object();

        if (backend_error < 0) {
                json_object_put(checks);
                return backend_error;
        }
        json_object_object_add(checks, "backend", json_object_new_string(backend_ready ? "ok" : "down"));
        json_object_object_add(response, "checks", checks);
        *ret_ready = backend_ready;
        return 0;
}

static void setup(void) {
        log_init("test");
        log_set_journal(false);
        log_set_max_level(LOG_WARNING);
        backend_ready = true;
        backend_error = 0;
        health.readiness = readiness;
        health_set_started(&health, false);
        ck_assert_int_eq(
                http_server_new(&(HttpServerConfig){ .listen = "127.0.0.1:0", .threads = 2 }, &server), 0);
        ck_assert_int_eq(health_add_routes(server, &health), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        port = http_server_get_port(server);
}

static void teardown(void) {
        (void) http_server_shutdown(server);
        http_server_free(server);
}

static json_object *get(const char *path, int *ret_status) {
        char req[256];
        RawResponse r;
        json_object *o;

        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
        ck_assert_int_eq(test_http(port, req, &r), 0);
        *ret_status = r.status;
        o = json_tokener_parse(r.body);
        ck_assert_msg(o != NULL, "%s", r.raw);
        raw_response_done(&r);
        return o;
}

static json_object *field(json_object *o, const char *k) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, k, &v), "no field %s", k);
        return v;
}

static void assert_timestamp(json_object *o) {
        json_object *ts = field(o, "timestamp");
        ck_assert(json_object_is_type(ts, json_type_double));
        ck_assert(json_object_get_double(ts) > 1.6e9);
        ck_assert(fabs(json_object_get_double(ts) - time_now_s(CLOCK_REALTIME)) < 60);
}

START_TEST(test_health) {
        int status;
        json_object *o = get("/health", &status);

        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(json_object_get_string(field(o, "status")), "healthy");
        ck_assert_str_eq(json_object_get_string(field(o, "service")), "unit");
        ck_assert_str_eq(json_object_get_string(field(o, "version")), "9.9.9");
        assert_timestamp(o);
        ck_assert_int_eq(json_object_object_length(o), 4);
        json_object_put(o);
}
END_TEST

START_TEST(test_live) {
        int status;
        json_object *o = get("/health/live", &status);

        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(json_object_get_string(field(o, "status")), "alive");
        assert_timestamp(o);
        ck_assert_int_eq(json_object_object_length(o), 2);
        json_object_put(o);
}
END_TEST

START_TEST(test_ready_lifecycle) {
        int status;
        json_object *o;

        /* Not started yet: not ready even though the backend is. */
        o = get("/health/ready", &status);
        ck_assert_int_eq(status, 503);
        ck_assert_str_eq(json_object_get_string(field(o, "status")), "not_ready");
        ck_assert_str_eq(json_object_get_string(field(field(o, "checks"), "http")), "starting");
        json_object_put(o);

        health_set_started(&health, true);
        o = get("/health/ready", &status);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(json_object_get_string(field(o, "status")), "ready");
        ck_assert_str_eq(json_object_get_string(field(field(o, "checks"), "backend")), "ok");
        assert_timestamp(o);
        json_object_put(o);

        backend_ready = false;
        o = get("/health/ready", &status);
        ck_assert_int_eq(status, 503);
        ck_assert_str_eq(json_object_get_string(field(o, "status")), "not_ready");
        ck_assert_str_eq(json_object_get_string(field(field(o, "checks"), "backend")), "down");
        json_object_put(o);

        backend_error = -ETIMEDOUT;
        o = get("/health/ready", &status);
        ck_assert_int_eq(status, 503);
        ck_assert_str_eq(json_object_get_string(field(o, "status")), "not_ready");
        ck_assert_ptr_nonnull(
                strstr(json_object_get_string(field(field(o, "checks"), "readiness")), "timed out"));
        json_object_put(o);
}
END_TEST

START_TEST(test_ready_default) {
        int status;
        json_object *o;

        health.readiness = NULL;
        health_set_started(&health, true);
        o = get("/health/ready", &status);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(json_object_get_string(field(field(o, "checks"), "http")), "listening");
        json_object_put(o);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("health");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_health);
        tcase_add_test(tc, test_live);
        tcase_add_test(tc, test_ready_lifecycle);
        tcase_add_test(tc, test_ready_default);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
