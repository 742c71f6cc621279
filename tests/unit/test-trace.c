/* SPDX-License-Identifier: MIT */
/* test-trace.c — traceparent parsing (strict version 00) and generation, the span line,
 * and propagation through the real server and client: a door that starts or continues a
 * trace, a call that is a child span, a service behind it that continues it. */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <sys/mman.h>

#include "check-run.h"
#include "http-client.h"
#include "http-server.h"
#include "json-util.h"
#include "log.h"
#include "otlp.h"
#include "test-http-util.h"
#include "trace.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"
#define VALID "00-" TID "-" SID "-01"

/* ---- parsing and generation ---------------------------------------------------------- */

START_TEST(test_parse_valid) {
        TraceContext c;

        ck_assert_int_eq(trace_parse(VALID, &c), 0);
        ck_assert_str_eq(c.trace_id, TID);
        ck_assert_str_eq(c.span_id, SID);
        ck_assert_str_eq(c.parent_id, "");
        ck_assert_int_eq(c.flags, 0x01);
        ck_assert_int_eq(trace_parse("00-" TID "-" SID "-00", &c), 0);
        ck_assert_int_eq(c.flags, 0x00);
}
END_TEST

START_TEST(test_parse_invalid) {
        static const char *const bad[] = {
                "",
                "00",
                "01-" TID "-" SID "-01",                          /* another version */
                "ff-" TID "-" SID "-01",                          /* the forbidden one */
                "00-" TID "-" SID "-01-extra",                    /* more than version 00 has */
                "00-" TID "-" SID "-01 ",                         /* trailing space */
                " 00-" TID "-" SID "-0",                          /* leading space, 55 chars */
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", /* upper case */
                "00-" TID "-00F067AA0BA902B7-01",                 /* upper case span */
                "00-00000000000000000000000000000000-" SID "-01", /* zero trace id */
                "00-" TID "-0000000000000000-01",                 /* zero span id */
                "00-" TID "-" SID "-0g",                          /* flags not hex */
                "00-4bf92f3577b34da6a3ce929d0e0e473g-" SID "-01", /* trace id not hex */
                "00_" TID "-" SID "-01",                          /* separator */
                "00-" TID "_" SID "-01",                          /* separator */
                "00-" TID "-" SID "_01",                          /* separator */
                "00-4bf92f3577b34da6a3ce929d0e0e47-" SID "-0100", /* short trace id */
        };
        TraceContext c = { .trace_id = "untouched" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(trace_parse(bad[i], &c) == -EINVAL, "accepted '%s'", bad[i]);
        ck_assert_int_eq(trace_parse(NULL, &c), -EINVAL);
        ck_assert_str_eq(c.trace_id, "untouched"); /* out-param left alone on failure */
}
END_TEST

static bool is_hex(const char *s, size_t n) {
        if (strlen(s) != n)
                return false;
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

START_TEST(test_child_and_format) {
        TraceContext caller, root, a, b;
        char tp[TRACEPARENT_LEN + 1];

        ck_assert_int_eq(trace_child(NULL, &root), 0);
        ck_assert(is_hex(root.trace_id, TRACE_ID_HEX));
        ck_assert(is_hex(root.span_id, TRACE_SPAN_ID_HEX));
        ck_assert_str_eq(root.parent_id, "");
        ck_assert_int_eq(root.flags, 0x01);

        ck_assert_int_eq(trace_parse("00-" TID "-" SID "-00", &caller), 0);
        ck_assert_int_eq(trace_child(&caller, &a), 0);
        ck_assert_int_eq(trace_child(&caller, &b), 0);
        ck_assert_str_eq(a.trace_id, TID);
        ck_assert_str_eq(a.parent_id, SID);
        ck_assert_int_eq(a.flags, 0x00); /* kept as received */
        ck_assert_str_ne(a.span_id, SID);
        ck_assert_str_ne(a.span_id, b.span_id);

        trace_format(&a, tp);
        ck_assert_int_eq((int) strlen(tp), TRACEPARENT_LEN);
        ck_assert_int_eq(trace_parse(tp, &b), 0); /* what we send, we accept */
        ck_assert_str_eq(b.trace_id, TID);
        ck_assert_str_eq(b.span_id, a.span_id);
        ck_assert_int_eq(b.flags, 0x00);
}
END_TEST

START_TEST(test_outcome) {
        ck_assert_str_eq(trace_outcome(200), "ok");
        ck_assert_str_eq(trace_outcome(302), "ok");
        ck_assert_str_eq(trace_outcome(404), "rejected");
        ck_assert_str_eq(trace_outcome(502), "failed");
        ck_assert_str_eq(trace_outcome(0), "failed");
}
END_TEST

/* ---- captured log lines -------------------------------------------------------------- */

static int saved_stderr = -1, capture_fd = -1;

static void capture_begin(void) {
        capture_fd = memfd_create("log", MFD_CLOEXEC);
        ck_assert_int_ge(capture_fd, 0);
        /* Appended, as the journal's stream or a pipe would take them: without O_APPEND two
         * threads' lines written at once may land at one offset, and one is lost. */
        ck_assert_int_eq(fcntl(capture_fd, F_SETFL, O_APPEND), 0);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(dup2(capture_fd, STDERR_FILENO), 0);
}

static size_t captured_lines(void) {
        off_t size = lseek(capture_fd, 0, SEEK_END);
        _cleanup_free_ char *buf = calloc(1, (size_t) size + 1);
        size_t n = 0;

        ck_assert_int_eq(pread(capture_fd, buf, (size_t) size, 0), size);
        for (char *c = buf; (c = strchr(c, '\n')); c++)
                n++;
        return n;
}

/* The captured lines as a JSON array, once there are at least n (a server logs a request's
 * line after its reply is on the way; 0 = what is there after 200 ms). */
static json_object *capture_end(size_t n) {
        double deadline = test_now() + (n > 0 ? 5.0 : 0.2);
        json_object *lines = json_object_new_array();
        _cleanup_free_ char *buf = NULL;
        off_t size;

        while ((n == 0 || captured_lines() < n) && test_now() < deadline)
                (void) usleep(10000);
        size = lseek(capture_fd, 0, SEEK_END);
        buf = calloc(1, (size_t) size + 1);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pread(capture_fd, buf, (size_t) size, 0), size);
        close(capture_fd);
        for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                json_object *o = json_tokener_parse(l);

                ck_assert_msg(o != NULL, "not JSON: %s", l);
                json_object_array_add(lines, o);
        }
        return lines;
}

