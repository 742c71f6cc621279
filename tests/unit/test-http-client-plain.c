/* SPDX-License-Identifier: MIT */
/* test-http-client-plain.c — the plain keep-alive engine of http-client: against our own
 * HTTP server (bodies, caps, timeouts, cancel, one connection kept for many calls), and
 * against a scripted raw server for what a peer may do to a kept connection: close it
 * while idle, close it as the next request arrives, answer with interim responses,
 * chunked or close-delimited bodies, Connection: close, or a malformed head. */
#include <check.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* What arrived: "<Content-Type>|<X-Owner>|<query>|<body>". */
static int handle_echo(HttpRequest *req, void *userdata) {
        size_t len;
        const char *body = http_request_body(req, &len);
        char buf[512];

        snprintf(
                buf,
                sizeof(buf),
                "%s|%s|%s|%.*s",
                strempty(http_request_header(req, "Content-Type")),
                strempty(http_request_header(req, "X-Owner")),
                strempty(http_request_query(req)),
                (int) len,
                strempty(body));
        return http_reply_text(req, 201, buf);
}

static int handle_delete(HttpRequest *req, void *userdata) {
        return http_reply(req, 200, "text/plain", "", 0);
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

static const HttpRoute routes[] = {
        { "GET", "/hello", handle_hello, 0, NULL },
        { "POST", "/echo", handle_echo, HTTP_ROUTE_ANY_CONTENT_TYPE, NULL },
        { "DELETE", "/echo", handle_delete, 0, NULL },
        { "GET", "/big", handle_big, 0, NULL },
        { "GET", "/sleep", handle_sleep, 0, NULL },
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

static char *url_on(int p, const char *path) {
        char *u = NULL;
        ck_assert_int_ge(asprintf(&u, "http://127.0.0.1:%d%s", p, path), 0);
        return u;
}

static int call(const char *u, HttpClientRequest *req) {
        req->engine = HTTP_CLIENT_PLAIN;
        req->url = u;
        return http_client_perform(req);
}

START_TEST(test_bodies_and_headers) {
        _cleanup_free_ char *h = url_on(port, "/hello"), *e = url_on(port, "/echo?x=1#frag"),
                            *m = url_on(port, "/missing");
        const char *extra[] = { "X-Owner: o-1", NULL };
        HttpClientRequest req = { .request_id = "rid-9" };

        ck_assert_int_eq(call(h, &req), 0);
        ck_assert_int_eq(req.response.status, 200);
        ck_assert_str_eq(req.response.body, "hello rid-9");
        ck_assert_uint_eq(req.response.body_len, 11);
        ck_assert(req.response.total_ms >= 0);
        http_client_response_done(&req.response);

        req = (HttpClientRequest){
                .body = "{\"a\":1}", .body_len = 7, .content_type = "text/csv", .headers = extra
        };
        ck_assert_int_eq(call(e, &req), 0);
        ck_assert_int_eq(req.response.status, 201);
        ck_assert_str_eq(req.response.body, "text/csv|o-1|x=1|{\"a\":1}");
        http_client_response_done(&req.response);

        /* A method of its own, and an empty body back: no body, not an error. */
        req = (HttpClientRequest){ .method = "DELETE" };
        ck_assert_int_eq(call(e, &req), 0);
        ck_assert_int_eq(req.response.status, 200);
        ck_assert_ptr_null(req.response.body);
        ck_assert_uint_eq(req.response.body_len, 0);

        /* Not found is a response. */
        req = (HttpClientRequest){};
        ck_assert_int_eq(call(m, &req), 0);
        ck_assert_int_eq(req.response.status, 404);
        ck_assert_ptr_nonnull(strstr(req.response.body, "\"status\":404"));
        http_client_response_done(&req.response);
}
END_TEST

/* Many calls, one connection: the server holds exactly the one the pool keeps. */
START_TEST(test_keep_alive_reuse) {
        _cleanup_free_ char *h = url_on(port, "/hello");

        http_client_pool_flush();
        ck_assert_uint_eq(http_server_connections(server), 0);
        for (int i = 0; i < 20; i++) {
                HttpClientRequest req = {};

                ck_assert_int_eq(call(h, &req), 0);
                ck_assert_int_eq(req.response.status, 200);
                http_client_response_done(&req.response);
        }
        ck_assert_uint_eq(http_server_connections(server), 1);
        http_client_pool_flush();
        for (int i = 0; i < 100 && http_server_connections(server) > 0; i++)
                usleep(10000);
        ck_assert_uint_eq(http_server_connections(server), 0);
}
END_TEST

START_TEST(test_limits_and_errors) {
        _cleanup_free_ char *big = url_on(port, "/big"), *slow = url_on(port, "/sleep"),
                            *dead = url_on(1, "/");
        HttpClientRequest req = { .max_body = 1000 };
        int cancel = 1;
        double t0;

        ck_assert_int_eq(call(big, &req), -EFBIG);
        ck_assert_ptr_null(req.response.body);
        req = (HttpClientRequest){ .max_body = 200000 };
        ck_assert_int_eq(call(big, &req), 0);
        ck_assert_uint_eq(req.response.body_len, 100000);
        http_client_response_done(&req.response);

        t0 = test_now();
        req = (HttpClientRequest){ .timeout_ms = 100 };
        ck_assert_int_eq(call(slow, &req), -ETIMEDOUT);
        ck_assert(test_now() - t0 < 0.29);
        ck_assert_ptr_nonnull(strstr(req.response.error, "timed out"));

        t0 = test_now();
        req = (HttpClientRequest){ .timeout_ms = 5000, .cancel = &cancel };
        ck_assert_int_eq(call(slow, &req), -ECANCELED);
        ck_assert(test_now() - t0 < 0.29);

        req = (HttpClientRequest){};
        ck_assert_int_eq(call(dead, &req), -ECONNREFUSED);
        ck_assert_ptr_nonnull(strstr(req.response.error, "Failed to connect"));
        req = (HttpClientRequest){};
        ck_assert_int_eq(call("http://no-such-host.invalid:80/", &req), -EHOSTUNREACH);
}
END_TEST

/* What the plain engine does not do goes to libcurl: the same answer either way. */
START_TEST(test_falls_back_to_curl) {
        _cleanup_free_ char *h = NULL;
        HttpClientRequest req = {};

        ck_assert_int_ge(asprintf(&h, "http://user:secret@127.0.0.1:%d/hello", port), 0);
        ck_assert_int_eq(call(h, &req), 0);
        ck_assert_str_eq(req.response.body, "hello ");
        http_client_response_done(&req.response);
        /* No connection of the plain pool was made for it (libcurl keeps its own). */
        http_client_pool_flush();
        req = (HttpClientRequest){ .engine = _HTTP_CLIENT_ENGINE_MAX, .url = h };
        ck_assert_int_eq(http_client_perform(&req), -EINVAL);
}
END_TEST

/* ---- a scripted peer --------------------------------------------------------------- */

/* Each request the raw server reads takes the next step: its reply (NULL: the connection
 * closes without one) and whether the connection closes after it. A step with
 * close_idle closes the connection right after the reply, as a server whose idle
 * timeout ran out. */
typedef struct Step {
        const char *reply;
        bool close_after;
} Step;

static struct {
        int fd, port;
        const Step *steps;
        size_t n_steps, next;
        bool repeat_last; /* once the steps run out, every request takes the last one */
        unsigned accepted, requests, active;
        bool stop;
        pthread_t thread;
        pthread_mutex_t lock;
} raw = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Reads one request (head and Content-Length body); false at the end of the connection. */
static bool raw_read_request(int fd) {
        char buf[65536];
        size_t len = 0;

        for (;;) {
                char *end;
                ssize_t n;

                buf[len] = '\0';
                end = strstr(buf, "\r\n\r\n");
                if (end) {
                        const char *cl = strcasestr(buf, "Content-Length:");
                        size_t want = (size_t) (end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);

                        while (len < want) {
                                n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
                                if (n <= 0)
                                        return false;
                                len += (size_t) n;
                        }
                        return true;
                }
                n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
                if (n <= 0)
                        return false;
                len += (size_t) n;
        }
}

/* One connection: its requests take the script's steps in turn. */
static void *raw_conn_thread(void *userdata) {
        int c = (int) (intptr_t) userdata;

        while (raw_read_request(c)) {
                Step s = {};

                pthread_mutex_lock(&raw.lock);
                raw.requests++;
                if (raw.next < raw.n_steps)
                        s = raw.steps[raw.next++];
                else if (raw.repeat_last && raw.n_steps > 0)
                        s = raw.steps[raw.n_steps - 1];
                pthread_mutex_unlock(&raw.lock);
                if (!s.reply || test_send_all(c, s.reply, strlen(s.reply)) < 0 || s.close_after)
                        break;
        }
        close(c);
        pthread_mutex_lock(&raw.lock);
        raw.active--;
        pthread_mutex_unlock(&raw.lock);
        return NULL;
}

static void *raw_thread(void *userdata) {
        for (;;) {
                struct pollfd p = { .fd = raw.fd, .events = POLLIN };
                pthread_t t;
                int c;

                pthread_mutex_lock(&raw.lock);
                if (raw.stop) {
                        pthread_mutex_unlock(&raw.lock);
                        return NULL;
                }
                pthread_mutex_unlock(&raw.lock);
                if (poll(&p, 1, 50) <= 0)
                        continue;
                c = accept4(raw.fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                pthread_mutex_lock(&raw.lock);
                raw.accepted++;
                raw.active++;
                pthread_mutex_unlock(&raw.lock);
                ck_assert_int_eq(pthread_create(&t, NULL, raw_conn_thread, (void *) (intptr_t) c), 0);
                pthread_detach(t);
        }
}

static void raw_start(const Step *steps, size_t n, bool repeat_last) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof(a);

        raw.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(raw.fd, 0);
        ck_assert_int_eq(bind(raw.fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(listen(raw.fd, 64), 0);
        ck_assert_int_eq(getsockname(raw.fd, (struct sockaddr *) &a, &al), 0);
        raw.port = ntohs(a.sin_port);
        raw.steps = steps;
        raw.n_steps = n;
        raw.repeat_last = repeat_last;
        raw.next = raw.accepted = raw.requests = raw.active = 0;
        raw.stop = false;
        ck_assert_int_eq(pthread_create(&raw.thread, NULL, raw_thread, NULL), 0);
}

/* Stops accepting and waits for every connection's thread to end. */
static void raw_stop(void) {
        http_client_pool_flush(); /* a connection's thread may be reading a kept connection */
        pthread_mutex_lock(&raw.lock);
        raw.stop = true;
        pthread_mutex_unlock(&raw.lock);
        pthread_join(raw.thread, NULL);
        close(raw.fd);
        for (int i = 0; i < 500; i++) {
                bool done;

                pthread_mutex_lock(&raw.lock);
                done = raw.active == 0;
                pthread_mutex_unlock(&raw.lock);
                if (done)
                        return;
                usleep(10000);
        }
        ck_abort_msg("the raw server's connections did not end");
}

static unsigned raw_count(unsigned *field) {
        unsigned n;

        pthread_mutex_lock(&raw.lock);
        n = *field;
        pthread_mutex_unlock(&raw.lock);
        return n;
}

#define OK_KEEP "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static int raw_call(const char *path, HttpClientRequest *req) {
        _cleanup_free_ char *u = url_on(raw.port, path);

        *req = (HttpClientRequest){ .body = "{}", .body_len = 2, .timeout_ms = 2000 };
        return call(u, req);
}

/* The peer closed the kept connection while it was idle: the next call sees that before
 * sending and takes a new one. */
START_TEST(test_peer_closed_idle) {
        static const Step steps[] = { { OK_KEEP, true }, { OK_KEEP, false } };
        HttpClientRequest req;

        raw_start(steps, ELEMENTSOF(steps), false);
        ck_assert_int_eq(raw_call("/a", &req), 0);
        ck_assert_str_eq(req.response.body, "ok");
        http_client_response_done(&req.response);
        usleep(50 * 1000); /* the close reaches us */
        ck_assert_int_eq(raw_call("/b", &req), 0);
        ck_assert_str_eq(req.response.body, "ok");
        http_client_response_done(&req.response);
        ck_assert_uint_eq(raw_count(&raw.accepted), 2);
        ck_assert_uint_eq(raw_count(&raw.requests), 2);
        raw_stop();
}
END_TEST

/* The kept connection dies as the request arrives (read, then closed unanswered): one
 * retry on a new connection, as libcurl does for a reused connection. */
START_TEST(test_peer_closed_on_reuse) {
        static const Step steps[] = { { OK_KEEP, false }, { NULL, false }, { OK_KEEP, false } };
        HttpClientRequest req;

        raw_start(steps, ELEMENTSOF(steps), false);
        ck_assert_int_eq(raw_call("/a", &req), 0);
        http_client_response_done(&req.response);
        ck_assert_int_eq(raw_call("/b", &req), 0);
        ck_assert_int_eq(req.response.status, 200);
        ck_assert_str_eq(req.response.body, "ok");
        http_client_response_done(&req.response);
        ck_assert_uint_eq(raw_count(&raw.accepted), 2);
        ck_assert_uint_eq(raw_count(&raw.requests), 3);
        raw_stop();
}
END_TEST

/* A new connection closed without an answer is the call's failure: no retry. */
START_TEST(test_peer_closed_fresh) {
        static const Step steps[] = { { NULL, false }, { OK_KEEP, false } };
        HttpClientRequest req;

        raw_start(steps, ELEMENTSOF(steps), false);
        ck_assert_int_eq(raw_call("/a", &req), -ECONNRESET);
        ck_assert_ptr_nonnull(strstr(req.response.error, "Empty reply"));
        ck_assert_uint_eq(raw_count(&raw.requests), 1);
        raw_stop();
}
END_TEST

/* Framing: interim 100 before a chunked body; Connection: close (not kept); a body that
 * runs to the end of the connection; HTTP/1.0 (not kept); a head with both
 * Content-Length and Transfer-Encoding (refused). */
START_TEST(test_framing) {
        static const Step steps[] = {
                { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: v\r\n\r\n",
                  false },
                { "HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 3\r\n\r\nxyz", false },
                { "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end", true },
                { "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nv0", false },
                { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                  false },
        };
        HttpClientRequest req;

        raw_start(steps, ELEMENTSOF(steps), false);
        ck_assert_int_eq(raw_call("/1", &req), 0);
        ck_assert_int_eq(req.response.status, 200);
        ck_assert_str_eq(req.response.body, "abcdefg");
        ck_assert_uint_eq(req.response.body_len, 7);
        http_client_response_done(&req.response);
        ck_assert_uint_eq(raw_count(&raw.accepted), 1);

        ck_assert_int_eq(raw_call("/2", &req), 0); /* on the kept connection */
        ck_assert_int_eq(req.response.status, 201);
        ck_assert_str_eq(req.response.body, "xyz");
        http_client_response_done(&req.response);
        ck_assert_uint_eq(raw_count(&raw.accepted), 1);

        ck_assert_int_eq(raw_call("/3", &req), 0); /* Connection: close was heeded */
        ck_assert_str_eq(req.response.body, "to the end");
        http_client_response_done(&req.response);
        ck_assert_uint_eq(raw_count(&raw.accepted), 2);

        ck_assert_int_eq(raw_call("/4", &req), 0);
        ck_assert_str_eq(req.response.body, "v0");
        http_client_response_done(&req.response);
        ck_assert_uint_eq(raw_count(&raw.accepted), 3);

        ck_assert_int_eq(raw_call("/5", &req), -EIO); /* HTTP/1.0 was not kept either */
        ck_assert_ptr_nonnull(strstr(req.response.error, "Content-Length and Transfer-Encoding"));
        ck_assert_uint_eq(raw_count(&raw.accepted), 4);
        raw_stop();
}
END_TEST

typedef struct Caller {
        unsigned ok;
} Caller;

static void *caller_thread(void *userdata) {
        Caller *c = userdata;

        for (int i = 0; i < 50; i++) {
                HttpClientRequest req;

                if (raw_call("/c", &req) == 0 && req.response.status == 200)
                        c->ok++;
                http_client_response_done(&req.response);
        }
        return NULL;
}

/* 32 threads calling at once share the kept connections: no more are made than calls
 * run at the same time, however the calls interleave. */
START_TEST(test_concurrent_reuse) {
        static const Step steps[] = { { OK_KEEP, false } };
        pthread_t t[32];
        Caller c[32] = {};

        raw_start(steps, ELEMENTSOF(steps), true);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, caller_thread, &c[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                pthread_join(t[i], NULL);
                ck_assert_uint_eq(c[i].ok, 50);
        }
        ck_assert_uint_eq(raw_count(&raw.requests), 50 * ELEMENTSOF(t));
        ck_assert_uint_le(raw_count(&raw.accepted), ELEMENTSOF(t));
        raw_stop();
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-client-plain");
        TCase *tc = tcase_create("server");
        TCase *peer = tcase_create("peer");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bodies_and_headers);
        tcase_add_test(tc, test_keep_alive_reuse);
        tcase_add_test(tc, test_limits_and_errors);
        tcase_add_test(tc, test_falls_back_to_curl);
        suite_add_tcase(s, tc);
        tcase_add_test(peer, test_peer_closed_idle);
        tcase_add_test(peer, test_peer_closed_on_reuse);
        tcase_add_test(peer, test_peer_closed_fresh);
        tcase_add_test(peer, test_framing);
        tcase_add_test(peer, test_concurrent_reuse);
        suite_add_tcase(s, peer);
        return s;
}

int main(void) {
        return check_run(suite());
}
