/* SPDX-License-Identifier: MIT */
/* job-store-usage.c — token usage in the usage table of the job store's database: one row
 * per principal, UTC day and model, added to as answers come back. */
#include "job-store-internal.h"
#include "json-util.h"

int job_store_usage_add(
        JobStore *s,
        const char *principal,
        const char *day,
        const char *model,
        int64_t prompt,
        int64_t completion) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "INSERT INTO usage(principal, day, model, requests, prompt_tokens, completion_tokens) "
                "VALUES(?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT(principal, day, model) DO UPDATE SET "
                "requests = usage.requests + 1, prompt_tokens = usage.prompt_tokens + excluded.prompt_tokens, "
                "completion_tokens = usage.completion_tokens + excluded.completion_tokens",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, principal);
                store_bind_text(st, 2, day);
                store_bind_text(st, 3, model);
                store_bind_int64(st, 4, prompt);
                store_bind_int64(st, 5, completion);
                r = step_done(st);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_usage_total(
        JobStore *s, const char *principal, const char *since, const char *until, int64_t *ret) {
        StoreStmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage WHERE principal = ?1 "
                "AND (CAST(?2 AS TEXT) IS NULL OR day >= ?2) AND (CAST(?3 AS TEXT) IS NULL OR day <= ?3)",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, principal);
                store_bind_text(st, 2, since);
                store_bind_text(st, 3, until);
                rc = store_step(st);
                r = MIN(rc, 0);
                if (rc > 0)
                        *ret = store_column_int64(st, 0);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static json_object *usage_row_json(StoreStmt *st) {
        json_object *o = json_object_new_object();
        int64_t prompt = store_column_int64(st, 4), completion = store_column_int64(st, 5);

        if (!o)
                return NULL;
        json_object_object_add(o, "principal", json_object_new_string(store_column_text(st, 0)));
        json_object_object_add(o, "day", json_object_new_string(store_column_text(st, 1)));
        json_object_object_add(o, "model", json_object_new_string(store_column_text(st, 2)));
        json_object_object_add(o, "requests", json_object_new_int64(store_column_int64(st, 3)));
        json_object_object_add(o, "prompt_tokens", json_object_new_int64(prompt));
        json_object_object_add(o, "completion_tokens", json_object_new_int64(completion));
        json_object_object_add(o, "total_tokens", json_object_new_int64(prompt + completion));
        return o;
}

int job_store_usage_json(
        JobStore *s, const char *principal, const char *since, const char *until, json_object **ret) {
        _cleanup_json_ json_object *list = json_object_new_array();
        StoreStmt *st = NULL;
        int r;

        if (!list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT principal, day, model, requests, prompt_tokens, completion_tokens FROM usage "
                "WHERE (CAST(?1 AS TEXT) IS NULL OR principal = ?1) AND (CAST(?2 AS TEXT) IS NULL OR day >= ?2) "
                "AND (CAST(?3 AS TEXT) IS NULL OR day <= ?3) "
                "ORDER BY day, principal, model",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, principal);
                store_bind_text(st, 2, since);
                store_bind_text(st, 3, until);
        }
        if (r >= 0)
                r = collect_rows(st, usage_row_json, list);
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}