static const char *field(json_object *o, const char *k) {
        json_object *v;
        return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* The one line whose span_name is name (and kind), or fails. */
static json_object *span_line(json_object *lines, const char *kind, const char *name) {
        json_object *found = NULL;

        for (size_t i = 0; i < json_object_array_length(lines); i++) {
                json_object *o = json_object_array_get_idx(lines, i);

                if (streq(strempty(field(o, "span_name")), name) &&
                    streq(strempty(field(o, "span_kind")), kind)) {
                        ck_assert_msg(!found, "two %s spans named %s", kind, name);
                        found = o;
                }
        }
        ck_assert_msg(found != NULL, "no %s span named %s", kind, name);
        return found;
}

static void setup(void) {
        log_init("unit");
        log_set_journal(false);
        log_set_max_level(LOG_INFO);
        log_set_trace(NULL);
        trace_set_enabled(true);
}

START_TEST(test_span_line) {
        TraceContext span, thread;
        _cleanup_json_ json_object *lines = NULL;
        json_object *o;

        ck_assert_int_eq(trace_parse(VALID, &thread), 0);
        ck_assert_int_eq(trace_child(&thread, &span), 0);
        log_set_trace(&thread);
        capture_begin();
        trace_log_span(
                LOG_INFO,
                &span,
                TRACE_SPAN_CLIENT,
                "POST /x",
                2500,
                "ok",
                (const char *[]){ "PEER=127.0.0.1:1", NULL },
                "call %d",
                1);
        log_info("after");
        lines = capture_end(2);
        ck_assert_int_eq((int) json_object_array_length(lines), 2);
        o = json_object_array_get_idx(lines, 0);
        ck_assert_str_eq(field(o, "trace_id"), TID);
        ck_assert_str_eq(field(o, "span_id"), span.span_id);
        ck_assert_str_eq(field(o, "parent_span_id"), SID);
        ck_assert_str_eq(field(o, "span_name"), "POST /x");
        ck_assert_str_eq(field(o, "span_kind"), "client");
        ck_assert_str_eq(field(o, "duration_ms"), "2.500");
        ck_assert_str_eq(field(o, "outcome"), "ok");
        ck_assert_str_eq(field(o, "peer"), "127.0.0.1:1");
        ck_assert_ptr_nonnull(field(o, "start_us"));
        ck_assert_str_eq(field(o, "msg"), "call 1");
        /* The thread's own span is back for the next line. */
        o = json_object_array_get_idx(lines, 1);
        ck_assert_str_eq(field(o, "span_id"), SID);
        ck_assert_ptr_null(field(o, "parent_span_id"));
        log_set_trace(NULL);
}
END_TEST

START_TEST(test_span_line_off) {
        TraceContext span;
        _cleanup_json_ json_object *lines = NULL;

        ck_assert_int_eq(trace_child(NULL, &span), 0);
        capture_begin();
        trace_set_enabled(false);
        trace_log_span(LOG_INFO, &span, TRACE_SPAN_SERVER, "GET /", 1, "ok", NULL, "x");
        trace_set_enabled(true);
        log_set_max_level(LOG_WARNING);
        trace_log_span(LOG_INFO, &span, TRACE_SPAN_SERVER, "GET /", 1, "ok", NULL, "below the level");
        log_set_max_level(LOG_INFO);
        trace_log_span(LOG_INFO, &(TraceContext){}, TRACE_SPAN_SERVER, "GET /", 1, "ok", NULL, "untraced");
        lines = capture_end(0);
        ck_assert_int_eq((int) json_object_array_length(lines), 0);
}
END_TEST

/* TRACE_SAMPLE_RATE: at most that many new traces a second are sampled; an unsampled one
 * is carried (flags 00 in its traceparent, and in its children's) and logs nothing. */
START_TEST(test_sampling) {
        TraceContext roots[6], child;
        char tp[TRACEPARENT_LEN + 1];
        unsigned sampled = 0;
        _cleanup_json_ json_object *lines = NULL;

        trace_set_sample_rate(2);
        for (int attempt = 0; attempt < 5; attempt++) {
                uint64_t second = time_now_usec(CLOCK_MONOTONIC) / 1000000;

                sampled = 0;
                for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                        ck_assert_int_eq(trace_child(NULL, &roots[i]), 0);
                        sampled += trace_sampled(&roots[i]);
                }
                if (time_now_usec(CLOCK_MONOTONIC) / 1000000 == second)
                        break; /* all six in one second: the count is exact */
        }
        ck_assert_uint_eq(sampled, 2);
        ck_assert(trace_sampled(&roots[0]) && trace_sampled(&roots[1]) && !trace_sampled(&roots[5]));
        ck_assert_int_eq(trace_child(&roots[5], &child), 0);
        ck_assert(!trace_sampled(&child));
        trace_format(&child, tp);
        ck_assert_str_eq(tp + strlen(tp) - 3, "-00");
        capture_begin();
        trace_log_span(LOG_INFO, &child, TRACE_SPAN_CLIENT, "GET /", 1, "ok", NULL, "unsampled");
        lines = capture_end(0);
        ck_assert_int_eq((int) json_object_array_length(lines), 0);
        trace_set_sample_rate(0);
}
END_TEST

