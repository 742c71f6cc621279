/* SPDX-License-Identifier: MIT */
/* upstream.h — the four backend services the orchestrator fronts: their tasks, probes,
 * and calls through a circuit breaker with retries where they are safe. */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

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
        uint64_t update_hold_ms;   /* longest an update notice holds calls to a service */
        uint64_t tasks_refresh_ms; /* shortest time between two loads of a service's GET /tasks on a miss */
} UpstreamConfig;

/* A task a service performs, as it described it on GET /tasks (upstream-tasks.c): which
 * route it is, and whether running it twice is harmless (then retries after a reset/503
 * and re-runs after a restart are allowed). Valid while the orchestrator runs. */
typedef struct UpstreamTask {
        UpstreamService service;
        const char *name;
        const char *method;     /* "POST" or "GET" (no body) */
        const char *path;       /* the route on the service */
        const char *task_field; /* body field that names the task ("task", "operation") or NULL */
        bool idempotent;
        bool stream;              /* answers "stream": true with SSE */
        uint64_t timeout_ms;      /* the service's default job timeout; 0 = ORCH_<SERVICE>_TIMEOUT */
        json_object *description; /* the task as GET /tasks described it */
} UpstreamTask;

/* What jobs that wait for a service share (upstream-readiness.c): when readiness was last
 * seen, who probes, and whether an update holds calls to it. */
typedef struct UpstreamReadiness {
        pthread_mutex_t lock;
        pthread_cond_t cond;    /* broadcast when readiness is seen or a hold ends */
        uint64_t seen;          /* times readiness was seen; a waiter wakes when it moves */
        unsigned waiters;       /* jobs waiting for it */
        uint64_t probe_at_ms;   /* monotonic: no waiter probes before (one probe at a time) */
        uint64_t held_until_ms; /* monotonic: an update holds calls until then; 0 = not held */
} UpstreamReadiness;

typedef struct Upstreams {
        const UpstreamConfig *config;
        Breaker breakers[_UPSTREAM_MAX];
        UpstreamReadiness readiness[_UPSTREAM_MAX];
        MetricsFamily *up;       /* orch_upstream_up{service} */
        MetricsFamily *latency;  /* orch_upstream_latency_seconds{service} */
        MetricsFamily *retries;  /* orch_upstream_retries_total{service} */
        MetricsFamily *failures; /* orch_upstream_failures_total{service,reason} */
} Upstreams;

