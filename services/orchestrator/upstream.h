/* SPDX-License-Identifier: MIT */
/* upstream.h — the four backend services the orchestrator fronts, and their probes. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "metrics.h"

typedef struct UpstreamConfig {
        char *llm_url;
        char *vision_url;
        char *nlp_url;
        char *data_url;
        uint64_t probe_timeout_ms;
} UpstreamConfig;

typedef struct Upstreams {
        const UpstreamConfig *config;
        MetricsFamily *up; /* orch_upstream_up{service} */
} Upstreams;

int upstream_setup_metrics(Upstreams *u, MetricsRegistry *registry);
/* Probes every service's /health/ready in parallel and adds {llm:{status, latency_ms,
 * url, error?}, ...} to services; *ret_all_ready is true only if all answered 200. */
int upstream_probe_all(Upstreams *u, json_object *services, bool *ret_all_ready);
