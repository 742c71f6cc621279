/* SPDX-License-Identifier: MIT */
/* upstream.c — calls with retries and breakers, and parallel readiness probes of the
 * backend services (their tasks: upstream-tasks.c). */
#include <inttypes.h>
#include <time.h>

#include "backoff.h"
#include "http-client.h"
#include "log.h"
#include "service.h"
#include "sha256.h"
#include "time-util.h"
#include "upstream.h"

static const char *const service_names[_UPSTREAM_MAX] = {
        [UPSTREAM_LLM] = "llm",
        [UPSTREAM_VISION] = "vision",
        [UPSTREAM_NLP] = "nlp",
        [UPSTREAM_DATA] = "data",
};

const char *upstream_service_to_string(UpstreamService s) {
        return s >= 0 && s < _UPSTREAM_MAX ? service_names[s] : "unknown";
}

int upstream_service_from_string(const char *s, UpstreamService *ret) {
        for (int i = 0; i < _UPSTREAM_MAX; i++)
                if (s && streq(s, service_names[i])) {
                        *ret = (UpstreamService) i;
                        return 0;
                }
        return -EINVAL;
}

const char *upstream_url(const Upstreams *u, UpstreamService s) {
        return s >= 0 && s < _UPSTREAM_MAX ? u->config->url[s] : NULL;
}

void upstream_service_url(
        const Upstreams *u, UpstreamService s, const char *path, char buf[static UPSTREAM_URL_MAX]) {
        const char *base = upstream_url(u, s);
        size_t l = strlen(base);

        /* "http://x:1/" and "http://x:1" mean the same base. */
        while (l > 0 && base[l - 1] == '/')
                l--;
        snprintf(buf, UPSTREAM_URL_MAX, "%.*s%s", (int) MIN(l, (size_t) 4096), base, path);
}

void upstreams_init(Upstreams *u, const UpstreamConfig *config) {
        BreakerConfig bc = {
                .failure_threshold = (unsigned) config->breaker_failures ?: 5,
                .open_ms = config->breaker_open_ms ?: 10000,
                .half_open_wait_ms = 1000,
        };

        u->config = config;
        for (int i = 0; i < _UPSTREAM_MAX; i++) {
                breaker_init(&u->breakers[i], &bc);
                upstream_readiness_init(&u->readiness[i]);
        }
}

void upstreams_done(Upstreams *u) {
        for (int i = 0; i < _UPSTREAM_MAX; i++) {
                breaker_done(&u->breakers[i]);
                upstream_readiness_done(&u->readiness[i]);
        }
        upstream_tasks_reset();
}

int upstream_setup_metrics(Upstreams *u, MetricsRegistry *registry) {
        static const char *const labels[] = { "service", NULL },
                                 *const fail_labels[] = { "service", "reason", NULL };
        int r;

        r = metrics_gauge_new(
                registry,
                "orch_upstream_up",
                "1 if the upstream service answered its last readiness probe with 200.",
                labels,
                &u->up);
        if (r >= 0)
                r = metrics_histogram_new(
                        registry,
                        "orch_upstream_latency_seconds",
                        "Time of one call to an upstream service (one attempt).",
                        labels,
                        NULL,
                        0,
                        &u->latency);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_upstream_retries_total",
                        "Retried upstream calls.",
                        labels,
                        &u->retries);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_upstream_failures_total",
                        "Upstream calls that failed, by reason (connect, reset, timeout, status_5xx, breaker_open).",
                        fail_labels,
                        &u->failures);
        return r;
}

int upstream_write_breaker_metrics(FILE *f, Upstreams *u) {
        uint64_t now = time_now_ms(CLOCK_MONOTONIC);

        metrics_write_header(
                f,
                "orch_breaker_state",
                "Circuit breaker per service: 0 closed, 1 open, 2 half-open.",
                "gauge");
        for (int i = 0; i < _UPSTREAM_MAX; i++) {
                fprintf(f, "orch_breaker_state{service=\"%s\"} ", service_names[i]);
                metrics_write_value(f, (double) breaker_state(&u->breakers[i], now));
                fputc('\n', f);
        }
        return 0;
}

