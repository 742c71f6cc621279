/* SPDX-License-Identifier: MIT */
/* llm-breaker.c — the per-backend circuit breaker (closed → open → half-open). */
#include <time.h>

#include "llm-breaker.h"

void llm_breaker_init(LlmBreaker *b, int64_t allowed_fails, uint64_t cooldown_ms) {
        *b = (LlmBreaker){
                .allowed_fails = allowed_fails > 0 ? allowed_fails : 1,
                .cooldown_ms = cooldown_ms,
                .state = LLM_BREAKER_CLOSED,
        };
        pthread_mutex_init(&b->lock, NULL);
}

void llm_breaker_done(LlmBreaker *b) {
        pthread_mutex_destroy(&b->lock);
}

/* Called with the lock held: moves open → half-open once the cooldown has passed. */
static void refresh(LlmBreaker *b, uint64_t now_ms) {
        if (b->state == LLM_BREAKER_OPEN && now_ms >= b->open_until_ms) {
                b->state = LLM_BREAKER_HALF_OPEN;
                b->trial_in_flight = false;
        }
}

bool llm_breaker_allow(LlmBreaker *b, uint64_t now_ms) {
        bool ok = false;

        pthread_mutex_lock(&b->lock);
        refresh(b, now_ms);
        if (b->state == LLM_BREAKER_CLOSED)
                ok = true;
        else if (b->state == LLM_BREAKER_HALF_OPEN && !b->trial_in_flight)
                ok = b->trial_in_flight = true;
        pthread_mutex_unlock(&b->lock);
        return ok;
}

void llm_breaker_success(LlmBreaker *b) {
        pthread_mutex_lock(&b->lock);
        b->fails = 0;
        b->state = LLM_BREAKER_CLOSED;
        b->trial_in_flight = false;
        pthread_mutex_unlock(&b->lock);
}

void llm_breaker_failure(LlmBreaker *b, uint64_t now_ms, uint64_t retry_after_ms) {
        pthread_mutex_lock(&b->lock);
        uint64_t until = 0;

        b->fails++;
        if (b->state == LLM_BREAKER_HALF_OPEN || b->fails >= b->allowed_fails)
                until = now_ms + b->cooldown_ms;
        /* The backend's own word on when to come back. */
        if (retry_after_ms > 0 && now_ms + retry_after_ms > until)
                until = now_ms + retry_after_ms;
        if (until > 0) {
                if (until > b->open_until_ms || b->state != LLM_BREAKER_OPEN)
                        b->open_until_ms = until;
                b->state = LLM_BREAKER_OPEN;
        }
        b->trial_in_flight = false;
        pthread_mutex_unlock(&b->lock);
}

void llm_breaker_release(LlmBreaker *b) {
        pthread_mutex_lock(&b->lock);
        b->trial_in_flight = false;
        pthread_mutex_unlock(&b->lock);
}

LlmBreakerState llm_breaker_state(LlmBreaker *b, uint64_t now_ms) {
        LlmBreakerState s;

        pthread_mutex_lock(&b->lock);
        refresh(b, now_ms);
        s = b->state;
        pthread_mutex_unlock(&b->lock);
        return s;
}

uint64_t llm_breaker_wait_ms(LlmBreaker *b, uint64_t now_ms) {
        uint64_t w = 0;

        pthread_mutex_lock(&b->lock);
        refresh(b, now_ms);
        if (b->state == LLM_BREAKER_OPEN)
                w = b->open_until_ms - now_ms;
        pthread_mutex_unlock(&b->lock);
        return w;
}

const char *llm_breaker_state_to_string(LlmBreakerState s) {
        switch (s) {
        case LLM_BREAKER_CLOSED:
                return "closed";
        case LLM_BREAKER_OPEN:
                return "open";
        case LLM_BREAKER_HALF_OPEN:
                return "half-open";
        }
        return "unknown";
}
