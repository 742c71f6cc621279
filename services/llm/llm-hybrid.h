/* SPDX-License-Identifier: MIT */
/* llm-hybrid.h — one request sent to two backends at once. Each leg is a thread running
 * the ordinary gateway (its retries, breaker, metrics) with a one-candidate route: no
 * fallback inside a leg, the other leg is the fallback. "both" waits for the two answers;
 * "first" takes the first complete answer (or, streaming, the first backend to send text)
 * and cancels the other leg, which aborts its transfer and closes its connection. */
#pragma once

#include <pthread.h>

#include "llm-gateway.h"
#include "llm-text.h"
#include "trace.h"

typedef enum LlmHybridMode {
        LLM_HYBRID_BOTH,
        LLM_HYBRID_FIRST,
        _LLM_HYBRID_MODE_MAX,
} LlmHybridMode;

/* LLM_HYBRID, the operator's policy: hybrid doubles the backend calls, so cost matters. */
typedef enum LlmHybridPolicy {
        LLM_HYBRID_POLICY_ON,    /* any two models */
        LLM_HYBRID_POLICY_LOCAL, /* only models with cost 0 */
        LLM_HYBRID_POLICY_OFF,   /* refused with 403 */
        _LLM_HYBRID_POLICY_MAX,
} LlmHybridPolicy;

typedef struct LlmHybrid LlmHybrid;

typedef struct LlmHybridLeg {
        LlmHybrid *h;
        size_t index;
        LlmRoute route; /* exactly one candidate */
        LlmOutcome out;
        int r;        /* llm_gateway_run's result; 0 = answered */
        LlmText text; /* the buffered answer (not used when streaming) */
        uint64_t latency_ms;
        bool started, done, cancel, lost; /* lost: cancelled because the other leg won */
        pthread_t thread;
} LlmHybridLeg;

struct LlmHybrid {
        LlmGateway *g;
        const LlmCallRequest *req;
        bool trim;
        LlmHybridMode mode;
        /* Streaming "first": the winner's text goes to this sink from the winner's thread
         * (the only one that writes to the client). NULL: answers are buffered per leg. */
        const LlmSink *client;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int winner; /* "first": the leg that won, -1 before */
        LlmHybridLeg legs[2];
        TraceContext trace; /* the caller's span, carried to the legs' threads */
};

const char *llm_hybrid_mode_to_string(LlmHybridMode m);
int llm_hybrid_mode_from_string(const char *s); /* LlmHybridMode or -EINVAL */
const char *llm_hybrid_policy_to_string(LlmHybridPolicy p);
int llm_hybrid_policy_from_string(const char *s);

/* The two legs from a ranked route: its first candidate and the next one on a different
 * backend. -ENOENT when the route offers a single backend. */
int llm_hybrid_pick_route(const LlmRoute *route, LlmCandidate ret[static 2]);
/* The two legs for two named models, each from its own route (only candidates serving
 * that very model, not its fallbacks): the first pair on two different backends.
 * -EEXIST when every pair shares one backend. */
int llm_hybrid_pick_models(
        const LlmRoute *r0, const char *m0, const LlmRoute *r1, const char *m1, LlmCandidate ret[static 2]);

void llm_hybrid_init(
        LlmHybrid *h,
        LlmGateway *g,
        LlmHybridMode mode,
        const LlmCallRequest *req,
        bool trim,
        const LlmSink *client,
        const LlmCandidate legs[static 2]);
/* Starts both legs and waits for the decision: "both" until both ended, "first" until the
 * winner ended or both did. Returns the leg to answer with (the winner; for "both" the
 * first that answered), -EIO when neither answered, or -errno when a thread could not be
 * started (then nothing runs). */
int llm_hybrid_run(LlmHybrid *h);
/* Cancels what still runs, waits for it, counts the request in the hybrid metric.
 * Call after replying, so that the client does not wait for the loser to wind down. */
void llm_hybrid_finish(LlmHybrid *h);
void llm_hybrid_done(LlmHybrid *h);
