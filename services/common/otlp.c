/* SPDX-License-Identifier: MIT */
/* otlp.c — the OTLP/HTTP JSON exporter: a mutex-guarded queue of ended spans, one thread
 * that builds ExportTraceServiceRequest JSON (json-c) and POSTs it with http-client. That
 * thread has no span of its own, so its calls are never traced themselves. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <json-c/json.h>

#include "http-client.h"
#include "json-util.h"
#include "log.h"
#include "otlp.h"
#include "time-util.h"

typedef struct OtlpSpan {
        TraceContext ctx;
        TraceSpanKind kind;
        bool error;
        char name[128];
        uint64_t start_ns, end_ns;
} OtlpSpan;

static struct {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t thread;
        OtlpSpan *queue;
        size_t n;
        bool running, stopping;
        char *url;
        char service[128];
} exporter = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static atomic_bool active;
static atomic_uint_fast64_t dropped;

bool otlp_active(void) {
        return atomic_load(&active);
}

uint64_t otlp_dropped(void) {
        return atomic_load(&dropped);
}

void otlp_add(
        const TraceContext *span,
        TraceSpanKind kind,
        const char *name,
        uint64_t start_unix_usec,
        uint64_t duration_usec,
        const char *outcome) {
        OtlpSpan *s;

        if (!otlp_active() || !span || !span->trace_id[0])
                return;
        pthread_mutex_lock(&exporter.lock);
        if (!exporter.running || exporter.n >= OTLP_QUEUE_MAX) {
                pthread_mutex_unlock(&exporter.lock);
                atomic_fetch_add(&dropped, 1);
                return;
        }
        s = &exporter.queue[exporter.n++];
        *s = (OtlpSpan){ .ctx = *span, .kind = kind };
        s->error = !streq(strempty(outcome), "ok");
        snprintf(s->name, sizeof(s->name), "%s", strempty(name));
        s->start_ns = start_unix_usec * 1000u;
        s->end_ns = (start_unix_usec + duration_usec) * 1000u;
        if (exporter.n >= OTLP_BATCH)
                pthread_cond_signal(&exporter.cond);
        pthread_mutex_unlock(&exporter.lock);
}

static json_object *attribute(const char *key, const char *value) {
        json_object *a = json_object_new_object(), *v = json_object_new_object();

        json_object_object_add(v, "stringValue", json_object_new_string(value));
        json_object_object_add(a, "key", json_object_new_string(key));
        json_object_object_add(a, "value", v);
        return a;
}

static json_object *span_json(const OtlpSpan *s) {
        /* OTLP's SpanKind: 1 internal, 2 server, 3 client; Status: 1 ok, 2 error. */
        static const int kinds[] = {
                [TRACE_SPAN_SERVER] = 2, [TRACE_SPAN_CLIENT] = 3, [TRACE_SPAN_INTERNAL] = 1
        };
        json_object *o = json_object_new_object(), *status = json_object_new_object();
        char ns[32];

        json_object_object_add(o, "traceId", json_object_new_string(s->ctx.trace_id));
        json_object_object_add(o, "spanId", json_object_new_string(s->ctx.span_id));
        if (s->ctx.parent_id[0])
                json_object_object_add(o, "parentSpanId", json_object_new_string(s->ctx.parent_id));
        json_object_object_add(o, "name", json_object_new_string(s->name));
        json_object_object_add(o, "kind", json_object_new_int(kinds[s->kind]));
        snprintf(ns, sizeof(ns), "%" PRIu64, s->start_ns);
        json_object_object_add(o, "startTimeUnixNano", json_object_new_string(ns));
        snprintf(ns, sizeof(ns), "%" PRIu64, s->end_ns);
        json_object_object_add(o, "endTimeUnixNano", json_object_new_string(ns));
        json_object_object_add(status, "code", json_object_new_int(s->error ? 2 : 1));
        json_object_object_add(o, "status", status);
        return o;
}

/* ExportTraceServiceRequest: one resource (this service), one scope, the spans. */
static json_object *request_json(const OtlpSpan *spans, size_t n) {
        json_object *root = json_object_new_object(), *rs = json_object_new_array(),
                    *r = json_object_new_object(), *res = json_object_new_object(),
                    *attrs = json_object_new_array(), *ss = json_object_new_array(),
                    *s = json_object_new_object(), *scope = json_object_new_object(),
                    *list = json_object_new_array();

        json_object_array_add(attrs, attribute("service.name", exporter.service));
        json_object_object_add(res, "attributes", attrs);
        json_object_object_add(r, "resource", res);
        json_object_object_add(scope, "name", json_object_new_string("ai-semble"));
        json_object_object_add(s, "scope", scope);
        for (size_t i = 0; i < n; i++)
                json_object_array_add(list, span_json(&spans[i]));
        json_object_object_add(s, "spans", list);
        json_object_array_add(ss, s);
        json_object_object_add(r, "scopeSpans", ss);
        json_object_array_add(rs, r);
        json_object_object_add(root, "resourceSpans", rs);
        return root;
}

