/* SPDX-License-Identifier: MIT */
/* breaker.h — the circuit breaker of every upstream (the orchestrator's services, the
 * llm's backends): closed → open after failure_threshold consecutive failures (or at once
 * on an upstream's Retry-After), open → half-open after open_ms, where half_open_max
 * probes are let through; a probe's success closes it, its failure opens it again. Time
 * is passed in so that the transitions are testable without sleeping. Thread-safe. */
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
        unsigned failure_threshold; /* consecutive failures that open it (0 = 1) */
        uint64_t open_ms;           /* how long it stays open before a probe */
        unsigned half_open_max;     /* probes let through at once while half-open (0 = 1) */
        uint64_t half_open_wait_ms; /* the retry time breaker_allow() tells while they are all out */
        /* Results of calls let through before it opened still count while it is open: a
         * success closes it, a failure reopens it from now. Otherwise they are ignored. */
        bool late_results;
} BreakerConfig;

typedef struct Breaker {
        pthread_mutex_t lock;
        BreakerConfig config;
        BreakerState state;
        uint64_t failures;      /* consecutive */
        uint64_t open_until_ms; /* while open */
        unsigned probes_in_flight;
} Breaker;

void breaker_init(Breaker *b, const BreakerConfig *config);
void breaker_done(Breaker *b);
/* 0 when a call may go ahead (half-open: it takes a probe slot, so it must be reported
 * with breaker_record() or breaker_release()), -EBUSY when not; then *ret_retry_after_ms
 * (if non-NULL) says when to ask again. */
int breaker_allow(Breaker *b, uint64_t now_ms, uint64_t *ret_retry_after_ms);
/* The outcome of an allowed call. A failure is breaker_record_failure(b, now_ms, 0). */
void breaker_record(Breaker *b, bool success, uint64_t now_ms);
/* A failed call; retry_after_ms > 0 (the upstream's own word) opens it for at least that
 * long, whatever the count. */
void breaker_record_failure(Breaker *b, uint64_t now_ms, uint64_t retry_after_ms);
/* An allowed call that ended for a reason that says nothing about the upstream (a 4xx,
 * the client went away): frees its probe slot. */
void breaker_release(Breaker *b);
/* Told from outside (the supervisor saw the service go down or come back): BREAKER_OPEN
 * opens it now (a probe is let through after open_ms as usual), anything else closes it. */
void breaker_force(Breaker *b, BreakerState s, uint64_t now_ms);
/* Readiness was seen from outside (a probe answered ready, the supervisor said so): an
 * open or half-open breaker closes; a closed one keeps its count of failures, so that a
 * service that answers its probes but fails its calls still opens it. True if it was
 * not closed. */
bool breaker_recovered(Breaker *b);
/* The state as a caller would see it at now_ms (open turns half-open once open_ms passed). */
BreakerState breaker_state(Breaker *b, uint64_t now_ms);
/* Milliseconds until an open breaker lets a probe through; 0 when it is not open. */
uint64_t breaker_wait_ms(Breaker *b, uint64_t now_ms);
const char *breaker_state_to_string(BreakerState s);
