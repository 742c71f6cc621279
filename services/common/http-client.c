/* SPDX-License-Identifier: MIT */
/* http-client.c — service-to-service calls: each call picks its engine (libcurl, or the
 * plain keep-alive client for calls between the pod's services) and, made on a traced
 * thread, is a child span: it sends traceparent and logs its span line. */
#include <pthread.h>

#include "http-client-internal.h"
#include "log.h"
#include "otlp.h"
#include "time-util.h"
#include "trace.h"

static const HttpClientEngine *const engines[_HTTP_CLIENT_ENGINE_MAX] = {
        [HTTP_CLIENT_CURL] = &http_client_engine_curl,
        [HTTP_CLIENT_PLAIN] = &http_client_engine_plain,
};

/* The engine the call asked for, or libcurl when that one cannot make it (an https URL,
 * a streamed body). */
static const HttpClientEngine *engine_for(const HttpClientRequest *req) {
        const HttpClientEngine *e =
                req->engine >= 0 && req->engine < _HTTP_CLIENT_ENGINE_MAX ? engines[req->engine] : NULL;

        return e && e->takes(req) ? e : &http_client_engine_curl;
}

void http_client_pool_flush(void) {
        for (size_t i = 0; i < ELEMENTSOF(engines); i++)
                engines[i]->flush();
}

/* "METHOD /path" of a call for its span line, and its peer as PEER=host:port. */
static void
call_span_fields(const HttpClientRequest *req, char *name, size_t name_size, char *peer, size_t peer_size) {
        const char *method = req->method ?: (req->body || req->read_body ? "POST" : "GET");
        const char *host = strstr(req->url, "://"), *path;

        host = host ? host + 3 : req->url;
        path = host + strcspn(host, "/?");
        snprintf(peer, peer_size, "PEER=%.*s", (int) MIN((size_t) (path - host), (size_t) 200), host);
        snprintf(
                name,
                name_size,
                "%.20s %.*s",
                method,
                (int) MIN(strcspn(path, "?"), (size_t) 256),
                path[0] ? path : "/");
}

/* The call's span line: a child of the calling thread's span, whose id the callee got as
 * its traceparent's parent. */
static void log_call_span(const HttpClientRequest *req, const TraceContext *span, uint64_t usec, int r) {
        char name[300], peer[220], status[32];
        const char *fields[] = { peer, status, NULL };

        /* Neither logged nor exported: not worth formatting (every job makes a call). */
        if (!otlp_active() && log_get_max_level() < LOG_INFO)
                return;
        call_span_fields(req, name, sizeof(name), peer, sizeof(peer));
        snprintf(status, sizeof(status), "STATUS=%ld", req->response.status);
        trace_log_span(
                LOG_INFO,
                span,
                TRACE_SPAN_CLIENT,
                name,
                usec,
                r == -ECANCELED ? "cancelled"
                        : r < 0 ? "failed"
                                : trace_outcome((int) req->response.status),
                fields,
                "call %s: %s",
                name,
                r < 0 ? req->response.error : "answered");
}

void http_client_response_done(HttpClientResponse *r) {
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
}

int http_client_perform(HttpClientRequest *req) {
        char tbuf[TRACEPARENT_LEN + 16];
        TraceContext span = {};
        uint64_t t0 = 0;
        int r;

        req->response = (HttpClientResponse){};
        if (!req->url)
                return (req->result = -EINVAL);
        if (req->engine < 0 || req->engine >= _HTTP_CLIENT_ENGINE_MAX)
                return (req->result = -EINVAL);
        if (log_get_trace() && trace_child(log_get_trace(), &span) >= 0) {
                char tp[TRACEPARENT_LEN + 1];

                trace_format(&span, tp);
                snprintf(tbuf, sizeof(tbuf), "traceparent: %s", tp);
                t0 = time_now_usec(CLOCK_MONOTONIC);
        }
        r = engine_for(req)->perform(req, span.trace_id[0] ? tbuf : NULL);
        if (span.trace_id[0])
                log_call_span(req, &span, time_now_usec(CLOCK_MONOTONIC) - t0, r);
        return (req->result = r);
}

typedef struct ManyCall {
        HttpClientRequest *req;
        TraceContext trace; /* the caller's span: each call is its child */
} ManyCall;

static void *perform_thread(void *userdata) {
        ManyCall *m = userdata;

        log_set_trace(&m->trace);
        (void) http_client_perform(m->req);
        return NULL;
}

int http_client_perform_many(HttpClientRequest *reqs, size_t n) {
        _cleanup_free_ pthread_t *threads = NULL;
        _cleanup_free_ bool *started = NULL;
        _cleanup_free_ ManyCall *calls = NULL;
        const TraceContext *cur = log_get_trace();

        if (n == 0)
                return 0;
        threads = calloc(n, sizeof(pthread_t));
        started = calloc(n, sizeof(bool));
        calls = calloc(n, sizeof(ManyCall));
        if (!threads || !started || !calls)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                calls[i].req = &reqs[i];
                if (cur)
                        calls[i].trace = *cur;
                started[i] = pthread_create(&threads[i], NULL, perform_thread, &calls[i]) == 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (started[i])
                        pthread_join(threads[i], NULL);
                else
                        /* Could not get a thread: do it inline rather than drop it. */
                        (void) http_client_perform(&reqs[i]);
        }
        return 0;
}

int http_client_get(const char *url, uint64_t timeout_ms, size_t max_body, HttpClientResponse *ret) {
        HttpClientRequest req = { .url = url, .timeout_ms = timeout_ms, .max_body = max_body };
        int r;

        r = http_client_perform(&req);
        if (r < 0)
                return r;
        *ret = req.response;
        return 0;
}