void upstream_result_done(UpstreamResult *r) {
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
}

static void count_failure(Upstreams *u, UpstreamService s, const char *reason) {
        if (u->failures)
                (void) metrics_counter_add(u->failures, (const char *[]){ service_names[s], reason }, 1);
}

static const char *errno_reason(int r) {
        switch (r) {
        case -ETIMEDOUT:
                return "timeout";
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
                return "connect";
        case -ECONNRESET:
                return "reset";
        default:
                return "other";
        }
}

/* Sleeps up to ms, waking early when *cancel is set. */
static void sleep_cancellable(uint64_t ms, const int *cancel) {
        while (ms > 0 && !(cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))) {
                uint64_t step = MIN(ms, (uint64_t) 50);

                (void) nanosleep(&(struct timespec){ .tv_nsec = (long) step * 1000000L }, NULL);
                ms -= step;
        }
}

/* The caller's callbacks, and whether anything reached its on_data: after that, no retry. */
typedef struct Relayed {
        const UpstreamRequest *req;
        bool any;
} Relayed;

static int relayed_data(long status, const char *buf, size_t len, void *userdata) {
        Relayed *x = userdata;

        x->any = true;
        return x->req->on_data(status, buf, len, x->req->userdata);
}

static ssize_t relayed_read(void *buf, size_t len, void *userdata) {
        Relayed *x = userdata;

        return x->req->read_body(buf, len, x->req->userdata);
}

static int relayed_header(const char *name, const char *value, void *userdata) {
        Relayed *x = userdata;

        return x->req->on_header(name, value, x->req->userdata);
}

/* "X-Dataset-Owner: <the first 16 bytes of SHA-256(owner) in hex>": a name fit for a
 * directory, the same for the principal at every call, and no principal's name on disk. */
#define OWNER_HEADER_MAX (sizeof(DATASET_OWNER_HEADER ": ") + 32)
static int owner_header(const char *owner, char buf[static OWNER_HEADER_MAX]) {
        uint8_t md[SHA256_SIZE];
        char hex[SHA256_HEX_SIZE];
        int r;

        r = sha256_parts(&(struct iovec){ (void *) owner, strlen(owner) }, 1, md);
        if (r < 0)
                return r;
        sha256_to_hex(md, hex);
        snprintf(buf, OWNER_HEADER_MAX, "%s: %.32s", DATASET_OWNER_HEADER, hex);
        return 0;
}

