/* SPDX-License-Identifier: MIT */
/* job-store.c — the jobs and job_events tables: the group commit and the writes, on
 * either engine of store-db.h (which maps its errors to -errno). The tables and their
 * migrations: job-store-schema.c; reads: job-store-read.c; named leases:
 * job-store-locks.c; API keys: job-store-keys.c; token usage: job-store-usage.c;
 * schedules and delayed jobs: job-store-schedules.c. */
#include <inttypes.h>
#include <semaphore.h>
#include <time.h>

#include "job-store-internal.h"
#include "json-util.h"
#include "time-util.h"

#define STATES_SQL \
        "INSERT INTO job_events(job_id, id, type, data, created_at) VALUES(?1, 1, 'state', ?2, ?3)"

static const char *const statements[_ST_MAX] = {
        /* A job goes in once in the state it is in: pending, running, or (a synchronous
         * job that finished within the grace period) with its outcome. */
        [ST_INSERT] =
                "INSERT INTO jobs(id, kind, service, task, status, priority, payload, timeout_ms, "
                "idempotency_key, request_hash, created_at, updated_at, last_event, submitter, "
                "submitter_role, guardrail_flags, cached, schedule_id, run_at, delayed, trace_id, lease_owner, "
                "lease_until, result, error, error_status, redactions) "
                "VALUES(?1, ?2, ?3, ?4, ?21, ?5, ?6, ?7, ?8, ?9, ?10, ?22, ?23, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18, ?19, ?20, ?24, ?25, ?26, ?27)",
        [ST_EVENT] =
                "INSERT INTO job_events(job_id, id, type, data, created_at) "
                "SELECT ?1, last_event, ?2, ?3, ?4 FROM jobs WHERE id = ?1",
        [ST_TRANSITION] =
                "UPDATE jobs SET status = ?2, result = ?3, error = ?4, error_status = ?5, "
                "updated_at = ?6, last_event = last_event + 1 "
                "WHERE id = ?1 AND status IN ('pending', 'running')",
        [ST_GET] =
                "SELECT id, status, service, task, priority, created_at, updated_at, result, error, "
                "error_status, kind, submitter, submitter_role, guardrail_flags, redactions, cached, schedule_id, "
                "run_at, trace_id FROM jobs "
                "WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR submitter = ?2)",
        [ST_STATUS] =
                "SELECT status FROM jobs WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR submitter = ?2)",
        [ST_OWNER] = "SELECT submitter FROM jobs WHERE id = ?1",
        [ST_EVENTS] =
                "SELECT id, type, data, created_at FROM job_events WHERE job_id = ?1 AND id > ?2 "
                "ORDER BY id",
        [ST_FIND_KEY] = "SELECT id, request_hash FROM jobs WHERE idempotency_key = ?1",
        [ST_BUMP] = "UPDATE jobs SET last_event = last_event + 1 WHERE id = ?1",
        [ST_SET_REDACTIONS] = "UPDATE jobs SET redactions = coalesce(?2, redactions) WHERE id = ?1",
        /* Its state events in one statement: ?1 the job, then each event's data and time. */
        [ST_STATES_1] = STATES_SQL,
        [ST_STATES_2] = STATES_SQL ", (?1, 2, 'state', ?4, ?5)",
        [ST_STATES_3] = STATES_SQL ", (?1, 2, 'state', ?4, ?5), (?1, 3, 'state', ?6, ?7)",
};

struct WriteOp {
        int (*fn)(JobStore *s, void *arg); /* runs under s->lock inside the transaction */
        void *arg;
        int result;
        bool lead;  /* woken to lead the next batch, not because it is done */
        sem_t wake; /* its writer waits here, alone */
        struct WriteOp *next;
};

static const char *const status_names[_JOB_STATUS_MAX] = {
        [JOB_PENDING] = "pending", [JOB_RUNNING] = "running",     [JOB_COMPLETED] = "completed",
        [JOB_FAILED] = "failed",   [JOB_CANCELLED] = "cancelled",
};

