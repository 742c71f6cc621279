/* SPDX-License-Identifier: MIT */
/* job-store-schedules.c — the schedules table of the job store's database, and the
 * delayed jobs (run_at) of the jobs table: what the schedule timer reads and claims. */
#include "job-store-internal.h"
#include "json-util.h"
#include "time-util.h"

#define SCHEDULE_COLUMNS                                                                        \
        "id, owner, owner_role, service, task, priority, payload, timeout_ms, cron, every_ms, " \
        "anchor, start_at, overlap, catch_up, paused, next_run_at, held_at, last_run_at, "      \
        "last_job_id, runs, skipped, missed, created_at"

enum {
        COL_ID,
        COL_OWNER,
        COL_OWNER_ROLE,
        COL_SERVICE,
        COL_TASK,
        COL_PRIORITY,
        COL_PAYLOAD,
        COL_TIMEOUT_MS,
        COL_CRON,
        COL_EVERY_MS,
        COL_ANCHOR,
        COL_START_AT,
        COL_OVERLAP,
        COL_CATCH_UP,
        COL_PAUSED,
        COL_NEXT_RUN_AT,
        COL_HELD_AT,
        COL_LAST_RUN_AT,
        COL_LAST_JOB_ID,
        COL_RUNS,
        COL_SKIPPED,
        COL_MISSED,
        COL_CREATED_AT,
};

static const char *text_col(StoreStmt *st, int col) {
        return store_column_text(st, col);
}

static double real_col(StoreStmt *st, int col) {
        return store_column_is_null(st, col) ? 0 : store_column_double(st, col);
}

/* A row as the statement has it; strings point into st (valid until its next step). */
static ScheduleRow row_from_stmt(StoreStmt *st) {
        return (ScheduleRow){
                .id = text_col(st, COL_ID),
                .owner = text_col(st, COL_OWNER),
                .owner_role = text_col(st, COL_OWNER_ROLE),
                .service = text_col(st, COL_SERVICE),
                .task = text_col(st, COL_TASK),
                .priority = text_col(st, COL_PRIORITY),
                .payload = text_col(st, COL_PAYLOAD),
                .timeout_ms = (uint64_t) store_column_int64(st, COL_TIMEOUT_MS),
                .cron = text_col(st, COL_CRON),
                .every_ms = (uint64_t) store_column_int64(st, COL_EVERY_MS),
                .anchor = real_col(st, COL_ANCHOR),
                .start_at = real_col(st, COL_START_AT),
                .overlap = text_col(st, COL_OVERLAP),
                .catch_up = text_col(st, COL_CATCH_UP),
                .paused = store_column_int64(st, COL_PAUSED) != 0,
                .next_run_at = real_col(st, COL_NEXT_RUN_AT),
                .held_at = real_col(st, COL_HELD_AT),
                .last_job_id = text_col(st, COL_LAST_JOB_ID),
                .created_at = real_col(st, COL_CREATED_AT),
        };
}

static void add_time(json_object *o, const char *key, double t) {
        char buf[32];

        if (t <= 0) {
                json_object_object_add(o, key, NULL);
                return;
        }
        job_format_time(t, buf);
        json_object_object_add(o, key, json_object_new_string(buf));
}

