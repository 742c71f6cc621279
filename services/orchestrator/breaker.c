/* SPDX-License-Identifier: MIT */
/* breaker.c — circuit breaker transitions and full-jitter backoff. */
#include <errno.h>
#include <time.h>

#include "breaker.h"

void breaker_init(Breaker *b, const BreakerConfig *config) {
        *b = (Breaker){ .state = BREAKER_CLOSED };
        pthread_mutex_init(&b->lock, NULL);
        if (config)
                b->config = *config;
        if (b->config.failure_threshold == 0)
                b->config.failure_threshold = 5;
        if (b->config.open_ms == 0)
                b->config.open_ms = 10000;
        if (b->config.half_open_max == 0)
                b->config.half_open_max = 1;
}

void breaker_done(Breaker *b) {
        pthread_mutex_destroy(&b->lock);
}

static void set_state(Breaker *b, BreakerState s, uint64_t now) {
        if (b->state != s)
                b->transitions++;
        b->state = s;
        if (s == BREAKER_OPEN)
                b->opened_at_ms = now;
        if (s != BREAKER_HALF_OPEN)
                b->probes_in_flight = 0;
        if (s == BREAKER_CLOSED)
                b->failures = 0;
}

int breaker_allow(Breaker *b, uint64_t now, uint64_t *ret_retry_after_ms) {
        int r = 0;

        pthread_mutex_lock(&b->lock);
        if (b->state == BREAKER_OPEN && now >= b->opened_at_ms + b->config.open_ms)
                set_state(b, BREAKER_HALF_OPEN, now);
        switch (b->state) {
        case BREAKER_CLOSED:
                break;
        case BREAKER_HALF_OPEN:
                if (b->probes_in_flight < b->config.half_open_max)
                        b->probes_in_flight++;
                else {
                        if (ret_retry_after_ms)
                                *ret_retry_after_ms = 1000;
                        r = -EBUSY;
                }
                break;
        case BREAKER_OPEN:
                if (ret_retry_after_ms)
                        *ret_retry_after_ms = b->opened_at_ms + b->config.open_ms - now;
                r = -EBUSY;
                break;
        }
        pthread_mutex_unlock(&b->lock);
        return r;
}

void breaker_force(Breaker *b, BreakerState s, uint64_t now) {
        pthread_mutex_lock(&b->lock);
        set_state(b, s == BREAKER_OPEN ? BREAKER_OPEN : BREAKER_CLOSED, now);
        pthread_mutex_unlock(&b->lock);
}

void breaker_record(Breaker *b, bool success, uint64_t now) {
        pthread_mutex_lock(&b->lock);
        switch (b->state) {
        case BREAKER_CLOSED:
                if (success)
                        b->failures = 0;
                else if (++b->failures >= b->config.failure_threshold)
                        set_state(b, BREAKER_OPEN, now);
                break;
        case BREAKER_HALF_OPEN:
                if (b->probes_in_flight > 0)
                        b->probes_in_flight--;
                set_state(b, success ? BREAKER_CLOSED : BREAKER_OPEN, now);
                break;
        case BREAKER_OPEN:
                /* A call let through before it opened: it changes nothing now. */
                break;
        }
        pthread_mutex_unlock(&b->lock);
}

BreakerState breaker_state(Breaker *b, uint64_t now) {
        BreakerState s;

        pthread_mutex_lock(&b->lock);
        s = b->state;
        if (s == BREAKER_OPEN && now >= b->opened_at_ms + b->config.open_ms)
                s = BREAKER_HALF_OPEN;
        pthread_mutex_unlock(&b->lock);
        return s;
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

uint64_t backoff_full_jitter_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd) {
        uint64_t ceiling = base_ms;

        for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++)
                ceiling *= 2;
        if (ceiling > cap_ms)
                ceiling = cap_ms;
        return ceiling == 0 ? 0 : rnd % (ceiling + 1);
}