const char *job_status_to_string(JobStatus s) {
        return s >= 0 && s < _JOB_STATUS_MAX ? status_names[s] : "unknown";
}

int job_status_from_string(const char *s, JobStatus *ret) {
        for (int i = 0; i < _JOB_STATUS_MAX; i++)
                if (s && streq(s, status_names[i])) {
                        *ret = (JobStatus) i;
                        return 0;
                }
        return -EINVAL;
}

void job_store_free(JobStore *s) {
        if (!s)
                return;
        job_store_listen_stop(s); /* it takes s->lock */
        for (size_t i = 0; i < _ST_MAX; i++)
                store_stmt_finalize(s->st[i]);
        store_db_close(s->db);
        free(s->lease_owner);
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->queue_lock);
        free(s);
}

void job_format_time(double t, char buf[static 32]) {
        time_t secs = (time_t) t;
        int ms = (int) ((t - (double) secs) * 1000.0);

        if (time_format_rfc3339(secs, CLAMP(ms, 0, 999), buf, 32) == -EINVAL)
                buf[0] = '\0';
}

int job_store_open(const char *location, JobStore **ret) {
        JobStore *s;
        int r;

        s = calloc(1, sizeof(JobStore));
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->changed, NULL);
        pthread_mutex_init(&s->queue_lock, NULL);
        s->queue_tail = &s->queue;
        r = store_db_open(location, &s->db);
        if (r >= 0)
                r = job_store_schema_migrate(s->db);
        for (size_t i = 0; r >= 0 && i < _ST_MAX; i++)
                r = store_db_prepare(s->db, statements[i], STORE_PREPARE_PERSISTENT, &s->st[i]);
        if (r >= 0 && store_db_kind(s->db) == STORE_DB_POSTGRESQL)
                r = job_store_listen_start(s, location);
        if (r < 0) {
                job_store_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

StoreDbKind job_store_kind(JobStore *s) {
        return store_db_kind(s->db);
}

int job_store_get_row_locked(
        JobStore *s,
        int which,
        const char *key,
        const char *owner,
        int (*read)(StoreStmt *st, void *userdata),
        void *userdata) {
        StoreStmt *st = stmt(s, which);
        int r;

        store_bind_text(st, 1, key);
        if (owner)
                store_bind_text(st, 2, owner);
        r = store_step(st);
        if (r > 0)
                r = read ? read(st, userdata) : 0;
        else if (r == 0)
                r = -ENOENT;
        store_stmt_reset(st);
        return r;
}

/* After a commit: the waiting streams, and the hook of job_store_set_commit_hook(). */
static void notify_locked(JobStore *s) {
        s->generation++;
        pthread_cond_broadcast(&s->changed);
        if (s->commit_hook)
                s->commit_hook(s->db, s->commit_hook_userdata);
}

void job_store_set_commit_hook(JobStore *s, JobStoreCommitHook hook, void *userdata) {
        pthread_mutex_lock(&s->lock);
        s->commit_hook = hook;
        s->commit_hook_userdata = userdata;
        pthread_mutex_unlock(&s->lock);
}

/* Appends an event numbered with the job's last_event, which the caller has already
 * advanced (the insert sets 1, a transition or a bump increments it). */
static int add_event_locked(JobStore *s, const char *id, const char *type, const char *data, double t) {
        StoreStmt *st = stmt(s, ST_EVENT);

        store_bind_text(st, 1, id);
        store_bind_text(st, 2, type);
        store_bind_text(st, 3, data);
        store_bind_double(st, 4, t);
        return step_done(st);
}

/* A state event's data without an error, as json-c writes it. */
static const char *const state_plain[_JOB_STATUS_MAX] = {
        [JOB_PENDING] = "{\"status\":\"pending\"}",     [JOB_RUNNING] = "{\"status\":\"running\"}",
        [JOB_COMPLETED] = "{\"status\":\"completed\"}", [JOB_FAILED] = "{\"status\":\"failed\"}",
        [JOB_CANCELLED] = "{\"status\":\"cancelled\"}",
};

/* A state event's data, {"status":"…"} and "error" when there is one; *ret is a constant
 * of state_plain, or is set in *ret_buf too, for the caller to free. */
static int state_event_data(JobStatus status, const char *error, char **ret_buf, const char **ret) {
        _cleanup_json_ json_object *o = NULL;
        const char *txt;

        if (!error && status >= 0 && status < _JOB_STATUS_MAX) {
                *ret = state_plain[status];
                return 0;
        }
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "status", json_object_new_string(job_status_to_string(status)));
        if (error)
                json_object_object_add(o, "error", json_object_new_string(error));
        txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        *ret = *ret_buf = txt ? strdup(txt) : NULL;
        return *ret ? 0 : -ENOMEM;
}

