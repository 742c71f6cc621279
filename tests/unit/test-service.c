/* SPDX-License-Identifier: MIT */
/* test-service.c — service_main() through the real binaries (paths in argv): command
 * line, exit codes on bad configuration, --healthcheck, the SIGTERM lifecycle, and the
 * orchestrator's readiness over real upstreams. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "check-run.h"
#include "test-http-util.h"

extern char **environ;
static const char *llm_bin, *orch_bin;

typedef struct Child {
        pid_t pid;
        int out_fd, err_fd;
} Child;

static int free_port(void) {
        int port = test_free_port();

        ck_assert_int_gt(port, 0);
        return port;
}

/* Starts bin with args and a clean environment (plus sanitizer settings) + env; with
 * pass_fd >= 0, passes it as descriptor 3 the way systemd's socket activation does. */
static Child spawn_passing(const char *bin, const char *const *args, const char *const *env, int pass_fd) {
        Child c = { .out_fd = memfd_create("out", MFD_CLOEXEC), .err_fd = memfd_create("err", MFD_CLOEXEC) };
        const char *argv[16] = { bin }, *envp[64];
        size_t n = 0;

        ck_assert_int_ge(c.out_fd, 0);
        ck_assert_int_ge(c.err_fd, 0);
        for (size_t i = 0; args && args[i] && i < 14; i++)
                argv[i + 1] = args[i];
        for (char **e = environ; *e && n < 40; e++)
                if (startswith(*e, "ASAN_") || startswith(*e, "UBSAN_") || startswith(*e, "LSAN_") ||
                    startswith(*e, "MSAN_"))
                        envp[n++] = *e;
        for (size_t i = 0; env && env[i] && n < 58; i++)
                envp[n++] = env[i];
        envp[n] = NULL;

        c.pid = fork();
        ck_assert_int_ge(c.pid, 0);
        if (c.pid == 0) {
                char pid[32];

                dup2(c.out_fd, STDOUT_FILENO);
                dup2(c.err_fd, STDERR_FILENO);
                if (pass_fd >= 0) {
                        /* LISTEN_PID is the PID that execs: known only here, after fork. */
                        snprintf(pid, sizeof(pid), "LISTEN_PID=%d", (int) getpid());
                        envp[n++] = pid;
                        envp[n++] = "LISTEN_FDS=1";
                        envp[n++] = "LISTEN_FDNAMES=web";
                        envp[n] = NULL;
                        dup2(pass_fd, 3);
                }
                execve(bin, (char *const *) argv, (char *const *) envp);
                _exit(127);
        }
        return c;
}

static Child spawn(const char *bin, const char *const *args, const char *const *env) {
        return spawn_passing(bin, args, env, -1);
}

static char *slurp(int fd) {
        off_t size = lseek(fd, 0, SEEK_END);
        char *buf = calloc(1, (size_t) size + 1);

        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pread(fd, buf, (size_t) size, 0), size);
        return buf;
}

/* Waits up to timeout_s; returns the exit code (or 128+signal), -1 on timeout (killed). */
static int wait_child(Child *c, double timeout_s, char **ret_out, char **ret_err) {
        double deadline = test_now() + timeout_s;
        int status = 0, r = -1;

        for (;;) {
                pid_t p = waitpid(c->pid, &status, WNOHANG);
                if (p == c->pid) {
                        r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        break;
                }
                if (test_now() > deadline) {
                        kill(c->pid, SIGKILL);
                        waitpid(c->pid, &status, 0);
                        break;
                }
                usleep(10000);
        }
        if (ret_out)
                *ret_out = slurp(c->out_fd);
        if (ret_err)
                *ret_err = slurp(c->err_fd);
        close(c->out_fd);
        close(c->err_fd);
        return r;
}

