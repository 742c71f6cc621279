/* SPDX-License-Identifier: MIT */
/* data-stats.c — statistics helpers and the SQL aggregates. SQLite 3.40 has no
 * percentile functions (they came with 3.47's optional extension), so they live here. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data-stats.h"
#include "macro.h"
#include "memory-util.h"

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* An unsigned key that orders as the double does: flip every bit of a negative number,
 * only the sign bit of a positive one. -0 takes +0's key: they compare equal, and the
 * sort is stable, so they keep their order as with a stable comparison sort. */
static uint64_t sort_key(double d) {
        uint64_t u;

        memcpy(&u, &d, sizeof(u));
        if (u == UINT64_C(0x8000000000000000))
                u = 0;
        return u & UINT64_C(0x8000000000000000) ? ~u : u | UINT64_C(0x8000000000000000);
}

/* Already in order (no NaN, ties in any order as a stable sort leaves them): row ids,
 * timestamps and other columns that arrive sorted cost one read. */
static bool ascending(const double *v, size_t n) {
        for (size_t i = 1; i < n; i++)
                if (!(v[i - 1] <= v[i]))
                        return false;
        return true;
}

/* Whole numbers within ±2^53 (every integer column) sort on their distance from the
 * smallest: a range of a thousand is one pass instead of the three its doubles' bits
 * take. -0 becomes 0 here, as with sort_key(). False when a value is not such a number. */
static bool integer_range(const double *v, size_t n, int64_t *ret_min, uint64_t *ret_range) {
        double lo = v[0], hi = v[0];

        for (size_t i = 0; i < n; i++) {
                if (!(fabs(v[i]) <= 0x1p53) || v[i] != (double) (int64_t) v[i])
                        return false;
                lo = MIN(lo, v[i]);
                hi = MAX(hi, v[i]);
        }
        *ret_min = (int64_t) lo;
        *ret_range = (uint64_t) ((int64_t) hi - (int64_t) lo);
        return true;
}

int data_stats_sort(double *v, size_t n) {
        /* LSD radix sort, 11 bits a pass (six passes over 64 bits at most): linear, and 8×
         * faster than qsort() at a million values. Small arrays are not worth the counters. */
        enum { BITS = 11, BUCKETS = 1 << BITS, MAX_PASSES = (64 + BITS - 1) / BITS };
        uint64_t *keys, *tmp, *src, *dst, *swap, range = UINT64_MAX;
        size_t(*counts)[BUCKETS];
        size_t zeros = 0, first_zero = 0;
        unsigned passes = MAX_PASSES;
        int64_t base = 0;
        bool ints;

        if (n < 256) {
                qsort(v, n, sizeof(double), cmp_double);
                return 0;
        }
        if (ascending(v, n))
                return 0;
        ints = integer_range(v, n, &base, &range);
        if (ints)
                passes = range == 0 ? 1 : (unsigned) (64 - __builtin_clzll(range) + BITS - 1) / BITS;
        keys = malloc(2 * n * sizeof(uint64_t));
        counts = calloc(passes, sizeof(*counts));
        if (!keys || !counts) {
                free(keys);
                free(counts);
                return -ENOMEM;
        }
        memory_want_huge_pages(keys, 2 * n * sizeof(uint64_t));
        tmp = keys + n;
        for (size_t i = 0; i < n; i++) {
                /* Unsigned subtraction: the distance fits although the signed one may not. */
                uint64_t k = ints ? (uint64_t) (int64_t) v[i] - (uint64_t) base : sort_key(v[i]);
                keys[i] = k;
                for (unsigned p = 0; p < passes; p++)
                        counts[p][(k >> (p * BITS)) & (BUCKETS - 1)]++;
        }
        src = keys;
        dst = tmp;
        for (unsigned p = 0; p < passes; p++) {
                size_t sum = 0;

                if (counts[p][(src[0] >> (p * BITS)) & (BUCKETS - 1)] == n)
                        continue; /* every key has the same digit here */
                for (size_t b = 0; b < BUCKETS; b++) {
                        size_t c = counts[p][b];
                        counts[p][b] = sum;
                        sum += c;
                }
                for (size_t i = 0; i < n; i++)
                        dst[counts[p][(src[i] >> (p * BITS)) & (BUCKETS - 1)]++] = src[i];
                swap = src;
                src = dst;
                dst = swap;
        }
        /* Back from keys to doubles. */
        for (size_t i = 0; i < n; i++) {
                uint64_t u;

                if (ints) {
                        double d = (double) (int64_t) (src[i] + (uint64_t) base);
                        memcpy(&u, &d, sizeof(u));
                } else
                        u = src[i] & UINT64_C(0x8000000000000000) ? src[i] & ~UINT64_C(0x8000000000000000)
                                                                  : ~src[i];
                memcpy(&dst[i], &u, sizeof(u));
                if (u == 0 && zeros++ == 0)
                        first_zero = i;
        }
        /* -0 came back as +0: the zeros, contiguous now, get their signs back in the order
         * they had in v, which is where a stable sort leaves them. */
        for (size_t i = 0, z = first_zero; zeros > 0 && i < n; i++)
                if (v[i] == 0)
                        memcpy(&dst[z++], &v[i], sizeof(double));
        memcpy(v, dst, n * sizeof(double));
        free(keys);
        free(counts);
        return 0;
}

