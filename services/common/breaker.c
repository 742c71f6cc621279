/* SPDX-License-Identifier: MIT */
/* breaker.c — circuit breaker transitions. */
#include <errno.h>

#include "breaker.h"

void breaker_init(Breaker *b, const BreakerConfig *config) {
        *b = (Breaker){ .state = BREAKER_CLOSED };
        pthread_mutex_init(&b->lock, NULL);
        if (config)
                b->config = *config;
        if (b->config.failure_threshold == 0)
                b->config.failure_threshold = 1;
        if (b->config.half_open_max == 0)
                b->config.half_open_max = 1;
}

void breaker_done(Breaker *b) {
        pthread_mutex_destroy(&b->lock);
}

static void open_until_locked(Breaker *b, uint64_t until) {
        b->state = BREAKER_OPEN;
        b->open_until_ms = until;
        b->probes_in_flight = 0;
}

static void close_locked(Breaker *b) {
        b->state = BREAKER_CLOSED;
        b->failures = 0;
        b->probes_in_flight = 0;
}

/* Open turns half-open once its time has passed. */
static BreakerState refresh_locked(Breaker *b, uint64_t now) {
        if (b->state == BREAKER_OPEN && now >= b->open_until_ms) {
                b->state = BREAKER_HALF_OPEN;
                b->probes_in_flight = 0;
        }
        return b->state;
}

int breaker_allow(Breaker *b, uint64_t now, uint64_t *ret_retry_after_ms) {
        uint64_t wait = 0;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        switch (refresh_locked(b, now)) {
        case BREAKER_CLOSED:
                break;
        case BREAKER_HALF_OPEN:
                if (b->probes_in_flight < b->config.half_open_max)
                        b->probes_in_flight++;
                else {
                        wait = b->config.half_open_wait_ms;
                        r = -EBUSY;
                }
                break;
        case BREAKER_OPEN:
                wait = b->open_until_ms - now;
                r = -EBUSY;
                break;
        }
        pthread_mutex_unlock(&b->lock);
        if (r < 0 && ret_retry_after_ms)
                *ret_retry_after_ms = wait;
        return r;
}

void breaker_record(Breaker *b, bool success, uint64_t now) {
        if (!success) {
                breaker_record_failure(b, now, 0);
                return;
        }
        pthread_mutex_lock(&b->lock);
        /* A call let through before it opened changes nothing now, unless told otherwise. */
        if (b->state != BREAKER_OPEN || b->config.late_results)
                close_locked(b);
        pthread_mutex_unlock(&b->lock);
}

void breaker_record_failure(Breaker *b, uint64_t now, uint64_t retry_after_ms) {
        uint64_t until = 0;
        bool trip;

        pthread_mutex_lock(&b->lock);
        if (b->state == BREAKER_OPEN && !b->config.late_results) {
                pthread_mutex_unlock(&b->lock);
                return;
        }
        b->failures++;
        trip = b->state == BREAKER_HALF_OPEN || b->failures >= b->config.failure_threshold;
        if (trip)
                until = now + b->config.open_ms;
        if (retry_after_ms > 0 && now + retry_after_ms > until)
                until = now + retry_after_ms;
        if (trip || retry_after_ms > 0) {
                /* Already open for longer (an earlier Retry-After): that stands. */
                if (b->state != BREAKER_OPEN || until > b->open_until_ms)
                        open_until_locked(b, until);
        }
        pthread_mutex_unlock(&b->lock);
}

void breaker_release(Breaker *b) {
        pthread_mutex_lock(&b->lock);
        if (b->probes_in_flight > 0)
                b->probes_in_flight--;
        pthread_mutex_unlock(&b->lock);
}

void breaker_force(Breaker *b, BreakerState s, uint64_t now) {
        pthread_mutex_lock(&b->lock);
        if (s == BREAKER_OPEN)
                open_until_locked(b, now + b->config.open_ms);
        else
                close_locked(b);
        pthread_mutex_unlock(&b->lock);
}

bool breaker_recovered(Breaker *b) {
        bool was_open;

        pthread_mutex_lock(&b->lock);
        was_open = b->state != BREAKER_CLOSED;
        if (was_open)
                close_locked(b);
        pthread_mutex_unlock(&b->lock);
        return was_open;
}

BreakerState breaker_state(Breaker *b, uint64_t now) {
        BreakerState s;

        pthread_mutex_lock(&b->lock);
        s = b->state;
        if (s == BREAKER_OPEN && now >= b->open_until_ms)
                s = BREAKER_HALF_OPEN;
        pthread_mutex_unlock(&b->lock);
        return s;
}

uint64_t breaker_wait_ms(Breaker *b, uint64_t now) {
        uint64_t w = 0;

        pthread_mutex_lock(&b->lock);
        if (b->state == BREAKER_OPEN && now < b->open_until_ms)
                w = b->open_until_ms - now;
        pthread_mutex_unlock(&b->lock);
        return w;
}

const char *breaker_state_to_string(BreakerState s) {
        switch (s) {
        case BREAKER_CLOSED:
                return "closed";
        case BREAKER_OPEN:
                return "open";
        case BREAKER_HALF_OPEN:
                return "half_open";
        }
        return "unknown";
}