static int
run(const char *bin, const char *const *args, const char *const *env, char **ret_out, char **ret_err) {
        Child c = spawn(bin, args, env);
        return wait_child(&c, 20, ret_out, ret_err);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(test_help_version) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(llm_bin, ARGS("--help"), NULL, &out, &err), 0);
        ck_assert_ptr_nonnull(strstr(out, "Usage: ai-semble-llm"));
        ck_assert_ptr_nonnull(strstr(out, "LLM_LISTEN"));
        ck_assert_ptr_nonnull(strstr(out, "127.0.0.1:8081"));
        ck_assert_ptr_nonnull(strstr(out, "HTTP_MAX_BODY"));
        ck_assert_ptr_nonnull(strstr(out, "HTTP_SHUTDOWN_TIMEOUT"));
        free(out), free(err);

        ck_assert_int_eq(run(llm_bin, ARGS("--version"), NULL, &out, &err), 0);
        ck_assert_str_eq(out, "ai-semble-llm 0.1.0\n");
        free(out), free(err);

        ck_assert_int_eq(run(orch_bin, ARGS("-h"), NULL, &out, &err), 0);
        ck_assert_ptr_nonnull(strstr(out, "ORCHESTRATOR_LISTEN"));
        ck_assert_ptr_nonnull(strstr(out, "0.0.0.0:8080"));
        ck_assert_ptr_nonnull(strstr(out, "DATA_PROCESSOR_URL"));
        free(out), free(err);
        out = err = NULL;

        ck_assert_int_eq(run(orch_bin, ARGS("--print-config-markdown"), NULL, &out, &err), 0);
        ck_assert_ptr_nonnull(strstr(out, "| `ORCHESTRATOR_LISTEN` | host:port | `0.0.0.0:8080` |"));
        ck_assert_ptr_nonnull(strstr(out, "| `ORCH_PROBE_TIMEOUT` | duration | `1s` |"));
        ck_assert_ptr_null(strstr(strstr(out, "| Variable") + 1, "| Variable")); /* one table */
}
END_TEST

START_TEST(test_bad_usage) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(llm_bin, ARGS("--bogus"), NULL, &out, &err), 2);
        free(out), free(err);
        ck_assert_int_eq(run(llm_bin, ARGS("extra"), NULL, &out, &err), 2);
}
END_TEST

static void expect_config_error(const char *bin, const char *kv, const char *var) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(run(bin, NULL, ARGS(kv), &out, &err), 2);
        ck_assert_msg(strstr(err, var) != NULL, "stderr for %s does not name %s: %s", kv, var, err);
        ck_assert_ptr_null(strstr(err, "listening on"));
}

START_TEST(test_bad_config) {
        expect_config_error(llm_bin, "LLM_LISTEN=bogus", "LLM_LISTEN");
        expect_config_error(llm_bin, "LLM_LISTEN=127.0.0.1:99999", "LLM_LISTEN");
        expect_config_error(llm_bin, "HTTP_MAX_BODY=1T", "HTTP_MAX_BODY");
        expect_config_error(llm_bin, "HTTP_MAX_BODY=512", "HTTP_MAX_BODY");
        expect_config_error(llm_bin, "HTTP_THREADS=1000", "HTTP_THREADS");
        expect_config_error(llm_bin, "HTTP_THREADS=1", "HTTP_THREADS");
        expect_config_error(llm_bin, "HTTP_REQUEST_TIMEOUT=forever", "HTTP_REQUEST_TIMEOUT");
        expect_config_error(llm_bin, "HTTP_SHUTDOWN_TIMEOUT=1h", "HTTP_SHUTDOWN_TIMEOUT");
        expect_config_error(llm_bin, "LOG_LEVEL=loud", "LOG_LEVEL");
        expect_config_error(orch_bin, "LLM_SERVICE_URL=ftp://x", "LLM_SERVICE_URL");
        expect_config_error(orch_bin, "DATA_PROCESSOR_URL=localhost:8084", "DATA_PROCESSOR_URL");
        expect_config_error(orch_bin, "ORCH_PROBE_TIMEOUT=0", "ORCH_PROBE_TIMEOUT");
        expect_config_error(orch_bin, "ORCHESTRATOR_LISTEN=:8080", "ORCHESTRATOR_LISTEN");
}
END_TEST

START_TEST(test_healthcheck_nothing_listening) {
        _cleanup_free_ char *out = NULL, *err = NULL, *env = NULL;

        ck_assert_int_ge(asprintf(&env, "LLM_LISTEN=127.0.0.1:%d", free_port()), 0);
        ck_assert_int_eq(run(llm_bin, ARGS("--healthcheck"), ARGS(env), &out, &err), 1);
}
END_TEST

static void wait_healthy(const char *bin, const char *env) {
        double deadline = test_now() + 10;

        for (;;) {
                _cleanup_free_ char *out = NULL, *err = NULL;
                if (run(bin, ARGS("--healthcheck"), ARGS(env), &out, &err) == 0)
                        return;
                ck_assert_msg(test_now() < deadline, "%s never became healthy: %s", bin, err);
                usleep(50000);
        }
}

