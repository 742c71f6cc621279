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
        uint32_t missing; /* -EPROTONOSUPPORT: the LLM_FEATURE_* the closest backend lacks */
} LlmRoute;

/* What a request needs of the model that serves it. */
typedef struct LlmNeeds {
        int64_t tokens;    /* the smallest window: prompt estimate plus max_tokens */
        bool vision;       /* it carries images: only models marked "vision" */
        bool embeddings;   /* an embeddings request: only models marked "embeddings" (and
                            * only these serve it; they serve nothing else) */
        uint32_t features; /* LLM_FEATURE_*: only backends whose kind honours them all */
} LlmNeeds;

const char *llm_priority_to_string(LlmPriority p);
int llm_priority_from_string(const char *s); /* LlmPriority or -EINVAL */

/* Only candidates that meet needs (fallbacks included) are routed to. Returns 0, -ENOENT
 * (model not configured), -E2BIG (no model's window is large enough; reason says which
 * was the largest), -ENODATA (no backends), -ENOMEDIUM (images or embeddings, but no model
 * is marked for them, or none that model="auto" may choose; reason says what to add),
 * -EMEDIUMTYPE (images sent to a model not marked vision, an embeddings model asked for
 * text or the other way round) or -EPROTONOSUPPORT (no backend serving it honours all
 * the features; ret->missing says which the closest one lacks). */
int llm_router_route(
        const LlmConfig *cfg,
        const char *model,
        LlmPriority priority,
        const char *task,
        const LlmNeeds *needs,
        LlmRoute *ret);
/* The score of one model under a priority (exposed for tests); max_cost normalizes cost. */
double llm_router_score(const LlmModel *m, LlmPriority priority, const char *task, double max_cost);
