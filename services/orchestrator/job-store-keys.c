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

int job_store_key_insert(JobStore *s, const KeyNew *k) {
        sqlite3_stmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r =
                prepare(s,
                        "INSERT INTO api_keys(id, name, role, prefix, hash, created_at, created_by, "
                        "budget_tokens_day, budget_tokens_month, rpm, tpm) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                        "nullif(?8, 0), nullif(?9, 0), nullif(?10, 0), nullif(?11, 0))",
                        &st);
        if (r >= 0) {
                bind_text(st, 1, k->id);
                bind_text(st, 2, k->name);
                bind_text(st, 3, k->role);
                bind_text(st, 4, k->prefix);
                (void) sqlite3_bind_blob(st, 5, k->hash, KEY_HASH_SIZE, SQLITE_STATIC);
                (void) sqlite3_bind_double(st, 6, time_now_s(CLOCK_REALTIME));
                bind_text(st, 7, k->created_by);
                (void) sqlite3_bind_int64(st, 8, k->limits.budget_tokens_day);
                (void) sqlite3_bind_int64(st, 9, k->limits.budget_tokens_month);
                (void) sqlite3_bind_int64(st, 10, k->limits.rpm);
                (void) sqlite3_bind_int64(st, 11, k->limits.tpm);
                r = sqlite_errno(sqlite3_step(st));
        }
        sqlite3_finalize(st);
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
        sqlite3_stmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r =
                prepare(s,
                        "SELECT id, name, role, hash, coalesce(last_used, 0) FROM api_keys "
                        "WHERE hash = ?1 AND revoked_at IS NULL",
                        &st);
        if (r >= 0) {
                (void) sqlite3_bind_blob(st, 1, hash, KEY_HASH_SIZE, SQLITE_STATIC);
                rc = sqlite3_step(st);
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
                /* The index found it; the bytes are compared again in constant time so
                 * that nothing but a full match ever passes. */
                if (rc == SQLITE_ROW &&
                    (sqlite3_column_bytes(st, 3) != KEY_HASH_SIZE ||
                     CRYPTO_memcmp(sqlite3_column_blob(st, 3), hash, KEY_HASH_SIZE) != 0))
                        r = -ENOENT;
        }
        if (r >= 0) {
                _cleanup_free_ char *id = strdup((const char *) sqlite3_column_text(st, 0));
                bool touch = now - sqlite3_column_double(st, 4) >= KEY_LAST_USED_EVERY_S;

                snprintf(ret_name, name_size, "%s", (const char *) sqlite3_column_text(st, 1));
                snprintf(ret_role, role_size, "%s", (const char *) sqlite3_column_text(st, 2));
                sqlite3_finalize(TAKE_PTR(st));
                if (!id)
                        r = -ENOMEM;
                else if (touch && prepare(s, "UPDATE api_keys SET last_used = ?2 WHERE id = ?1", &st) >= 0) {
                        bind_text(st, 1, id);
                        (void) sqlite3_bind_double(st, 2, now);
                        (void) sqlite3_step(st); /* a missed last_used is no reason to refuse */
                }
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_key_limits(JobStore *s, const char *name, KeyLimits *ret) {
        sqlite3_stmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT coalesce(budget_tokens_day, 0), coalesce(budget_tokens_month, 0), coalesce(rpm, 0), "
                "coalesce(tpm, 0) FROM api_keys WHERE name = ?1 AND revoked_at IS NULL",
                &st);
        if (r >= 0) {
                bind_text(st, 1, name);
                rc = sqlite3_step(st);
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
                if (rc == SQLITE_ROW)
                        *ret = (KeyLimits){
                                .budget_tokens_day = sqlite3_column_int64(st, 0),
                                .budget_tokens_month = sqlite3_column_int64(st, 1),
                                .rpm = sqlite3_column_int64(st, 2),
                                .tpm = sqlite3_column_int64(st, 3),
                        };
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void add_time(json_object *o, const char *field, sqlite3_stmt *st, int col) {
        char t[32];

        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                json_object_object_add(o, field, NULL);
                return;
        }
        job_format_time(sqlite3_column_double(st, col), t);
        json_object_object_add(o, field, json_object_new_string(t));
}

static void add_limit(json_object *o, const char *field, sqlite3_stmt *st, int col) {
        json_object_object_add(
                o,
                field,
                sqlite3_column_type(st, col) == SQLITE_NULL
                        ? NULL
                        : json_object_new_int64(sqlite3_column_int64(st, col)));
}

static json_object *key_json(sqlite3_stmt *st) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_string((const char *) sqlite3_column_text(st, 0)));
        json_object_object_add(o, "name", json_object_new_string((const char *) sqlite3_column_text(st, 1)));
        json_object_object_add(o, "role", json_object_new_string((const char *) sqlite3_column_text(st, 2)));
        json_object_object_add(
                o, "prefix", json_object_new_string((const char *) sqlite3_column_text(st, 3)));
        add_time(o, "created_at", st, 4);
        json_object_object_add(
                o,
                "created_by",
                sqlite3_column_type(st, 5) == SQLITE_NULL
                        ? NULL
                        : json_object_new_string((const char *) sqlite3_column_text(st, 5)));
        add_time(o, "last_used", st, 6);
        json_object_object_add(
                o, "revoked", json_object_new_boolean(sqlite3_column_type(st, 7) != SQLITE_NULL));
        add_time(o, "revoked_at", st, 7);
        add_limit(o, "budget_tokens_day", st, 8);
        add_limit(o, "budget_tokens_month", st, 9);
        add_limit(o, "rpm", st, 10);
        add_limit(o, "tpm", st, 11);
        return o;
}

int job_store_key_list(JobStore *s, json_object **ret) {
        _cleanup_json_ json_object *list = json_object_new_array();
        sqlite3_stmt *st = NULL;
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
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

int job_store_key_revoke(JobStore *s, const char *id, char *ret_name, size_t name_size) {
        sqlite3_stmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r = prepare(s, "SELECT name, revoked_at IS NOT NULL FROM api_keys WHERE id = ?1", &st);
        if (r >= 0) {
                bind_text(st, 1, id);
                rc = sqlite3_step(st);
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
                if (rc == SQLITE_ROW) {
                        if (ret_name)
                                snprintf(
                                        ret_name,
                                        name_size,
                                        "%s",
                                        (const char *) sqlite3_column_text(st, 0));
                        if (sqlite3_column_int(st, 1))
                                r = -EALREADY;
                }
        }
        sqlite3_finalize(TAKE_PTR(st));
        if (r >= 0)
                r = prepare(s, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1", &st);
        if (r >= 0) {
                bind_text(st, 1, id);
                (void) sqlite3_bind_double(st, 2, time_now_s(CLOCK_REALTIME));
                r = sqlite_errno(sqlite3_step(st));
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}