/* ---- propagation through the real server and client ---------------------------------- */

static HttpServer *door, *inner;
static int inner_port;
static TraceContext seen_inner; /* what the inner service's handler saw */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static int handle_inner(HttpRequest *req, void *userdata) {
        const TraceContext *t = http_request_trace(req);

        pthread_mutex_lock(&seen_lock);
        seen_inner = t ? *t : (TraceContext){};
        pthread_mutex_unlock(&seen_lock);
        return http_reply_text(req, 200, "inner");
}

/* The door calls the inner service once, or twice at once (?many). */
static int handle_front(HttpRequest *req, void *userdata) {
        char url[64];
        HttpClientRequest calls[2] = {};
        bool many = http_request_query(req) && strstr(http_request_query(req), "many");

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/inner", inner_port);
        for (size_t i = 0; i < 2; i++)
                calls[i] = (HttpClientRequest){ .url = url, .timeout_ms = 5000 };
        if (many)
                ck_assert_int_eq(http_client_perform_many(calls, 2), 0);
        else
                (void) http_client_perform(&calls[0]);
        for (size_t i = 0; i < (many ? 2 : 1); i++) {
                ck_assert_int_eq(calls[i].result, 0);
                http_client_response_done(&calls[i].response);
        }
        return http_reply_text(req, calls[0].response.status == 200 ? 200 : 502, "front");
}