/* ---- group commit ------------------------------------------------------------------- */

/* Runs every queued write in one transaction, each inside its own savepoint so that one
 * failing write (a taken idempotency key, a job already terminal) leaves the others in.
 * A failed COMMIT fails them all. Called by the leader with neither lock held. */
static void run_batch(JobStore *s, WriteOp *batch) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = store_db_begin(s->db);
        for (WriteOp *op = batch; op; op = op->next) {
                int k = r;

                if (k >= 0)
                        k = store_db_savepoint(s->db);
                if (k >= 0) {
                        k = op->fn(s, op->arg);
                        if (k < 0)
                                (void) store_db_rollback_to(s->db);
                        (void) store_db_release(s->db);
                }
                op->result = k;
        }
        if (r >= 0) {
                /* A COMMIT that fails (on PostgreSQL: the connection lost, its outcome
                 * unknown) fails every write of the batch; none is tried again. */
                r = store_db_notify(s->db, JOB_STORE_CHANNEL); /* PostgreSQL: sent at COMMIT */
                if (r >= 0)
                        r = store_db_commit(s->db);
                if (r < 0) {
                        (void) store_db_rollback(s->db);
                        for (WriteOp *op = batch; op; op = op->next)
                                if (op->result >= 0)
                                        op->result = r;
                } else
                        notify_locked(s);
        }
        s->commits++;
        pthread_mutex_unlock(&s->lock);
}

/* Queues a write and returns its result once it is committed. No timer: the writes that
 * arrive while one transaction commits go together in the next one, so a lone writer
 * pays one commit and N concurrent writers pay about one commit between them.
 * Each writer sleeps on its own semaphore and is woken once, outside queue_lock: when
 * its write is done, or to lead the next batch, which the leader hands over while it
 * still holds the lock. A broadcast to every waiter under the lock made each woken
 * writer wait for the lock again: at 32 connections most of the futex calls. */
static int store_write(JobStore *s, int (*fn)(JobStore *s, void *arg), void *arg) {
        WriteOp op = { .fn = fn, .arg = arg };
        bool lead;

        sem_init(&op.wake, 0, 0);
        pthread_mutex_lock(&s->queue_lock);
        /* op stays queued only while this thread waits below for it to be done. */
        *s->queue_tail = &op;
        /* cppcheck-suppress autoVariables ; unlinked by the leader before op is woken */
        s->queue_tail = &op.next;
        s->writes++;
        lead = !s->leader;
        s->leader = true;
        pthread_mutex_unlock(&s->queue_lock);
        if (!lead) {
                while (sem_wait(&op.wake) < 0)
                        continue; /* EINTR */
                lead = op.lead;
        }
        if (lead) {
                WriteOp *batch, *next_leader;

                pthread_mutex_lock(&s->queue_lock);
                batch = TAKE_PTR(s->queue); /* op is in it */
                s->queue_tail = &s->queue;
                pthread_mutex_unlock(&s->queue_lock);
                run_batch(s, batch);
                pthread_mutex_lock(&s->queue_lock);
                next_leader = s->queue; /* queued meanwhile: it leads, and stays queued */
                s->leader = next_leader != NULL;
                pthread_mutex_unlock(&s->queue_lock);
                for (WriteOp *o = batch, *next; o; o = next) {
                        next = o->next; /* o lives on its writer's stack: read it first */
                        if (o != &op)
                                sem_post(&o->wake);
                }
                if (next_leader) {
                        next_leader->lead = true;
                        sem_post(&next_leader->wake);
                }
        }
        sem_destroy(&op.wake);
        return op.result;
}

