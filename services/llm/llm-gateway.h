/* SPDX-License-Identifier: MIT */
/* llm-gateway.h — one request through the fallback chain: for each routed candidate
 * whose breaker allows it, up to 1 + retries attempts (backoff with jitter, Retry-After
 * honoured) as long as nothing has been streamed to the client; 4xx ends the request.
 * /chat history is trimmed to each candidate's window. Usage falls back to the estimate. */
#pragma once

#include "breaker.h"
#include "llm-config.h"
#include "llm-metrics.h"
#include "llm-provider.h"
#include "llm-router.h"
#include "llm-tools.h"
#include "llm-upstream.h"

typedef struct LlmGateway {
        LlmConfig config;
        Breaker breakers[LLM_MAX_BACKENDS];
        LlmMetrics metrics;
        bool have_metrics;
        uint64_t retry_wait_max_ms; /* longest Retry-After waited for in place */
} LlmGateway;

/* What the caller's client sees. begin is called once, before the first text (or at the
 * end when there was none), naming the candidate that serves; text and tool call pieces
 * then follow as they arrive. Any callback < 0 means the client went away. */
typedef struct LlmSink {
        int (*begin)(void *userdata, const LlmCandidate *c, bool fallback, const char *fallback_from);
        int (*text)(void *userdata, const char *text, size_t len);
        /* Optional: a piece of a tool call, numbered and named as llm_tool_calls_add() says;
         * the assembled calls are in the outcome at the end. */
        int (*tool)(void *userdata, const LlmToolDelta *d);
        /* Embeddings: the vectors, one per input (borrowed: take a reference to keep them). */
        int (*embeddings)(void *userdata, json_object *vectors);
        int (*idle)(void *userdata);
        /* Non-NULL when nothing reaches the client before the end (a buffered answer):
         * partial output can then be discarded and the request retried or moved on. */
        int (*reset)(void *userdata);
        /* Optional: true stops the run (no further attempt; a transfer in progress is
         * aborted, closing its connection) with LLM_FAIL_CLIENT_GONE. */
        bool (*cancelled)(void *userdata);
        void *userdata;
} LlmSink;

typedef struct LlmOutcome {
        const LlmCandidate *used; /* NULL if no candidate produced an answer */
        bool fallback;
        char fallback_from[64];
        bool streamed; /* begin was called */
        int64_t prompt_tokens, completion_tokens;
        bool usage_estimated;
        char finish_reason[32];  /* "tool_calls" when the answer calls tools */
        LlmToolCalls tools;      /* the answer's tool calls; llm_outcome_done() frees them */
        size_t dropped_messages; /* /chat trimming, for the serving candidate */
        size_t kept_messages;
        /* On failure: the status to answer (when nothing was streamed), why, and a wait. */
        int status;
        LlmFailure failure;
        char detail[LLM_DETAIL_MAX + 128];
        uint64_t retry_after_ms;
} LlmOutcome;

void llm_outcome_done(LlmOutcome *o);

void llm_gateway_init(LlmGateway *g);
void llm_gateway_done(LlmGateway *g);
bool llm_gateway_configured(const LlmGateway *g);
int llm_gateway_setup_metrics(LlmGateway *g, MetricsRegistry *r);

/* req: messages (chat, trim applies when trim is true), prompt or embedding inputs.
 * Returns 0 when an answer was produced, -EIO otherwise (out->status/detail say why),
 * -ENOMEM. out is filled either way; the caller frees it with llm_outcome_done(). */
int llm_gateway_run(
        LlmGateway *g,
        const LlmRoute *route,
        const LlmCallRequest *req,
        bool trim,
        const LlmSink *sink,
        LlmOutcome *out);
