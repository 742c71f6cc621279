/* SPDX-License-Identifier: MIT */
/* result-cache.c — the pure tasks' result cache (see result-cache.h): a chained hash table
 * of entries on two lists, by last use (size eviction from its tail) and by insertion
 * (the TTL is the same for all, so the oldest insertion expires first). Whatever leaves
 * the table is freed after the lock is released. */
#include <pthread.h>
#include <time.h>

#include "macro.h"
#include "result-cache.h"
#include "time-util.h"

typedef struct Entry {
        ResultCacheKey key;
        ResultCacheValue *value;
        uint64_t cost;
        uint64_t expires_at;
        struct Entry *hnext;               /* the bucket's chain */
        struct Entry *lru_prev, *lru_next; /* head = most recently used */
        struct Entry *age_prev, *age_next; /* head = oldest insertion */
} Entry;

struct ResultCache {
        ResultCacheConfig config;
        pthread_mutex_t lock;
        Entry **buckets;
        size_t n_buckets; /* a power of two */
        Entry *lru_head, *lru_tail, *age_head, *age_tail;
        ResultCacheStats stats;
};

static uint64_t now_ms(const ResultCache *c) {
        return c->config.now_ms ? c->config.now_ms(c->config.clock_userdata) : time_now_ms(CLOCK_MONOTONIC);
}

ResultCacheValue *result_cache_value_ref(ResultCacheValue *v) {
        __atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
        return v;
}