void job_store_commit_stats(JobStore *s, uint64_t *ret_commits, uint64_t *ret_writes) {
        pthread_mutex_lock(&s->queue_lock);
        *ret_commits = s->commits;
        *ret_writes = s->writes;
        pthread_mutex_unlock(&s->queue_lock);
}

/* ---- writes ------------------------------------------------------------------------- */

/* Moves a job that is not finished to status, with its state event. */
static int transition_locked(
        JobStore *s,
        const char *id,
        JobStatus status,
        const char *result,
        const char *error,
        int error_status,
        double t) {
        StoreStmt *st = stmt(s, ST_TRANSITION);
        _cleanup_free_ char *buf = NULL;
        const char *data;
        int r;

        r = state_event_data(status, error, &buf, &data);
        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        store_bind_text(st, 2, job_status_to_string(status));
        store_bind_text(st, 3, result);
        store_bind_text(st, 4, error);
        if (error_status > 0)
                store_bind_int64(st, 5, error_status);
        store_bind_double(st, 6, t);
        r = step_done(st);
        if (r >= 0 && store_db_changes(s->db) == 0)
                r = job_store_get_row_locked(s, ST_STATUS, id, NULL, NULL, NULL) >= 0 ? -ESTALE : -ENOENT;
        if (r >= 0)
                r = add_event_locked(s, id, "state", data, t);
        return r;
}

/* The job's row in the state it is inserted in, and its state events up to that state in
 * one statement: pending at t, running (when it runs or has an outcome), its outcome. */
static int insert_op(JobStore *s, void *arg) {
        const JobNew *job = arg;
        const JobOutcome *out = job->outcome;
        double t = job->created_at > 0 ? job->created_at : time_now_s(CLOCK_REALTIME);
        _cleanup_free_ char *final_buf = NULL;
        const char *data[3] = { state_plain[JOB_PENDING], state_plain[JOB_RUNNING] };
        double at[3] = { t };
        JobStatus status = JOB_PENDING;
        size_t n = 1;
        StoreStmt *st;
        int r;

        if (job->running || out) {
                at[1] = job->started_at > 0 ? job->started_at : t;
                status = JOB_RUNNING;
                n = 2;
        }
        if (out) {
                r = state_event_data(out->status, out->error, &final_buf, &data[2]);
                if (r < 0)
                        return r;
                at[2] = out->finished_at > 0 ? out->finished_at : time_now_s(CLOCK_REALTIME);
                status = out->status;
                n = 3;
        }

        st = stmt(s, ST_INSERT);
        store_bind_text(st, 1, job->id);
        store_bind_text(st, 2, job->kind ? job->kind : "task");
        store_bind_text(st, 3, job->service);
        store_bind_text(st, 4, job->task);
        store_bind_text(st, 5, job->priority);
        store_bind_text(st, 6, job->payload);
        store_bind_int64(st, 7, (int64_t) job->timeout_ms);
        store_bind_text(st, 8, job->idempotency_key);
        store_bind_text(st, 9, job->request_hash);
        store_bind_double(st, 10, t);
        store_bind_text(st, 11, job->submitter && *job->submitter ? job->submitter : NULL);
        store_bind_text(st, 12, job->submitter && *job->submitter ? job->submitter_role : NULL);
        store_bind_text(st, 13, job->guardrail_flags);
        if (job->cached)
                store_bind_int64(st, 14, 1);
        store_bind_text(st, 15, job->schedule_id && *job->schedule_id ? job->schedule_id : NULL);
        if (job->run_at > 0)
                store_bind_double(st, 16, job->run_at);
        if (job->delayed)
                store_bind_int64(st, 17, 1);
        store_bind_text(st, 18, job->trace_id && *job->trace_id ? job->trace_id : NULL);
        if (s->lease_owner) {
                store_bind_text(st, 19, s->lease_owner);
                store_bind_double(st, 20, t + (double) s->lease_ms / 1000.0);
        }
        store_bind_text(st, 21, job_status_to_string(status));
        store_bind_double(st, 22, at[n - 1]);
        store_bind_int64(st, 23, (int64_t) n);
        if (out) {
                store_bind_text(st, 24, out->result);
                store_bind_text(st, 25, out->error);
                if (out->error_status > 0)
                        store_bind_int64(st, 26, out->error_status);
                store_bind_text(st, 27, out->redactions);
        }
        r = step_done(st);
        if (r < 0)
                return r;

        st = stmt(s, ST_STATES_1 + (int) n - 1);
        store_bind_text(st, 1, job->id);
        for (size_t i = 0; i < n; i++) {
                store_bind_text(st, 2 + 2 * (int) i, data[i]);
                store_bind_double(st, 3 + 2 * (int) i, at[i]);
        }
        return step_done(st);
}

