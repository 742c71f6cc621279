/* SPDX-License-Identifier: MIT */
/* job-store.c — the jobs and job_events tables. SQLite result codes become -errno here
 * and nowhere else (sqlite_errno). */
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "job-store.h"
#include "json-util.h"
#include "macro.h"
#include "time-util.h"

enum {
        ST_INSERT,
        ST_EVENT,
        ST_TRANSITION,
        ST_GET,
        ST_STATUS,
        ST_OWNER,
        ST_EVENTS,
        ST_FIND_KEY,
        ST_BUMP,
        ST_BEGIN,
        ST_COMMIT,
        ST_ROLLBACK,
        ST_SET_REDACTIONS,
        ST_SAVEPOINT,
        ST_RELEASE,
        ST_ROLLBACK_TO,
        ST_OUTCOME,
        _ST_MAX,
};

static const char *const statements[_ST_MAX] = {
        [ST_INSERT] =
                "INSERT INTO jobs(id, kind, service, task, status, priority, payload, timeout_ms, "
                "idempotency_key, request_hash, created_at, updated_at, last_event, submitter, "
                "submitter_role, guardrail_flags) "
                "VALUES(?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1, ?11, ?12, ?13)",
        [ST_EVENT] =
                "INSERT INTO job_events(job_id, id, type, data, created_at) "
                "SELECT ?1, last_event, ?2, ?3, ?4 FROM jobs WHERE id = ?1",
        [ST_TRANSITION] =
                "UPDATE jobs SET status = ?2, result = ?3, error = ?4, error_status = ?5, "
                "updated_at = ?6, last_event = last_event + 1 "
                "WHERE id = ?1 AND status IN ('pending', 'running')",
        [ST_GET] =
                "SELECT id, status, service, task, priority, created_at, updated_at, result, error, "
                "error_status, kind, submitter, submitter_role, guardrail_flags, redactions FROM jobs "
                "WHERE id = ?1",
        [ST_STATUS] = "SELECT status FROM jobs WHERE id = ?1",
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
        " redactions TEXT);"
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
        " expires_at REAL NOT NULL) WITHOUT ROWID;";

/* Columns added after the first release: a database created by an older binary gets them
 * with ALTER TABLE (existing rows: NULL = submitted with auth off, nothing flagged). */
static const struct {
        const char *table, *column, *decl;
} migrations[] = {
        { "jobs", "submitter", "TEXT" },
        { "jobs", "submitter_role", "TEXT" },
        { "jobs", "guardrail_flags", "TEXT" }, /* JSON array of the guardrail rules that flagged it */
        { "jobs", "redactions", "TEXT" },      /* JSON object of redaction counts by kind */
};

/* A write waiting for the next group commit. */
typedef struct WriteOp {
        int (*fn)(JobStore *s, void *arg); /* runs under s->lock inside the transaction */
        void *arg;
        int result;
        bool done;
        struct WriteOp *next;
} WriteOp;

struct JobStore {
        pthread_mutex_t lock; /* the connection */
        pthread_cond_t changed;
        uint64_t generation;
        sqlite3 *db;
        sqlite3_stmt *st[_ST_MAX];

        /* Group commit: writers queue here; one of them (the leader) runs every queued
         * write in one transaction while the next ones queue behind it. */
        pthread_mutex_t queue_lock;
        pthread_cond_t queue_done;
        WriteOp *queue, **queue_tail;
        bool leader;
        uint64_t commits, writes; /* for tests and the docs' figures */

        /* WAL checkpoints off the request path: the writing connection has
         * wal_autocheckpoint=0, and a thread with its own connection copies the WAL back
         * into the database (PASSIVE: never blocks the writer) when a commit leaves more
         * than ckpt_wake_pages in it, and CHECKPOINT_INTERVAL_MS after a commit made the WAL
         * dirty (an idle store sleeps without timers). A commit that
         * leaves ckpt_bound_pages runs a RESTART checkpoint itself: the WAL stays bounded. */
        sqlite3 *ckpt_db;
        pthread_t ckpt_thread;
        bool ckpt_started;
        pthread_mutex_t ckpt_lock;
        pthread_cond_t ckpt_cond;
        bool ckpt_stop, ckpt_kick;
        bool ckpt_dirty; /* committed since the last checkpoint; atomic, set under ckpt_lock */
        int ckpt_wake_pages, ckpt_bound_pages;
        int ckpt_kicked_at;                  /* WAL frames at the last wake-up; the writer's (under lock) */
        uint64_t ckpt_passive, ckpt_restart; /* for tests */
};

#define CHECKPOINT_WAKE_PAGES 1000 /* SQLite's own autocheckpoint default */
#define CHECKPOINT_BOUND_PAGES 16000
#define CHECKPOINT_INTERVAL_MS 1000

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

static int sqlite_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        default:
                return -EIO;
        }
}

