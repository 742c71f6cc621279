/* SPDX-License-Identifier: MIT */
/* test-metrics.c — exposition format, label escaping, histogram buckets, concurrency,
 * and `promtool check metrics` on the output when promtool is installed. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>

#include "check-run.h"
#include "metrics.h"

#ifndef PROMTOOL
#        define PROMTOOL ""
#endif

static char *render(MetricsRegistry *r) {
        char *text = NULL;
        size_t len = 0;

        ck_assert_int_eq(metrics_registry_render(r, &text, &len), 0);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_eq(strlen(text), len);
        return text;
}

#define ASSERT_CONTAINS(hay, needle) \
        ck_assert_msg(strstr((hay), (needle)) != NULL, "missing: %s\n--- in ---\n%s", (needle), (hay))

START_TEST(test_counter_gauge) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;
        _cleanup_free_ char *text = NULL;
        MetricsFamily *c, *g;
        double v;

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(
                metrics_counter_new(r, "jobs_total", "Jobs done.", (const char *[]){ "kind", NULL }, &c), 0);
        ck_assert_int_eq(metrics_gauge_new(r, "queue_depth", "Jobs waiting.", NULL, &g), 0);
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "a" }, 1), 0);
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "a" }, 2), 0);
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "b" }, 0.5), 0);
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "a" }, -1), -EINVAL);
        ck_assert_int_eq(metrics_counter_add(c, NULL, 1), -EINVAL);
        ck_assert_int_eq(metrics_gauge_set(g, NULL, 7), 0);
        ck_assert_int_eq(metrics_gauge_add(g, NULL, -2), 0);
        ck_assert_int_eq(metrics_gauge_set(c, (const char *[]){ "a" }, 1), -EINVAL); /* wrong type */
        ck_assert_int_eq(metrics_family_get(c, (const char *[]){ "a" }, &v), 0);
        ck_assert(v == 3);
        ck_assert_int_eq(metrics_family_get(c, (const char *[]){ "zzz" }, &v), -ENOENT);

        text = render(r);
        ck_assert_str_eq(
                text,
                "# HELP jobs_total Jobs done.\n"
                "# TYPE jobs_total counter\n"
                "jobs_total{kind=\"a\"} 3\n"
                "jobs_total{kind=\"b\"} 0.5\n"
                "# HELP queue_depth Jobs waiting.\n"
                "# TYPE queue_depth gauge\n"
                "queue_depth 5\n");
}
END_TEST

START_TEST(test_names) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(metrics_counter_new(r, "no_suffix", "x", NULL, NULL), -EINVAL);
        ck_assert_int_eq(metrics_counter_new(r, "a_total_x", "x", NULL, NULL), -EINVAL);
        ck_assert_int_eq(metrics_gauge_new(r, "1bad", "x", NULL, NULL), -EINVAL);
        ck_assert_int_eq(metrics_gauge_new(r, "bad-name", "x", NULL, NULL), -EINVAL);
        ck_assert_int_eq(metrics_gauge_new(r, "ok", "", NULL, NULL), -EINVAL);
        ck_assert_int_eq(
                metrics_gauge_new(r, "ok", "x", (const char *[]){ "__reserved", NULL }, NULL), -EINVAL);
        ck_assert_int_eq(
                metrics_gauge_new(r, "ok", "x", (const char *[]){ "bad-label", NULL }, NULL), -EINVAL);
        ck_assert_int_eq(
                metrics_histogram_new(r, "h", "x", (const char *[]){ "le", NULL }, NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(
                metrics_histogram_new(r, "h", "x", NULL, (const double[]){ 2, 1 }, 2, NULL), -EINVAL);
        ck_assert_int_eq(metrics_gauge_new(r, "ok", "x", NULL, NULL), 0);
        ck_assert_int_eq(metrics_gauge_new(r, "ok", "x", NULL, NULL), -EEXIST);
}
END_TEST

START_TEST(test_escaping) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;
        _cleanup_free_ char *text = NULL;
        MetricsFamily *g;

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(
                metrics_gauge_new(
                        r, "g", "Help with \\ and\nnewline \"quoted\".", (const char *[]){ "v", NULL }, &g),
                0);
        ck_assert_int_eq(metrics_gauge_set(g, (const char *[]){ "a\"b\\c\nd" }, 1), 0);
        text = render(r);
        /* HELP escapes \ and newline only; label values also escape the quote. */
        ASSERT_CONTAINS(text, "# HELP g Help with \\\\ and\\nnewline \"quoted\".\n");
        ASSERT_CONTAINS(text, "g{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}
END_TEST

START_TEST(test_histogram) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;
        _cleanup_free_ char *text = NULL;
        MetricsFamily *h;

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(
                metrics_histogram_new(
                        r,
                        "lat_seconds",
                        "Latency.",
                        (const char *[]){ "route", NULL },
                        (const double[]){ 0.1, 0.5, 1 },
                        3,
                        &h),
                0);
        ck_assert_int_eq(metrics_histogram_observe(h, (const char *[]){ "/x" }, 0.05), 0);
        ck_assert_int_eq(
                metrics_histogram_observe(h, (const char *[]){ "/x" }, 0.1), 0); /* le is inclusive */
        ck_assert_int_eq(metrics_histogram_observe(h, (const char *[]){ "/x" }, 0.7), 0);
        ck_assert_int_eq(metrics_histogram_observe(h, (const char *[]){ "/x" }, 3), 0);
        text = render(r);
        ck_assert_str_eq(
                text,
                "# HELP lat_seconds Latency.\n"
                "# TYPE lat_seconds histogram\n"
                "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
                "lat_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"
                "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
                "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
                "lat_seconds_sum{route=\"/x\"} 3.85\n"
                "lat_seconds_count{route=\"/x\"} 4\n");
}
END_TEST

START_TEST(test_series_cap) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;
        MetricsFamily *c;
        char v[32];

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(metrics_counter_new(r, "c_total", "x", (const char *[]){ "id", NULL }, &c), 0);
        for (int i = 0; i < METRICS_MAX_SERIES; i++) {
                snprintf(v, sizeof(v), "%d", i);
                ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ v }, 1), 0);
        }
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "one-more" }, 1), -E2BIG);
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "0" }, 1), 0); /* existing still counts */
}
END_TEST

