/* SPDX-License-Identifier: MIT */
/* test-result-cache.c — the result cache of pure tasks: its key, hits and misses, expiry on
 * a clock the test moves, least-recently-used eviction by size, refresh, many threads at
 * once; then end to end through the real handlers and store against the fake services
 * (X-Cache, the cached job in GET /jobs/{id}, no-cache, async, llm opt-in, principals,
 * failures not kept, the metrics). */
#include <check.h>

#include "check-run.h"
#include "orch-test.h"
#include "result-cache.h"

/* ---- the cache on its own ------------------------------------------------------------- */

static uint64_t fake_now;

static uint64_t test_clock(void *userdata) {
        (void) userdata;
        return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static ResultCache *new_cache(uint64_t max_bytes, uint64_t ttl_ms) {
        ResultCache *c = NULL;

        fake_now = 1000;
        ck_assert_int_eq(
                result_cache_new(
                        &(ResultCacheConfig){
                                .max_bytes = max_bytes, .ttl_ms = ttl_ms, .now_ms = test_clock },
                        &c),
                0);
        return c;
}

static ResultCacheKey key_of(const char *principal, const char *input) {
        ResultCacheKey k;

        ck_assert_int_eq(
                result_cache_key(
                        &(ResultCacheKeyInput){ .service = "nlp",
                                                .task = "sentiment",
                                                .principal = principal,
                                                .content_type = "application/json",
                                                .input = input,
                                                .input_len = strlen(input) },
                        &k),
                0);
        return k;
}

static bool key_eq(ResultCacheKey a, ResultCacheKey b) {
        return memcmp(a.digest, b.digest, SHA256_SIZE) == 0;
}

/* The body kept under k, or NULL on a miss (owned by the caller). */
static char *get_body(ResultCache *c, const char *input) {
        ResultCacheKey k = key_of("alice", input);
        ResultCacheValue *v = NULL;
        char *s;

        if (result_cache_get(c, &k, &v) < 0)
                return NULL;
        s = strdup(v->body);
        result_cache_value_unref(v);
        ck_assert_ptr_nonnull(s);
        return s;
}

static void put_body(ResultCache *c, const char *input, const char *body) {
        ResultCacheKey k = key_of("alice", input);

        ck_assert_int_eq(result_cache_put(c, &k, 200, body, strlen(body)), 0);
}

START_TEST(test_key) {
        ResultCacheKey a = key_of("alice", "{\"text\":\"x\"}");
        ResultCacheKey split1, split2;

        ck_assert(key_eq(a, key_of("alice", "{\"text\":\"x\"}")));
        ck_assert(!key_eq(a, key_of("bob", "{\"text\":\"x\"}")));
        ck_assert(!key_eq(a, key_of("alice", "{\"text\":\"y\"}")));
        ck_assert(!key_eq(a, key_of("", "{\"text\":\"x\"}")));
        /* Fields are length-prefixed: moving bytes from one field to the next changes it. */
        ck_assert_int_eq(
                result_cache_key(
                        &(ResultCacheKeyInput){
                                .service = "nlp", .task = "ab", .principal = "c", .input = "" },
                        &split1),
                0);
        ck_assert_int_eq(
                result_cache_key(
                        &(ResultCacheKeyInput){
                                .service = "nlp", .task = "a", .principal = "bc", .input = "" },
                        &split2),
                0);
        ck_assert(!key_eq(split1, split2));
}
END_TEST

START_TEST(test_hit_miss_refresh) {
        ResultCache *c = new_cache(1 << 20, 60000);
        ResultCacheStats s;
        char *b;

        ck_assert_ptr_null(get_body(c, "one"));
        put_body(c, "one", "{\"r\":1}");
        b = get_body(c, "one");
        ck_assert_str_eq(b, "{\"r\":1}");
        free(b);
        /* A refresh replaces the entry, it does not add one. */
        put_body(c, "one", "{\"r\":2}");
        b = get_body(c, "one");
        ck_assert_str_eq(b, "{\"r\":2}");
        free(b);
        result_cache_count_bypass(c);
        result_cache_stats(c, &s);
        ck_assert_uint_eq(s.hits, 2);
        ck_assert_uint_eq(s.misses, 1);
        ck_assert_uint_eq(s.bypasses, 1);
        ck_assert_uint_eq(s.entries, 1);
        ck_assert_uint_eq(s.bytes, strlen("{\"r\":2}") + RESULT_CACHE_ENTRY_OVERHEAD);
        result_cache_free(c);
}
END_TEST

START_TEST(test_ttl) {
        ResultCache *c = new_cache(1 << 20, 5000);
        ResultCacheStats s;
        char *b;

        put_body(c, "a", "A");
        fake_now += 2000;
        put_body(c, "b", "B");
        fake_now += 2999; /* a is 4999 ms old */
        b = get_body(c, "a");
        ck_assert_str_eq(b, "A");
        free(b);
        fake_now += 1; /* a is 5000 ms old: gone, though it was just used; b is not */
        ck_assert_ptr_null(get_body(c, "a"));
        b = get_body(c, "b");
        ck_assert_str_eq(b, "B");
        free(b);
        result_cache_stats(c, &s);
        ck_assert_uint_eq(s.expired, 1);
        ck_assert_uint_eq(s.entries, 1);
        ck_assert_uint_eq(s.bytes, 1 + RESULT_CACHE_ENTRY_OVERHEAD);
        fake_now += 2000;
        ck_assert_ptr_null(get_body(c, "b"));
        result_cache_stats(c, &s);
        ck_assert_uint_eq(s.expired, 2);
        ck_assert_uint_eq(s.entries, 0);
        ck_assert_uint_eq(s.bytes, 0);
        result_cache_free(c);
}
END_TEST

START_TEST(test_size_eviction_lru) {
        char body[101];
        ResultCache *c;
        ResultCacheStats s;
        ResultCacheKey k = key_of("alice", "huge");
        char *b;

        memset(body, 'x', 100);
        body[100] = '\0';
        c = new_cache(3 * (100 + RESULT_CACHE_ENTRY_OVERHEAD), 60000);
        put_body(c, "a", body);
        put_body(c, "b", body);
        put_body(c, "c", body);
        b = get_body(c, "a"); /* a is now the most recently used, b the least */
        free(b);
        put_body(c, "d", body);
        ck_assert_ptr_null(get_body(c, "b"));
        for (const char *const *in = (const char *const[]){ "a", "c", "d", NULL }; *in; in++) {
                b = get_body(c, *in);
                ck_assert_msg(b, "%s was evicted", *in);
                free(b);
        }
        result_cache_stats(c, &s);
        ck_assert_uint_eq(s.evictions, 1);
        ck_assert_uint_eq(s.entries, 3);
        ck_assert_uint_eq(s.bytes, 3 * (100 + RESULT_CACHE_ENTRY_OVERHEAD));
        /* An answer larger than the whole cache is not kept, and evicts nothing. */
        ck_assert_int_eq(
                result_cache_put(c, &k, 200, body, 3 * 100 + 2 * RESULT_CACHE_ENTRY_OVERHEAD + 1), -E2BIG);
        result_cache_stats(c, &s);
        ck_assert_uint_eq(s.entries, 3);
        result_cache_free(c);
}
END_TEST

/* Many threads get and put over a small key space in a cache that must evict all the
 * time: every hit carries the body of its own key, and the counts add up. */
#define THREADS 8
#define ROUNDS 4000
#define KEYS 64

typedef struct Worker {
        ResultCache *c;
        unsigned seed;
        uint64_t gets, bad;
} Worker;

static void *hammer(void *userdata) {
        Worker *w = userdata;

        for (int i = 0; i < ROUNDS; i++) {
                char input[16], body[64];
                unsigned n = (unsigned) rand_r(&w->seed) % KEYS;
                ResultCacheKey k;
                ResultCacheValue *v = NULL;

                snprintf(input, sizeof(input), "k%u", n);
                snprintf(body, sizeof(body), "{\"key\":%u,\"pad\":\"%0*u\"}", n, (int) (n % 17) + 1, n);
                k = key_of("alice", input);
                if (rand_r(&w->seed) % 3 == 0)
                        ck_assert_int_eq(result_cache_put(w->c, &k, 200, body, strlen(body)), 0);
                else {
                        w->gets++;
                        if (result_cache_get(w->c, &k, &v) >= 0) {
                                if (!streq(v->body, body) || v->status != 200)
                                        w->bad++;
                                result_cache_value_unref(v);
                        }
                }
                if (i % 500 == 0)
                        __atomic_add_fetch(&fake_now, 1, __ATOMIC_RELAXED);
        }
        return NULL;
}

START_TEST(test_concurrency) {
        const uint64_t max = 16 * (40 + RESULT_CACHE_ENTRY_OVERHEAD); /* about a quarter of the keys */
        ResultCache *c = new_cache(max, 20);                          /* and entries expire too */
        Worker w[THREADS];
        pthread_t t[THREADS];
        ResultCacheStats s;
        uint64_t gets = 0;

        for (unsigned i = 0; i < THREADS; i++) {
                w[i] = (Worker){ .c = c, .seed = i + 1 };
                ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
        }
        for (unsigned i = 0; i < THREADS; i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_uint_eq(w[i].bad, 0);
                gets += w[i].gets;
        }
        result_cache_stats(c, &s);
        ck_assert_uint_eq(s.hits + s.misses, gets);
        ck_assert_uint_gt(s.hits, 0);
        ck_assert_uint_gt(s.evictions, 0);
        ck_assert_uint_le(s.bytes, max);
        ck_assert_uint_le(s.entries, KEYS);
        result_cache_free(c);
}
END_TEST

/* ---- end to end ----------------------------------------------------------------------- */

static const char *header_value(const Reply *r, const char *name, char *buf, size_t size) {
        char pat[64];
        const char *p;

        snprintf(pat, sizeof(pat), "\r\n%s: ", name);
        p = strcasestr(r->headers, pat);
        if (!p)
                return NULL;
        p += strlen(pat);
        snprintf(buf, size, "%.*s", (int) strcspn(p, "\r\n"), p);
        return buf;
}

static void assert_x_cache(const Reply *r, const char *want) {
        char v[32];
        const char *got = header_value(r, "X-Cache", v, sizeof(v));

        if (!want)
                ck_assert_msg(!got, "X-Cache: %s where none was expected", got);
        else
                ck_assert_msg(got && streq(got, want), "X-Cache %s, wanted %s", got ?: "(none)", want);
}

static void start_cached(void) {
        orch.config.cache_max_bytes = 1 << 20;
        orch.config.cache_ttl_ms = 60000;
        start_orchestrator(4, 64);
}

/* One request whose X-Cache is want, and the fake services' calls it cost. */
static unsigned
post_expect(const char *path, const char *body, const char *const *headers, const char *want, char *ret_id) {
        unsigned before = fake_upstream_calls();
        Reply r = request("POST", path, body, headers);

        ck_assert_msg(r.status == 200 || r.status == 202, "HTTP %ld: %s", r.status, r.raw);
        assert_x_cache(&r, want);
        if (ret_id)
                snprintf(ret_id, 64, "%s", jstr(r.body, "job_id"));
        reply_done(&r);
        return fake_upstream_calls() - before;
}

static double metric(const char *name) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        char pat[96];
        const char *p;

        ck_assert_int_eq(metrics_registry_render(registry, &text, &len), 0);
        snprintf(pat, sizeof(pat), "\n%s ", name);
        p = strstr(text, pat);
        ck_assert_msg(p, "%s not in /metrics", name);
        return strtod(p + strlen(pat), NULL);
}