static HttpServer *start(const HttpRoute *route, bool trace_start, int *ret_port) {
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 4, .trace_start = trace_start };
        HttpServer *s;

        ck_assert_int_eq(http_server_new(&c, &s), 0);
        ck_assert_int_eq(http_server_add_routes(s, route, 1), 0);
        ck_assert_int_eq(http_server_start(s), 0);
        *ret_port = http_server_get_port(s);
        return s;
}

static int door_port;

static void servers_setup(void) {
        setup();
        inner = start(&(HttpRoute){ "GET", "/inner", handle_inner, 0, NULL }, false, &inner_port);
        door = start(&(HttpRoute){ "GET", "/front", handle_front, 0, NULL }, true, &door_port);
}

static void servers_teardown(void) {
        ck_assert_int_eq(http_server_shutdown(door), 0);
        ck_assert_int_eq(http_server_shutdown(inner), 0);
        http_server_free(door);
        http_server_free(inner);
        http_client_pool_flush();
}

/* GET path on port with an optional traceparent; the captured lines, once there are n. */
static json_object *get(int p, const char *path, const char *traceparent, size_t n) {
        char head[512];
        RawResponse r;

        snprintf(
                head,
                sizeof(head),
                "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%sConnection: close\r\n\r\n",
                path,
                traceparent ? "traceparent: " : "",
                strempty(traceparent),
                traceparent ? "\r\n" : "");
        capture_begin();
        ck_assert_int_eq(test_http(p, head, &r), 0);
        ck_assert_int_eq(r.status, 200);
        raw_response_done(&r);
        return capture_end(n);
}

/* door (server) → call (client) → inner (server): one trace, each a child of the last. */
static void assert_chain(json_object *lines, const char *trace_id, const char *door_parent) {
        json_object *front = span_line(lines, "server", "GET /front"),
                    *call = span_line(lines, "client", "GET /inner"),
                    *in = span_line(lines, "server", "GET /inner");

        ck_assert_str_eq(field(front, "trace_id"), trace_id);
        ck_assert_str_eq(field(call, "trace_id"), trace_id);
        ck_assert_str_eq(field(in, "trace_id"), trace_id);
        if (door_parent)
                ck_assert_str_eq(field(front, "parent_span_id"), door_parent);
        else
                ck_assert_ptr_null(field(front, "parent_span_id"));
        ck_assert_str_eq(field(call, "parent_span_id"), field(front, "span_id"));
        ck_assert_str_eq(field(in, "parent_span_id"), field(call, "span_id"));
        ck_assert_str_ne(field(front, "span_id"), field(call, "span_id"));
        ck_assert_str_ne(field(call, "span_id"), field(in, "span_id"));
        ck_assert_str_eq(field(in, "span_id"), seen_inner.span_id); /* the handler's own span */
        ck_assert_str_eq(field(front, "outcome"), "ok");
        ck_assert_str_eq(field(call, "outcome"), "ok");
        ck_assert_str_eq(field(call, "status"), "200");
        ck_assert_str_eq(field(front, "status"), "200");
        ck_assert_ptr_nonnull(field(front, "duration_ms"));
}

START_TEST(test_continued) {
        _cleanup_json_ json_object *lines = get(door_port, "/front", VALID, 3);

        assert_chain(lines, TID, SID);
}
END_TEST

START_TEST(test_started_at_door) {
        _cleanup_json_ json_object *lines = get(door_port, "/front", NULL, 3);
        const char *tid = field(span_line(lines, "server", "GET /front"), "trace_id");

        ck_assert(is_hex(tid, TRACE_ID_HEX));
        assert_chain(lines, tid, NULL);
}
END_TEST