static double now_unix(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void job_format_time(double t, char buf[static 32]) {
        time_t secs = (time_t) t;
        struct tm tm;
        int ms = (int) ((t - (double) secs) * 1000.0);

        char tmp[96];

        gmtime_r(&secs, &tm);
        snprintf(
                tmp,
                sizeof(tmp),
                "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900,
                tm.tm_mon + 1,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec,
                CLAMP(ms, 0, 999));
        snprintf(buf, 32, "%.31s", tmp);
}

static void checkpoint_stop(JobStore *s) {
        if (s->ckpt_started) {
                pthread_mutex_lock(&s->ckpt_lock);
                s->ckpt_stop = true;
                pthread_cond_signal(&s->ckpt_cond);
                pthread_mutex_unlock(&s->ckpt_lock);
                pthread_join(s->ckpt_thread, NULL);
                s->ckpt_started = false;
        }
        sqlite3_close(TAKE_PTR(s->ckpt_db));
}

void job_store_free(JobStore *s) {
        if (!s)
                return;
        checkpoint_stop(s); /* before the writer closes: its close checkpoints the rest */
        for (size_t i = 0; i < _ST_MAX; i++)
                sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->queue_done);
        pthread_mutex_destroy(&s->queue_lock);
        pthread_cond_destroy(&s->ckpt_cond);
        pthread_mutex_destroy(&s->ckpt_lock);
        free(s);
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

/* After every commit of the writing connection, under s->lock: wakes the checkpointer
 * once the WAL passes ckpt_wake_pages. */
static int wal_hook(void *userdata, sqlite3 *db, const char *name, int pages) {
        JobStore *s = userdata;

        /* Only the first commit after a checkpoint takes the lock: it wakes the idle
         * checkpointer, which then waits CHECKPOINT_INTERVAL_MS for more. */
        if (!__atomic_load_n(&s->ckpt_dirty, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&s->ckpt_lock);
                __atomic_store_n(&s->ckpt_dirty, true, __ATOMIC_SEQ_CST);
                pthread_cond_signal(&s->ckpt_cond);
                pthread_mutex_unlock(&s->ckpt_lock);
        }
        if (pages >= __atomic_load_n(&s->ckpt_bound_pages, __ATOMIC_RELAXED)) {
                /* Writes that never pause leave no moment where the WAL is fully copied
                 * back and unread, so it is never reused and grows: past the bound the
                 * writer itself restarts it (the checkpointer has copied most frames). */
                if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL) == SQLITE_OK)
                        __atomic_add_fetch(&s->ckpt_restart, 1, __ATOMIC_RELAXED);
                s->ckpt_kicked_at = 0;
                return SQLITE_OK;
        }
        if (pages < s->ckpt_kicked_at) /* the WAL was reused from its start */
                s->ckpt_kicked_at = 0;
        /* Once per wake_pages of new frames, not after every commit: while writes go on
         * the WAL is not reused, and a PASSIVE checkpoint per commit (each with its
         * fdatasync) took 30 % of a core at 1 connection. */
        if (pages - s->ckpt_kicked_at >= __atomic_load_n(&s->ckpt_wake_pages, __ATOMIC_RELAXED)) {
                s->ckpt_kicked_at = pages;
                pthread_mutex_lock(&s->ckpt_lock);
                if (!s->ckpt_kick) {
                        s->ckpt_kick = true;
                        pthread_cond_signal(&s->ckpt_cond);
                }
                pthread_mutex_unlock(&s->ckpt_lock);
        }
        return SQLITE_OK;
}