int upstream_request(Upstreams *u, const UpstreamRequest *q, UpstreamResult *ret) {
        const char *svc = service_names[q->service];
        Breaker *b = &u->breakers[q->service];
        uint64_t start = time_now_ms(CLOCK_MONOTONIC), deadline = start + q->timeout_ms;
        Relayed relayed = { .req = q };
        char url[UPSTREAM_URL_MAX], owner[OWNER_HEADER_MAX];
        const char *headers[2] = {};
        int r = 0;

        *ret = (UpstreamResult){};
        upstream_service_url(u, q->service, q->path, url);
        if (q->service == UPSTREAM_DATA && !isempty(q->owner)) {
                r = owner_header(q->owner, owner);
                if (r < 0)
                        return r;
                headers[0] = owner;
        }

        for (unsigned attempt = 0;; attempt++) {
                HttpClientRequest req;
                uint64_t now = time_now_ms(CLOCK_MONOTONIC), delay;
                const char *retry_reason = NULL;
                bool failure;

                if (q->cancel && __atomic_load_n(q->cancel, __ATOMIC_RELAXED)) {
                        snprintf(ret->error, sizeof(ret->error), "cancelled");
                        r = -ECANCELED;
                        break;
                }
                if (now >= deadline) {
                        snprintf(
                                ret->error,
                                sizeof(ret->error),
                                "%s did not answer within %" PRIu64 " ms",
                                svc,
                                q->timeout_ms);
                        r = -ETIMEDOUT;
                        break;
                }
                if (upstream_readiness_held(u, q->service, now)) {
                        count_failure(u, q->service, "held");
                        snprintf(ret->error, sizeof(ret->error), "service %s is being updated", svc);
                        ret->retry_after_ms = 1000;
                        r = -EBUSY;
                        break;
                }
                if (breaker_allow(b, now, &ret->retry_after_ms) < 0) {
                        count_failure(u, q->service, "breaker_open");
                        snprintf(
                                ret->error,
                                sizeof(ret->error),
                                "the circuit breaker for service %s is open after repeated failures",
                                svc);
                        r = -EBUSY;
                        break;
                }
                req = (HttpClientRequest){
                        /* The pod's services: a kept connection of our own (a relay,
                         * with its streamed body or answer, goes through libcurl). */
                        .engine = HTTP_CLIENT_PLAIN,
                        .method = q->method,
                        .url = url,
                        .body = q->body,
                        .body_len = q->body_len,
                        .content_type = q->content_type,
                        .request_id = q->request_id,
                        .headers = headers[0] ? headers : NULL,
                        .timeout_ms = deadline - now,
                        .max_body = 16 * 1024 * 1024,
                        .cancel = q->cancel,
                        .read_body = q->read_body ? relayed_read : NULL,
                        .on_header = q->on_header ? relayed_header : NULL,
                        .on_data = q->on_data ? relayed_data : NULL,
                        .userdata = &relayed,
                        .idle_timeout_ms = q->idle_timeout_ms,
                };
                ret->attempts = attempt + 1;
                r = http_client_perform(&req);
                ret->upstream_ms += req.response.total_ms;
                if (r != -ECONNREFUSED && r != -EHOSTUNREACH)
                        ret->reached = true;
                if (u->latency)
                        (void) metrics_histogram_observe(
                                u->latency, (const char *[]){ svc }, req.response.total_ms / 1000.0);

                if (r == -ECANCELED) {
                        http_client_response_done(&req.response);
                        snprintf(ret->error, sizeof(ret->error), "cancelled");
                        ret->status = req.response.status;
                        /* Not the service's fault: release a half-open probe slot as a success. */
                        breaker_record(b, true, time_now_ms(CLOCK_MONOTONIC));
                        break;
                }
                failure = r < 0 || req.response.status == 500 || req.response.status == 502 ||
                        req.response.status == 504;
                breaker_record(b, !failure, time_now_ms(CLOCK_MONOTONIC));

                if (r < 0) {
                        count_failure(u, q->service, errno_reason(r));
                        snprintf(
                                ret->error,
                                sizeof(ret->error),
                                "%s: %.200s",
                                svc,
                                req.response.error[0] ? req.response.error : strerror(-r));
                        /* Nothing reached the service: always safe to try again. A reset may
                         * have come after the service started: only for idempotent tasks. */
                        if (r == -ECONNREFUSED || r == -EHOSTUNREACH)
                                retry_reason = "connect";
                        else if (r == -ECONNRESET && q->idempotent)
                                retry_reason = "reset";
                } else {
                        if (failure)
                                count_failure(u, q->service, "status_5xx");
                        ret->status = req.response.status;
                        if (req.response.status == 503 && q->idempotent)
                                retry_reason = "503";
                        /* An answer while jobs wait for the service: they need not probe. */
                        else if (
                                !failure &&
                                __atomic_load_n(&u->readiness[q->service].waiters, __ATOMIC_RELAXED) > 0)
                                upstream_readiness_seen(u, q->service, false);
                }
                /* A streamed body cannot be sent twice, nor an answer relayed twice. */
                if (q->read_body || relayed.any)
                        retry_reason = NULL;

                if (!retry_reason || attempt >= (unsigned) u->config->retry_max) {
                        if (r >= 0) {
                                ret->body = TAKE_PTR(req.response.body);
                                ret->body_len = req.response.body_len;
                        }
                        http_client_response_done(&req.response);
                        break;
                }
                http_client_response_done(&req.response);

                delay = backoff_full_jitter_ms(
                        attempt, u->config->retry_base_ms, u->config->retry_cap_ms, backoff_random());
                now = time_now_ms(CLOCK_MONOTONIC);
                if (now + delay >= deadline)
                        delay = deadline > now ? deadline - now : 0;
                if (u->retries)
                        (void) metrics_counter_add(u->retries, (const char *[]){ svc }, 1);
                if (q->on_retry)
                        q->on_retry(attempt + 1, delay, retry_reason, q->retry_userdata);
                sleep_cancellable(delay, q->cancel);
                ret->upstream_ms += (double) delay;
                ret->status = 0;
        }
        return r;
}