static void add_text(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* The public form of a row (the jobs' counts are added by the get). */
static json_object *schedule_json(StoreStmt *st) {
        ScheduleRow row = row_from_stmt(st);
        json_object *o = json_object_new_object(), *payload = NULL;

        if (!o)
                return NULL;
        add_text(o, "schedule_id", row.id);
        add_text(o, "service", row.service);
        add_text(o, "task", row.task);
        add_text(o, "priority", row.priority);
        if (json_parse_strict(row.payload, strlen(row.payload), &payload, NULL) >= 0)
                json_object_object_add(o, "payload", payload);
        json_object_object_add(o, "timeout", json_object_new_double((double) row.timeout_ms / 1000.0));
        if (row.cron)
                add_text(o, "cron", row.cron);
        else
                json_object_object_add(o, "every", json_object_new_double((double) row.every_ms / 1000.0));
        add_time(o, "start_at", row.start_at);
        add_text(o, "overlap", row.overlap);
        add_text(o, "catch_up", row.catch_up);
        json_object_object_add(o, "paused", json_object_new_boolean(row.paused));
        add_time(o, "next_run_at", row.paused ? 0 : row.next_run_at);
        add_time(o, "held_run_at", row.held_at);
        add_time(o, "last_run_at", real_col(st, COL_LAST_RUN_AT));
        add_text(o, "last_job_id", row.last_job_id);
        json_object_object_add(o, "runs", json_object_new_int64(store_column_int64(st, COL_RUNS)));
        json_object_object_add(o, "skipped", json_object_new_int64(store_column_int64(st, COL_SKIPPED)));
        json_object_object_add(o, "missed", json_object_new_int64(store_column_int64(st, COL_MISSED)));
        add_time(o, "created_at", row.created_at);
        if (row.owner) {
                json_object *by = json_object_new_object();

                if (by) {
                        add_text(by, "sub", row.owner);
                        add_text(by, "role", row.owner_role);
                }
                json_object_object_add(o, "created_by", by);
        }
        return o;
}

int job_store_schedule_insert(JobStore *s, const ScheduleRow *row) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "INSERT INTO schedules(id, owner, owner_role, service, task, priority, payload, timeout_ms, "
                "cron, every_ms, anchor, start_at, overlap, catch_up, paused, next_run_at, created_at) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, row->id);
                store_bind_text(st, 2, row->owner && *row->owner ? row->owner : NULL);
                store_bind_text(st, 3, row->owner && *row->owner ? row->owner_role : NULL);
                store_bind_text(st, 4, row->service);
                store_bind_text(st, 5, row->task);
                store_bind_text(st, 6, row->priority);
                store_bind_text(st, 7, row->payload);
                store_bind_int64(st, 8, (int64_t) row->timeout_ms);
                store_bind_text(st, 9, row->cron);
                if (!row->cron)
                        store_bind_int64(st, 10, (int64_t) row->every_ms);
                store_bind_double(st, 11, row->anchor);
                if (row->start_at > 0)
                        store_bind_double(st, 12, row->start_at);
                store_bind_text(st, 13, row->overlap);
                store_bind_text(st, 14, row->catch_up);
                store_bind_int64(st, 15, row->paused ? 1 : 0);
                store_bind_double(st, 16, row->next_run_at);
                store_bind_double(st, 17, row->created_at);
                r = step_done(st);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* One schedule of owner (NULL = any) for read(st), under the lock. */
static int with_schedule_locked(
        JobStore *s,
        const char *id,
        const char *owner,
        int (*read)(StoreStmt *st, void *userdata),
        void *userdata) {
        StoreStmt *st = NULL;
        int r, rc;

        r =
                prepare(s,
                        "SELECT " SCHEDULE_COLUMNS
                        " FROM schedules WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR owner = ?2)",
                        &st);
        if (r >= 0) {
                store_bind_text(st, 1, id);
                store_bind_text(st, 2, owner);
                rc = store_step(st);
                r = rc > 0 ? read(st, userdata) : rc == 0 ? -ENOENT : rc;
        }
        store_stmt_finalize(st);
        return r;
}

typedef struct RowCb {
        int (*cb)(const ScheduleRow *row, void *userdata);
        void *userdata;
} RowCb;

static int read_row(StoreStmt *st, void *userdata) {
        RowCb *c = userdata;
        ScheduleRow row = row_from_stmt(st);

        return c->cb(&row, c->userdata);
}

int job_store_schedule_get(
        JobStore *s,
        const char *id,
        const char *owner,
        int (*cb)(const ScheduleRow *row, void *userdata),
        void *userdata) {
        int r;

        /* cb runs under the lock: it must not call the store (the API only computes). */
        pthread_mutex_lock(&s->lock);
        r = with_schedule_locked(s, id, owner, read_row, &(RowCb){ cb, userdata });
        pthread_mutex_unlock(&s->lock);
        return r;
}

static int read_json(StoreStmt *st, void *userdata) {
        json_object **ret = userdata;

        *ret = schedule_json(st);
        return *ret ? 0 : -ENOMEM;
}

/* {status: n} of the schedule's jobs still in the store. */
static int job_counts_locked(JobStore *s, const char *id, json_object *o) {
        json_object *counts = json_object_new_object();
        StoreStmt *st = NULL;
        int r, rc;

        if (!counts)
                return -ENOMEM;
        json_object_object_add(o, "jobs", counts);
        r = prepare(s, "SELECT status, count(*) FROM jobs WHERE schedule_id = ?1 GROUP BY status", &st);
        if (r >= 0) {
                store_bind_text(st, 1, id);
                while ((rc = store_step(st)) > 0)
                        json_object_object_add(
                                counts, text_col(st, 0), json_object_new_int64(store_column_int64(st, 1)));
                r = MIN(rc, 0);
        }
        store_stmt_finalize(st);
        return r;
}

int job_store_schedule_get_json(JobStore *s, const char *id, const char *owner, json_object **ret) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = with_schedule_locked(s, id, owner, read_json, &o);
        if (r >= 0)
                r = job_counts_locked(s, id, o);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int job_store_schedule_list_json(JobStore *s, const char *owner, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *list = json_object_new_array();
        StoreStmt *st = NULL;
        int r;

        if (!o || !list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT " SCHEDULE_COLUMNS
                " FROM schedules WHERE CAST(?1 AS TEXT) IS NULL OR owner = ?1 ORDER BY created_at, id",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, owner);
                r = collect_rows(st, schedule_json, list);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        json_object_object_add(o, "schedules", TAKE_PTR(list));
        *ret = TAKE_PTR(o);
        return 0;
}

int job_store_schedule_set_paused(
        JobStore *s, const char *id, const char *owner, bool paused, double next_run_at) {
        return job_store_write_one(
                s,
                paused ? "UPDATE schedules SET paused = 1 WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR owner = ?2)"
                       : "UPDATE schedules SET paused = 0, next_run_at = ?3 "
                         "WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR owner = ?2)",
                id,
                owner,
                next_run_at,
                -ENOENT);
}

int job_store_schedule_delete(JobStore *s, const char *id, const char *owner) {
        return job_store_write_one(
                s,
                "DELETE FROM schedules WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR owner = ?2)",
                id,
                owner,
                0,
                -ENOENT);
}

/* The due rows are copied out (the callbacks write to the store). */
typedef struct DueRows {
        ScheduleRow *rows;
        char **strings; /* every string the rows point to */
        size_t n, n_strings;
} DueRows;

static void due_rows_done(DueRows *d) {
        for (size_t i = 0; i < d->n_strings; i++)
                free(d->strings[i]);
        free(d->strings);
        free(d->rows);
}

static int dup_into(DueRows *d, const char **field) {
        char *c;

        if (!*field)
                return 0;
        c = strdup(*field);
        if (!c)
                return -ENOMEM;
        d->strings[d->n_strings++] = c;
        *field = c;
        return 0;
}

static int due_rows_add(DueRows *d, StoreStmt *st) {
        ScheduleRow row = row_from_stmt(st), *nr;
        const char **fields[] = { &row.id,      &row.owner,    &row.owner_role, &row.service,
                                  &row.task,    &row.priority, &row.payload,    &row.cron,
                                  &row.overlap, &row.catch_up, &row.last_job_id };
        char **ns;
        int r = 0;

        nr = reallocarray(d->rows, d->n + 1, sizeof(ScheduleRow));
        if (!nr)
                return -ENOMEM;
        d->rows = nr;
        ns = reallocarray(d->strings, d->n_strings + ELEMENTSOF(fields), sizeof(char *));
        if (!ns)
                return -ENOMEM;
        d->strings = ns;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fields); i++)
                r = dup_into(d, fields[i]);
        if (r < 0)
                return r;
        d->rows[d->n++] = row;
        return 0;
}

