/* SPDX-License-Identifier: MIT */
/* result-cache.h — answers of pure tasks kept in memory, keyed by service, task,
 * principal and a SHA-256 of the canonical input; bounded by bytes (least recently used
 * out first) and by age. Every call takes one short lock: bodies are copied in before it
 * and handed out by reference. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "sha256.h"

typedef struct ResultCache ResultCache;

typedef struct ResultCacheConfig {
        uint64_t max_bytes; /* results plus RESULT_CACHE_ENTRY_OVERHEAD each */
        uint64_t ttl_ms;    /* age at which an entry is no longer answered */
        /* The clock (monotonic ms); NULL = CLOCK_MONOTONIC. Tests move their own. */
        uint64_t (*now_ms)(void *userdata);
        void *clock_userdata;
} ResultCacheConfig;

/* What an entry costs besides its body (its node and its key), counted against max_bytes. */
#define RESULT_CACHE_ENTRY_OVERHEAD 128

typedef struct ResultCacheKey {
        uint8_t digest[SHA256_SIZE];
} ResultCacheKey;

/* What a key is made of. The principal is part of it: one caller's hit never answers (or
 * times) another's input. */
typedef struct ResultCacheKeyInput {
        const char *service, *task, *principal, *content_type;
        const void *input;
        size_t input_len;
} ResultCacheKeyInput;

/* A kept answer, shared by reference (immutable). */
typedef struct ResultCacheValue {
        int refs;
        long status;
        size_t len;
        char body[]; /* NUL-terminated */
} ResultCacheValue;

typedef struct ResultCacheStats {
        uint64_t hits, misses, bypasses, evictions, expired;
        uint64_t bytes, entries;
} ResultCacheStats;

/* -EINVAL when max_bytes or ttl_ms is 0 (the caller keeps no cache then). */
int result_cache_new(const ResultCacheConfig *config, ResultCache **ret);
void result_cache_free(ResultCache *c);
/* orch_cache_{hits,misses,bypasses,evictions,expired}_total, orch_cache_{bytes,entries}. */
int result_cache_setup_metrics(ResultCache *c, MetricsRegistry *registry);

/* The SHA-256 of each field, length-prefixed (no two inputs share a key by concatenation). */
int result_cache_key(const ResultCacheKeyInput *in, ResultCacheKey *ret);

/* 0 and a reference in *ret on a hit; -ENOENT on a miss (an expired entry is dropped).
 * Counts a hit or a miss. */
int result_cache_get(ResultCache *c, const ResultCacheKey *key, ResultCacheValue **ret);
/* Keeps a copy of body under key, replacing what it held, then drops least recently used
 * entries until the total fits. -E2BIG when this one alone would not fit. */
int result_cache_put(ResultCache *c, const ResultCacheKey *key, long status, const char *body, size_t len);
/* A lookup the request declined (Cache-Control: no-cache). */
void result_cache_count_bypass(ResultCache *c);
void result_cache_stats(ResultCache *c, ResultCacheStats *ret);

ResultCacheValue *result_cache_value_ref(ResultCacheValue *v);
void result_cache_value_unref(ResultCacheValue *v);