bool upstream_unavailable(const UpstreamTask *task, int r, const UpstreamResult *res) {
        if (r == -EBUSY || r == -ECONNREFUSED || r == -EHOSTUNREACH)
                return true; /* nothing was sent */
        if (!task->idempotent)
                return false; /* it may have reached the service: never sent twice */
        return r == -ECONNRESET || (r >= 0 && res->status == 503);
}

int upstream_probe_all(Upstreams *u, json_object *services, bool *ret_all_ready) {
        HttpClientRequest reqs[_UPSTREAM_MAX] = {};
        char urls[_UPSTREAM_MAX][UPSTREAM_URL_MAX];
        bool all = true;
        int r;

        for (size_t i = 0; i < _UPSTREAM_MAX; i++) {
                upstream_service_url(u, (UpstreamService) i, "/health/ready", urls[i]);
                reqs[i] = (HttpClientRequest){
                        .url = urls[i],
                        .timeout_ms = u->config->probe_timeout_ms,
                        .max_body = 64 * 1024,
                        .request_id = log_get_request_id(),
                };
        }
        r = http_client_perform_many(reqs, ELEMENTSOF(reqs));
        if (r < 0)
                return r;

        for (size_t i = 0; i < _UPSTREAM_MAX; i++) {
                HttpClientResponse *resp = &reqs[i].response;
                json_object *o = json_object_new_object();
                bool ready = reqs[i].result >= 0 && resp->status == 200;
                char err[300];

                if (!o) {
                        http_client_response_done(resp);
                        continue;
                }
                /* Seen ready: its breaker closes now rather than after ORCH_BREAKER_OPEN. */
                if (ready)
                        upstream_readiness_seen(u, (UpstreamService) i, false);
                json_object_object_add(
                        o,
                        "status",
                        json_object_new_string(
                                ready                                  ? "ready"
                                        : reqs[i].result == -ETIMEDOUT ? "timeout"
                                        : reqs[i].result < 0           ? "unreachable"
                                                                       : "not_ready"));
                char ms[32];
                snprintf(ms, sizeof(ms), "%.3f", resp->total_ms);
                json_object_object_add(o, "latency_ms", json_object_new_double_s(resp->total_ms, ms));
                json_object_object_add(o, "url", json_object_new_string(u->config->url[i]));
                json_object_object_add(
                        o,
                        "breaker",
                        json_object_new_string(breaker_state_to_string(
                                breaker_state(&u->breakers[i], time_now_ms(CLOCK_MONOTONIC)))));
                if (reqs[i].result < 0) {
                        snprintf(
                                err,
                                sizeof(err),
                                "%s",
                                resp->error[0] ? resp->error : strerror(-reqs[i].result));
                        json_object_object_add(o, "error", json_object_new_string(err));
                } else if (!ready) {
                        snprintf(err, sizeof(err), "HTTP %ld", resp->status);
                        json_object_object_add(o, "error", json_object_new_string(err));
                }
                json_object_object_add(services, service_names[i], o);
                if (u->up)
                        (void) metrics_gauge_set(u->up, (const char *[]){ service_names[i] }, ready ? 1 : 0);
                if (!ready)
                        all = false;
                http_client_response_done(resp);
                upstream_tasks_service_ready((UpstreamService) i, ready);
        }
        *ret_all_ready = all;
        return 0;
}