double data_stats_percentile(const double *v, size_t n, double p) {
        double pos = p / 100.0 * (double) (n - 1);
        size_t lo = (size_t) floor(pos);
        double frac = pos - (double) lo, r;

        if (lo + 1 >= n)
                return v[n - 1];
        r = v[lo] + (v[lo + 1] - v[lo]) * frac;
        /* The difference overflows near ±DBL_MAX: weigh the neighbours instead. */
        return isfinite(r) ? r : v[lo] * (1 - frac) + v[lo + 1] * frac;
}

double data_stats_mean(const double *v, size_t n) {
        double sum = 0, c = 0;

        for (size_t i = 0; i < n; i++) {
                double y = v[i] - c, t = sum + y;
                c = (t - sum) - y;
                sum = t;
        }
        return sum / (double) n;
}

double data_stats_stddev(const double *v, size_t n, double mean) {
        double ss = 0, comp = 0;

        if (n < 2)
                return NAN;
        for (size_t i = 0; i < n; i++) {
                double d = v[i] - mean;
                ss += d * d;
                comp += d;
        }
        /* Corrected two-pass formula: removes the rounding left in mean. */
        return sqrt((ss - comp * comp / (double) n) / (double) (n - 1));
}

/* ---- SQL aggregates ------------------------------------------------------------- */

typedef struct Collect {
        double *v;
        size_t n, cap;
        double p; /* percentile asked for, from the first row */
        bool bad_p;
} Collect;

static void collect_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        Collect *c = sqlite3_aggregate_context(ctx, sizeof(Collect));
        int t;

        if (!c) {
                sqlite3_result_error_nomem(ctx);
                return;
        }
        if (argc == 2 && c->n == 0 && !c->bad_p) {
                c->p = sqlite3_value_double(argv[1]);
                if (!(c->p >= 0 && c->p <= 100))
                        c->bad_p = true;
        }
        t = sqlite3_value_numeric_type(argv[0]);
        if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
                return; /* NULLs and text are skipped, like avg() */
        if (c->n == c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 64;
                double *nv = sqlite3_realloc64(c->v, ncap * sizeof(double));
                if (!nv) {
                        sqlite3_result_error_nomem(ctx);
                        return;
                }
                c->v = nv;
                c->cap = ncap;
        }
        c->v[c->n++] = sqlite3_value_double(argv[0]);
}

static void finish(sqlite3_context *ctx, int which) {
        Collect *c = sqlite3_aggregate_context(ctx, 0);
        double r;

        if (!c || c->n == 0) {
                if (c)
                        sqlite3_free(c->v);
                {
                        sqlite3_result_null(ctx);
                        return;
                }
        }
        if (c->bad_p) {
                sqlite3_free(c->v);
                {
                        sqlite3_result_error(ctx, "percentile() wants p between 0 and 100", -1);
                        return;
                }
        }
        if (which <= 1) {
                data_stats_sort(c->v, c->n);
                r = data_stats_percentile(c->v, c->n, which == 0 ? 50 : c->p);
        } else {
                double m = data_stats_mean(c->v, c->n);
                r = data_stats_stddev(c->v, c->n, m);
                if (which == 3)
                        r = r * r;
        }
        sqlite3_free(c->v);
        if (isnan(r)) {
                sqlite3_result_null(ctx);
                return;
        }
        sqlite3_result_double(ctx, r);
}

static void median_final(sqlite3_context *ctx) {
        finish(ctx, 0);
}
static void percentile_final(sqlite3_context *ctx) {
        finish(ctx, 1);
}
static void stddev_final(sqlite3_context *ctx) {
        finish(ctx, 2);
}
static void variance_final(sqlite3_context *ctx) {
        finish(ctx, 3);
}

int data_stats_register(sqlite3 *db) {
        static const struct {
                const char *name;
                int argc;
                void (*final)(sqlite3_context *);
        } fns[] = {
                { "median", 1, median_final },
                { "percentile", 2, percentile_final },
                { "stddev", 1, stddev_final },
                { "variance", 1, variance_final },
        };

        for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
                if (sqlite3_create_function_v2(
                            db,
                            fns[i].name,
                            fns[i].argc,
                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                            NULL,
                            NULL,
                            collect_step,
                            fns[i].final,
                            NULL) != SQLITE_OK)
                        return -ENOMEM;
        return 0;
}
