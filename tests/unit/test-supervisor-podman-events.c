/* SPDX-License-Identifier: MIT */
/* test-supervisor-podman-events.c — parsing lines of Podman's event stream (as Podman
 * 4.3 sends them) into the events the supervisor acts on, and its stats answers. */
#include <check.h>
#include <stdlib.h>

#include "check-run.h"
#include "podman-events.h"
#include "podman-stats.h"

typedef struct Seen {
        int n;
        char action[32], name[64], unit[64], exit_code[8], health[16];
        int64_t time_ns;
} Seen;

static void copy(char *dst, size_t size, const char *s) {
        snprintf(dst, size, "%s", s ? s : "");
}

static void handler(const PodmanEvent *e, void *userdata) {
        Seen *s = userdata;
        s->n++;
        copy(s->action, sizeof(s->action), e->action);
        copy(s->name, sizeof(s->name), e->name);
        copy(s->unit, sizeof(s->unit), e->unit);
        copy(s->exit_code, sizeof(s->exit_code), e->exit_code);
        copy(s->health, sizeof(s->health), e->health_status);
        s->time_ns = e->time_ns;
}

START_TEST(test_died) {
        Seen s = {};
        const char *line =
                "{\"status\":\"died\",\"id\":\"17f0\",\"from\":\"localhost/ai-semble/data:latest\",\"Type\":\"container\","
                "\"Action\":\"died\",\"Actor\":{\"ID\":\"17f0\",\"Attributes\":{\"PODMAN_SYSTEMD_UNIT\":\"ai-semble-data.service\","
                "\"containerExitCode\":\"137\",\"image\":\"localhost/ai-semble/data:latest\",\"name\":\"ai-semble-data\","
                "\"podId\":\"\"}},\"scope\":\"local\",\"time\":1795273561,\"timeNano\":1795273561147401325}";

        ck_assert_int_eq(podman_events_parse(line, handler, &s), 0);
        ck_assert_int_eq(s.n, 1);
        ck_assert_str_eq(s.action, "died");
        ck_assert_str_eq(s.name, "ai-semble-data");
        ck_assert_str_eq(s.unit, "ai-semble-data.service");
        ck_assert_str_eq(s.exit_code, "137");
        /* the time a replay is deduplicated by */
        ck_assert_int_eq(s.time_ns, INT64_C(1795273561147401325));
}
END_TEST

START_TEST(test_health_and_oom) {
        Seen s = {};

        ck_assert_int_eq(
                podman_events_parse(
                        "{\"Type\":\"container\",\"Action\":\"health_status\",\"Actor\":{\"Attributes\":"
                        "{\"name\":\"ai-semble-llm\",\"health_status\":\"unhealthy\"}}}",
                        handler,
                        &s),
                0);
        ck_assert_str_eq(s.health, "unhealthy");
        ck_assert_int_eq(s.time_ns, 0); /* no time: never taken for a replay */
        ck_assert_int_eq(
                podman_events_parse(
                        "{\"Type\":\"container\",\"status\":\"oom\",\"Actor\":{\"Attributes\":"
                        "{\"name\":\"ai-semble-llm\"}}}",
                        handler,
                        &s),
                0);
        ck_assert_str_eq(s.action, "oom");
        ck_assert_int_eq(s.n, 2);
}
END_TEST

START_TEST(test_ignored) {
        Seen s = {};

        ck_assert_int_eq(
                podman_events_parse(
                        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"Attributes\":"
                        "{\"name\":\"x\"}}}",
                        handler,
                        &s),
                -ENOMSG);
        ck_assert_int_eq(
                podman_events_parse("{\"Type\":\"image\",\"Action\":\"died\"}", handler, &s), -ENOMSG);
        ck_assert_int_eq(
                podman_events_parse("{\"Type\":\"container\",\"Action\":\"died\"}", handler, &s), -ENOMSG);
        ck_assert_int_eq(podman_events_parse("not json", handler, &s), -EBADMSG);
        ck_assert_int_eq(podman_events_parse("[1]", handler, &s), -EBADMSG);
        ck_assert_int_eq(s.n, 0);
}
END_TEST

static void on_stat(const PodmanStat *st, void *userdata) {
        PodmanStat *out = userdata;
        if (streq(st->name, "ai-semble-llm")) {
                *out = *st;
                out->name = NULL;
        }
}

START_TEST(test_stats) {
        PodmanStat st = {};
        char *e;

        ck_assert_int_eq(
                podman_stats_parse(
                        "{\"Error\":null,\"Stats\":[{\"ContainerID\":\"ab\",\"Name\":\"ai-semble-llm\","
                        "\"CPU\":1.5,\"MemUsage\":12582912,\"MemLimit\":1073741824,\"PIDs\":7},"
                        "{\"Name\":\"other\",\"CPU\":9}]}",
                        on_stat,
                        &st),
                0);
        ck_assert_double_eq(st.cpu_percent, 1.5);
        ck_assert_uint_eq(st.mem_usage_bytes, 12582912);
        ck_assert_uint_eq(st.mem_limit_bytes, 1073741824);
        ck_assert_uint_eq(st.pids, 7);
        ck_assert_int_eq(podman_stats_parse("{\"cause\":\"x\"}", on_stat, &st), -EBADMSG);
        e = podman_stats_error(
                "{\"cause\":\"container stats resource only available for cgroup v2\","
                "\"message\":\"m\",\"response\":409}");
        ck_assert_str_eq(e, "container stats resource only available for cgroup v2");
        free(e);
        ck_assert_ptr_null(podman_stats_error("nope"));
}
END_TEST

static char *controllers_seen;

static char *fake_controllers(const char *path) {
        free(controllers_seen);
        controllers_seen = strdup(path);
        if (strstr(path, "user@1000.service"))
                return strdup("cpuset cpu io pids\n"); /* what a runner without memory delegates */
        return strdup("cpuset cpu io memory pids\n");
}

/* The reason names the user manager's cgroup when memory is not delegated there; a host
 * that delegates it, or one on cgroup v1, gets no reason. */
START_TEST(test_stats_undelegated) {
        char *why;

        why = podman_stats_undelegated(
                "0::/user.slice/user-1000.slice/user@1000.service/app.slice/ai-semble-supervisor.service\n",
                fake_controllers);
        ck_assert_str_eq(controllers_seen, "/user.slice/user-1000.slice/user@1000.service");
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(
                strstr(why,
                       "memory controller is not delegated to /user.slice/user-1000.slice/user@1000.service"),
                "%s",
                why);
        free(why);
        ck_assert_ptr_null(podman_stats_undelegated(
                "0::/user.slice/user-1001.slice/user@1001.service/app.slice/x.service\n", fake_controllers));
        ck_assert_str_eq(controllers_seen, "/user.slice/user-1001.slice/user@1001.service");
        /* hybrid (v1 controllers + an empty unified line) and pure v1: Podman says 409 itself */
        ck_assert_ptr_null(podman_stats_undelegated(
                "12:memory:/user.slice\n1:name=systemd:/user.slice\n", fake_controllers));
        ck_assert_ptr_null(podman_stats_undelegated("0::/init.scope\n", fake_controllers));
        free(controllers_seen);
        controllers_seen = NULL;
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-podman-events");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_died);
        tcase_add_test(tc, test_health_and_oom);
        tcase_add_test(tc, test_ignored);
        tcase_add_test(tc, test_stats);
        tcase_add_test(tc, test_stats_undelegated);
        suite_add_tcase(s, tc);
        return check_run(s);
}
