/* SPDX-License-Identifier: MIT */
/* breaker.h — a circuit breaker per upstream service (closed / open / half-open) and the
 * full-jitter exponential backoff used between retries. Time is passed in so that the
 * transitions are testable without sleeping. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum BreakerState {
        BREAKER_CLOSED = 0,
        BREAKER_OPEN = 1,
        BREAKER_HALF_OPEN = 2,
} BreakerState;

typedef struct BreakerConfig {
        unsigned failure_threshold; /* consecutive failures that open it (0 = 5) */
        uint64_t open_ms;           /* how long it stays open before a probe (0 = 10 s) */
        unsigned half_open_max;     /* concurrent probe calls while half-open (0 = 1) */
} BreakerConfig;

typedef struct Breaker {
        pthread_mutex_t lock;
        BreakerConfig config;
        BreakerState state;
        unsigned failures;
        unsigned probes_in_flight;
        uint64_t opened_at_ms;
        uint64_t transitions;
} Breaker;

void breaker_init(Breaker *b, const BreakerConfig *config);
void breaker_done(Breaker *b);
/* 0 when a call may go ahead (the caller must report it with breaker_record()), -EBUSY
 * when the breaker is open; then *ret_retry_after_ms (if non-NULL) says when a probe
 * will be let through. */
int breaker_allow(Breaker *b, uint64_t now_ms, uint64_t *ret_retry_after_ms);
void breaker_record(Breaker *b, bool success, uint64_t now_ms);
/* Told from outside (the supervisor saw the service go down or come back): BREAKER_OPEN
 * opens it now (a probe is let through after open_ms as usual), anything else closes it. */
void breaker_force(Breaker *b, BreakerState s, uint64_t now_ms);
/* The state as a caller would see it at now_ms (open turns half-open once open_ms passed). */
BreakerState breaker_state(Breaker *b, uint64_t now_ms);
const char *breaker_state_to_string(BreakerState s);

/* Full jitter (AWS architecture blog): a uniform delay in [0, min(cap, base * 2^attempt)].
 * attempt counts from 0; rnd is a uniform 64-bit random value. */
uint64_t backoff_full_jitter_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd);
