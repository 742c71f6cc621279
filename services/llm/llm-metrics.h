/* SPDX-License-Identifier: MIT */
/* llm-metrics.h — the ai_semble_llm_* families. */
#pragma once

#include "metrics.h"

typedef struct LlmMetrics {
        MetricsFamily *requests;   /* {backend, model, status} per attempt */
        MetricsFamily *tokens;     /* {backend, model, type=prompt|completion} */
        MetricsFamily *ttft;       /* {backend} */
        MetricsFamily *duration;   /* {backend} */
        MetricsFamily *backend_up; /* {backend} */
        MetricsFamily *fallbacks;  /* {from, to} */
        MetricsFamily *hybrid;     /* {mode=both|first, answers=0|1|2} */
} LlmMetrics;

int llm_metrics_register(LlmMetrics *m, MetricsRegistry *r);