int job_store_insert(JobStore *s, const JobNew *job) {
        if (job->outcome && !job_status_is_terminal(job->outcome->status))
                return -EINVAL;
        return store_write(s, insert_op, (void *) job);
}

typedef struct TransitionArgs {
        const char *id;
        JobStatus status;
        const char *result, *error;
        int error_status;
} TransitionArgs;

static int transition_op(JobStore *s, void *arg) {
        const TransitionArgs *a = arg;

        return transition_locked(
                s, a->id, a->status, a->result, a->error, a->error_status, time_now_s(CLOCK_REALTIME));
}

int job_store_transition(
        JobStore *s,
        const char *id,
        JobStatus status,
        const char *result,
        const char *error,
        int error_status) {
        return store_write(
                s,
                transition_op,
                &(TransitionArgs){ .id = id,
                                   .status = status,
                                   .result = result,
                                   .error = error,
                                   .error_status = error_status });
}

/* Runs an UPDATE of one job: -ENOENT when it changed no row (no such job). */
static int step_on_job(JobStore *s, StoreStmt *st) {
        int r = step_done(st);

        return r >= 0 && store_db_changes(s->db) == 0 ? -ENOENT : r;
}

typedef struct RedactionsArgs {
        const char *id, *redactions;
} RedactionsArgs;

static int set_redactions_op(JobStore *s, void *arg) {
        const RedactionsArgs *a = arg;
        StoreStmt *st = stmt(s, ST_SET_REDACTIONS);

        store_bind_text(st, 1, a->id);
        store_bind_text(st, 2, a->redactions);
        return step_on_job(s, st);
}

int job_store_set_redactions(JobStore *s, const char *id, const char *redactions) {
        return store_write(s, set_redactions_op, &(RedactionsArgs){ id, redactions });
}

typedef struct EventArgs {
        const char *id, *type, *data;
} EventArgs;

static int add_event_op(JobStore *s, void *arg) {
        const EventArgs *a = arg;
        StoreStmt *st = stmt(s, ST_BUMP);
        int r;

        store_bind_text(st, 1, a->id);
        r = step_on_job(s, st);
        if (r >= 0)
                r = add_event_locked(s, a->id, a->type, a->data, time_now_s(CLOCK_REALTIME));
        return r;
}