static void *hammer(void *userdata) {
        for (int i = 0; i < 10000; i++)
                (void) metrics_counter_add(userdata, (const char *[]){ i % 2 ? "odd" : "even" }, 1);
        return NULL;
}

START_TEST(test_threads) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;
        MetricsFamily *c;
        pthread_t t[4];
        double v;

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(metrics_counter_new(r, "c_total", "x", (const char *[]){ "k", NULL }, &c), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, c), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                pthread_join(t[i], NULL);
        ck_assert_int_eq(metrics_family_get(c, (const char *[]){ "odd" }, &v), 0);
        ck_assert(v == 20000);
}
END_TEST

START_TEST(test_process_and_promtool) {
        _cleanup_(metrics_registry_freep) MetricsRegistry *r = NULL;
        _cleanup_free_ char *text = NULL;
        MetricsFamily *c, *h, *g;
        char path[] = "/tmp/test-metrics-XXXXXX", cmd[512];
        int fd, status;

        ck_assert_int_eq(metrics_registry_new(&r), 0);
        ck_assert_int_eq(
                metrics_counter_new(
                        r,
                        "http_requests_total",
                        "Requests.",
                        (const char *[]){ "route", "method", "status", NULL },
                        &c),
                0);
        ck_assert_int_eq(
                metrics_histogram_new(
                        r,
                        "http_request_duration_seconds",
                        "Duration.",
                        (const char *[]){ "route", NULL },
                        NULL,
                        0,
                        &h),
                0);
        ck_assert_int_eq(
                metrics_gauge_new(
                        r, "weird_labels", "Labels with \"odd\" values.", (const char *[]){ "v", NULL }, &g),
                0);
        ck_assert_int_eq(metrics_counter_add(c, (const char *[]){ "/jobs/{id}", "GET", "200" }, 1), 0);
        ck_assert_int_eq(metrics_histogram_observe(h, (const char *[]){ "/jobs/{id}" }, 0.003), 0);
        ck_assert_int_eq(metrics_gauge_set(g, (const char *[]){ "quote\" back\\slash\nnl é" }, -1.25), 0);
        ck_assert_int_eq(metrics_registry_add_process_collector(r), 0);
        text = render(r);

        ASSERT_CONTAINS(text, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ");
        ASSERT_CONTAINS(text, "\nprocess_resident_memory_bytes ");
        ASSERT_CONTAINS(text, "\nprocess_virtual_memory_bytes ");
        ASSERT_CONTAINS(text, "\nprocess_open_fds ");
        ASSERT_CONTAINS(text, "\nprocess_max_fds ");
        ASSERT_CONTAINS(text, "\nprocess_start_time_seconds 1"); /* an epoch time */
        ASSERT_CONTAINS(text, "http_request_duration_seconds_bucket{route=\"/jobs/{id}\",le=\"0.005\"} 1\n");
        ASSERT_CONTAINS(text, "http_request_duration_seconds_bucket{route=\"/jobs/{id}\",le=\"+Inf\"} 1\n");
        ck_assert(text[strlen(text) - 1] == '\n');

        /* promtool (package prometheus) is a test dependency: meson requires it */
        ck_assert_msg(
                !isempty(PROMTOOL) && access(PROMTOOL, X_OK) >= 0, "promtool is missing: '%s'", PROMTOOL);
        fd = mkostemp(path, O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        snprintf(cmd, sizeof(cmd), "%s check metrics < %s", PROMTOOL, path);
        status = system(cmd);
        unlink(path);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool rejected:\n%s", text);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_counter_gauge);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_escaping);
        tcase_add_test(tc, test_histogram);
        tcase_add_test(tc, test_series_cap);
        tcase_add_test(tc, test_threads);
        tcase_add_test(tc, test_process_and_promtool);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
