/* SPDX-License-Identifier: MIT */
/* job-store.c — the jobs and job_events tables: schema and migrations, the group commit
 * and the writes. SQLite result codes become -errno in one place (sqlite_errno in
 * job-store-internal.h). Reads: job-store-read.c; the WAL checkpointer thread:
 * job-store-checkpoint.c; named leases: job-store-locks.c; API keys: job-store-keys.c; token
 * usage: job-store-usage.c; schedules and delayed jobs: job-store-schedules.c. */
#include <inttypes.h>
#include <time.h>

#include "job-store-internal.h"
#include "json-util.h"
#include "time-util.h"

static const char *const statements[_ST_MAX] = {
        [ST_INSERT] =
                "INSERT INTO jobs(id, kind, service, task, status, priority, payload, timeout_ms, "
                "idempotency_key, request_hash, created_at, updated_at, last_event, submitter, "
                "submitter_role, guardrail_flags, cached, schedule_id, run_at, delayed, trace_id) "
                "VALUES(?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
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
                "WHERE id = ?1 AND (?2 IS NULL OR submitter = ?2)",
        [ST_STATUS] = "SELECT status FROM jobs WHERE id = ?1 AND (?2 IS NULL OR submitter = ?2)",
        [ST_OWNER] = "SELECT submitter FROM jobs WHERE id = ?1",
        [ST_EVENTS] =
                "SELECT id, type, data, created_at FROM job_events WHERE job_id = ?1 AND id > ?2 "
                "ORDER BY id",
        [ST_FIND_KEY] = "SELECT id, request_hash FROM jobs WHERE idempotency_key = ?1",
        [ST_BUMP] = "UPDATE jobs SET last_event = last_event + 1 WHERE id = ?1",
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SET_REDACTIONS] = "UPDATE jobs SET redactions = coalesce(?2, redactions) WHERE id = ?1",
        [ST_SAVEPOINT] = "SAVEPOINT op",
        [ST_RELEASE] = "RELEASE op",
        [ST_ROLLBACK_TO] = "ROLLBACK TO op",
        /* A job inserted with its outcome (a synchronous job that finished within the
         * grace period): the row goes in once, with its final state and timestamps. */
        [ST_OUTCOME] =
                "UPDATE jobs SET status = ?2, result = ?3, error = ?4, error_status = ?5, "
                "updated_at = ?6, redactions = ?7, last_event = last_event + 1 WHERE id = ?1",
};

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS jobs("
        " seq INTEGER PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE,"
        " kind TEXT NOT NULL DEFAULT 'task',"
        " service TEXT NOT NULL,"
        " task TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " priority TEXT NOT NULL,"
        " payload TEXT NOT NULL,"
        " timeout_ms INTEGER NOT NULL DEFAULT 0,"
        " result TEXT,"
        " error TEXT,"
        " error_status INTEGER,"
        " idempotency_key TEXT UNIQUE,"
        " request_hash TEXT,"
        " created_at REAL NOT NULL,"
        " updated_at REAL NOT NULL,"
        " last_event INTEGER NOT NULL DEFAULT 0,"
        " submitter TEXT,"
        " submitter_role TEXT,"
        " guardrail_flags TEXT,"
        " redactions TEXT,"
        " cached INTEGER,"
        " trace_id TEXT);"
        "CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);"
        "CREATE TABLE IF NOT EXISTS job_events("
        " job_id TEXT NOT NULL,"
        " id INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " data TEXT NOT NULL,"
        " created_at REAL NOT NULL,"
        " PRIMARY KEY(job_id, id)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS locks("
        " name TEXT PRIMARY KEY,"
        " owner TEXT NOT NULL,"
        " expires_at REAL NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS service_tasks("
        " service TEXT PRIMARY KEY,"
        " answer TEXT NOT NULL,"
        " saved_at REAL NOT NULL) WITHOUT ROWID;"
        /* API keys (job-store-keys.c): only a SHA-256 of the secret is kept. */
        "CREATE TABLE IF NOT EXISTS api_keys("
        " id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " role TEXT NOT NULL,"
        " prefix TEXT NOT NULL,"
        " hash BLOB NOT NULL UNIQUE,"
        " created_at REAL NOT NULL,"
        " created_by TEXT,"
        " last_used REAL,"
        " revoked_at REAL,"
        " budget_tokens_day INTEGER,"
        " budget_tokens_month INTEGER,"
        " rpm INTEGER,"
        " tpm INTEGER) WITHOUT ROWID;"
        /* Token usage per principal, UTC day and model (job-store-usage.c). */
        "CREATE TABLE IF NOT EXISTS usage("
        " principal TEXT NOT NULL,"
        " day TEXT NOT NULL,"
        " model TEXT NOT NULL,"
        " requests INTEGER NOT NULL,"
        " prompt_tokens INTEGER NOT NULL,"
        " completion_tokens INTEGER NOT NULL,"
        " PRIMARY KEY(principal, day, model)) WITHOUT ROWID;"
        /* Schedules (job-store-schedules.c): next_run_at is the claim of each run. */
        "CREATE TABLE IF NOT EXISTS schedules("
        " id TEXT PRIMARY KEY,"
        " owner TEXT,"
        " owner_role TEXT,"
        " service TEXT NOT NULL,"
        " task TEXT NOT NULL,"
        " priority TEXT NOT NULL,"
        " payload TEXT NOT NULL,"
        " timeout_ms INTEGER NOT NULL,"
        " cron TEXT,"
        " every_ms INTEGER,"
        " anchor REAL NOT NULL,"
        " start_at REAL,"
        " overlap TEXT NOT NULL,"
        " catch_up TEXT NOT NULL,"
        " paused INTEGER NOT NULL DEFAULT 0,"
        " next_run_at REAL NOT NULL,"
        " held_at REAL,"
        " last_run_at REAL,"
        " last_job_id TEXT,"
        " runs INTEGER NOT NULL DEFAULT 0,"
        " skipped INTEGER NOT NULL DEFAULT 0,"
        " missed INTEGER NOT NULL DEFAULT 0,"
        " created_at REAL NOT NULL) WITHOUT ROWID;";

/* After the migrations (an older database gets the submitter column first): a principal's
 * own page of GET /jobs. */
static const char indexes[] =
        "CREATE INDEX IF NOT EXISTS jobs_submitter ON jobs(submitter, seq);"
        "CREATE INDEX IF NOT EXISTS jobs_schedule ON jobs(schedule_id) WHERE schedule_id IS NOT NULL;"
        "CREATE INDEX IF NOT EXISTS jobs_delayed ON jobs(run_at) WHERE delayed = 1;";

/* Columns added after the first release: a database created by an older binary gets them
 * with ALTER TABLE (existing rows: NULL = submitted with auth off, nothing flagged). */
static const struct {
        const char *table, *column, *decl;
} migrations[] = {
        { "jobs", "submitter", "TEXT" },       { "jobs", "submitter_role", "TEXT" },
        { "jobs", "guardrail_flags", "TEXT" }, /* JSON array of the guardrail rules that flagged it */
        { "jobs", "redactions", "TEXT" },      /* JSON object of redaction counts by kind */
        { "jobs", "cached", "INTEGER" },       /* 1 = answered from the result cache */
        { "jobs", "schedule_id", "TEXT" },     /* the schedule whose run it is */
        { "jobs", "run_at", "REAL" },          /* when it was due (a schedule's run, or run_at) */
        { "jobs", "delayed", "INTEGER" },      /* 1 while it waits for run_at */
        { "jobs", "trace_id", "TEXT" },        /* the W3C trace it ran in (deploy.sh trace) */
};

struct WriteOp {
        int (*fn)(JobStore *s, void *arg); /* runs under s->lock inside the transaction */
        void *arg;
        int result;
        bool done;
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
        job_store_checkpoint_stop(&s->ckpt); /* before the writer closes: its close checkpoints the rest */
        for (size_t i = 0; i < _ST_MAX; i++)
                sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->queue_done);
        pthread_mutex_destroy(&s->queue_lock);
        job_store_checkpoint_done(&s->ckpt);
        free(s);
}

