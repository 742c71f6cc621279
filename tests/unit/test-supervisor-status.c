/* SPDX-License-Identifier: MIT */
/* test-supervisor-status.c — timestamp formatting, applying the orchestrator's
 * /health/ready answer, the ready decision and the JSON rendering of status. */
#include <check.h>
#include <stdlib.h>

#include "check-run.h"
#include "status.h"

START_TEST(test_timestamp) {
        char buf[64];

        ck_assert_int_eq(status_format_timestamp(1700000000123456ULL, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "2023-11-14T22:13:20Z");
        ck_assert_int_eq(status_format_timestamp(1000000ULL, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "1970-01-01T00:00:01Z");
        ck_assert_int_eq(status_format_timestamp(0, buf, sizeof(buf)), -ENODATA);
        ck_assert_int_eq(status_format_timestamp(1000000ULL, buf, 5), -ENOBUFS);
}
END_TEST

static void set_state(UnitState *st, const char *active, const char *sub, uint64_t usec) {
        st->load_state = strdup("loaded");
        st->active_state = strdup(active);
        st->sub_state = strdup(sub);
        st->state_change_usec = usec;
}

static void make_status(PodStatus *s) {
        const char *names[] = { "orchestrator", "llm", "data" };

        *s = (PodStatus){ .unit = strdup("pod-ai-semble.service") };
        set_state(&s->state, "active", "running", 1700000000000000ULL);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char unit[64];
                snprintf(unit, sizeof(unit), "container-ai-semble-%s.service", names[i]);
                ck_assert_int_eq(pod_status_add_service(s, names[i], unit), 0);
                set_state(&s->services[i].state, "active", "running", 1700000000000000ULL);
        }
}

START_TEST(test_apply_ready_all) {
        _cleanup_(pod_status_done) PodStatus s;
        const char *body =
                "{\"status\":\"ready\",\"timestamp\":1.5,\"services\":{"
                "\"llm\":{\"status\":\"ready\",\"latency_ms\":12.5},"
                "\"data\":{\"status\":\"ready\",\"latency_ms\":3}}}";

        make_status(&s);
        ck_assert(!status_all_ok(&s)); /* no probe yet */
        ck_assert_int_eq(status_apply_ready(&s, 200, body), 0);
        ck_assert(s.services[0].ready);
        ck_assert(s.services[1].ready);
        ck_assert(s.services[1].has_latency);
        ck_assert_double_eq_tol(s.services[1].latency_ms, 12.5, 1e-9);
        ck_assert_double_eq_tol(s.services[2].latency_ms, 3.0, 1e-9);
        ck_assert(status_all_ok(&s));

        /* one unit not active → not ok */
        free(s.services[2].state.active_state);
        s.services[2].state.active_state = strdup("failed");
        ck_assert(!status_all_ok(&s));
}
END_TEST

START_TEST(test_apply_ready_partial) {
        _cleanup_(pod_status_done) PodStatus s;
        const char *body =
                "{\"status\":\"not_ready\",\"timestamp\":1.5,\"services\":{"
                "\"llm\":{\"status\":\"unavailable\",\"latency_ms\":null},"
                "\"data\":{\"status\":\"ready\",\"latency_ms\":1}}}";

        make_status(&s);
        ck_assert_int_eq(status_apply_ready(&s, 503, body), 0);
        ck_assert(s.probe_answered);
        ck_assert(s.services[0].ready); /* the orchestrator answered */
        ck_assert(!s.services[1].ready);
        ck_assert(!s.services[1].has_latency);
        ck_assert(s.services[2].ready);
        ck_assert(!s.services[1].slow && !s.services[2].slow);
        ck_assert(!status_all_ok(&s));
}
END_TEST

/* A probe of the orchestrator's that timed out: not ready, but slow (no verdict). */
START_TEST(test_apply_ready_timeout) {
        _cleanup_(pod_status_done) PodStatus s;
        const char *body =
                "{\"status\":\"not_ready\",\"services\":{\"llm\":{\"status\":\"timeout\"},"
                "\"data\":{\"status\":\"unreachable\"}}}";

        make_status(&s);
        ck_assert_int_eq(status_apply_ready(&s, 503, body), 0);
        ck_assert(!s.services[1].ready && s.services[1].slow);
        ck_assert(!s.services[2].ready && !s.services[2].slow);
}
END_TEST

START_TEST(test_apply_ready_garbage) {
        _cleanup_(pod_status_done) PodStatus s;

        make_status(&s);
        ck_assert_int_eq(status_apply_ready(&s, 200, "<html>"), -EBADMSG);
        ck_assert_int_eq(status_apply_ready(&s, 200, "[1]"), -EBADMSG);
        ck_assert_int_eq(status_apply_ready(&s, 200, "{\"services\":3}"), -EBADMSG);
        ck_assert(!s.services[1].ready);
}
END_TEST

START_TEST(test_render_json) {
        _cleanup_(pod_status_done) PodStatus s;
        _cleanup_free_ char *json = NULL;
        const char *want =
                "{\"pod\":{\"unit\":\"pod-ai-semble.service\",\"load\":\"loaded\",\"active\":\"active\","
                "\"sub\":\"running\",\"since\":\"2023-11-14T22:13:20Z\"},\"services\":["
                "{\"name\":\"orchestrator\",\"unit\":\"container-ai-semble-orchestrator.service\",\"load\":"
                "\"loaded\","
                "\"active\":\"active\",\"sub\":\"running\",\"since\":\"2023-11-14T22:13:20Z\",\"ready\":"
                "true,"
                "\"latency_ms\":null},"
                "{\"name\":\"llm\",\"unit\":\"container-ai-semble-llm.service\",\"load\":\"loaded\","
                "\"active\":\"active\",\"sub\":\"running\",\"since\":\"2023-11-14T22:13:20Z\",\"ready\":"
                "true,"
                "\"latency_ms\":12.5},"
                "{\"name\":\"data\",\"unit\":\"container-ai-semble-data.service\",\"load\":\"loaded\","
                "\"active\":\"inactive\",\"sub\":\"dead\",\"since\":null,\"ready\":false,\"latency_ms\":"
                "null}],"
                "\"ready\":false}";

        make_status(&s);
        ck_assert_int_eq(
                status_apply_ready(
                        &s,
                        200,
                        "{\"services\":{\"llm\":{\"status\":\"ready\",\"latency_ms\":12.5},"
                        "\"data\":{\"status\":\"down\"}}}"),
                0);
        unit_state_done(&s.services[2].state);
        set_state(&s.services[2].state, "inactive", "dead", 0);
        ck_assert_int_eq(status_render_json(&s, &json), 0);
        ck_assert_str_eq(json, want);
}
END_TEST

START_TEST(test_table) {
        _cleanup_(pod_status_done) PodStatus s;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        make_status(&s);
        status_print_table(&s, f);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(buf, "container-ai-semble-llm.service"));
        ck_assert_ptr_nonnull(strstr(buf, "readiness probe: no answer"));
        ck_assert_ptr_nonnull(strstr(buf, "NOT fully ready"));
        free(buf);
}
END_TEST

START_TEST(test_probe_refused) {
        long code = 0;
        char *body = NULL;

        /* port 1 on loopback: nothing listens there */
        ck_assert_int_lt(status_probe("http://127.0.0.1:1/health/ready", 1000, &code, &body), 0);
        ck_assert_ptr_null(body);
        ck_assert_int_eq(status_probe("ftp://127.0.0.1/x", 1000, &code, &body), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("supervisor-status");
        TCase *tc = tcase_create("status");

        tcase_add_test(tc, test_timestamp);
        tcase_add_test(tc, test_apply_ready_all);
        tcase_add_test(tc, test_apply_ready_partial);
        tcase_add_test(tc, test_apply_ready_timeout);
        tcase_add_test(tc, test_apply_ready_garbage);
        tcase_add_test(tc, test_render_json);
        tcase_add_test(tc, test_table);
        tcase_add_test(tc, test_probe_refused);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