int job_store_add_event(JobStore *s, const char *id, const char *type, json_object *data) {
        const char *txt = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN);

        if (!txt)
                return -ENOMEM;
        return store_write(s, add_event_op, &(EventArgs){ id, type, txt });
}

int job_store_with_db(JobStore *s, int (*fn)(StoreDb *db, void *userdata), void *userdata) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = fn(s->db, userdata);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_write_one(
        JobStore *s, const char *sql, const char *a, const char *b, double num, int if_none) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(s, sql, &st);
        if (r >= 0) {
                store_bind_text(st, 1, a);
                store_bind_text(st, 2, b);
                store_bind_double(st, 3, num);
                r = step_done(st);
                if (r >= 0 && if_none < 0 && store_db_changes(s->db) == 0)
                        r = if_none;
        }
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_set_checkpoint_pages(JobStore *s, int wake_pages, int bound_pages) {
        return store_db_checkpoint_tune(s->db, wake_pages, bound_pages);
}

int job_store_checkpoint_stats(JobStore *s, uint64_t *ret_passive, uint64_t *ret_restart) {
        return store_db_checkpoint_stats(s->db, ret_passive, ret_restart);
}

/* Expired webhook signatures, buckets and windows (?1 = now), then the events of old
 * finished jobs and those jobs (?1 = the cutoff; "finished" as the jobs_finished index
 * says it, so that the index serves them); the last count is the cleanup's answer. */
const JobStoreCleanup job_store_cleanups[] = {
        { "DELETE FROM webhook_replays WHERE expires_at < ?1", true },
        /* a bucket idle for a day is full again at any rate the settings allow */
        { "DELETE FROM rate_buckets WHERE at < CAST(?1 AS DOUBLE PRECISION) - 86400", true },
        { "DELETE FROM key_windows WHERE win < CAST(?1 AS DOUBLE PRECISION) / 60 - 1", true },
        { "DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE updated_at < ?1 "
          "AND status <> 'pending' AND status <> 'running')",
          false },
        { "DELETE FROM jobs WHERE updated_at < ?1 AND status <> 'pending' AND status <> 'running'", false },
        {},
};

int job_store_cleanup(JobStore *s, uint64_t age_ms, unsigned *ret_deleted) {
        const JobStoreCleanup *deletes = job_store_cleanups;
        double now = time_now_s(CLOCK_REALTIME), cutoff = now - (double) age_ms / 1000.0;
        int r;

        pthread_mutex_lock(&s->lock);
        r = store_db_begin(s->db);
        for (size_t i = 0; r >= 0 && deletes[i].sql; i++) {
                StoreStmt *st = NULL;

                r = prepare(s, deletes[i].sql, &st);
                if (r >= 0) {
                        store_bind_double(st, 1, deletes[i].now ? now : cutoff);
                        r = step_done(st);
                }
                store_stmt_finalize(st);
        }
        if (r >= 0 && ret_deleted)
                *ret_deleted = (unsigned) store_db_changes(s->db);
        if (r >= 0)
                r = store_db_commit(s->db);
        else
                (void) store_db_rollback(s->db);
        pthread_mutex_unlock(&s->lock);
        return r;
}

uint64_t job_store_generation(JobStore *s) {
        uint64_t g;

        pthread_mutex_lock(&s->lock);
        g = s->generation;
        pthread_mutex_unlock(&s->lock);
        return g;
}

void job_store_wait_change(JobStore *s, uint64_t gen, uint64_t timeout_ms, const atomic_bool *stop) {
        struct timespec ts;

        ts = timespec_deadline_ms(timeout_ms);
        pthread_mutex_lock(&s->lock);
        while (s->generation == gen && !(stop && atomic_load(stop)))
                if (pthread_cond_timedwait(&s->changed, &s->lock, &ts) != 0)
                        break;
        pthread_mutex_unlock(&s->lock);
}

void job_store_wake(JobStore *s) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
}