void result_cache_value_unref(ResultCacheValue *v) {
        if (v && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
                free(v);
}

int result_cache_new(const ResultCacheConfig *config, ResultCache **ret) {
        ResultCache *c;

        if (config->max_bytes == 0 || config->ttl_ms == 0)
                return -EINVAL;
        c = calloc(1, sizeof(ResultCache));
        if (!c)
                return -ENOMEM;
        c->config = *config;
        c->n_buckets = 64;
        c->buckets = calloc(c->n_buckets, sizeof(Entry *));
        if (!c->buckets) {
                free(c);
                return -ENOMEM;
        }
        pthread_mutex_init(&c->lock, NULL);
        *ret = c;
        return 0;
}

static void entry_free(Entry *e) {
        result_cache_value_unref(e->value);
        free(e);
}

void result_cache_free(ResultCache *c) {
        if (!c)
                return;
        for (Entry *e = c->lru_head, *next; e; e = next) {
                next = e->lru_next;
                entry_free(e);
        }
        free(c->buckets);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

int result_cache_key(const ResultCacheKeyInput *in, ResultCacheKey *ret) {
        const char *fields[] = { in->service, in->task, in->principal, in->content_type };
        char lens[ELEMENTSOF(fields) + 1][24];
        struct iovec parts[2 * (ELEMENTSOF(fields) + 1)];
        size_t n = 0;

        for (size_t i = 0; i <= ELEMENTSOF(fields); i++) {
                const void *p = i < ELEMENTSOF(fields) ? strempty(fields[i]) : in->input;
                size_t len = i < ELEMENTSOF(fields) ? strlen(p) : in->input_len;

                snprintf(lens[i], sizeof(lens[i]), "%zu:", len);
                parts[n++] = (struct iovec){ .iov_base = lens[i], .iov_len = strlen(lens[i]) };
                parts[n++] = (struct iovec){ .iov_base = (void *) p, .iov_len = len };
        }
        return sha256_parts(parts, n, ret->digest);
}

/* ---- the table and its lists, under c->lock ------------------------------------------ */

static size_t slot_of(const ResultCacheKey *key, size_t n_buckets) {
        uint64_t h;

        memcpy(&h, key->digest, sizeof(h)); /* a digest's bytes are already uniform */
        return (size_t) (h & (n_buckets - 1));
}

static size_t bucket_of(const ResultCache *c, const ResultCacheKey *key) {
        return slot_of(key, c->n_buckets);
}

static Entry *find(const ResultCache *c, const ResultCacheKey *key) {
        for (Entry *e = c->buckets[bucket_of(c, key)]; e; e = e->hnext)
                if (memcmp(e->key.digest, key->digest, SHA256_SIZE) == 0)
                        return e;
        return NULL;
}

static void lru_unlink(ResultCache *c, Entry *e) {
        if (e->lru_prev)
                e->lru_prev->lru_next = e->lru_next;
        else
                c->lru_head = e->lru_next;
        if (e->lru_next)
                e->lru_next->lru_prev = e->lru_prev;
        else
                c->lru_tail = e->lru_prev;
        e->lru_prev = e->lru_next = NULL;
}

static void lru_push_head(ResultCache *c, Entry *e) {
        e->lru_prev = NULL;
        e->lru_next = c->lru_head;
        if (c->lru_head)
                c->lru_head->lru_prev = e;
        else
                c->lru_tail = e;
        c->lru_head = e;
}

/* Takes e out of the table and both lists; the caller frees it after the lock. */
static void detach(ResultCache *c, Entry *e) {
        Entry **p = &c->buckets[bucket_of(c, &e->key)];

        while (*p != e)
                p = &(*p)->hnext;
        *p = e->hnext;
        lru_unlink(c, e);
        if (e->age_prev)
                e->age_prev->age_next = e->age_next;
        else
                c->age_head = e->age_next;
        if (e->age_next)
                e->age_next->age_prev = e->age_prev;
        else
                c->age_tail = e->age_prev;
        c->stats.bytes -= e->cost;
        c->stats.entries--;
        e->hnext = NULL;
}

/* Detaches the expired entries (oldest insertions first) onto *gone. */
static void expire(ResultCache *c, uint64_t now, Entry **gone) {
        while (c->age_head && c->age_head->expires_at <= now) {
                Entry *e = c->age_head;

                detach(c, e);
                e->hnext = *gone;
                *gone = e;
                c->stats.expired++;
        }
}

static void grow(ResultCache *c) {
        size_t n = c->n_buckets * 2;
        Entry **b = calloc(n, sizeof(Entry *));

        if (!b)
                return; /* longer chains, still correct */
        for (size_t i = 0; i < c->n_buckets; i++)
                for (Entry *e = c->buckets[i], *next; e; e = next) {
                        size_t k = slot_of(&e->key, n);

                        next = e->hnext;
                        e->hnext = b[k];
                        b[k] = e;
                }
        free(c->buckets);
        c->buckets = b;
        c->n_buckets = n;
}

static void free_list(Entry *gone) {
        for (Entry *next; gone; gone = next) {
                next = gone->hnext;
                entry_free(gone);
        }
}

/* ---- the operations ------------------------------------------------------------------ */

int result_cache_get(ResultCache *c, const ResultCacheKey *key, ResultCacheValue **ret) {
        Entry *gone = NULL, *e;
        ResultCacheValue *v = NULL;

        pthread_mutex_lock(&c->lock);
        expire(c, now_ms(c), &gone);
        e = find(c, key);
        if (e) {
                lru_unlink(c, e);
                lru_push_head(c, e);
                v = result_cache_value_ref(e->value);
                c->stats.hits++;
        } else
                c->stats.misses++;
        pthread_mutex_unlock(&c->lock);
        free_list(gone);
        if (!v)
                return -ENOENT;
        *ret = v;
        return 0;
}

int result_cache_put(ResultCache *c, const ResultCacheKey *key, long status, const char *body, size_t len) {
        uint64_t cost = (uint64_t) len + RESULT_CACHE_ENTRY_OVERHEAD, now;
        Entry *gone = NULL, *e, *old;

        if (cost > c->config.max_bytes)
                return -E2BIG;
        e = calloc(1, sizeof(Entry));
        if (!e)
                return -ENOMEM;
        e->value = malloc(sizeof(ResultCacheValue) + len + 1);
        if (!e->value) {
                free(e);
                return -ENOMEM;
        }
        *e->value = (ResultCacheValue){ .refs = 1, .status = status, .len = len };
        if (len > 0)
                memcpy(e->value->body, body, len);
        e->value->body[len] = '\0';
        e->key = *key;
        e->cost = cost;

        pthread_mutex_lock(&c->lock);
        now = now_ms(c);
        e->expires_at = now + c->config.ttl_ms;
        expire(c, now, &gone);
        old = find(c, key);
        if (old) { /* a refresh (a bypass's fresh answer, or two misses that raced) */
                detach(c, old);
                old->hnext = gone;
                gone = old;
        }
        while (c->stats.bytes + cost > c->config.max_bytes && c->lru_tail) {
                Entry *victim = c->lru_tail;

                detach(c, victim);
                victim->hnext = gone;
                gone = victim;
                c->stats.evictions++;
        }
        if (c->stats.entries >= c->n_buckets)
                grow(c);
        {
                size_t b = bucket_of(c, key);

                e->hnext = c->buckets[b];
                c->buckets[b] = e;
        }
        lru_push_head(c, e);
        e->age_prev = c->age_tail;
        if (c->age_tail)
                c->age_tail->age_next = e;
        else
                c->age_head = e;
        c->age_tail = e;
        c->stats.bytes += cost;
        c->stats.entries++;
        pthread_mutex_unlock(&c->lock);
        free_list(gone);
        return 0;
}

void result_cache_count_bypass(ResultCache *c) {
        pthread_mutex_lock(&c->lock);
        c->stats.bypasses++;
        pthread_mutex_unlock(&c->lock);
}

void result_cache_stats(ResultCache *c, ResultCacheStats *ret) {
        pthread_mutex_lock(&c->lock);
        *ret = c->stats;
        pthread_mutex_unlock(&c->lock);
}

/* At each scrape, from one consistent snapshot of the counts. */
static int write_metrics(FILE *f, void *userdata) {
        static const struct {
                const char *name, *help, *type;
                size_t offset;
        } rows[] = {
                { "orch_cache_hits_total",
                  "Pure-task requests answered from the result cache.",
                  "counter",
                  offsetof(ResultCacheStats, hits) },
                { "orch_cache_misses_total",
                  "Result cache lookups that found nothing (the service was called).",
                  "counter",
                  offsetof(ResultCacheStats, misses) },
                { "orch_cache_bypasses_total",
                  "Requests that skipped the lookup (Cache-Control: no-cache).",
                  "counter",
                  offsetof(ResultCacheStats, bypasses) },
                { "orch_cache_evictions_total",
                  "Entries dropped to stay within ORCH_CACHE_MAX_BYTES.",
                  "counter",
                  offsetof(ResultCacheStats, evictions) },
                { "orch_cache_expired_total",
                  "Entries dropped after ORCH_CACHE_TTL.",
                  "counter",
                  offsetof(ResultCacheStats, expired) },
                { "orch_cache_bytes",
                  "Bytes the result cache holds (results plus a fixed cost per entry).",
                  "gauge",
                  offsetof(ResultCacheStats, bytes) },
                { "orch_cache_entries",
                  "Entries in the result cache.",
                  "gauge",
                  offsetof(ResultCacheStats, entries) },
        };
        ResultCacheStats s;

        result_cache_stats(userdata, &s);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint64_t v;

                memcpy(&v, (const char *) &s + rows[i].offset, sizeof(v));
                metrics_write_header(f, rows[i].name, rows[i].help, rows[i].type);
                fprintf(f, "%s ", rows[i].name);
                metrics_write_value(f, (double) v);
                fputc('\n', f);
        }
        return 0;
}

int result_cache_setup_metrics(ResultCache *c, MetricsRegistry *registry) {
        return metrics_registry_add_collector(registry, write_metrics, c);
}