static void *checkpointer(void *userdata) {
        JobStore *s = userdata;

        pthread_mutex_lock(&s->ckpt_lock);
        while (!s->ckpt_stop) {
                if (!s->ckpt_kick) {
                        struct timespec ts;

                        if (!__atomic_load_n(&s->ckpt_dirty, __ATOMIC_SEQ_CST)) {
                                /* Nothing committed since the last checkpoint. */
                                pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
                                continue;
                        }
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        ts.tv_sec += CHECKPOINT_INTERVAL_MS / 1000;
                        (void) pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &ts);
                        if (s->ckpt_stop)
                                break;
                }
                s->ckpt_kick = false;
                /* Commits from here on dirty it again (and are in the next checkpoint). */
                __atomic_store_n(&s->ckpt_dirty, false, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&s->ckpt_lock);
                /* Errors (I/O) are left for the next round: commits do not depend on them. */
                (void) sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
                pthread_mutex_lock(&s->ckpt_lock);
                s->ckpt_passive++;
        }
        pthread_mutex_unlock(&s->ckpt_lock);
        return NULL;
}

/* The checkpointer for a database file in WAL mode (none for :memory: or a failed
 * switch to WAL: SQLite's own autocheckpoint then stays). */
static int checkpoint_start(JobStore *s, const char *path) {
        sqlite3_stmt *st = NULL;
        bool wal = false;
        int rc;

        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                wal = streq_ptr((const char *) sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        if (!wal)
                return SQLITE_OK;
        rc = sqlite3_open_v2(
                path,
                &s->ckpt_db,
                SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                NULL);
        if (rc != SQLITE_OK)
                return rc;
        (void) sqlite3_busy_timeout(s->ckpt_db, 5000);
        /* A connection learns that the file is in WAL mode when it first reads it; until
         * then its checkpoints do nothing. */
        rc = sqlite3_exec(s->ckpt_db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return rc;
        if (pthread_create(&s->ckpt_thread, NULL, checkpointer, s) != 0)
                return SQLITE_NOMEM;
        s->ckpt_started = true;
        /* The pragma first: it replaces any WAL hook with none. */
        rc = sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                (void) sqlite3_wal_hook(s->db, wal_hook, s);
        return rc;
}

void job_store_set_checkpoint_pages(JobStore *s, int wake_pages, int bound_pages) {
        pthread_mutex_lock(&s->ckpt_lock);
        __atomic_store_n(&s->ckpt_wake_pages, wake_pages, __ATOMIC_RELAXED);
        __atomic_store_n(&s->ckpt_bound_pages, bound_pages, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&s->ckpt_lock);
}

void job_store_checkpoint_stats(JobStore *s, uint64_t *ret_passive, uint64_t *ret_restart) {
        pthread_mutex_lock(&s->ckpt_lock);
        *ret_passive = s->ckpt_passive;
        *ret_restart = __atomic_load_n(&s->ckpt_restart, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&s->ckpt_lock);
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
        pthread_mutex_init(&s->ckpt_lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->ckpt_cond, &ca);
        pthread_condattr_destroy(&ca);
        s->ckpt_wake_pages = CHECKPOINT_WAKE_PAGES;
        s->ckpt_bound_pages = CHECKPOINT_BOUND_PAGES;
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
        for (size_t i = 0; rc == SQLITE_OK && i < _ST_MAX; i++)
                rc = sqlite3_prepare_v3(
                        s->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc == SQLITE_OK)
                rc = checkpoint_start(s, path);
        if (rc != SQLITE_OK) {
                r = sqlite_errno(rc);
                job_store_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static sqlite3_stmt *stmt(JobStore *s, int which) {
        sqlite3_reset(s->st[which]);
        sqlite3_clear_bindings(s->st[which]);
        return s->st[which];
}

static int exec_simple(JobStore *s, int which) {
        return sqlite_errno(sqlite3_step(stmt(s, which)));
}

static void notify_locked(JobStore *s) {
        s->generation++;
        pthread_cond_broadcast(&s->changed);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v) {
        if (v)
                (void) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
        else
                (void) sqlite3_bind_null(st, i);
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
        st = stmt(s, ST_TRANSITION);
        bind_text(st, 1, id);
        bind_text(st, 2, job_status_to_string(status));
        bind_text(st, 3, result);
        bind_text(st, 4, error);
        if (error_status > 0)
                (void) sqlite3_bind_int(st, 5, error_status);
        else
                (void) sqlite3_bind_null(st, 5);
        (void) sqlite3_bind_double(st, 6, t);
        r = sqlite_errno(sqlite3_step(st));
        if (r >= 0 && sqlite3_changes(s->db) == 0) {
                sqlite3_stmt *q = stmt(s, ST_STATUS);

                bind_text(q, 1, id);
                r = sqlite3_step(q) == SQLITE_ROW ? -ESTALE : -ENOENT;
                sqlite3_reset(q);
        }
        if (r >= 0)
                r = add_event_locked(s, id, "state", data, t);
        return r;
}

static int insert_op(JobStore *s, void *arg) {
        const JobNew *job = arg;
        double t = job->created_at > 0 ? job->created_at : now_unix();
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
                double done = out->finished_at > 0 ? out->finished_at : now_unix();
                _cleanup_free_ char *final = NULL;

                r = state_event_data(out->status, out->error, &final);
                if (r >= 0) {
                        st = stmt(s, ST_OUTCOME);
                        bind_text(st, 1, job->id);
                        bind_text(st, 2, job_status_to_string(out->status));
                        bind_text(st, 3, out->result);
                        bind_text(st, 4, out->error);
                        if (out->error_status > 0)
                                (void) sqlite3_bind_int(st, 5, out->error_status);
                        else
                                (void) sqlite3_bind_null(st, 5);
                        (void) sqlite3_bind_double(st, 6, done);
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

        return transition_locked(s, a->id, a->status, a->result, a->error, a->error_status, now_unix());
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

typedef struct RedactionsArgs {
        const char *id, *redactions;
} RedactionsArgs;

static int set_redactions_op(JobStore *s, void *arg) {
        const RedactionsArgs *a = arg;
        sqlite3_stmt *st = stmt(s, ST_SET_REDACTIONS);
        int r;

        bind_text(st, 1, a->id);
        bind_text(st, 2, a->redactions);
        r = sqlite_errno(sqlite3_step(st));
        if (r >= 0 && sqlite3_changes(s->db) == 0)
                r = -ENOENT;
        return r;
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
        r = sqlite_errno(sqlite3_step(st));
        if (r >= 0 && sqlite3_changes(s->db) == 0)
                r = -ENOENT;
        if (r >= 0)
                r = add_event_locked(s, a->id, a->type, a->data, now_unix());
        return r;
}

int job_store_add_event(JobStore *s, const char *id, const char *type, json_object *data) {
        const char *txt = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN);

        if (!txt)
                return -ENOMEM;
        return store_write(s, add_event_op, &(EventArgs){ id, type, txt });
}

/* Parses stored JSON text back into an object; text that is not JSON (it always is,
 * we wrote it) becomes a string rather than getting lost. */
static json_object *json_from_column(sqlite3_stmt *st, int col) {
        const char *txt = (const char *) sqlite3_column_text(st, col);
        json_object *o = NULL;

        if (!txt)
                return NULL;
        if (json_parse_strict(txt, strlen(txt), &o, NULL) < 0)
                return json_object_new_string(txt);
        return o;
}

static int column_index(sqlite3_stmt *st, const char *name) {
        for (int i = 0; i < sqlite3_column_count(st); i++)
                if (streq(sqlite3_column_name(st, i), name))
                        return i;
        return -1;
}

/* "guardrails":{"flagged":[...]} and "redactions":{kind:count}, present only when set. */
static void add_annotations(json_object *o, sqlite3_stmt *st) {
        int g = column_index(st, "guardrail_flags"), r = column_index(st, "redactions");

        if (g >= 0 && sqlite3_column_type(st, g) != SQLITE_NULL) {
                json_object *gr = json_object_new_object();

                if (gr) {
                        json_object_object_add(gr, "flagged", json_from_column(st, g));
                        json_object_object_add(o, "guardrails", gr);
                }
        }
        if (r >= 0 && sqlite3_column_type(st, r) != SQLITE_NULL)
                json_object_object_add(o, "redactions", json_from_column(st, r));
}

static json_object *row_to_json(sqlite3_stmt *st, bool with_owner) {
        json_object *o = json_object_new_object();
        char created[32], updated[32];
        const char *error = (const char *) sqlite3_column_text(st, 8);
        const int sub = column_index(st, "submitter");

        if (!o)
                return NULL;
        job_format_time(sqlite3_column_double(st, 5), created);
        job_format_time(sqlite3_column_double(st, 6), updated);
        json_object_object_add(
                o, "job_id", json_object_new_string((const char *) sqlite3_column_text(st, 0)));
        json_object_object_add(
                o, "status", json_object_new_string((const char *) sqlite3_column_text(st, 1)));
        json_object_object_add(
                o, "kind", json_object_new_string((const char *) sqlite3_column_text(st, 10)));
        json_object_object_add(
                o, "service", json_object_new_string((const char *) sqlite3_column_text(st, 2)));
        json_object_object_add(o, "task", json_object_new_string((const char *) sqlite3_column_text(st, 3)));
        json_object_object_add(
                o, "priority", json_object_new_string((const char *) sqlite3_column_text(st, 4)));
        json_object_object_add(o, "created_at", json_object_new_string(created));
        json_object_object_add(o, "updated_at", json_object_new_string(updated));
        json_object_object_add(o, "result", json_from_column(st, 7));
        json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
        if (sqlite3_column_type(st, 9) != SQLITE_NULL)
                json_object_object_add(o, "error_status", json_object_new_int(sqlite3_column_int(st, 9)));
        add_annotations(o, st);
        if (with_owner && sub >= 0 && sqlite3_column_type(st, sub) != SQLITE_NULL) {
                json_object *by = json_object_new_object();
                const char *role = (const char *) sqlite3_column_text(st, sub + 1);

                if (by) {
                        json_object_object_add(
                                by,
                                "sub",
                                json_object_new_string((const char *) sqlite3_column_text(st, sub)));
                        json_object_object_add(by, "role", role ? json_object_new_string(role) : NULL);
                }
                json_object_object_add(o, "submitted_by", by);
        }
        return o;
}

int job_store_get_json(JobStore *s, const char *id, json_object **ret) {
        sqlite3_stmt *st;
        json_object *o = NULL;
        int rc, r = 0;

        pthread_mutex_lock(&s->lock);
        st = stmt(s, ST_GET);
        bind_text(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                o = row_to_json(st, true);
                if (!o)
                        r = -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
        sqlite3_reset(st);
        pthread_mutex_unlock(&s->lock);
        if (r >= 0)
                *ret = o;
        return r;
}

int job_store_get_status(JobStore *s, const char *id, JobStatus *ret) {
        sqlite3_stmt *st;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        st = stmt(s, ST_STATUS);
        bind_text(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = job_status_from_string((const char *) sqlite3_column_text(st, 0), ret);
        else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
        sqlite3_reset(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_get_owner(JobStore *s, const char *id, char **ret) {
        sqlite3_stmt *st;
        char *owner = NULL;
        int rc, r = 0;

        pthread_mutex_lock(&s->lock);
        st = stmt(s, ST_OWNER);
        bind_text(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const char *v = (const char *) sqlite3_column_text(st, 0);

                if (v && !(owner = strdup(v)))
                        r = -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
        sqlite3_reset(st);
        pthread_mutex_unlock(&s->lock);
        if (r >= 0)
                *ret = owner;
        return r;
}

int job_store_with_db(JobStore *s, int (*fn)(sqlite3 *db, void *userdata), void *userdata) {
        int r;

        pthread_mutex_lock(&s->lock);
        r = fn(s->db, userdata);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_sqlite_errno(int rc) {
        return sqlite_errno(rc);
}

int job_store_list_json(JobStore *s, int status, unsigned limit, int64_t cursor, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *jobs = json_object_new_array();
        sqlite3_stmt *st = NULL;
        int64_t last = 0;
        unsigned n = 0;
        int rc, r;

        if (!o || !jobs)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        rc = sqlite3_prepare_v2(
                s->db,
                "SELECT id, status, service, task, priority, created_at, updated_at, result, error, "
                "error_status, kind, seq, guardrail_flags, redactions FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 = 0 OR seq < ?2) "
                "ORDER BY seq DESC LIMIT ?3",
                -1,
                &st,
                NULL);
        r = sqlite_errno(rc);
        if (r >= 0) {
                bind_text(st, 1, status >= 0 ? job_status_to_string((JobStatus) status) : NULL);
                (void) sqlite3_bind_int64(st, 2, cursor);
                (void) sqlite3_bind_int64(st, 3, (sqlite3_int64) limit + 1);
                while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                        json_object *j;

                        if (n == limit)
                                break;
                        j = row_to_json(st, false);
                        if (!j || json_object_array_add(jobs, j) < 0) {
                                json_object_put(j);
                                r = -ENOMEM;
                                break;
                        }
                        last = sqlite3_column_int64(st, 11);
                        n++;
                }
                if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
                        r = sqlite_errno(rc);
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        json_object_object_add(o, "jobs", TAKE_PTR(jobs));
        if (rc == SQLITE_ROW && n == limit) {
                char c[32];

                snprintf(c, sizeof(c), "%" PRId64, last);
                json_object_object_add(o, "next_cursor", json_object_new_string(c));
        } else
                json_object_object_add(o, "next_cursor", NULL);
        *ret = TAKE_PTR(o);
        return 0;
}

int job_store_events_json(
        JobStore *s, const char *id, int64_t after, json_object **ret, JobStatus *ret_status) {
        _cleanup_json_ json_object *list = json_object_new_array();
        JobStatus status = JOB_PENDING;
        sqlite3_stmt *st;
        int rc, r = 0;

        if (!list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        st = stmt(s, ST_STATUS);
        bind_text(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = job_status_from_string((const char *) sqlite3_column_text(st, 0), &status);
        else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
        sqlite3_reset(st);
        if (r >= 0) {
                st = stmt(s, ST_EVENTS);
                bind_text(st, 1, id);
                (void) sqlite3_bind_int64(st, 2, after);
                while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                        json_object *e = json_object_new_object();
                        char t[32];

                        if (!e) {
                                r = -ENOMEM;
                                break;
                        }
                        job_format_time(sqlite3_column_double(st, 3), t);
                        json_object_object_add(e, "id", json_object_new_int64(sqlite3_column_int64(st, 0)));
                        json_object_object_add(
                                e,
                                "event",
                                json_object_new_string((const char *) sqlite3_column_text(st, 1)));
                        json_object_object_add(e, "data", json_from_column(st, 2));
                        json_object_object_add(e, "time", json_object_new_string(t));
                        json_object_array_add(list, e);
                }
                if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                        r = sqlite_errno(rc);
                sqlite3_reset(st);
        }
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        if (ret_status)
                *ret_status = status;
        return 0;
}

int job_store_find_key(JobStore *s, const char *key, char **ret_id, char **ret_hash) {
        sqlite3_stmt *st;
        char *id = NULL, *hash = NULL;
        int rc, r = 0;

        pthread_mutex_lock(&s->lock);
        st = stmt(s, ST_FIND_KEY);
        bind_text(st, 1, key);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const char *h = (const char *) sqlite3_column_text(st, 1);

                id = strdup((const char *) sqlite3_column_text(st, 0));
                hash = strdup(strempty(h));
                if (!id || !hash)
                        r = -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
        sqlite3_reset(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0) {
                free(id);
                free(hash);
                return r;
        }
        *ret_id = id;
        *ret_hash = hash;
        return 0;
}

int job_store_for_each_unfinished(
        JobStore *s, const char *kind, int (*cb)(const JobRow *row, void *userdata), void *userdata) {
        sqlite3_stmt *st = NULL;
        int rc, r;

        /* Rows are read under the lock, the callbacks run without it (they write). */
        typedef struct {
                char *id, *service, *task, *priority, *payload;
                JobStatus status;
                uint64_t timeout_ms;
        } Row;
        _cleanup_free_ Row *rows = NULL;
        size_t n = 0, cap = 0;

        pthread_mutex_lock(&s->lock);
        rc = sqlite3_prepare_v2(
                s->db,
                "SELECT id, service, task, priority, payload, status, timeout_ms FROM jobs "
                "WHERE status IN ('pending', 'running') AND kind = ?1 ORDER BY seq",
                -1,
                &st,
                NULL);
        r = sqlite_errno(rc);
        if (r >= 0)
                bind_text(st, 1, kind);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
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
                        .id = strdup((const char *) sqlite3_column_text(st, 0)),
                        .service = strdup((const char *) sqlite3_column_text(st, 1)),
                        .task = strdup((const char *) sqlite3_column_text(st, 2)),
                        .priority = strdup((const char *) sqlite3_column_text(st, 3)),
                        .payload = strdup((const char *) sqlite3_column_text(st, 4)),
                        .timeout_ms = (uint64_t) sqlite3_column_int64(st, 6),
                };
                (void) job_status_from_string((const char *) sqlite3_column_text(st, 5), &rows[n].status);
                n++;
        }
        sqlite3_finalize(st);
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
                                .status = rows[i].status,
                                .timeout_ms = rows[i].timeout_ms,
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
        }
        return r;
}

int job_store_cleanup(JobStore *s, uint64_t age_ms, unsigned *ret_deleted) {
        double cutoff = now_unix() - (double) age_ms / 1000.0;
        sqlite3_stmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        r = exec_simple(s, ST_BEGIN);
        if (r >= 0) {
                rc = sqlite3_prepare_v2(
                        s->db,
                        "DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE updated_at < ?1 "
                        "AND status IN ('completed', 'failed', 'cancelled'))",
                        -1,
                        &st,
                        NULL);
                r = sqlite_errno(rc);
                if (r >= 0) {
                        (void) sqlite3_bind_double(st, 1, cutoff);
                        r = sqlite_errno(sqlite3_step(st));
                }
                sqlite3_finalize(st);
                st = NULL;
        }
        if (r >= 0) {
                rc = sqlite3_prepare_v2(
                        s->db,
                        "DELETE FROM jobs WHERE updated_at < ?1 AND status IN ('completed', 'failed', "
                        "'cancelled')",
                        -1,
                        &st,
                        NULL);
                r = sqlite_errno(rc);
                if (r >= 0) {
                        (void) sqlite3_bind_double(st, 1, cutoff);
                        r = sqlite_errno(sqlite3_step(st));
                        if (r >= 0 && ret_deleted)
                                *ret_deleted = (unsigned) sqlite3_changes(s->db);
                }
                sqlite3_finalize(st);
        }
        if (r >= 0)
                r = exec_simple(s, ST_COMMIT);
        else
                (void) exec_simple(s, ST_ROLLBACK);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_count_by_status(JobStore *s, uint64_t counts[_JOB_STATUS_MAX]) {
        sqlite3_stmt *st = NULL;
        int rc, r;

        memset(counts, 0, sizeof(uint64_t) * _JOB_STATUS_MAX);
        pthread_mutex_lock(&s->lock);
        rc = sqlite3_prepare_v2(s->db, "SELECT status, count(*) FROM jobs GROUP BY status", -1, &st, NULL);
        r = sqlite_errno(rc);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                JobStatus k;

                if (job_status_from_string((const char *) sqlite3_column_text(st, 0), &k) >= 0)
                        counts[k] = (uint64_t) sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
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

/* ---- locks: named leases in the same database -------------------------------------- */

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
        double now = now_unix(), expires = now + (double) ttl_ms / 1000.0;
        sqlite3_stmt *st = NULL;
        bool acquired = false;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        /* Free, expired, or ours (a renewal): take it; otherwise the row is left alone. */
        rc = sqlite3_prepare_v2(
                s->db,
                "INSERT INTO locks(name, owner, expires_at) VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET "
                "owner = excluded.owner, expires_at = excluded.expires_at "
                "WHERE locks.expires_at <= ?4 OR locks.owner = excluded.owner",
                -1,
                &st,
                NULL);
        r = sqlite_errno(rc);
        if (r >= 0) {
                bind_text(st, 1, name);
                bind_text(st, 2, owner);
                (void) sqlite3_bind_double(st, 3, expires);
                (void) sqlite3_bind_double(st, 4, now);
                r = sqlite_errno(sqlite3_step(st));
                acquired = r >= 0 && sqlite3_changes(s->db) > 0;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (r >= 0 && ret) {
                rc = sqlite3_prepare_v2(
                        s->db, "SELECT owner, expires_at FROM locks WHERE name = ?1", -1, &st, NULL);
                r = sqlite_errno(rc);
                if (r >= 0) {
                        bind_text(st, 1, name);
                        if (sqlite3_step(st) == SQLITE_ROW)
                                *ret = lock_json(
                                        name,
                                        (const char *) sqlite3_column_text(st, 0),
                                        sqlite3_column_double(st, 1));
                }
                sqlite3_finalize(st);
        }
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        return acquired ? 0 : -EBUSY;
}

int job_store_lock_release(JobStore *s, const char *name, const char *owner) {
        sqlite3_stmt *st = NULL;
        int rc, r;

        pthread_mutex_lock(&s->lock);
        rc = sqlite3_prepare_v2(
                s->db,
                "DELETE FROM locks WHERE name = ?1 AND (owner = ?2 OR expires_at <= ?3)",
                -1,
                &st,
                NULL);
        r = sqlite_errno(rc);
        if (r >= 0) {
                bind_text(st, 1, name);
                bind_text(st, 2, owner);
                (void) sqlite3_bind_double(st, 3, now_unix());
                r = sqlite_errno(sqlite3_step(st));
                if (r >= 0 && sqlite3_changes(s->db) == 0) {
                        sqlite3_stmt *q = NULL;

                        r = -ENOENT;
                        if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM locks WHERE name = ?1", -1, &q, NULL) ==
                            SQLITE_OK) {
                                bind_text(q, 1, name);
                                if (sqlite3_step(q) == SQLITE_ROW)
                                        r = -EPERM; /* held, by someone else */
                        }
                        sqlite3_finalize(q);
                }
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int job_store_lock_list(JobStore *s, json_object **ret) {
        _cleanup_json_ json_object *list = json_object_new_array();
        sqlite3_stmt *st = NULL;
        int rc, r;

        if (!list)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        rc = sqlite3_prepare_v2(
                s->db,
                "SELECT name, owner, expires_at FROM locks WHERE expires_at > ?1 ORDER BY name",
                -1,
                &st,
                NULL);
        r = sqlite_errno(rc);
        if (r >= 0) {
                (void) sqlite3_bind_double(st, 1, now_unix());
                while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                        json_object *o = lock_json(
                                (const char *) sqlite3_column_text(st, 0),
                                (const char *) sqlite3_column_text(st, 1),
                                sqlite3_column_double(st, 2));
                        if (!o) {
                                r = -ENOMEM;
                                break;
                        }
                        json_object_array_add(list, o);
                }
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}