#define OCR "{\"task\":\"extract_text\",\"image_base64\":\"aGVsbG8=\"}"

START_TEST(test_e2e_hit_miss_bypass) {
        char id[64];
        json_object *job;

        start_cached();
        ck_assert_uint_eq(post_expect("/ai/vision/analyze", OCR, NULL, "miss", id), 1);
        job = get_job(id);
        ck_assert(!json_object_object_get_ex(job, "cached", NULL));
        json_object_put(job);

        /* The same input, keys in another order and with spaces: one canonical key. */
        ck_assert_uint_eq(
                post_expect(
                        "/ai/vision/analyze",
                        "{ \"image_base64\" : \"aGVsbG8=\", \"task\" : \"extract_text\" }",
                        NULL,
                        "hit",
                        id),
                0);
        job = get_job(id);
        ck_assert_str_eq(jstr(job, "status"), "completed");
        ck_assert(json_object_get_boolean(json_object_object_get(job, "cached")));
        json_object_put(job);

        /* no-cache: the service is called, and its answer refreshes the entry. */
        ck_assert_uint_eq(
                post_expect(
                        "/ai/vision/analyze",
                        OCR,
                        (const char *[]){ "Cache-Control: no-cache", NULL },
                        "bypass",
                        id),
                1);
        job = get_job(id);
        ck_assert(!json_object_object_get_ex(job, "cached", NULL));
        json_object_put(job);
        ck_assert_uint_eq(post_expect("/ai/vision/analyze", OCR, NULL, "hit", NULL), 0);

        /* Asynchronous: the hit is done at once, and its job says so. */
        ck_assert_uint_eq(
                post_expect(
                        "/ai/vision/analyze",
                        "{\"task\":\"extract_text\",\"image_base64\":\"aGVsbG8=\",\"async\":true}",
                        NULL,
                        "hit",
                        id),
                0);
        job = wait_job(id, "completed");
        ck_assert(json_object_get_boolean(json_object_object_get(job, "cached")));
        json_object_put(job);

        /* /dispatch and /data/process too. */
        for (int i = 0; i < 2; i++)
                ck_assert_uint_eq(
                        post_expect(
                                "/dispatch",
                                "{\"service\":\"nlp\",\"task\":\"sentiment\",\"payload\":{\"text\":\"good\"}}",
                                NULL,
                                i == 0 ? "miss" : "hit",
                                NULL),
                        i == 0 ? 1 : 0);
        ck_assert_uint_eq(
                post_expect(
                        "/data/process",
                        "{\"operation\":\"analyze\",\"data\":{\"records\":[{\"a\":1}]}}",
                        NULL,
                        "miss",
                        NULL),
                1);
        ck_assert_uint_eq(
                post_expect(
                        "/data/process",
                        "{\"operation\":\"analyze\",\"data\":{\"records\":[{\"a\":1}]}}",
                        NULL,
                        "hit",
                        NULL),
                0);

        ck_assert_double_eq(metric("orch_cache_hits_total"), 5);
        ck_assert_double_eq(metric("orch_cache_misses_total"), 3);
        ck_assert_double_eq(metric("orch_cache_bypasses_total"), 1);
        ck_assert_double_eq(metric("orch_cache_entries"), 3);
        ck_assert_double_gt(metric("orch_cache_bytes"), 3 * RESULT_CACHE_ENTRY_OVERHEAD);
}
END_TEST

