/* SPDX-License-Identifier: MIT */
/* ratelimit.h — token buckets per principal (JWT sub, else client address): `rate` tokens
 * per second up to `burst`. A bounded table: a bucket that has refilled to `burst` is the
 * same as no bucket, so it is what gets evicted when the table is full. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "job-store.h"

#define RATELIMIT_SLOTS 8192
#define RATELIMIT_KEY_MAX 160

typedef struct RateLimiter RateLimiter;

typedef struct RateLimitDecision {
        bool allowed;
        unsigned limit;         /* burst */
        unsigned remaining;     /* whole tokens left after this request */
        unsigned reset_s;       /* seconds until the bucket is full again */
        unsigned retry_after_s; /* when refused: seconds until one token is back (>= 1) */
} RateLimitDecision;

/* rate > 0 tokens/s, burst >= 1. */
int ratelimit_new(double rate, unsigned burst, RateLimiter **ret);
void ratelimit_free(RateLimiter *l);
static inline void ratelimit_freep(RateLimiter **l) {
        if (*l)
                ratelimit_free(*l);
}

/* The buckets as rows of store, shared by the orchestrators of one store (NULL: in this
 * process again). */
void ratelimit_share(RateLimiter *l, JobStore *store);
/* Takes one token from key's bucket at time now_s (monotonic seconds; shared: the wall
 * clock's, read here). Thread-safe. */
void ratelimit_take(RateLimiter *l, const char *key, double now_s, RateLimitDecision *ret);
