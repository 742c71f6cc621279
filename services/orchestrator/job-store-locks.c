/* SPDX-License-Identifier: MIT */
/* job-store-locks.c — named leases (ORCH-Next's /locks) in the locks table of the job
 * store's database: an owner and an expiry per name. */
#include "job-store-internal.h"
#include "json-util.h"
#include "time-util.h"

static json_object *lock_json(const char *name, const char *owner, double expires_at) {
        json_object *o = json_object_new_object();
        char t[32];

        if (!o)
                return NULL;
        job_format_time(expires_at, t);
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "owner", json_object_new_string(owner));
        json_object_object_add(o, "expires_at", json_object_new_string(t));
        return o;
}

int job_store_lock_acquire(
        JobStore *s, const char *name, const char *owner, uint64_t ttl_ms, json_object **ret) {
        double now = time_now_s(CLOCK_REALTIME), expires = now + (double) ttl_ms / 1000.0;
        StoreStmt *st = NULL;
        bool acquired = false;
        int r;

        pthread_mutex_lock(&s->lock);
        /* Free, expired, or ours (a renewal): take it; otherwise the row is left alone. */
        r = prepare(
                s,
                "INSERT INTO locks(name, owner, expires_at) VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET "
                "owner = excluded.owner, expires_at = excluded.expires_at "
                "WHERE locks.expires_at <= ?4 OR locks.owner = excluded.owner",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, name);
                store_bind_text(st, 2, owner);
                store_bind_double(st, 3, expires);
                store_bind_double(st, 4, now);
                r = step_done(st);
                acquired = r >= 0 && store_db_changes(s->db) > 0;
        }
        store_stmt_finalize(st);
        st = NULL;
        if (r >= 0 && ret) {
                r = prepare(s, "SELECT owner, expires_at FROM locks WHERE name = ?1", &st);
                if (r >= 0) {
                        store_bind_text(st, 1, name);
                        if (store_step(st) > 0)
                                *ret = lock_json(name, store_column_text(st, 0), store_column_double(st, 1));
                }
                store_stmt_finalize(st);
        }
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        return acquired ? 0 : -EBUSY;
}

int job_store_lock_release(JobStore *s, const char *name, const char *owner) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(s, "DELETE FROM locks WHERE name = ?1 AND (owner = ?2 OR expires_at <= ?3)", &st);
        if (r >= 0) {
                store_bind_text(st, 1, name);
                store_bind_text(st, 2, owner);
                store_bind_double(st, 3, time_now_s(CLOCK_REALTIME));
                r = step_done(st);
                if (r >= 0 && store_db_changes(s->db) == 0) {
                        StoreStmt *q = NULL;

                        r = -ENOENT;
                        if (prepare(s, "SELECT 1 FROM locks WHERE name = ?1", &q) >= 0) {
                                store_bind_text(q, 1, name);
                                if (store_step(q) > 0)
                                        r = -EPERM; /* held, by someone else */
                        }
                        store_stmt_finalize(q);
                }
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static json_object *lock_row_json(StoreStmt *st) {
        return lock_json(store_column_text(st, 0), store_column_text(st, 1), store_column_double(st, 2));
}

int job_store_lock_list(JobStore *s, json_object **ret) {
        _cleanup_json_ json_object *list = json_object_new_array();
        StoreStmt *st = NULL;
        int r;

        if (!list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(s, "SELECT name, owner, expires_at FROM locks WHERE expires_at > ?1 ORDER BY name", &st);
        if (r >= 0) {
                store_bind_double(st, 1, time_now_s(CLOCK_REALTIME));
                r = collect_rows(st, lock_row_json, list);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}