static int send_batch(const OtlpSpan *spans, size_t n) {
        _cleanup_json_ json_object *o = request_json(spans, n);
        const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        HttpClientRequest req = { .method = "POST", .url = exporter.url, .body = body, .timeout_ms = 5000 };
        int r;

        if (!body)
                return -ENOMEM;
        req.body_len = strlen(body);
        r = http_client_perform(&req);
        if (r >= 0 && (req.response.status < 200 || req.response.status >= 300))
                r = -EPROTO;
        http_client_response_done(&req.response);
        return r;
}

static void *exporter_main(void *userdata) {
        OtlpSpan *batch = calloc(OTLP_QUEUE_MAX, sizeof(OtlpSpan));
        bool failing = false;

        for (;;) {
                struct timespec until;
                size_t n;
                bool stop;
                int r;

                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 1;
                pthread_mutex_lock(&exporter.lock);
                while (!exporter.stopping && exporter.n < OTLP_BATCH &&
                       pthread_cond_timedwait(&exporter.cond, &exporter.lock, &until) == 0)
                        ;
                n = batch ? exporter.n : 0;
                if (n > 0)
                        memcpy(batch, exporter.queue, n * sizeof(OtlpSpan));
                exporter.n = 0;
                stop = exporter.stopping;
                pthread_mutex_unlock(&exporter.lock);
                if (n > 0) {
                        r = send_batch(batch, n);
                        if (r < 0) {
                                atomic_fetch_add(&dropped, n);
                                /* Once per outage, not once per batch. */
                                if (!failing)
                                        log_warning_errno(
                                                r,
                                                "OTLP export to %s failed: %m; spans are dropped until it answers",
                                                exporter.url);
                        } else if (failing)
                                log_info("OTLP export to %s works again", exporter.url);
                        failing = r < 0;
                }
                if (stop)
                        break;
        }
        free(batch);
        return NULL;
}

int otlp_start(const char *endpoint, const char *service_name) {
        size_t len;
        int r;

        if (isempty(endpoint))
                return -EINVAL;
        pthread_mutex_lock(&exporter.lock);
        if (exporter.running) {
                pthread_mutex_unlock(&exporter.lock);
                return -EALREADY;
        }
        exporter.queue = calloc(OTLP_QUEUE_MAX, sizeof(OtlpSpan));
        len = strlen(endpoint);
        if (endpoint[len - 1] == '/')
                len--; /* the base URL, with or without its slash */
        if (!exporter.queue || asprintf(&exporter.url, "%.*s/v1/traces", (int) len, endpoint) < 0) {
                free(exporter.queue);
                exporter.queue = NULL;
                exporter.url = NULL;
                pthread_mutex_unlock(&exporter.lock);
                return -ENOMEM;
        }
        snprintf(exporter.service, sizeof(exporter.service), "%s", strempty(service_name));
        exporter.n = 0;
        exporter.stopping = false;
        r = -pthread_create(&exporter.thread, NULL, exporter_main, NULL);
        if (r < 0) {
                free(exporter.queue);
                free(exporter.url);
                exporter.queue = NULL;
                exporter.url = NULL;
                pthread_mutex_unlock(&exporter.lock);
                return r;
        }
        exporter.running = true;
        atomic_store(&active, true);
        pthread_mutex_unlock(&exporter.lock);
        return 0;
}

void otlp_stop(void) {
        pthread_mutex_lock(&exporter.lock);
        if (!exporter.running) {
                pthread_mutex_unlock(&exporter.lock);
                return;
        }
        atomic_store(&active, false);
        exporter.stopping = true;
        pthread_cond_signal(&exporter.cond);
        pthread_mutex_unlock(&exporter.lock);
        pthread_join(exporter.thread, NULL);
        pthread_mutex_lock(&exporter.lock);
        exporter.running = false;
        free(exporter.queue);
        free(exporter.url);
        exporter.queue = NULL;
        exporter.url = NULL;
        pthread_mutex_unlock(&exporter.lock);
}
