/* SPDX-License-Identifier: MIT */
/* job-store-read.c — reading jobs and events back: one job as JSON, its status, owner or
 * events, pages of jobs, Idempotency-Keys, unfinished jobs to re-run, counts by status. */
#include <inttypes.h>

#include "job-store-internal.h"
#include "json-util.h"

static int
get_row(JobStore *s,
        int which,
        const char *key,
        const char *owner,
        int (*read)(StoreStmt *st, void *userdata),
        void *userdata) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = job_store_get_row_locked(s, which, key, owner, read, userdata);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* Parses stored JSON text back into an object; text that is not JSON (it always is,
 * we wrote it) becomes a string rather than getting lost. */
static json_object *json_from_column(StoreStmt *st, int col) {
        const char *txt = store_column_text(st, col);
        json_object *o = NULL;

        if (!txt)
                return NULL;
        if (json_parse_strict(txt, strlen(txt), &o, NULL) < 0)
                return json_object_new_string(txt);
        return o;
}

/* "guardrails":{"flagged":[...]}, "redactions":{kind:count} and "cached":true, present
 * only when set. */
static void add_annotations(json_object *o, StoreStmt *st) {
        int g = store_column_index(st, "guardrail_flags"), r = store_column_index(st, "redactions"),
            c = store_column_index(st, "cached");

        if (g >= 0 && !store_column_is_null(st, g)) {
                json_object *gr = json_object_new_object();

                if (gr) {
                        json_object_object_add(gr, "flagged", json_from_column(st, g));
                        json_object_object_add(o, "guardrails", gr);
                }
        }
        if (r >= 0 && !store_column_is_null(st, r))
                json_object_object_add(o, "redactions", json_from_column(st, r));
        if (c >= 0 && store_column_int64(st, c) == 1)
                json_object_object_add(o, "cached", json_object_new_boolean(true));
}

/* "schedule_id" and "run_at" of a schedule's run or a delayed job, present only when set. */
static void add_schedule(json_object *o, StoreStmt *st) {
        int id = store_column_index(st, "schedule_id"), at = store_column_index(st, "run_at");

        if (id >= 0 && !store_column_is_null(st, id))
                json_object_object_add(o, "schedule_id", json_object_new_string(store_column_text(st, id)));
        if (at >= 0 && !store_column_is_null(st, at)) {
                char t[32];

                job_format_time(store_column_double(st, at), t);
                json_object_object_add(o, "run_at", json_object_new_string(t));
        }
}

/* "trace_id": the trace whose spans deploy.sh trace reads, present only when traced. */
static void add_trace(json_object *o, StoreStmt *st) {
        int t = store_column_index(st, "trace_id");

        if (t >= 0 && !store_column_is_null(st, t))
                json_object_object_add(o, "trace_id", json_object_new_string(store_column_text(st, t)));
}

static json_object *row_to_json(StoreStmt *st, bool with_owner) {
        json_object *o = json_object_new_object();
        char created[32], updated[32];
        const char *error = store_column_text(st, 8);
        const int sub = store_column_index(st, "submitter");

        if (!o)
                return NULL;
        job_format_time(store_column_double(st, 5), created);
        job_format_time(store_column_double(st, 6), updated);
        json_object_object_add(o, "job_id", json_object_new_string(store_column_text(st, 0)));
        json_object_object_add(o, "status", json_object_new_string(store_column_text(st, 1)));
        json_object_object_add(o, "kind", json_object_new_string(store_column_text(st, 10)));
        json_object_object_add(o, "service", json_object_new_string(store_column_text(st, 2)));
        json_object_object_add(o, "task", json_object_new_string(store_column_text(st, 3)));
        json_object_object_add(o, "priority", json_object_new_string(store_column_text(st, 4)));
        json_object_object_add(o, "created_at", json_object_new_string(created));
        json_object_object_add(o, "updated_at", json_object_new_string(updated));
        json_object_object_add(o, "result", json_from_column(st, 7));
        json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
        if (!store_column_is_null(st, 9))
                json_object_object_add(o, "error_status", json_object_new_int(store_column_int64(st, 9)));
        add_annotations(o, st);
        add_schedule(o, st);
        add_trace(o, st);
        if (with_owner && sub >= 0 && !store_column_is_null(st, sub)) {
                json_object *by = json_object_new_object();
                const char *role = store_column_text(st, sub + 1);

                if (by) {
                        json_object_object_add(
                                by, "sub", json_object_new_string(store_column_text(st, sub)));
                        json_object_object_add(by, "role", role ? json_object_new_string(role) : NULL);
                }
                json_object_object_add(o, "submitted_by", by);
        }
        return o;
}

static int read_job(StoreStmt *st, void *userdata) {
        json_object **ret = userdata;

        *ret = row_to_json(st, true);
        return *ret ? 0 : -ENOMEM;
}