static json_object *get_json(int port, const char *path, int *ret_status) {
        char req[256];
        RawResponse r;
        json_object *o;

        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
        ck_assert_int_eq(test_http(port, req, &r), 0);
        *ret_status = r.status;
        o = json_tokener_parse(r.body);
        ck_assert_msg(o != NULL, "%s", r.raw);
        raw_response_done(&r);
        return o;
}

static const char *jpath(json_object *o, const char *a, const char *b, const char *c) {
        json_object *v = o;
        const char *keys[] = { a, b, c };

        for (size_t i = 0; i < 3 && keys[i]; i++)
                if (!json_object_object_get_ex(v, keys[i], &v))
                        return NULL;
        return json_object_get_string(v);
}

START_TEST(test_lifecycle) {
        _cleanup_free_ char *env = NULL, *out = NULL, *err = NULL, *expect = NULL;
        int port = free_port(), status;
        RawResponse r;
        json_object *o;
        Child c;

        ck_assert_int_ge(asprintf(&env, "LLM_LISTEN=127.0.0.1:%d", port), 0);
        c = spawn(llm_bin, NULL, ARGS(env, "HTTP_SHUTDOWN_TIMEOUT=2s"));
        wait_healthy(llm_bin, env);

        o = get_json(port, "/health/ready", &status);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(jpath(o, "status", NULL, NULL), "ready");
        json_object_put(o);
        o = get_json(port, "/health", &status);
        ck_assert_str_eq(jpath(o, "service", NULL, NULL), "llm");
        json_object_put(o);

        ck_assert_int_eq(
                test_http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &r),
                0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.raw, "Content-Type: text/plain; version=0.0.4"));
        ck_assert_ptr_nonnull(strstr(r.body, "ai_semble_build_info{service=\"llm\",version=\"0.1.0\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(
                r.body, "http_requests_total{route=\"/health/ready\",method=\"GET\",status=\"200\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(r.body, "process_open_fds "));
        raw_response_done(&r);

        /* --healthcheck=PATH is the readiness probe of the pod YAML. */
        {
                _cleanup_free_ char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
                ck_assert_int_eq(run(llm_bin, ARGS("--healthcheck=/health/ready"), ARGS(env), &o1, &e1), 0);
                ck_assert_int_eq(run(llm_bin, ARGS("--healthcheck=/no/such/path"), ARGS(env), &o2, &e2), 1);
                ck_assert_ptr_nonnull(strstr(e2, "HTTP 404"));
                ck_assert_int_eq(run(llm_bin, ARGS("--healthcheck=relative"), ARGS(env), &o3, &e3), 1);
                ck_assert_ptr_nonnull(strstr(e3, "not a path"));
        }

        /* Never an invented answer: with no backend configured the llm says what to set. */
        ck_assert_int_eq(
                test_http(
                        port,
                        "POST /completion HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"prompt\":\"hi\"}",
                        &r),
                0);
        ck_assert_int_eq(r.status, 503);
        ck_assert_ptr_nonnull(strstr(r.body, "LLM_BACKENDS_FILE"));
        raw_response_done(&r);

        /* SIGHUP is logged and ignored; SIGTERM drains and exits 0. */
        ck_assert_int_eq(kill(c.pid, SIGHUP), 0);
        usleep(100000);
        ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&c, 10, &out, &err), 0);
        ck_assert_int_ge(asprintf(&expect, "\"msg\":\"listening on 127.0.0.1:%d\"", port), 0);
        ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
        ck_assert_ptr_nonnull(strstr(err, "SIGHUP received"));
        ck_assert_ptr_nonnull(strstr(err, "\"msg\":\"stopped\""));
        ck_assert_ptr_nonnull(strstr(err, "\"service\":\"llm\""));
        ck_assert_int_lt(test_connect(port), 0);
}
END_TEST

/* Socket activation: the service serves on the socket it was passed as well as on its
 * own address, and a connection made while no instance runs waits in the socket's queue
 * for the next one instead of being refused. */
/* Datagrams on a notify socket within timeout_s: how many of them were exactly want. */
static int count_datagrams(int fd, const char *want, double timeout_s) {
        double end = test_now() + timeout_s;
        int n = 0;

        while (test_now() < end) {
                char buf[256];
                ssize_t l = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

                if (l < 0) {
                        usleep(10 * 1000);
                        continue;
                }
                buf[l] = '\0';
                n += streq(buf, want);
        }
        return n;
}