int job_store_schedule_for_each_due(
        JobStore *s,
        double now,
        int (*cb)(const ScheduleRow *row, void *userdata),
        void *userdata,
        double *ret_next,
        bool *ret_held) {
        static const char next_sql[] =
                "SELECT (SELECT min(next_run_at) FROM schedules WHERE paused = 0 AND next_run_at > ?1), "
                "(SELECT min(run_at) FROM jobs WHERE delayed = 1 AND run_at > ?1), "
                "EXISTS(SELECT 1 FROM schedules WHERE paused = 0 AND held_at IS NOT NULL)";
        _cleanup_(due_rows_done) DueRows due = {};
        StoreStmt *st = NULL;
        double next = 0;
        bool held = false;
        int r, rc = 0;

        pthread_mutex_lock(&s->lock);
        r =
                prepare(s,
                        "SELECT " SCHEDULE_COLUMNS
                        " FROM schedules WHERE paused = 0 AND "
                        "(next_run_at <= ?1 OR held_at IS NOT NULL) ORDER BY next_run_at",
                        &st);
        if (r >= 0) {
                store_bind_double(st, 1, now);
                while (r >= 0 && (rc = store_step(st)) > 0)
                        r = due_rows_add(&due, st);
                if (r >= 0 && rc < 0)
                        r = MIN(rc, 0);
        }
        store_stmt_finalize(st);
        st = NULL;
        if (r >= 0)
                r = prepare(s, next_sql, &st);
        if (r >= 0) {
                store_bind_double(st, 1, now);
                rc = store_step(st);
                if (rc > 0) {
                        for (int i = 0; i < 2; i++)
                                if (!store_column_is_null(st, i) &&
                                    (next == 0 || store_column_double(st, i) < next))
                                        next = store_column_double(st, i);
                        held = store_column_int64(st, 2) != 0;
                } else
                        r = MIN(rc, 0);
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        for (size_t i = 0; i < due.n; i++) {
                int k = cb(&due.rows[i], userdata);

                if (k < 0 && r >= 0)
                        r = k;
        }
        *ret_next = next;
        *ret_held = held;
        return r;
}

int job_store_schedule_claim(JobStore *s, const ScheduleClaim *c) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "UPDATE schedules SET next_run_at = ?4, held_at = ?5, missed = missed + ?6, "
                "skipped = skipped + ?7 WHERE id = ?1 AND paused = 0 AND next_run_at = ?2 AND held_at IS NOT DISTINCT FROM ?3",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, c->id);
                store_bind_double(st, 2, c->old_next);
                if (c->old_held > 0)
                        store_bind_double(st, 3, c->old_held);
                store_bind_double(st, 4, c->new_next);
                if (c->new_held > 0)
                        store_bind_double(st, 5, c->new_held);
                store_bind_int64(st, 6, (int64_t) c->missed);
                store_bind_int64(st, 7, (int64_t) c->skipped);
                r = step_done(st);
                if (r >= 0 && store_db_changes(s->db) == 0)
                        r = -ESTALE;
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_schedule_ran(JobStore *s, const char *id, const char *job_id, double at) {
        return job_store_write_one(
                s,
                "UPDATE schedules SET last_run_at = ?3, last_job_id = ?2, runs = runs + 1 WHERE id = ?1",
                id,
                job_id,
                at,
                0);
}

int job_store_delayed_for_each_due(
        JobStore *s, double now, int (*cb)(const JobRow *row, void *userdata), void *userdata) {
        return job_store_for_each_job(
                s,
                "WHERE delayed = 1 AND run_at <= ?2 AND status = 'pending' ORDER BY run_at",
                NULL,
                now,
                cb,
                userdata);
}

int job_store_delayed_claim(JobStore *s, const char *id) {
        /* With leases on, the orchestrator that claims the run holds its lease. */
        return job_store_write_one(
                s,
                s->lease_owner
                        ? "UPDATE jobs SET delayed = 0, lease_owner = ?2, lease_until = ?3 "
                          "WHERE id = ?1 AND delayed = 1 AND status = 'pending'"
                        : "UPDATE jobs SET delayed = 0 WHERE id = ?1 AND delayed = 1 AND status = 'pending'",
                id,
                s->lease_owner,
                time_now_s(CLOCK_REALTIME) + (double) s->lease_ms / 1000.0,
                -ESTALE);
}
