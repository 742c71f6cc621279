/* SPDX-License-Identifier: MIT */
/* job-store-keys.c — API keys in the api_keys table of the job store's database: a name, a
 * role, optional budgets and limits, and a SHA-256 of the secret (never the secret). */
#include <openssl/crypto.h>

#include "job-store-internal.h"
#include "json-util.h"
#include "time-util.h"

/* A key's last use is written at most this often: a key in steady use costs no write per
 * request. */
#define KEY_LAST_USED_EVERY_S 60.0

static void bind_limit(StoreStmt *st, int i, int64_t v) {
        if (v != 0)
                store_bind_int64(st, i, v);
}

int job_store_key_insert(JobStore *s, const KeyNew *k) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r =
                prepare(s,
                        "INSERT INTO api_keys(id, name, role, prefix, hash, created_at, created_by, "
                        "budget_tokens_day, budget_tokens_month, rpm, tpm) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        &st);
        if (r >= 0) {
                store_bind_text(st, 1, k->id);
                store_bind_text(st, 2, k->name);
                store_bind_text(st, 3, k->role);
                store_bind_text(st, 4, k->prefix);
                store_bind_blob(st, 5, k->hash, KEY_HASH_SIZE);
                store_bind_double(st, 6, time_now_s(CLOCK_REALTIME));
                store_bind_text(st, 7, k->created_by);
                /* 0 = none: NULL */
                bind_limit(st, 8, k->limits.budget_tokens_day);
                bind_limit(st, 9, k->limits.budget_tokens_month);
                bind_limit(st, 10, k->limits.rpm);
                bind_limit(st, 11, k->limits.tpm);
                r = step_done(st);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_key_lookup(
        JobStore *s,
        const uint8_t hash[static KEY_HASH_SIZE],
        char *ret_name,
        size_t name_size,
        char *ret_role,
        size_t role_size) {
        double now = time_now_s(CLOCK_REALTIME);
        StoreStmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r =
                prepare(s,
                        "SELECT id, name, role, hash, coalesce(last_used, 0) FROM api_keys "
                        "WHERE hash = ?1 AND revoked_at IS NULL",
                        &st);
        if (r >= 0) {
                store_bind_blob(st, 1, hash, KEY_HASH_SIZE);
                rc = store_step(st);
                r = rc == 0 ? -ENOENT : MIN(rc, 0);
                /* The index found it; the bytes are compared again in constant time so
                 * that nothing but a full match ever passes. */
                if (rc > 0) {
                        size_t n;
                        const void *stored = store_column_blob(st, 3, &n);

                        if (n != KEY_HASH_SIZE || CRYPTO_memcmp(stored, hash, KEY_HASH_SIZE) != 0)
                                r = -ENOENT;
                }
        }
        if (r >= 0) {
                _cleanup_free_ char *id = strdup(store_column_text(st, 0));
                bool touch = now - store_column_double(st, 4) >= KEY_LAST_USED_EVERY_S;

                snprintf(ret_name, name_size, "%s", store_column_text(st, 1));
                snprintf(ret_role, role_size, "%s", store_column_text(st, 2));
                store_stmt_finalize(TAKE_PTR(st));
                if (!id)
                        r = -ENOMEM;
                else if (touch && prepare(s, "UPDATE api_keys SET last_used = ?2 WHERE id = ?1", &st) >= 0) {
                        store_bind_text(st, 1, id);
                        store_bind_double(st, 2, now);
                        (void) store_step(st); /* a missed last_used is no reason to refuse */
                }
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_key_limits(JobStore *s, const char *name, KeyLimits *ret) {
        StoreStmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT coalesce(budget_tokens_day, 0), coalesce(budget_tokens_month, 0), coalesce(rpm, 0), "
                "coalesce(tpm, 0) FROM api_keys WHERE name = ?1 AND revoked_at IS NULL",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, name);
                rc = store_step(st);
                r = rc == 0 ? -ENOENT : MIN(rc, 0);
                if (rc > 0)
                        *ret = (KeyLimits){
                                .budget_tokens_day = store_column_int64(st, 0),
                                .budget_tokens_month = store_column_int64(st, 1),
                                .rpm = store_column_int64(st, 2),
                                .tpm = store_column_int64(st, 3),
                        };
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void add_time(json_object *o, const char *field, StoreStmt *st, int col) {
        char t[32];

        if (store_column_is_null(st, col)) {
                json_object_object_add(o, field, NULL);
                return;
        }
        job_format_time(store_column_double(st, col), t);
        json_object_object_add(o, field, json_object_new_string(t));
}

static void add_limit(json_object *o, const char *field, StoreStmt *st, int col) {
        json_object_object_add(
                o,
                field,
                store_column_is_null(st, col) ? NULL : json_object_new_int64(store_column_int64(st, col)));
}

static json_object *key_json(StoreStmt *st) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_string(store_column_text(st, 0)));
        json_object_object_add(o, "name", json_object_new_string(store_column_text(st, 1)));
        json_object_object_add(o, "role", json_object_new_string(store_column_text(st, 2)));
        json_object_object_add(o, "prefix", json_object_new_string(store_column_text(st, 3)));
        add_time(o, "created_at", st, 4);
        json_object_object_add(
                o,
                "created_by",
                store_column_is_null(st, 5) ? NULL : json_object_new_string(store_column_text(st, 5)));
        add_time(o, "last_used", st, 6);
        json_object_object_add(o, "revoked", json_object_new_boolean(!store_column_is_null(st, 7)));
        add_time(o, "revoked_at", st, 7);
        add_limit(o, "budget_tokens_day", st, 8);
        add_limit(o, "budget_tokens_month", st, 9);
        add_limit(o, "rpm", st, 10);
        add_limit(o, "tpm", st, 11);
        return o;
}

int job_store_key_list(JobStore *s, json_object **ret) {
        _cleanup_json_ json_object *list = json_object_new_array();
        StoreStmt *st = NULL;
        int r;

        if (!list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT id, name, role, prefix, created_at, created_by, last_used, revoked_at, "
                "budget_tokens_day, budget_tokens_month, rpm, tpm FROM api_keys ORDER BY created_at, name",
                &st);
        if (r >= 0)
                r = collect_rows(st, key_json, list);
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

int job_store_key_revoke(JobStore *s, const char *id, char *ret_name, size_t name_size) {
        StoreStmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r = prepare(s, "SELECT name, revoked_at IS NOT NULL FROM api_keys WHERE id = ?1", &st);
        if (r >= 0) {
                store_bind_text(st, 1, id);
                rc = store_step(st);
                r = rc == 0 ? -ENOENT : MIN(rc, 0);
                if (rc > 0) {
                        if (ret_name)
                                snprintf(ret_name, name_size, "%s", store_column_text(st, 0));
                        if (store_column_int64(st, 1))
                                r = -EALREADY;
                }
        }
        store_stmt_finalize(TAKE_PTR(st));
        if (r >= 0)
                r = prepare(s, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1", &st);
        if (r >= 0) {
                store_bind_text(st, 1, id);
                store_bind_double(st, 2, time_now_s(CLOCK_REALTIME));
                r = step_done(st);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}
