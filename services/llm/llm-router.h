/* SPDX-License-Identifier: MIT */
/* llm-router.h — which backend and model serve a request: an explicit model goes to the
 * backends that serve it (then its configured fallbacks); model "auto" ranks every model
 * whose context window fits the request by priority (balanced | quality | speed | cost)
 * and task type. The ranked list is the fallback chain; reason explains the choice. */
#pragma once

#include "llm-config.h"

typedef enum LlmPriority {
        LLM_PRIORITY_BALANCED,
        LLM_PRIORITY_QUALITY,
        LLM_PRIORITY_SPEED,
        LLM_PRIORITY_COST,
        _LLM_PRIORITY_MAX,
} LlmPriority;

#define LLM_ROUTE_MAX 16
#define LLM_REASON_MAX 512

typedef struct LlmCandidate {
        const LlmBackend *backend;
        const LlmModel *model;
        size_t backend_index;
        double score;
} LlmCandidate;

typedef struct LlmRoute {
        LlmCandidate candidates[LLM_ROUTE_MAX];
        size_t n;
        char reason[LLM_REASON_MAX];
} LlmRoute;

const char *llm_priority_to_string(LlmPriority p);
int llm_priority_from_string(const char *s); /* LlmPriority or -EINVAL */

/* needed_tokens: the smallest window that can serve the request (prompt estimate plus
 * max_tokens). vision: the request carries images, so only models marked "vision" may
 * serve it (fallbacks included). Returns 0, -ENOENT (model not configured), -E2BIG (no
 * model's window is large enough; reason says which was the largest), -ENODATA (no
 * backends), -ENOMEDIUM (images, but no vision model is configured, or none that
 * model="auto" may choose) or -EMEDIUMTYPE (images sent to a model not marked vision). */
int llm_router_route(
        const LlmConfig *cfg,
        const char *model,
        LlmPriority priority,
        const char *task,
        int64_t needed_tokens,
        bool vision,
        LlmRoute *ret);
/* The score of one model under a priority (exposed for tests); max_cost normalizes cost. */
double llm_router_score(const LlmModel *m, LlmPriority priority, const char *task, double max_cost);