START_TEST(test_e2e_not_cached) {
        const char *chat = "{\"service\":\"llm\",\"task\":\"chat\",\"payload\":{\"messages\":[]}}";
        const char *failing = "{\"task\":\"sentiment\",\"text\":\"status:500\"}";
        Reply r;

        start_cached();
        /* An llm call is never cached unless the request opts in. */
        ck_assert_uint_eq(post_expect("/dispatch", chat, NULL, NULL, NULL), 1);
        ck_assert_uint_eq(post_expect("/dispatch", chat, NULL, NULL, NULL), 1);
        ck_assert_uint_eq(
                post_expect("/dispatch", chat, (const char *[]){ "X-Cache-LLM: on", NULL }, "miss", NULL),
                1);
        ck_assert_uint_eq(
                post_expect("/dispatch", chat, (const char *[]){ "X-Cache-LLM: on", NULL }, "hit", NULL), 0);

        /* An operation on a stored dataset reads what is stored now: never cached. */
        for (int i = 0; i < 2; i++)
                ck_assert_uint_eq(
                        post_expect(
                                "/data/process",
                                "{\"operation\":\"analyze\",\"data\":{\"dataset\":\"sales\"}}",
                                NULL,
                                NULL,
                                NULL),
                        1);

        /* A failure is not kept: each repeat reaches the service. */
        for (int i = 0; i < 2; i++) {
                unsigned before = fake_upstream_calls();

                r = request("POST", "/ai/nlp/process", failing, NULL);
                ck_assert_int_eq(r.status, 500);
                assert_x_cache(&r, "miss");
                reply_done(&r);
                ck_assert_uint_eq(fake_upstream_calls() - before, 1);
        }
        ck_assert_double_eq(metric("orch_cache_entries"), 1);
}
END_TEST

