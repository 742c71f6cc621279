/* SPDX-License-Identifier: MIT */
/* job-store-lease.c — leases on unfinished jobs, for several orchestrators on one store:
 * each job is held by the orchestrator that inserted or took it (lease_owner) until
 * lease_until; the holder renews all of its leases in one statement; when a holder dies its
 * leases run out and another orchestrator takes the jobs over (see job-store.h). */
#include <time.h>

#include "job-store-internal.h"
#include "time-util.h"

int job_store_set_lease(JobStore *s, const char *instance, uint64_t lease_ms) {
        char *copy = NULL;

        if (instance) {
                if (!*instance || lease_ms == 0)
                        return -EINVAL;
                copy = strdup(instance);
                if (!copy)
                        return -ENOMEM;
        }
        pthread_mutex_lock(&s->lock);
        free(s->lease_owner);
        s->lease_owner = copy;
        s->lease_ms = lease_ms;
        pthread_mutex_unlock(&s->lock);
        return 0;
}

bool job_store_leasing(JobStore *s) {
        bool on;

        pthread_mutex_lock(&s->lock);
        on = s->lease_owner;
        pthread_mutex_unlock(&s->lock);
        return on;
}

static double lease_end(const JobStore *s) {
        return time_now_s(CLOCK_REALTIME) + (double) s->lease_ms / 1000.0;
}

int job_store_lease_renew(JobStore *s) {
        if (!s->lease_owner)
                return -EINVAL;
        return job_store_write_one(
                s,
                "UPDATE jobs SET lease_until = ?3 WHERE lease_owner = ?1 AND status IN ('pending', 'running')",
                s->lease_owner,
                NULL,
                lease_end(s),
                0);
}

/* The unfinished, undelayed jobs of kind ?3 that may be taken, oldest first, at most ?4:
 * at this orchestrator's start also those without a lease (a store written before leases)
 * and its own from its previous run; else only the expired leases of others. On
 * PostgreSQL the rows another orchestrator is taking at the same moment are skipped, not
 * waited for (SKIP LOCKED); SQLite has one writer at a time anyway. */
#define TAKE_SQL(WHO, LOCKING)                                                                         \
        "UPDATE jobs SET lease_owner = ?1, lease_until = ?2 WHERE seq IN (SELECT seq FROM jobs "       \
        "WHERE status IN ('pending', 'running') AND kind = ?3 AND delayed IS DISTINCT FROM 1 AND " WHO \
        " ORDER BY seq LIMIT ?4" LOCKING ") RETURNING id"
#define TAKE_EXPIRED "lease_owner <> ?1 AND lease_until < ?5"
#define TAKE_AT_START "(lease_owner IS NULL OR lease_owner = ?1 OR lease_until < ?5)"

static const char *const take_sql[2][2] = {
        [STORE_DB_SQLITE] = { TAKE_SQL(TAKE_EXPIRED, ""), TAKE_SQL(TAKE_AT_START, "") },
        [STORE_DB_POSTGRESQL] = { TAKE_SQL(TAKE_EXPIRED, " FOR UPDATE SKIP LOCKED"),
                                  TAKE_SQL(TAKE_AT_START, " FOR UPDATE SKIP LOCKED") },
};

int job_store_lease_take(
        JobStore *s,
        const char *kind,
        bool at_start,
        unsigned max,
        int (*cb)(const JobRow *row, void *userdata),
        void *userdata,
        unsigned *ret_taken) {
        StoreStmt *st = NULL;
        char **ids;
        size_t n = 0;
        int r;

        if (!s->lease_owner || max == 0)
                return -EINVAL;
        ids = calloc(max + 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(s, take_sql[store_db_kind(s->db)][at_start], &st);
        if (r >= 0) {
                double now = time_now_s(CLOCK_REALTIME);

                store_bind_text(st, 1, s->lease_owner);
                store_bind_double(st, 2, now + (double) s->lease_ms / 1000.0);
                store_bind_text(st, 3, kind);
                store_bind_int64(st, 4, max);
                store_bind_double(st, 5, now);
        }
        /* RETURNING: every row is changed once the statement has stepped to its end. */
        while (r >= 0 && (r = store_step(st)) > 0)
                if (n < max) {
                        ids[n] = strdup(strempty(store_column_text(st, 0)));
                        if (!ids[n++])
                                r = -ENOMEM;
                }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (ret_taken)
                *ret_taken = r >= 0 ? (unsigned) n : 0;
        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        r = job_store_for_each_job(s, "WHERE id = ?1", ids[i], 0, cb, userdata);
                free(ids[i]);
        }
        free(ids);
        return r;
}

int job_store_lease_for_each_own(
        JobStore *s,
        const char *kind,
        double older_than,
        int (*cb)(const JobRow *row, void *userdata),
        void *userdata) {
        _cleanup_free_ char *where = NULL;

        if (!s->lease_owner)
                return -EINVAL;
        /* kind is one of the store's own words ("task", "workflow"), never input. */
        if (!streq(kind, "task") && !streq(kind, "workflow"))
                return -EINVAL;
        if (asprintf(
                    &where,
                    "WHERE lease_owner = ?1 AND kind = '%s' AND status IN ('pending', 'running') "
                    "AND delayed IS DISTINCT FROM 1 AND updated_at < ?2 ORDER BY seq",
                    kind) < 0)
                return -ENOMEM;
        return job_store_for_each_job(s, where, s->lease_owner, older_than, cb, userdata);
}