START_TEST(test_invalid_replaced) {
        /* Upper case: not version 00 as written; ignored, a new trace instead, no error. */
        _cleanup_json_ json_object *lines =
                get(door_port, "/front", "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", 3);
        const char *tid = field(span_line(lines, "server", "GET /front"), "trace_id");

        ck_assert(is_hex(tid, TRACE_ID_HEX));
        ck_assert_str_ne(tid, TID);
        ck_assert_str_ne(tid, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_chain(lines, tid, NULL);
}
END_TEST

START_TEST(test_many_calls) {
        _cleanup_json_ json_object *lines = get(door_port, "/front?many", VALID, 5);
        json_object *front = span_line(lines, "server", "GET /front");
        size_t calls = 0, inners = 0;

        /* Both calls made on their own threads are children of the door's span. */
        for (size_t i = 0; i < json_object_array_length(lines); i++) {
                json_object *o = json_object_array_get_idx(lines, i);

                if (!field(o, "span_kind"))
                        continue;
                ck_assert_str_eq(field(o, "trace_id"), TID);
                if (streq(field(o, "span_kind"), "client")) {
                        ck_assert_str_eq(field(o, "parent_span_id"), field(front, "span_id"));
                        calls++;
                } else if (streq(field(o, "span_name"), "GET /inner"))
                        inners++;
        }
        ck_assert_int_eq((int) calls, 2);
        ck_assert_int_eq((int) inners, 2);
}
END_TEST

START_TEST(test_unsampled_carried) {
        /* The caller did not sample its trace: nobody logs a span, the flag goes on. */
        _cleanup_json_ json_object *lines = NULL;

        snprintf(seen_inner.trace_id, sizeof(seen_inner.trace_id), "not called");
        lines = get(door_port, "/front", "00-" TID "-" SID "-00", 0);
        ck_assert_int_eq((int) json_object_array_length(lines), 0);
        pthread_mutex_lock(&seen_lock);
        ck_assert_str_eq(seen_inner.trace_id, TID);
        ck_assert_uint_eq(seen_inner.flags, 0);
        pthread_mutex_unlock(&seen_lock);
}
END_TEST

START_TEST(test_inner_untraced_without_header) {
        /* A service that does not start traces: a request without traceparent has no span
         * and no line (its access log is off). */
        _cleanup_json_ json_object *lines = NULL;

        snprintf(seen_inner.trace_id, sizeof(seen_inner.trace_id), "not called");
        lines = get(inner_port, "/inner", NULL, 0);
        ck_assert_int_eq((int) json_object_array_length(lines), 0);
        ck_assert_str_eq(seen_inner.trace_id, "");
}
END_TEST

START_TEST(test_off) {
        _cleanup_json_ json_object *lines = NULL;

        snprintf(seen_inner.trace_id, sizeof(seen_inner.trace_id), "not called");
        trace_set_enabled(false);
        lines = get(door_port, "/front", VALID, 0);
        trace_set_enabled(true);
        ck_assert_int_eq((int) json_object_array_length(lines), 0);
        ck_assert_str_eq(seen_inner.trace_id, ""); /* nothing was sent on */
}
END_TEST

/* ---- OTLP/HTTP JSON export, to a small receiver on our own server -------------------- */

static char *received; /* the last body POSTed to /v1/traces */
static int received_n;

static int handle_traces(HttpRequest *req, void *userdata) {
        size_t len;
        const char *body = http_request_body(req, &len);

        pthread_mutex_lock(&seen_lock);
        free(received);
        received = strndup(body ? body : "", len);
        received_n++;
        pthread_mutex_unlock(&seen_lock);
        return http_reply(req, 200, "application/json", "{}", 2);
}

static json_object *get_path(json_object *o, const char *const *keys) {
        for (; *keys; keys++) {
                json_object *v = NULL;

                if (json_object_is_type(o, json_type_array))
                        v = json_object_array_get_idx(o, (size_t) atoi(*keys));
                else
                        (void) json_object_object_get_ex(o, *keys, &v);
                ck_assert_msg(v != NULL, "no %s", *keys);
                o = v;
        }
        return o;
}

START_TEST(test_otlp_export) {
        int rport;
        HttpServer *receiver =
                start(&(HttpRoute){ "POST", "/v1/traces", handle_traces, 0, NULL }, false, &rport);
        char endpoint[64];
        TraceContext caller, span, root;
        _cleanup_json_ json_object *o = NULL;
        json_object *spans, *s0, *s1;

        ck_assert_int_eq(trace_parse(VALID, &caller), 0);
        ck_assert_int_eq(trace_child(&caller, &span), 0);
        ck_assert_int_eq(trace_child(NULL, &root), 0);
        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/", rport);
        ck_assert_int_eq(otlp_start(endpoint, "ai-semble-unit"), 0);
        ck_assert_int_eq(otlp_start(endpoint, "ai-semble-unit"), -EALREADY);
        /* Exported whatever the log level: these two lines are not even written. */
        log_set_max_level(LOG_ERR);
        trace_log_span(LOG_INFO, &span, TRACE_SPAN_CLIENT, "POST /x", 1500, "ok", NULL, "call");
        trace_log_span(LOG_INFO, &root, TRACE_SPAN_SERVER, "GET /y", 2000, "failed", NULL, "served");
        otlp_stop(); /* sends the queue */
        log_set_max_level(LOG_INFO);
        ck_assert(!otlp_active());
        ck_assert_int_eq(received_n, 1);
        ck_assert_int_eq((int) otlp_dropped(), 0);

        o = json_tokener_parse(received);
        ck_assert_msg(o != NULL, "not JSON: %s", received);
        ck_assert_str_eq(
                json_object_get_string(get_path(
                        o,
                        (const char *[]){ "resourceSpans",
                                          "0",
                                          "resource",
                                          "attributes",
                                          "0",
                                          "value",
                                          "stringValue",
                                          NULL })),
                "ai-semble-unit");
        spans = get_path(o, (const char *[]){ "resourceSpans", "0", "scopeSpans", "0", "spans", NULL });
        ck_assert_int_eq((int) json_object_array_length(spans), 2);
        s0 = json_object_array_get_idx(spans, 0);
        s1 = json_object_array_get_idx(spans, 1);
        ck_assert_str_eq(field(s0, "traceId"), TID);
        ck_assert_str_eq(field(s0, "spanId"), span.span_id);
        ck_assert_str_eq(field(s0, "parentSpanId"), SID);
        ck_assert_str_eq(field(s0, "name"), "POST /x");
        ck_assert_str_eq(field(s0, "kind"), "3");
        ck_assert_str_eq(field(get_path(s0, (const char *[]){ "status", NULL }), "code"), "1");
        ck_assert_int_eq(
                (int) (strtoull(field(s0, "endTimeUnixNano"), NULL, 10) -
                       strtoull(field(s0, "startTimeUnixNano"), NULL, 10)),
                1500 * 1000);
        ck_assert_str_eq(field(s1, "traceId"), root.trace_id);
        ck_assert_ptr_null(field(s1, "parentSpanId"));
        ck_assert_str_eq(field(s1, "kind"), "2");
        ck_assert_str_eq(field(get_path(s1, (const char *[]){ "status", NULL }), "code"), "2");

        ck_assert_int_eq(http_server_shutdown(receiver), 0);
        http_server_free(receiver);
        free(received);
}
END_TEST

START_TEST(test_otlp_unreachable) {
        TraceContext span;
        int p = test_free_port();
        char endpoint[64];

        ck_assert_int_gt(p, 0);
        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", p);
        ck_assert_int_eq(trace_child(NULL, &span), 0);
        ck_assert_int_eq(otlp_start(endpoint, "ai-semble-unit"), 0);
        log_set_max_level(LOG_ERR);
        trace_log_span(LOG_INFO, &span, TRACE_SPAN_SERVER, "GET /", 10, "ok", NULL, "x");
        otlp_stop();
        log_set_max_level(LOG_INFO);
        ck_assert_int_eq((int) otlp_dropped(), 1);               /* counted, never waited for again */
        otlp_add(&span, TRACE_SPAN_SERVER, "GET /", 0, 1, "ok"); /* stopped: nothing queued */
        ck_assert_int_eq((int) otlp_dropped(), 1);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("trace");
        TCase *tc = tcase_create("context");
        TCase *tp = tcase_create("propagation");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_parse_valid);
        tcase_add_test(tc, test_parse_invalid);
        tcase_add_test(tc, test_child_and_format);
        tcase_add_test(tc, test_outcome);
        tcase_add_test(tc, test_span_line);
        tcase_add_test(tc, test_span_line_off);
        tcase_add_test(tc, test_sampling);
        suite_add_tcase(s, tc);

        tcase_set_timeout(tp, 30);
        tcase_add_checked_fixture(tp, servers_setup, servers_teardown);
        tcase_add_test(tp, test_continued);
        tcase_add_test(tp, test_started_at_door);
        tcase_add_test(tp, test_invalid_replaced);
        tcase_add_test(tp, test_many_calls);
        tcase_add_test(tp, test_unsampled_carried);
        tcase_add_test(tp, test_inner_untraced_without_header);
        tcase_add_test(tp, test_off);
        tcase_add_test(tp, test_otlp_export);
        tcase_add_test(tp, test_otlp_unreachable);
        suite_add_tcase(s, tp);
        return s;
}

int main(void) {
        return check_run(suite());
}
