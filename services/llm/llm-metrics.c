/* SPDX-License-Identifier: MIT */
/* llm-metrics.c — registration of the LLM gateway's metric families. */
#include "llm-metrics.h"

static const double ttft_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
static const double duration_buckets[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };

int llm_metrics_register(LlmMetrics *m, MetricsRegistry *r) {
        int k;

        k = metrics_counter_new(
                r,
                "ai_semble_llm_requests_total",
                "Attempts sent to backends, by outcome (ok, http_5xx, rate_limited, timeout, ...).",
                (const char *[]){ "backend", "model", "status", NULL },
                &m->requests);
        if (k >= 0)
                k = metrics_counter_new(
                        r,
                        "ai_semble_llm_tokens_total",
                        "Tokens used, from the backend's usage or the documented estimate.",
                        (const char *[]){ "backend", "model", "type", NULL },
                        &m->tokens);
        if (k >= 0)
                k = metrics_histogram_new(
                        r,
                        "ai_semble_llm_time_to_first_token_seconds",
                        "Time from sending a request to a backend to its first token.",
                        (const char *[]){ "backend", NULL },
                        ttft_buckets,
                        ELEMENTSOF(ttft_buckets),
                        &m->ttft);
        if (k >= 0)
                k = metrics_histogram_new(
                        r,
                        "ai_semble_llm_request_duration_seconds",
                        "Duration of successful backend requests.",
                        (const char *[]){ "backend", NULL },
                        duration_buckets,
                        ELEMENTSOF(duration_buckets),
                        &m->duration);
        if (k >= 0)
                k = metrics_gauge_new(
                        r,
                        "ai_semble_llm_backend_up",
                        "1 when the backend's circuit breaker lets requests through.",
                        (const char *[]){ "backend", NULL },
                        &m->backend_up);
        if (k >= 0)
                k = metrics_counter_new(
                        r,
                        "ai_semble_llm_fallbacks_total",
                        "Requests moved from one backend to the next of the fallback chain.",
                        (const char *[]){ "from", "to", NULL },
                        &m->fallbacks);
        if (k >= 0)
                k = metrics_counter_new(
                        r,
                        "ai_semble_llm_hybrid_requests_total",
                        "Requests sent to two backends at once, by mode and how many answers came back "
                        "(a cancelled loser of mode first does not count).",
                        (const char *[]){ "mode", "answers", NULL },
                        &m->hybrid);
        return k;
}
