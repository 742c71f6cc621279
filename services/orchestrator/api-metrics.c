/* SPDX-License-Identifier: MIT */
/* api-metrics.c — the orchestrator's own metrics: requests by route, webhook signature
 * checks, open event streams, guardrail hits, tokens and refusals per API key, and the store, queue and
 * breakers read at each scrape. */
#include "api-internal.h"

static int collect(FILE *f, void *userdata) {
        Orchestrator *o = userdata;
        uint64_t counts[_JOB_STATUS_MAX];

        if (job_store_count_by_status(o->store, counts) >= 0) {
                metrics_write_header(f, "orch_jobs", "Jobs in the store, by status.", "gauge");
                for (int i = 0; i < _JOB_STATUS_MAX; i++) {
                        fprintf(f, "orch_jobs{status=\"%s\"} ", job_status_to_string((JobStatus) i));
                        metrics_write_value(f, (double) counts[i]);
                        fputc('\n', f);
                }
        }
        metrics_write_header(f, "orch_queue_depth", "Jobs waiting for a worker.", "gauge");
        fputs("orch_queue_depth ", f);
        metrics_write_value(f, (double) job_runner_queue_depth(o->runner));
        fputc('\n', f);
        metrics_write_header(f, "orch_workers_busy", "Workers running a job now.", "gauge");
        fputs("orch_workers_busy ", f);
        metrics_write_value(f, (double) job_runner_busy(o->runner));
        fputc('\n', f);
        return upstream_write_breaker_metrics(f, &o->upstreams);
}

int api_setup_metrics(Orchestrator *o, MetricsRegistry *registry) {
        static const char *const labels[] = { "route", "method", "status", NULL };
        int r;

        r = metrics_counter_new(
                registry,
                "orch_http_requests_total",
                "Requests to the orchestrator's own endpoints, by route, method and status.",
                labels,
                &o->http_requests);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_webhook_signatures_verified_total",
                        "Webhook signature checks by result (valid, missing, malformed, invalid, stale, replay).",
                        (const char *const[]){ "result", NULL },
                        &o->webhook_verified);
        if (r >= 0)
                r = metrics_gauge_new(
                        registry,
                        "orch_sse_connections_active",
                        "Open GET /jobs/{id}/events streams.",
                        NULL,
                        &o->sse_active);
        if (r >= 0)
                r = metrics_gauge_set(o->sse_active, NULL, 0);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_guardrail_hits_total",
                        "Requests on which an input guardrail rule fired, by rule and action (block, flag).",
                        (const char *const[]){ "rule", "action", NULL },
                        &o->guardrail_hits);
        /* Per API key, with at most APIKEY_METRICS_KEYS key labels (the rest "other"). */
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_key_tokens_total",
                        "Tokens of llm answers to API keys, by key and kind (prompt, completion).",
                        (const char *const[]){ "key", "kind", NULL },
                        &o->key_tokens);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_key_limited_total",
                        "Requests of API keys refused with 429, by key and limit.",
                        (const char *const[]){ "key", "limit", NULL },
                        &o->key_limited);
        if (r >= 0)
                r = metrics_registry_add_collector(registry, collect, o);
        return r;
}
