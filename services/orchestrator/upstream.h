/* SPDX-License-Identifier: MIT */
/* upstream.h — the four backend services the orchestrator fronts: their tasks, probes,
 * and calls through a circuit breaker with retries where they are safe. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "breaker.h"
#include "metrics.h"

typedef enum UpstreamService {
        UPSTREAM_LLM,
        UPSTREAM_VISION,
        UPSTREAM_NLP,
        UPSTREAM_DATA,
        _UPSTREAM_MAX,
} UpstreamService;

typedef struct UpstreamConfig {
        char *url[_UPSTREAM_MAX]; /* each service's base URL */
        uint64_t probe_timeout_ms;
        uint64_t timeout_ms[_UPSTREAM_MAX];
        int64_t retry_max;
        uint64_t retry_base_ms;
        uint64_t retry_cap_ms;
        int64_t breaker_failures;
        uint64_t breaker_open_ms;
} UpstreamConfig;

/* A task a service performs: which path it is, and whether running it twice is harmless
 * (then retries after a reset/503 and re-runs after a restart are allowed). */
typedef struct UpstreamTask {
        UpstreamService service;
        const char *name;
        const char *path;       /* POST path on the service */
        const char *task_field; /* body field that names the task ("task", "operation") or NULL */
        bool idempotent;
} UpstreamTask;

typedef struct Upstreams {
        const UpstreamConfig *config;
        Breaker breakers[_UPSTREAM_MAX];
        MetricsFamily *up;       /* orch_upstream_up{service} */
        MetricsFamily *latency;  /* orch_upstream_latency_seconds{service} */
        MetricsFamily *retries;  /* orch_upstream_retries_total{service} */
        MetricsFamily *failures; /* orch_upstream_failures_total{service,reason} */
} Upstreams;

/* The outcome of upstream_call(). */
typedef struct UpstreamResult {
        long status; /* HTTP status when a response arrived */
        char *body;  /* owned, NUL-terminated */
        size_t body_len;
        double upstream_ms; /* time spent in transfers and backoff */
        unsigned attempts;
        uint64_t retry_after_ms; /* when the breaker was open */
        char error[256];         /* what went wrong, for the job's error */
} UpstreamResult;

/* Called before each retry (attempt counts from 1) with the delay and the reason. */
typedef void (*UpstreamRetryFn)(unsigned attempt, uint64_t delay_ms, const char *reason, void *userdata);

void upstreams_init(Upstreams *u, const UpstreamConfig *config);
void upstreams_done(Upstreams *u);
int upstream_setup_metrics(Upstreams *u, MetricsRegistry *registry);

const char *upstream_service_to_string(UpstreamService s);
int upstream_service_from_string(const char *s, UpstreamService *ret);
const char *upstream_url(const Upstreams *u, UpstreamService s);
/* NULL when the service has no such task. */
const UpstreamTask *upstream_task_find(UpstreamService s, const char *name);
/* "analyze, sentiment, ..." for messages. */
void upstream_task_names(UpstreamService s, char *buf, size_t size);

/* POSTs body to the task's path. Returns 0 when the service answered (any status; see
 * ret->status), -EBUSY when its breaker is open, -ECANCELED when *cancel became set,
 * -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET... ret->error always says why. */
int upstream_call(
        Upstreams *u,
        const UpstreamTask *task,
        const char *body,
        size_t body_len,
        uint64_t timeout_ms,
        const int *cancel,
        const char *request_id,
        UpstreamRetryFn on_retry,
        void *userdata,
        UpstreamResult *ret);
void upstream_result_done(UpstreamResult *r);

/* Probes every service's /health/ready in parallel and adds {llm:{status, latency_ms,
 * url, breaker, error?}, ...} to services; *ret_all_ready is true only if all answered 200. */
int upstream_probe_all(Upstreams *u, json_object *services, bool *ret_all_ready);
/* Writes orch_breaker_state{service} (0 closed, 1 open, 2 half-open). */
int upstream_write_breaker_metrics(FILE *f, Upstreams *u);
