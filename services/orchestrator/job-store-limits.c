/* SPDX-License-Identifier: MIT */
/* job-store-limits.c — request limits shared by the orchestrators of one store: a token
 * bucket per principal (ORCH_RATE_LIMIT_RPS, ratelimit.c) and an API key's minute windows
 * (RPM/TPM, apikey-meter.c). Each take is one statement, so two orchestrators taking at
 * once both count. Times are the wall clock's Unix seconds (hosts share no other clock).
 * Parameters used in arithmetic are cast: PostgreSQL infers nothing from "?3 - at". */
#include "job-store-internal.h"

/* The bucket refilled to now (?3) at rate (?4), at most burst (?2); MIN is each engine's
 * two-argument minimum. */
#define REFILLED(MIN)                                                                                      \
        MIN "(CAST(?2 AS DOUBLE PRECISION), rate_buckets.tokens + CASE WHEN CAST(?3 AS DOUBLE PRECISION) " \
            "> rate_buckets.at THEN (CAST(?3 AS DOUBLE PRECISION) - rate_buckets.at) * "                   \
            "CAST(?4 AS DOUBLE PRECISION) ELSE 0 END)"

/* A new bucket starts full less this request; allowed says whether a token was taken
 * (every SET sees the row as it was). */
#define BUCKET_SQL(MIN) \
        "INSERT INTO rate_buckets(key, tokens, at, allowed) VALUES(?1, CAST(?2 AS DOUBLE PRECISION) - 1, ?3, 1) " \
        "ON CONFLICT(key) DO UPDATE SET "                                                                 \
        "allowed = CASE WHEN " REFILLED(MIN) " >= 1 THEN 1 ELSE 0 END, "                                  \
        "tokens = CASE WHEN " REFILLED(MIN) " >= 1 THEN " REFILLED(MIN) " - 1 ELSE " REFILLED(MIN) " END, " \
        "at = CASE WHEN CAST(?3 AS DOUBLE PRECISION) > rate_buckets.at THEN ?3 ELSE rate_buckets.at END "  \
        "RETURNING tokens, allowed"

static const char *const bucket_sql[2] = {
        [STORE_DB_SQLITE] = BUCKET_SQL("min"),
        [STORE_DB_POSTGRESQL] = BUCKET_SQL("LEAST"),
};

int job_store_bucket_take(
        JobStore *s,
        const char *key,
        double rate,
        double burst,
        double now,
        double *ret_tokens,
        bool *ret_allowed) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(s, bucket_sql[store_db_kind(s->db)], &st);
        if (r >= 0) {
                store_bind_text(st, 1, key);
                store_bind_double(st, 2, burst);
                store_bind_double(st, 3, now);
                store_bind_double(st, 4, rate);
                r = store_step(st);
                if (r == 0)
                        r = -EIO; /* an upsert always returns its row */
        }
        if (r > 0) {
                *ret_tokens = store_column_double(st, 0);
                *ret_allowed = store_column_int64(st, 1) != 0;
                r = 0;
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* Under both limits (?3 rpm, ?4 tpm; 0 = none), given the window's counts as they were. */
#define UNDER_LIMITS                                                                  \
        "(CAST(?3 AS BIGINT) <= 0 OR key_windows.requests < CAST(?3 AS BIGINT)) AND " \
        "(CAST(?4 AS BIGINT) <= 0 OR key_windows.tokens < CAST(?4 AS BIGINT))"

int job_store_window_take(
        JobStore *s,
        const char *name,
        int64_t window,
        int64_t rpm,
        int64_t tpm,
        int64_t *ret_requests,
        int64_t *ret_tokens,
        bool *ret_counted) {
        StoreStmt *st = NULL;
        int r;

        /* A new window counts the request whatever the limits (each is at least 1). */
        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "INSERT INTO key_windows(name, win, requests, tokens, counted) VALUES(?1, ?2, 1, 0, 1) "
                "ON CONFLICT(name, win) DO UPDATE SET "
                "counted = CASE WHEN " UNDER_LIMITS
                " THEN 1 ELSE 0 END, "
                "requests = key_windows.requests + CASE WHEN " UNDER_LIMITS
                " THEN 1 ELSE 0 END "
                "RETURNING requests, tokens, counted",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, name);
                store_bind_int64(st, 2, window);
                store_bind_int64(st, 3, rpm);
                store_bind_int64(st, 4, tpm);
                r = store_step(st);
                if (r == 0)
                        r = -EIO;
        }
        if (r > 0) {
                *ret_requests = store_column_int64(st, 0);
                *ret_tokens = store_column_int64(st, 1);
                *ret_counted = store_column_int64(st, 2) != 0;
                r = 0;
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_window_add_tokens(JobStore *s, const char *name, int64_t window, int64_t tokens) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "INSERT INTO key_windows(name, win, requests, tokens, counted) VALUES(?1, ?2, 0, ?3, 0) "
                "ON CONFLICT(name, win) DO UPDATE SET tokens = key_windows.tokens + CAST(?3 AS BIGINT)",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, name);
                store_bind_int64(st, 2, window);
                store_bind_int64(st, 3, tokens);
                r = step_done(st);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}