/* With a notify socket (what Podman hands a Notify=true container) the service says
 * READY=1, then WATCHDOG=1 every WATCHDOG_INTERVAL while its event loop answers; with
 * WATCHDOG_INTERVAL=0 never. */
START_TEST(test_watchdog) {
        _cleanup_free_ char *env = NULL, *notify = NULL, *out = NULL, *err = NULL;
        char dir[] = "/tmp/test-service-XXXXXX";
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int port = free_port(), fd;
        Child c;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_ge(asprintf(&env, "LLM_LISTEN=127.0.0.1:%d", port), 0);
        ck_assert_int_ge(asprintf(&notify, "NOTIFY_SOCKET=%s", sa.sun_path), 0);

        c = spawn(llm_bin, NULL, ARGS(env, notify, "WATCHDOG_INTERVAL=100ms"));
        wait_healthy(llm_bin, env);
        ck_assert_int_ge(count_datagrams(fd, "WATCHDOG=1", 1.0), 5);
        ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&c, 10, &out, &err), 0);
        free(TAKE_PTR(out));
        free(TAKE_PTR(err));
        /* What the first one sent after the count stopped is not the second one's. */
        (void) count_datagrams(fd, "", 0.1);

        c = spawn(llm_bin, NULL, ARGS(env, notify, "WATCHDOG_INTERVAL=0"));
        wait_healthy(llm_bin, env);
        ck_assert_int_eq(count_datagrams(fd, "WATCHDOG=1", 0.5), 0);
        ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&c, 10, &out, &err), 0);
        close(fd);
        unlink(sa.sun_path);
        rmdir(dir);
}
END_TEST

START_TEST(test_socket_activation) {
        _cleanup_free_ char *env = NULL, *out = NULL, *err = NULL, *expect = NULL, *resp = NULL;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t sl = sizeof(sa);
        int port = free_port(), lfd, lport, status, waiting;
        RawResponse r;
        Child c;

        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(lfd, 16), 0);
        ck_assert_int_eq(getsockname(lfd, (struct sockaddr *) &sa, &sl), 0);
        lport = ntohs(sa.sin_port);

        ck_assert_int_ge(asprintf(&env, "LLM_LISTEN=127.0.0.1:%d", port), 0);
        c = spawn_passing(llm_bin, NULL, ARGS(env), lfd);
        wait_healthy(llm_bin, env);
        ck_assert_int_eq(
                test_http(lport, "GET /health/live HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r),
                0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
        json_object_put(get_json(port, "/health/live", &status));
        ck_assert_int_eq(status, 200);
        ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&c, 10, &out, &err), 0);
        ck_assert_int_ge(
                asprintf(&expect, "Adopted passed socket 3 (web) listening on 127.0.0.1:%d", lport), 0);
        ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
        free(TAKE_PTR(out));
        free(TAKE_PTR(err));

        /* No instance runs: the connection completes in the kernel and its request waits. */
        waiting = test_connect(lport);
        ck_assert_int_ge(waiting, 0);
        ck_assert_int_eq(
                test_send_str(waiting, "GET /health/live HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
                0);
        c = spawn_passing(llm_bin, NULL, ARGS(env), lfd);
        ck_assert_int_ge(test_read_all(waiting, &resp, 10000), 0);
        close(waiting);
        ck_assert_msg(startswith(resp, "HTTP/1.1 200 "), "%s", resp);
        ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&c, 10, &out, &err), 0);
        free(TAKE_PTR(out));
        free(TAKE_PTR(err));

        /* A descriptor that is no listening socket is a configuration error. */
        {
                int p[2];

                ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
                c = spawn_passing(llm_bin, NULL, ARGS(env), p[0]);
                ck_assert_int_eq(wait_child(&c, 10, &out, &err), 1);
                ck_assert_msg(
                        strstr(err, "Passed descriptor 3 is not a listening stream socket") != NULL,
                        "%s",
                        err);
                close(p[0]);
                close(p[1]);
        }
        close(lfd);
}
END_TEST