void job_format_time(double t, char buf[static 32]) {
        time_t secs = (time_t) t;
        int ms = (int) ((t - (double) secs) * 1000.0);

        if (time_format_rfc3339(secs, CLAMP(ms, 0, 999), buf, 32) == -EINVAL)
                buf[0] = '\0';
}

static int column_exists(sqlite3 *db, const char *table, const char *column, bool *ret) {
        _cleanup_free_ char *sql = NULL;
        sqlite3_stmt *st = NULL;
        int rc;

        if (asprintf(&sql, "PRAGMA table_info(%s)", table) < 0)
                return SQLITE_NOMEM;
        *ret = false;
        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (streq(strempty((const char *) sqlite3_column_text(st, 1)), column))
                        *ret = true;
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Returns an SQLite result code like the rest of job_store_open(). */
static int migrate(sqlite3 *db) {
        for (size_t i = 0; i < ELEMENTSOF(migrations); i++) {
                _cleanup_free_ char *sql = NULL;
                bool exists;
                int rc;

                rc = column_exists(db, migrations[i].table, migrations[i].column, &exists);
                if (rc != SQLITE_OK)
                        return rc;
                if (exists)
                        continue;
                if (asprintf(
                            &sql,
                            "ALTER TABLE %s ADD COLUMN %s %s",
                            migrations[i].table,
                            migrations[i].column,
                            migrations[i].decl) < 0)
                        return SQLITE_NOMEM;
                rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        return rc;
        }
        return SQLITE_OK;
}

int job_store_open(const char *path, JobStore **ret) {
        JobStore *s;
        int rc, r;

        s = calloc(1, sizeof(JobStore));
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->changed, NULL);
        pthread_mutex_init(&s->queue_lock, NULL);
        pthread_cond_init(&s->queue_done, NULL);
        s->queue_tail = &s->queue;
        job_store_checkpoint_init(&s->ckpt);
        rc = sqlite3_open_v2(
                path,
                &s->db,
                SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                NULL);
        if (rc != SQLITE_OK) {
                r = sqlite_errno(rc);
                job_store_free(s);
                return r;
        }
        (void) sqlite3_busy_timeout(s->db, 5000);
        /* WAL + synchronous=NORMAL: a commit is durable against a crash of the process, and
         * costs no fsync; only a power loss can take the last transactions. 1 KiB pages
         * (set before the file exists): a job's commit touches ~4 pages, and writing 4 KiB
         * pages made the store the bottleneck (2,200 jobs/s against 10,000 measured). */
        rc = sqlite3_exec(
                s->db,
                "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;",
                NULL,
                NULL,
                NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = migrate(s->db);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(s->db, indexes, NULL, NULL, NULL);
        for (size_t i = 0; rc == SQLITE_OK && i < _ST_MAX; i++)
                rc = sqlite3_prepare_v3(
                        s->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc == SQLITE_OK)
                rc = job_store_checkpoint_start(&s->ckpt, s->db, path);
        if (rc != SQLITE_OK) {
                r = sqlite_errno(rc);
                job_store_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int job_store_get_row_locked(
        JobStore *s,
        int which,
        const char *key,
        const char *owner,
        int (*read)(sqlite3_stmt *st, void *userdata),
        void *userdata) {
        sqlite3_stmt *st = stmt(s, which);
        int rc, r = 0;

        bind_text(st, 1, key);
        if (owner)
                bind_text(st, 2, owner);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                if (read)
                        r = read(st, userdata);
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
        sqlite3_reset(st);
        return r;
}

static int exec_simple(JobStore *s, int which) {
        return sqlite_errno(sqlite3_step(stmt(s, which)));
}

static void notify_locked(JobStore *s) {
        s->generation++;
        pthread_cond_broadcast(&s->changed);
}

/* Appends an event numbered with the job's last_event, which the caller has already
 * advanced (the insert sets 1, a transition or a bump increments it). */
static int add_event_locked(JobStore *s, const char *id, const char *type, const char *data, double t) {
        sqlite3_stmt *st = stmt(s, ST_EVENT);

        bind_text(st, 1, id);
        bind_text(st, 2, type);
        bind_text(st, 3, data);
        (void) sqlite3_bind_double(st, 4, t);
        return sqlite_errno(sqlite3_step(st));
}

static int state_event_data(JobStatus status, const char *error, char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        const char *txt;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "status", json_object_new_string(job_status_to_string(status)));
        if (error)
                json_object_object_add(o, "error", json_object_new_string(error));
        txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        *ret = txt ? strdup(txt) : NULL;
        return *ret ? 0 : -ENOMEM;
}

/* ---- group commit ------------------------------------------------------------------- */

/* Runs every queued write in one transaction, each inside its own savepoint so that one
 * failing write (a taken idempotency key, a job already terminal) leaves the others in.
 * A failed COMMIT fails them all. Called by the leader with neither lock held. */
static void run_batch(JobStore *s, WriteOp *batch) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = exec_simple(s, ST_BEGIN);
        for (WriteOp *op = batch; op; op = op->next) {
                int k = r;

                if (k >= 0)
                        k = exec_simple(s, ST_SAVEPOINT);
                if (k >= 0) {
                        k = op->fn(s, op->arg);
                        if (k < 0)
                                (void) exec_simple(s, ST_ROLLBACK_TO);
                        (void) exec_simple(s, ST_RELEASE);
                }
                op->result = k;
        }
        if (r >= 0) {
                r = exec_simple(s, ST_COMMIT);
                if (r < 0) {
                        (void) exec_simple(s, ST_ROLLBACK);
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
 * pays one commit and N concurrent writers pay about one commit between them. */
static int store_write(JobStore *s, int (*fn)(JobStore *s, void *arg), void *arg) {
        WriteOp op = { .fn = fn, .arg = arg };

        pthread_mutex_lock(&s->queue_lock);
        /* op stays queued only while this thread waits below for it to be done. */
        *s->queue_tail = &op;
        /* cppcheck-suppress autoVariables ; unlinked by the leader before op.done is set */
        s->queue_tail = &op.next;
        s->writes++;
        while (!op.done) {
                WriteOp *batch;

                if (s->leader) {
                        pthread_cond_wait(&s->queue_done, &s->queue_lock);
                        continue;
                }
                s->leader = true;
                batch = TAKE_PTR(s->queue);
                s->queue_tail = &s->queue;
                pthread_mutex_unlock(&s->queue_lock);
                run_batch(s, batch);
                pthread_mutex_lock(&s->queue_lock);
                for (WriteOp *o = batch, *next; o; o = next) {
                        next = o->next; /* o lives on its writer's stack: read it first */
                        o->done = true;
                }
                s->leader = false;
                pthread_cond_broadcast(&s->queue_done);
        }
        pthread_mutex_unlock(&s->queue_lock);
        return op.result;
}

void job_store_commit_stats(JobStore *s, uint64_t *ret_commits, uint64_t *ret_writes) {
        pthread_mutex_lock(&s->queue_lock);
        *ret_commits = s->commits;
        *ret_writes = s->writes;
        pthread_mutex_unlock(&s->queue_lock);
}

/* ---- writes ------------------------------------------------------------------------- */

/* ST_TRANSITION or ST_OUTCOME with a job's new state bound: ?1 id, ?2 status, ?3 result,
 * ?4 error, ?5 error_status (NULL when 0), ?6 the time. */
static sqlite3_stmt *stmt_state(
        JobStore *s,
        int which,
        const char *id,
        JobStatus status,
        const char *result,
        const char *error,
        int error_status,
        double t) {
        sqlite3_stmt *st = stmt(s, which);

        bind_text(st, 1, id);
        bind_text(st, 2, job_status_to_string(status));
        bind_text(st, 3, result);
        bind_text(st, 4, error);
        if (error_status > 0)
                (void) sqlite3_bind_int(st, 5, error_status);
        else
                (void) sqlite3_bind_null(st, 5);
        (void) sqlite3_bind_double(st, 6, t);
        return st;
}

static int transition_locked(
        JobStore *s,
        const char *id,
        JobStatus status,
        const char *result,
        const char *error,
        int error_status,
        double t) {
        _cleanup_free_ char *data = NULL;
        sqlite3_stmt *st;
        int r;

        r = state_event_data(status, error, &data);
        if (r < 0)
                return r;
        st = stmt_state(s, ST_TRANSITION, id, status, result, error, error_status, t);
        r = sqlite_errno(sqlite3_step(st));
        if (r >= 0 && sqlite3_changes(s->db) == 0)
                r = job_store_get_row_locked(s, ST_STATUS, id, NULL, NULL, NULL) >= 0 ? -ESTALE : -ENOENT;
        if (r >= 0)
                r = add_event_locked(s, id, "state", data, t);
        return r;
}

static int insert_op(JobStore *s, void *arg) {
        const JobNew *job = arg;
        double t = job->created_at > 0 ? job->created_at : time_now_s(CLOCK_REALTIME);
        _cleanup_free_ char *data = NULL;
        sqlite3_stmt *st;
        int r;

        r = state_event_data(JOB_PENDING, NULL, &data);
        if (r < 0)
                return r;
        st = stmt(s, ST_INSERT);
        bind_text(st, 1, job->id);
        bind_text(st, 2, job->kind ? job->kind : "task");
        bind_text(st, 3, job->service);
        bind_text(st, 4, job->task);
        bind_text(st, 5, job->priority);
        bind_text(st, 6, job->payload);
        (void) sqlite3_bind_int64(st, 7, (sqlite3_int64) job->timeout_ms);
        bind_text(st, 8, job->idempotency_key);
        bind_text(st, 9, job->request_hash);
        (void) sqlite3_bind_double(st, 10, t);
        bind_text(st, 11, job->submitter && *job->submitter ? job->submitter : NULL);
        bind_text(st, 12, job->submitter && *job->submitter ? job->submitter_role : NULL);
        bind_text(st, 13, job->guardrail_flags);
        if (job->cached)
                (void) sqlite3_bind_int(st, 14, 1);
        else
                (void) sqlite3_bind_null(st, 14);
        bind_text(st, 15, job->schedule_id && *job->schedule_id ? job->schedule_id : NULL);
        if (job->run_at > 0)
                (void) sqlite3_bind_double(st, 16, job->run_at);
        if (job->delayed)
                (void) sqlite3_bind_int(st, 17, 1);
        bind_text(st, 18, job->trace_id && *job->trace_id ? job->trace_id : NULL);
        r = sqlite_errno(sqlite3_step(st));
        if (r >= 0)
                r = add_event_locked(s, job->id, "state", data, t);
        if (r >= 0 && (job->running || job->outcome))
                r = transition_locked(
                        s,
                        job->id,
                        JOB_RUNNING,
                        NULL,
                        NULL,
                        0,
                        job->outcome && job->outcome->started_at > 0 ? job->outcome->started_at : t);
        if (r >= 0 && job->outcome) {
                const JobOutcome *out = job->outcome;
                double done = out->finished_at > 0 ? out->finished_at : time_now_s(CLOCK_REALTIME);
                _cleanup_free_ char *final = NULL;

                r = state_event_data(out->status, out->error, &final);
                if (r >= 0) {
                        st = stmt_state(
                                s,
                                ST_OUTCOME,
                                job->id,
                                out->status,
                                out->result,
                                out->error,
                                out->error_status,
                                done);
                        bind_text(st, 7, out->redactions);
                        r = sqlite_errno(sqlite3_step(st));
                }
                if (r >= 0)
                        r = add_event_locked(s, job->id, "state", final, done);
        }
        return r;
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
static int step_on_job(JobStore *s, sqlite3_stmt *st) {
        int r = sqlite_errno(sqlite3_step(st));

        return r >= 0 && sqlite3_changes(s->db) == 0 ? -ENOENT : r;
}

typedef struct RedactionsArgs {
        const char *id, *redactions;
} RedactionsArgs;

static int set_redactions_op(JobStore *s, void *arg) {
        const RedactionsArgs *a = arg;
        sqlite3_stmt *st = stmt(s, ST_SET_REDACTIONS);

        bind_text(st, 1, a->id);
        bind_text(st, 2, a->redactions);
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
        sqlite3_stmt *st = stmt(s, ST_BUMP);
        int r;

        bind_text(st, 1, a->id);
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

int job_store_with_db(JobStore *s, int (*fn)(sqlite3 *db, void *userdata), void *userdata) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = fn(s->db, userdata);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_write_one(
        JobStore *s, const char *sql, const char *a, const char *b, double num, int if_none) {
        sqlite3_stmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r = prepare(s, sql, &st);
        if (r >= 0) {
                bind_text(st, 1, a);
                bind_text(st, 2, b);
                (void) sqlite3_bind_double(st, 3, num);
                r = sqlite_errno(sqlite3_step(st));
                if (r >= 0 && if_none < 0 && sqlite3_changes(s->db) == 0)
                        r = if_none;
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_sqlite_errno(int rc) {
        return sqlite_errno(rc);
}

int job_store_cleanup(JobStore *s, uint64_t age_ms, unsigned *ret_deleted) {
        /* The events first, then their jobs; the second count is the answer. */
        static const char *const deletes[] = {
                "DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE updated_at < ?1 "
                "AND status IN ('completed', 'failed', 'cancelled'))",
                "DELETE FROM jobs WHERE updated_at < ?1 AND status IN ('completed', 'failed', 'cancelled')",
        };
        double cutoff = time_now_s(CLOCK_REALTIME) - (double) age_ms / 1000.0;
        int r;

        pthread_mutex_lock(&s->lock);
        r = exec_simple(s, ST_BEGIN);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(deletes); i++) {
                sqlite3_stmt *st = NULL;

                r = prepare(s, deletes[i], &st);
                if (r >= 0) {
                        (void) sqlite3_bind_double(st, 1, cutoff);
                        r = sqlite_errno(sqlite3_step(st));
                }
                sqlite3_finalize(st);
        }
        if (r >= 0 && ret_deleted)
                *ret_deleted = (unsigned) sqlite3_changes(s->db);
        if (r >= 0)
                r = exec_simple(s, ST_COMMIT);
        else
                (void) exec_simple(s, ST_ROLLBACK);
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