/* The outcome of upstream_request(). */
typedef struct UpstreamResult {
        long status; /* HTTP status when a response arrived */
        char *body;  /* owned, NUL-terminated */
        size_t body_len;
        double upstream_ms; /* time spent in transfers and backoff */
        unsigned attempts;
        uint64_t retry_after_ms; /* when the breaker was open */
        bool reached;            /* a request may have reached the service (not only refused) */
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
#define UPSTREAM_URL_MAX 4200
/* The service's base URL (a trailing '/' dropped) followed by path. */
void upstream_service_url(
        const Upstreams *u, UpstreamService s, const char *path, char buf[static UPSTREAM_URL_MAX]);

/* ---- the services' tasks (upstream-tasks.c) ------------------------------------------ */

/* Persists a service's GET /tasks answer (the job database), so that a restart knows it. */
typedef int (*UpstreamTasksSaveFn)(UpstreamService s, const char *text, void *userdata);
/* Where the services are (upstreams_init() binds it; reset unbinds and frees every task). */
void upstream_tasks_bind(const UpstreamConfig *config, UpstreamTasksSaveFn save, void *userdata);
void upstream_tasks_reset(void);
/* Installs a GET /tasks answer as s's catalog (a saved one at start, or a test's).
 * -EBADMSG with err set when it is not one. */
int upstream_tasks_install(UpstreamService s, const char *text, size_t len, char *err, size_t err_size);
/* Loads s's GET /tasks now (or waits for a load under way); every service's at once. */
int upstream_tasks_load(UpstreamService s);
void upstream_tasks_load_all(void);
/* The readiness probe's verdict: a service that became ready has its tasks reloaded. */
void upstream_tasks_service_ready(UpstreamService s, bool ready);
/* The task of s by name, or by route (the door's /v1 relays). NULL when the service has
 * no such task, after reloading its catalog once if the last load is older than
 * ORCH_TASKS_REFRESH. */
const UpstreamTask *upstream_task_find(UpstreamService s, const char *name);
const UpstreamTask *upstream_task_find_route(UpstreamService s, const char *method, const char *path);
/* Whether s's tasks are known at all; if not, why (its last GET /tasks failure) in why. */
bool upstream_tasks_known(UpstreamService s, char *why, size_t size);
/* "analyze, sentiment, ..." for messages. */
void upstream_task_names(UpstreamService s, char *buf, size_t size);
/* {llm: {status: known|unknown, error?, tasks: [...]}, ...} for GET /tasks. */
int upstream_tasks_to_json(json_object **ret);
/* The task's default job timeout: its own, else the service's. */
uint64_t upstream_task_timeout(const UpstreamConfig *c, const UpstreamTask *t);

/* One exchange with a service, retried after a reset or a 503 when idempotent; the
 * request body from memory or pulled from read_body, the answer collected into the result
 * or handed to on_header/on_data as it arrives (relays: then it is not collected, and a
 * streamed body or an answer already handed on is never retried). Returns 0 when the
 * service answered (any status; see ret->status), -EBUSY when its breaker is open or an
 * update holds it (nothing was sent), -ECANCELED when *cancel became set, -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET... ret->error always says why. */
typedef struct UpstreamRequest {
        UpstreamService service;
        const char *method; /* NULL = POST with a body, else GET */
        const char *path;   /* on the service, query included */
        bool idempotent;    /* retried after a reset or a 503 */
        const char *content_type;
        const char *body;
        size_t body_len; /* with read_body: the size when known (else sent chunked) */
        ssize_t (*read_body)(void *buf, size_t len, void *userdata);
        int (*on_header)(const char *name, const char *value, void *userdata);
        int (*on_data)(long status, const char *buf, size_t len, void *userdata);
        void *userdata; /* for read_body, on_header, on_data */
        uint64_t timeout_ms;
        uint64_t idle_timeout_ms; /* 0 = none */
        const int *cancel;
        const char *request_id;
        const char *owner; /* the principal the call acts for ("" or NULL: none); the data
                            * service keeps each one's datasets apart (X-Dataset-Owner) */
        UpstreamRetryFn on_retry;
        void *retry_userdata;
} UpstreamRequest;
int upstream_request(Upstreams *u, const UpstreamRequest *req, UpstreamResult *ret);

void upstream_result_done(UpstreamResult *r);

/* Whether a failed call (upstream_request's return and result) found the service
 * unavailable in a way that is safe to wait out and repeat: nothing was sent (breaker,
 * hold, connection refused), or, for an idempotent task, the connection reset or the
 * service answered 503. */
bool upstream_unavailable(const UpstreamTask *task, int r, const UpstreamResult *res);

/* ---- readiness (upstream-readiness.c) ------------------------------------------------ */

void upstream_readiness_init(UpstreamReadiness *r);
void upstream_readiness_done(UpstreamReadiness *r);
/* Readiness of s was seen: by a probe (its own, or the orchestrator's /health/ready), a
 * call it answered while jobs waited, or the supervisor's "up" notice (by_notice, which
 * also ends an update's hold; a probe during a hold is ignored, since it may reach the
 * instance being replaced). Closes the breaker and wakes the waiting jobs. */
void upstream_readiness_seen(Upstreams *u, UpstreamService s, bool by_notice);
/* The supervisor is about to replace s: calls to it wait (nothing is sent) until its "up"
 * notice, or config->update_hold_ms at most. */
void upstream_readiness_hold(Upstreams *u, UpstreamService s);
bool upstream_readiness_held(Upstreams *u, UpstreamService s, uint64_t now_ms);
/* Waits until s is seen ready after the call, with backoff between probes of its
 * /health/ready (one prober at a time for all waiters): 0 then, -ETIMEDOUT at deadline_ms
 * (monotonic), -ECANCELED when *cancel becomes set. */
int upstream_readiness_wait(Upstreams *u, UpstreamService s, uint64_t deadline_ms, const int *cancel);

/* Probes every service's /health/ready in parallel and adds {llm:{status, latency_ms,
 * url, breaker, error?}, ...} to services; *ret_all_ready is true only if all answered
 * 200. A service that answers 200 closes its breaker (upstream_readiness_seen); one whose
 * probe timed out is "timeout" (alive but slow, or hung), one that refused "unreachable". */
int upstream_probe_all(Upstreams *u, json_object *services, bool *ret_all_ready);
/* Writes orch_breaker_state{service} (0 closed, 1 open, 2 half-open). */
int upstream_write_breaker_metrics(FILE *f, Upstreams *u);