START_TEST(test_orchestrator_readiness) {
        _cleanup_free_ char *llm_env = NULL, *orch_env = NULL, *llm_url = NULL, *dead_url = NULL, *v = NULL,
                            *n = NULL, *d = NULL, *out = NULL, *err = NULL, *db = NULL;
        int llm_port = free_port(), orch_port = free_port(), dead = free_port(), status;
        RawResponse r;
        json_object *o;
        Child llm, orch;

        ck_assert_int_ge(asprintf(&llm_env, "LLM_LISTEN=127.0.0.1:%d", llm_port), 0);
        ck_assert_int_ge(asprintf(&orch_env, "ORCHESTRATOR_LISTEN=127.0.0.1:%d", orch_port), 0);
        ck_assert_int_ge(asprintf(&llm_url, "LLM_SERVICE_URL=http://127.0.0.1:%d/", llm_port), 0);
        ck_assert_int_ge(asprintf(&v, "VISION_SERVICE_URL=http://127.0.0.1:%d", dead), 0);
        ck_assert_int_ge(asprintf(&n, "NLP_SERVICE_URL=http://127.0.0.1:%d", dead), 0);
        ck_assert_int_ge(asprintf(&d, "DATA_PROCESSOR_URL=http://127.0.0.1:%d", dead), 0);
        /* The job database defaults to /data (the pod's volume): a temporary one here. */
        ck_assert_int_ge(asprintf(&db, "ORCH_DB_PATH=/tmp/test-service-orch-%d.db", (int) getpid()), 0);
        llm = spawn(llm_bin, NULL, ARGS(llm_env));
        orch =
                spawn(orch_bin,
                      NULL,
                      ARGS(orch_env, llm_url, v, n, d, db, "ORCH_AUTH=off", "ORCH_PROBE_TIMEOUT=500ms"));
        wait_healthy(llm_bin, llm_env);
        wait_healthy(orch_bin, orch_env);

        o = get_json(orch_port, "/health/ready", &status);
        ck_assert_int_eq(status, 503);
        ck_assert_str_eq(jpath(o, "status", NULL, NULL), "not_ready");
        ck_assert_str_eq(jpath(o, "services", "llm", "status"), "ready");
        ck_assert_ptr_nonnull(jpath(o, "services", "llm", "latency_ms"));
        ck_assert_ptr_null(jpath(o, "services", "llm", "error"));
        ck_assert_str_eq(jpath(o, "services", "vision", "status"), "unreachable");
        ck_assert_ptr_nonnull(jpath(o, "services", "vision", "error"));
        ck_assert_str_eq(jpath(o, "services", "nlp", "status"), "unreachable");
        ck_assert_str_eq(jpath(o, "services", "data", "status"), "unreachable");
        ck_assert_str_eq(jpath(o, "services", "data", "url"), d + strlen("DATA_PROCESSOR_URL="));
        json_object_put(o);

        ck_assert_int_eq(
                test_http(
                        orch_port,
                        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                        &r),
                0);
        ck_assert_ptr_nonnull(strstr(r.body, "orch_upstream_up{service=\"llm\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(r.body, "orch_upstream_up{service=\"vision\"} 0\n"));
        raw_response_done(&r);

        /* Upstream going away flips it. */
        ck_assert_int_eq(kill(llm.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&llm, 10, &out, &err), 0);
        o = get_json(orch_port, "/health/ready", &status);
        ck_assert_int_eq(status, 503);
        ck_assert_str_eq(jpath(o, "services", "llm", "status"), "unreachable");
        json_object_put(o);

        free(out), free(err);
        ck_assert_int_eq(kill(orch.pid, SIGTERM), 0);
        ck_assert_int_eq(wait_child(&orch, 10, &out, &err), 0);
        for (const char *suffix = ""; suffix; suffix = streq(suffix, "") ? "-wal"
                     : streq(suffix, "-wal")                             ? "-shm"
                                                                         : NULL) {
                char path[128];

                snprintf(path, sizeof(path), "%s%s", db + strlen("ORCH_DB_PATH="), suffix);
                (void) unlink(path);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("service");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_help_version);
        tcase_add_test(tc, test_bad_usage);
        tcase_add_test(tc, test_bad_config);
        tcase_add_test(tc, test_healthcheck_nothing_listening);
        tcase_add_test(tc, test_lifecycle);
        tcase_add_test(tc, test_orchestrator_readiness);
        tcase_add_test(tc, test_socket_activation);
        tcase_add_test(tc, test_watchdog);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv) {

        if (argc < 3) {
                fprintf(stderr, "usage: %s LLM-BINARY ORCHESTRATOR-BINARY\n", argv[0]);
                return 77;
        }
        llm_bin = argv[1];
        orch_bin = argv[2];
        return check_run(suite());
}
