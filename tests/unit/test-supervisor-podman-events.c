/* SPDX-License-Identifier: MIT */
/* test-supervisor-podman-events.c — parsing lines of Podman's event stream (as Podman
 * 4.3 sends them) into the events the supervisor acts on, its stats answers, and the
 * reader thread against a stand-in socket (connected, refused, nothing listening). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

/* A one-connection stand-in for podman.sock: reads the request's head, writes answer,
 * then holds the connection until told to let go. */
typedef struct FakeSocket {
        char dir[32], path[64];
        const char *answer;
        int fd, done[2];
        pthread_t thread;
} FakeSocket;

static void *fake_serve(void *userdata) {
        FakeSocket *f = userdata;
        char head[4096];
        size_t n = 0;
        ssize_t k;
        int c = accept(f->fd, NULL, NULL);

        if (c < 0)
                return NULL;
        while (n < sizeof(head) - 1 && (k = read(c, head + n, sizeof(head) - 1 - n)) > 0) {
                n += (size_t) k;
                head[n] = 0;
                if (strstr(head, "\r\n\r\n"))
                        break;
        }
        ck_assert_ptr_nonnull(strstr(head, "GET /v4.0.0/libpod/events?stream=true&filters="));
        if (f->answer[0])
                ck_assert_int_eq(write(c, f->answer, strlen(f->answer)), (ssize_t) strlen(f->answer));
        while (read(f->done[0], head, 1) < 0 && errno == EINTR)
                ;
        close(c);
        return NULL;
}

static void fake_socket(FakeSocket *f, const char *answer) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(f->dir, sizeof(f->dir), "/tmp/ais-events-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/podman.sock", f->dir);
        f->answer = answer;
        f->fd = -1;
        if (!answer)
                return; /* nothing listens */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
        f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(f->fd, 0);
        ck_assert_int_eq(bind(f->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(f->fd, 4), 0);
        ck_assert_int_eq(pipe(f->done), 0);
        ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_socket_close(FakeSocket *f) {
        if (f->fd >= 0) {
                close(f->done[1]);
                pthread_join(f->thread, NULL);
                close(f->done[0]);
                close(f->fd);
                unlink(f->path);
        }
        rmdir(f->dir);
}

/* Polls the reader's stats for up to 15 s until connected equals want_connected and,
 * when disconnected, a reason is given. */
static void
wait_stats(PodmanEvents *p, bool want_connected, bool *connected, uint64_t *events, char *error) {
        for (int i = 0; i < 1500; i++) {
                podman_events_stats(p, connected, events, error);
                if (*connected == want_connected && (want_connected ? *events > 0 : error[0] != 0))
                        return;
                usleep(10 * 1000);
        }
}

static void count_handler(const PodmanEvent *e, void *userdata) {
        Seen *s = userdata;

        copy(s->name, sizeof(s->name), e->name);
        __atomic_add_fetch(&s->n, 1, __ATOMIC_SEQ_CST);
}

/* Runs the reader against a stand-in that answers answer (NULL: nothing listens) and
 * puts in error why it stayed unconnected; no event may have been handed on. */
static void failure_of(const char *answer, char error[static PODMAN_EVENTS_ERROR_MAX]) {
        PodmanEvents *p = NULL;
        FakeSocket f = {};
        uint64_t events;
        bool connected;
        Seen s = {};

        fake_socket(&f, answer);
        ck_assert_int_eq(podman_events_start(f.path, count_handler, &s, &p), 0);
        wait_stats(p, false, &connected, &events, error);
        ck_assert(!connected);
        podman_events_stop(p);
        fake_socket_close(&f);
        ck_assert_int_eq(s.n, 0);
}

/* The reader says why it is not connected: nothing listening, or Podman's refusal. */
START_TEST(test_stream_not_connected) {
        char error[PODMAN_EVENTS_ERROR_MAX];

        failure_of(NULL, error);
        ck_assert_msg(strstr(error, "connect"), "%s", error);
        failure_of("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", error);
        ck_assert_str_eq(error, "Podman answered HTTP 500");
}
END_TEST

/* A podman.service that accepts and never answers: dropped after 10 s, with the reason. */
START_TEST(test_stream_no_answer) {
        char error[PODMAN_EVENTS_ERROR_MAX];

        failure_of("", error);
        ck_assert_str_eq(error, "accepted, but no answer within 10 s");
}
END_TEST

/* A 200 and one event line: connected, the event handed on, no error. */
START_TEST(test_stream_connected) {
        char error[PODMAN_EVENTS_ERROR_MAX];
        PodmanEvents *p = NULL;
        FakeSocket f = {};
        uint64_t events;
        bool connected;
        Seen s = {};

        fake_socket(
                &f,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                "{\"Type\":\"container\",\"Action\":\"died\",\"Actor\":{\"ID\":\"a1\",\"Attributes\":"
                "{\"containerExitCode\":\"137\",\"name\":\"ai-semble-nlp\"}},\"time\":1795273561}\n");
        ck_assert_int_eq(podman_events_start(f.path, count_handler, &s, &p), 0);
        wait_stats(p, true, &connected, &events, error);
        ck_assert(connected);
        ck_assert_int_eq(events, 1);
        ck_assert_str_eq(error, "");
        for (int i = 0; i < 300 && __atomic_load_n(&s.n, __ATOMIC_SEQ_CST) == 0; i++)
                usleep(10 * 1000);
        ck_assert_int_eq(__atomic_load_n(&s.n, __ATOMIC_SEQ_CST), 1);
        ck_assert_str_eq(s.name, "ai-semble-nlp");
        podman_events_stop(p);
        fake_socket_close(&f);
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
        tc = tcase_create("stream");
        tcase_add_test(tc, test_stream_not_connected);
        tcase_add_test(tc, test_stream_no_answer);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_stream_connected);
        suite_add_tcase(s, tc);
        return check_run(s);
}