int job_store_get_json(JobStore *s, const char *id, const char *owner, json_object **ret) {
        json_object *o = NULL;
        int r;

        r = get_row(s, ST_GET, id, owner, read_job, &o);
        if (r >= 0)
                *ret = o;
        return r;
}

static int read_status(StoreStmt *st, void *userdata) {
        return job_status_from_string(store_column_text(st, 0), userdata);
}

int job_store_get_status(JobStore *s, const char *id, JobStatus *ret) {
        return get_row(s, ST_STATUS, id, NULL, read_status, ret);
}

static int read_owner(StoreStmt *st, void *userdata) {
        const char *v = store_column_text(st, 0);
        char **ret = userdata;

        if (v && !(*ret = strdup(v)))
                return -ENOMEM;
        return 0;
}

int job_store_get_owner(JobStore *s, const char *id, char **ret) {
        char *owner = NULL;
        int r;

        r = get_row(s, ST_OWNER, id, NULL, read_owner, &owner);
        if (r >= 0)
                *ret = owner;
        return r;
}

int job_store_list_json(
        JobStore *s, const char *owner, int status, unsigned limit, int64_t cursor, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *jobs = json_object_new_array();
        StoreStmt *st = NULL;
        int64_t last = 0;
        unsigned n = 0;
        int rc = 0, r;

        if (!o || !jobs)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(
                s,
                "SELECT id, status, service, task, priority, created_at, updated_at, result, error, "
                "error_status, kind, seq, guardrail_flags, redactions, cached, schedule_id, run_at FROM jobs "
                "WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND (CAST(?2 AS BIGINT) = 0 OR seq < ?2) "
                "AND (CAST(?4 AS TEXT) IS NULL OR submitter = ?4) ORDER BY seq DESC LIMIT ?3",
                &st);
        if (r >= 0) {
                store_bind_text(st, 1, status >= 0 ? job_status_to_string((JobStatus) status) : NULL);
                store_bind_int64(st, 2, cursor);
                store_bind_int64(st, 3, (int64_t) limit + 1);
                store_bind_text(st, 4, owner);
                while ((rc = store_step(st)) > 0) {
                        json_object *j;

                        if (n == limit)
                                break;
                        j = row_to_json(st, false);
                        if (!j || json_object_array_add(jobs, j) < 0) {
                                json_object_put(j);
                                r = -ENOMEM;
                                break;
                        }
                        last = store_column_int64(st, 11);
                        n++;
                }
                if (r >= 0 && rc < 0)
                        r = rc;
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        json_object_object_add(o, "jobs", TAKE_PTR(jobs));
        if (rc > 0 && n == limit) {
                char c[32];

                snprintf(c, sizeof(c), "%" PRId64, last);
                json_object_object_add(o, "next_cursor", json_object_new_string(c));
        } else
                json_object_object_add(o, "next_cursor", NULL);
        *ret = TAKE_PTR(o);
        return 0;
}

int job_store_events_json(
        JobStore *s,
        const char *id,
        const char *owner,
        int64_t after,
        json_object **ret,
        JobStatus *ret_status) {
        _cleanup_json_ json_object *list = json_object_new_array();
        JobStatus status = JOB_PENDING;
        StoreStmt *st;
        int rc, r = 0;

        if (!list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = job_store_get_row_locked(s, ST_STATUS, id, owner, read_status, &status);
        if (r >= 0) {
                st = stmt(s, ST_EVENTS);
                store_bind_text(st, 1, id);
                store_bind_int64(st, 2, after);
                while ((rc = store_step(st)) > 0) {
                        json_object *e = json_object_new_object();
                        char t[32];

                        if (!e) {
                                r = -ENOMEM;
                                break;
                        }
                        job_format_time(store_column_double(st, 3), t);
                        json_object_object_add(e, "id", json_object_new_int64(store_column_int64(st, 0)));
                        json_object_object_add(e, "event", json_object_new_string(store_column_text(st, 1)));
                        json_object_object_add(e, "data", json_from_column(st, 2));
                        json_object_object_add(e, "time", json_object_new_string(t));
                        json_object_array_add(list, e);
                }
                if (r >= 0 && rc < 0)
                        r = rc;
                store_stmt_reset(st);
        }
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        if (ret_status)
                *ret_status = status;
        return 0;
}

typedef struct KeyRow {
        char *id, *hash;
} KeyRow;

static int read_key(StoreStmt *st, void *userdata) {
        KeyRow *k = userdata;

        k->id = strdup(store_column_text(st, 0));
        k->hash = strdup(strempty(store_column_text(st, 1)));
        return k->id && k->hash ? 0 : -ENOMEM;
}

int job_store_find_key(JobStore *s, const char *key, char **ret_id, char **ret_hash) {
        KeyRow k = {};
        int r;

        r = get_row(s, ST_FIND_KEY, key, NULL, read_key, &k);
        if (r < 0) {
                free(k.id);
                free(k.hash);
                return r;
        }
        *ret_id = k.id;
        *ret_hash = k.hash;
        return 0;
}

int job_store_for_each_unfinished(
        JobStore *s, const char *kind, int (*cb)(const JobRow *row, void *userdata), void *userdata) {
        return job_store_for_each_job(
                s,
                "WHERE status IN ('pending', 'running') AND kind = ?1 AND delayed IS DISTINCT FROM 1 ORDER BY seq",
                kind,
                0,
                cb,
                userdata);
}

int job_store_for_each_job(
        JobStore *s,
        const char *where,
        const char *text,
        double num,
        int (*cb)(const JobRow *row, void *userdata),
        void *userdata) {
        _cleanup_free_ char *sql = NULL;
        StoreStmt *st = NULL;
        int rc = 0, r;

        /* Rows are read under the lock, the callbacks run without it (they write). */
        typedef struct {
                char *id, *service, *task, *priority, *payload, *submitter, *submitter_role, *schedule_id;
                JobStatus status;
                uint64_t timeout_ms;
                double created_at;
        } Row;
        _cleanup_free_ Row *rows = NULL;
        size_t n = 0, cap = 0;

        if (asprintf(
                    &sql,
                    "SELECT id, service, task, priority, payload, status, timeout_ms, created_at, "
                    "submitter, submitter_role, schedule_id FROM jobs %s",
                    where) < 0)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(s, sql, &st);
        if (r >= 0) {
                store_bind_text(st, 1, text);
                store_bind_double(st, 2, num);
        }
        while (r >= 0 && (rc = store_step(st)) > 0) {
                const char *sub = store_column_text(st, 8), *role = store_column_text(st, 9),
                           *sched = store_column_text(st, 10);

                if (n == cap) {
                        Row *nr = reallocarray(rows, cap ? cap * 2 : 16, sizeof(Row));
                        if (!nr) {
                                r = -ENOMEM;
                                break;
                        }
                        rows = nr;
                        cap = cap ? cap * 2 : 16;
                }
                rows[n] = (Row){
                        .id = strdup(store_column_text(st, 0)),
                        .service = strdup(store_column_text(st, 1)),
                        .task = strdup(store_column_text(st, 2)),
                        .priority = strdup(store_column_text(st, 3)),
                        .payload = strdup(store_column_text(st, 4)),
                        .timeout_ms = (uint64_t) store_column_int64(st, 6),
                        .created_at = store_column_double(st, 7),
                        .submitter = sub ? strdup(sub) : NULL,
                        .submitter_role = role ? strdup(role) : NULL,
                        .schedule_id = sched ? strdup(sched) : NULL,
                };
                (void) job_status_from_string(store_column_text(st, 5), &rows[n].status);
                n++;
        }
        if (r >= 0 && rc < 0) /* a failed read is not the end of the rows */
                r = rc;
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);

        for (size_t i = 0; i < n; i++) {
                if (r >= 0 && rows[i].id && rows[i].service && rows[i].task && rows[i].priority &&
                    rows[i].payload) {
                        JobRow row = {
                                .id = rows[i].id,
                                .service = rows[i].service,
                                .task = rows[i].task,
                                .priority = rows[i].priority,
                                .payload = rows[i].payload,
                                .submitter = rows[i].submitter,
                                .submitter_role = rows[i].submitter_role,
                                .schedule_id = rows[i].schedule_id,
                                .status = rows[i].status,
                                .timeout_ms = rows[i].timeout_ms,
                                .created_at = rows[i].created_at,
                        };
                        int k = cb(&row, userdata);
                        if (k < 0)
                                r = k;
                }
                free(rows[i].id);
                free(rows[i].service);
                free(rows[i].task);
                free(rows[i].priority);
                free(rows[i].payload);
                free(rows[i].submitter);
                free(rows[i].submitter_role);
                free(rows[i].schedule_id);
        }
        return r;
}

int job_store_count_by_status(JobStore *s, uint64_t counts[_JOB_STATUS_MAX]) {
        StoreStmt *st = NULL;
        int rc = 0, r;

        memset(counts, 0, sizeof(uint64_t) * _JOB_STATUS_MAX);
        pthread_mutex_lock(&s->lock);
        r = prepare(s, "SELECT status, count(*) FROM jobs GROUP BY status", &st);
        while (r >= 0 && (rc = store_step(st)) > 0) {
                JobStatus k;

                if (job_status_from_string(store_column_text(st, 0), &k) >= 0)
                        counts[k] = (uint64_t) store_column_int64(st, 1);
        }
        if (r >= 0 && rc < 0)
                r = rc;
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}
