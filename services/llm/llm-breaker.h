/* SPDX-License-Identifier: MIT */
/* llm-breaker.h — one circuit breaker per backend: `allowed_fails` consecutive failures
 * open it for `cooldown`; an upstream Retry-After opens it for that long. Once the time
 * has passed a single trial request is let through (half-open); its success closes the
 * breaker, its failure opens it again. Thread-safe. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

typedef enum LlmBreakerState {
        LLM_BREAKER_CLOSED,
        LLM_BREAKER_OPEN,
        LLM_BREAKER_HALF_OPEN,
} LlmBreakerState;

typedef struct LlmBreaker {
        pthread_mutex_t lock;
        int64_t allowed_fails;
        uint64_t cooldown_ms;
        int64_t fails;          /* consecutive */
        uint64_t open_until_ms; /* monotonic */
        bool trial_in_flight;
        LlmBreakerState state;
} LlmBreaker;

void llm_breaker_init(LlmBreaker *b, int64_t allowed_fails, uint64_t cooldown_ms);
void llm_breaker_done(LlmBreaker *b);
/* May a request go to this backend now? A true answer in half-open state reserves the
 * one trial, so every true must be followed by llm_breaker_success/failure/release. */
bool llm_breaker_allow(LlmBreaker *b, uint64_t now_ms);
void llm_breaker_success(LlmBreaker *b);
/* retry_after_ms > 0 opens the breaker for at least that long whatever the count. */
void llm_breaker_failure(LlmBreaker *b, uint64_t now_ms, uint64_t retry_after_ms);
/* A request that ended for a reason that says nothing about the backend (4xx, client gone). */
void llm_breaker_release(LlmBreaker *b);
LlmBreakerState llm_breaker_state(LlmBreaker *b, uint64_t now_ms);
/* Milliseconds until the breaker lets a trial through, 0 when it allows now. */
uint64_t llm_breaker_wait_ms(LlmBreaker *b, uint64_t now_ms);
const char *llm_breaker_state_to_string(LlmBreakerState s);