/* Each principal has its own entries: bob's identical request is a miss. */
START_TEST(test_e2e_principals) {
        char alice[1024], bob[1024];

        orch.config.cache_max_bytes = 1 << 20;
        orch.config.cache_ttl_ms = 60000;
        start_with_auth();
        bearer(alice, sizeof(alice), "alice", "operator");
        bearer(bob, sizeof(bob), "bob", "operator");
        ck_assert_uint_eq(
                post_expect("/ai/vision/analyze", OCR, (const char *[]){ alice, NULL }, "miss", NULL), 1);
        ck_assert_uint_eq(
                post_expect("/ai/vision/analyze", OCR, (const char *[]){ alice, NULL }, "hit", NULL), 0);
        ck_assert_uint_eq(
                post_expect("/ai/vision/analyze", OCR, (const char *[]){ bob, NULL }, "miss", NULL), 1);
        ck_assert_uint_eq(
                post_expect("/ai/vision/analyze", OCR, (const char *[]){ bob, NULL }, "hit", NULL), 0);
}
END_TEST

/* With the cache off (the tests' default) no answer says X-Cache. */
START_TEST(test_e2e_off) {
        start_orchestrator(4, 64);
        ck_assert_uint_eq(post_expect("/ai/vision/analyze", OCR, NULL, NULL, NULL), 1);
        ck_assert_uint_eq(post_expect("/ai/vision/analyze", OCR, NULL, NULL, NULL), 1);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("result-cache");
        TCase *tc = tcase_create("cache"), *e2e = tcase_create("e2e");

        tcase_add_test(tc, test_key);
        tcase_add_test(tc, test_hit_miss_refresh);
        tcase_add_test(tc, test_ttl);
        tcase_add_test(tc, test_size_eviction_lru);
        tcase_add_test(tc, test_concurrency);
        suite_add_tcase(s, tc);
        tcase_add_checked_fixture(e2e, setup, teardown);
        tcase_set_timeout(e2e, 60);
        tcase_add_test(e2e, test_e2e_hit_miss_bypass);
        tcase_add_test(e2e, test_e2e_not_cached);
        tcase_add_test(e2e, test_e2e_principals);
        tcase_add_test(e2e, test_e2e_off);
        suite_add_tcase(s, e2e);
        return s;
}

int main(void) {
        return check_run(suite());
}
