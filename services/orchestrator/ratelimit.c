/* SPDX-License-Identifier: MIT */
/* ratelimit.c — see ratelimit.h. Open addressing over a fixed table with a short probe;
 * keys are hashed with a per-process random seed so clients cannot aim collisions. Shared
 * (ratelimit_share), the buckets are rows of the orchestrators' store instead. */
#include <errno.h>
#include <math.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "ratelimit.h"
#include "time-util.h"

#define PROBE 16

typedef struct Bucket {
        char key[RATELIMIT_KEY_MAX + 1];
        double tokens;
        double at;
        bool used;
} Bucket;

struct RateLimiter {
        double rate;
        unsigned burst;
        uint64_t seed;
        pthread_mutex_t lock;
        JobStore *store; /* shared with other orchestrators: the buckets are its rows */
        Bucket slots[RATELIMIT_SLOTS];
};

int ratelimit_new(double rate, unsigned burst, RateLimiter **ret) {
        RateLimiter *l;

        if (!(rate > 0) || burst < 1)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->rate = rate;
        l->burst = burst;
        if (RAND_bytes((unsigned char *) &l->seed, sizeof(l->seed)) != 1)
                l->seed = (uint64_t) (uintptr_t) l ^ 0x9e3779b97f4a7c15ULL;
        pthread_mutex_init(&l->lock, NULL);
        *ret = l;
        return 0;
}

void ratelimit_free(RateLimiter *l) {
        if (!l)
                return;
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static uint64_t hash(uint64_t seed, const char *s) {
        uint64_t h = 1469598103934665603ULL ^ seed;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        return h ^ (h >> 29);
}

static double refill(const RateLimiter *l, const Bucket *b, double now) {
        double t = b->tokens + (now > b->at ? (now - b->at) * l->rate : 0);
        return t > l->burst ? l->burst : t;
}

void ratelimit_share(RateLimiter *l, JobStore *store) {
        l->store = store;
}

/* The answer for a bucket left with tokens after this request. */
static void decide(const RateLimiter *l, double tokens, bool allowed, RateLimitDecision *ret) {
        ret->limit = l->burst;
        ret->allowed = allowed;
        ret->remaining = (unsigned) floor(MAX(tokens, 0.0));
        ret->reset_s = (unsigned) ceil((l->burst - tokens) / l->rate);
        ret->retry_after_s = allowed ? 0 : (unsigned) MAX(1.0, ceil((1.0 - tokens) / l->rate));
}

void ratelimit_take(RateLimiter *l, const char *key, double now, RateLimitDecision *ret) {
        char k[RATELIMIT_KEY_MAX + 1];
        Bucket *b = NULL, *empty = NULL, *victim = NULL;
        double best = -1;
        size_t start;

        snprintf(k, sizeof(k), "%s", key ?: "");
        if (l->store) {
                double tokens;
                bool allowed;

                /* The wall clock: the other orchestrators' hosts share no other. When the
                 * store cannot tell, this process's own bucket decides. */
                if (job_store_bucket_take(
                            l->store, k, l->rate, l->burst, time_now_s(CLOCK_REALTIME), &tokens, &allowed) >=
                    0) {
                        decide(l, tokens, allowed, ret);
                        return;
                }
        }
        start = (size_t) (hash(l->seed, k) % RATELIMIT_SLOTS);
        pthread_mutex_lock(&l->lock);
        for (size_t i = 0; i < PROBE; i++) {
                Bucket *s = &l->slots[(start + i) % RATELIMIT_SLOTS];
                double t;

                if (s->used && strcmp(s->key, k) == 0) {
                        b = s;
                        break;
                }
                if (!s->used) {
                        if (!empty)
                                empty = s;
                        continue;
                }
                /* The fullest bucket loses least when evicted (a full one: nothing). */
                t = refill(l, s, now);
                if (t > best) {
                        best = t;
                        victim = s;
                }
        }
        if (!b) {
                b = empty ?: victim;
                memcpy(b->key, k, sizeof(k));
                b->tokens = l->burst;
                b->at = now;
                b->used = true;
        }
        b->tokens = refill(l, b, now);
        if (now > b->at)
                b->at = now;
        if (b->tokens >= 1.0) {
                b->tokens -= 1.0;
                decide(l, b->tokens, true, ret);
        } else
                decide(l, b->tokens, false, ret);
        pthread_mutex_unlock(&l->lock);
}
