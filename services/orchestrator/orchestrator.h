/* SPDX-License-Identifier: MIT */
/* orchestrator.h — the orchestrator's configuration and the state its handlers share. */
#pragma once

#include <pthread.h>

#include "apikey.h"
#include "audit.h"
#include "auth.h"
#include "guardrail.h"
#include "http-server.h"
#include "job-runner.h"
#include "job-store.h"
#include "lease-keeper.h"
#include "ratelimit.h"
#include "result-cache.h"
#include "schedule-timer.h"
#include "stream-limit.h"
#include "upstream.h"
#include "webhook.h"
#include "workflow-run.h"

#define SSE_PER_PRINCIPAL_DEFAULT 4
#define LEASE_DEFAULT_MS 15000

typedef struct OrchConfig {
        UpstreamConfig upstream;
        char *db_path;
        char *db_url;      /* PostgreSQL instead of db_path; "" = SQLite */
        char *instance;    /* this orchestrator's name on a shared store ("" = a new one each start) */
        uint64_t lease_ms; /* a shared store's leases on unfinished jobs; 0 = LEASE_DEFAULT_MS */
        int64_t workers;
        int64_t queue_max;
        uint64_t sync_grace_ms;
        uint64_t drain_timeout_ms;
        uint64_t max_timeout_ms;
        uint64_t retention_ms;
        uint64_t audit_retention_ms;
        uint64_t cleanup_interval_ms;
        uint64_t sse_keepalive_ms;
        int64_t sse_per_principal; /* 0 = SSE_PER_PRINCIPAL_DEFAULT */
        AuthConfig auth;
        char *allowed_hosts; /* Host names served besides localhost, 127.0.0.1, [::1] */
        char *webhook_secret_file;
        char *webhook_events;
        uint64_t webhook_window_ms;
        int64_t webhook_replay_max; /* 0 = WEBHOOK_REPLAY_MAX_DEFAULT */
        int64_t rate_limit_rps;     /* 0 = no rate limit */
        int64_t rate_limit_burst;
        bool guardrails;
        char *guardrail_actions;
        char *guardrail_rules_file;
        uint64_t guardrail_repeat_bytes;
        bool redact_output;
        uint64_t cache_max_bytes; /* the result cache: 0 = off */
        uint64_t cache_ttl_ms;    /* 0 = off */
        bool schedules_manual;    /* tests: no timer thread; schedule_timer_tick() by hand */
} OrchConfig;

typedef struct Orchestrator {
        OrchConfig config;
        Upstreams upstreams;
        JobStore *store;
        JobRunner *runner;
        AuthJwt *jwt;             /* NULL = bearer auth off */
        unsigned auth_exempt;     /* built-in paths served without a token (auth_exempt_parse) */
        AuditLog *audit;          /* rows in the job database */
        WebhookVerifier *webhook; /* NULL = POST /webhook answers 503 */
        WebhookEvent webhook_events[WEBHOOK_EVENTS_MAX];
        size_t n_webhook_events;
        AuthKeyResolver keys;            /* API keys in the store (api-keys.c) */
        ApiKeyMeter *key_meter;          /* the keys' RPM/TPM windows */
        MetricsFamily *key_tokens;       /* orch_key_tokens_total{key,kind} */
        MetricsFamily *key_limited;      /* orch_key_limited_total{key,limit} */
        RateLimiter *ratelimit;          /* NULL = off */
        ResultCache *cache;              /* pure tasks' answers; NULL = off */
        StreamLimit *streams;            /* open event streams per principal */
        Guardrail *guardrail;            /* NULL = ORCH_GUARDRAILS=off */
        MetricsFamily *guardrail_hits;   /* orch_guardrail_hits_total{rule,action} */
        MetricsFamily *webhook_verified; /* orch_webhook_signatures_verified_total{result} */
        MetricsFamily *http_requests;    /* orch_http_requests_total{route,method,status} */
        MetricsFamily *sse_active;       /* orch_sse_connections_active */

        WorkflowRuns workflows;
        ScheduleTimer *schedules; /* fires schedules and releases delayed jobs */
        LeaseKeeper *leases;      /* a shared store: renews ours, takes over the dead's */

        pthread_t cleanup_thread;
        bool cleanup_started, stopping;
        pthread_mutex_t cleanup_lock;
        pthread_cond_t cleanup_cond;
} Orchestrator;

/* Opens the store, starts the workers, re-queues unfinished jobs and the cleanup
 * thread; metrics may be NULL. The caller logs a failure (and still calls stop). */
int orchestrator_start(Orchestrator *o, MetricsRegistry *metrics);
/* Stops the workers (running jobs stay "running" in the store for the next start). */
void orchestrator_stop(Orchestrator *o);

/* The orchestrator's routes; handlers get o through the route table. */
const HttpRoute *api_routes(Orchestrator *o, size_t *ret_n);
int api_setup_metrics(Orchestrator *o, MetricsRegistry *registry);
/* HttpPreBodyHook (userdata = o): the Host check of every route, the bearer check and
 * rate limit of the API routes, before any body byte is read; a refusal is answered,
 * audited and counted there. */
int api_pre_body(HttpRequest *req, const HttpRoute *route, void *userdata);
/* AuthKeyResolver.lookup (userdata = o): an API key's token against the store (api-keys.c). */
int api_keys_lookup(const char *token, size_t len, AuthClaims *ret, void *userdata);
/* JobRunnerConfig.on_completed (userdata = o): the token usage of a completed llm job, per
 * principal, model and UTC day (api-usage.c). */
void api_usage_record(const Job *j, void *userdata);
/* ServiceDefinition.gate (userdata = o): the token check of /health* and /metrics. */
int api_gate(HttpRequest *req, void *userdata);
