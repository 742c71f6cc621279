/* SPDX-License-Identifier: MIT */
/* job-store-internal.h — what the job store's files share (job-store.c: the tables, the
 * group commit and the writes; job-store-read.c: the reads; job-store-checkpoint.c: the WAL
 * checkpointer thread; job-store-locks.c: the named leases; job-store-schedules.c: the
 * schedules and delayed jobs): the connection and its prepared statements, the one SQLite
 * → -errno mapping, the single-row getter and the one-statement write. */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <sqlite3.h>

#include "job-store.h"
#include "macro.h"

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

/* A write waiting for the next group commit. */
typedef struct WriteOp WriteOp;

/* WAL checkpoints off the request path: the writing connection has wal_autocheckpoint=0,
 * and a thread with its own connection copies the WAL back into the database (PASSIVE:
 * never blocks the writer) when a commit leaves more than wake_pages in it, and
 * CHECKPOINT_INTERVAL_MS after a commit made the WAL dirty (an idle store sleeps without
 * timers). A commit that leaves bound_pages runs a RESTART checkpoint itself: the WAL
 * stays bounded. */
typedef struct JobStoreCheckpoint {
        sqlite3 *db;
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop, kick;
        bool dirty; /* committed since the last checkpoint; atomic, set under lock */
        int wake_pages, bound_pages;
        int kicked_at;             /* WAL frames at the last wake-up; the writer's (under its lock) */
        uint64_t passive, restart; /* for tests */
} JobStoreCheckpoint;

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

        JobStoreCheckpoint ckpt;
};

static inline int sqlite_errno(int rc) {
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

/* A prepared statement, reset and unbound. */
static inline sqlite3_stmt *stmt(JobStore *s, int which) {
        sqlite3_reset(s->st[which]);
        sqlite3_clear_bindings(s->st[which]);
        return s->st[which];
}

/* An ad-hoc statement on the store's connection (s->lock held), finalized by the caller. */
static inline int prepare(JobStore *s, const char *sql, sqlite3_stmt **ret) {
        return sqlite_errno(sqlite3_prepare_v2(s->db, sql, -1, ret, NULL));
}

static inline void bind_text(sqlite3_stmt *st, int i, const char *v) {
        if (v)
                (void) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
        else
                (void) sqlite3_bind_null(st, i);
}

/* Steps st to its end, each row made a JSON object by row() and added to the array list
 * (which owns it then). A failed step is its error, not the end of the rows. */
static inline int collect_rows(sqlite3_stmt *st, json_object *(*row)(sqlite3_stmt *st), json_object *list) {
        int rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_object *o = row(st);

                if (!o || json_object_array_add(list, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

/* Runs the single-row statement which with ?1 = key and, when not NULL, ?2 = owner (the
 * statements that take one answer only that submitter's job) (s->lock held), and
 * read(st, userdata) on its row (read may be NULL: does it exist?). -ENOENT without a row. */
int job_store_get_row_locked(
        JobStore *s,
        int which,
        const char *key,
        const char *owner,
        int (*read)(sqlite3_stmt *st, void *userdata),
        void *userdata);

/* Runs sql, one write, with ?1 = a and ?2 = b (NULL binds NULL) and ?3 = num, under the
 * lock and outside the group commit (its own transaction): if_none when it changed no
 * row (0: none is fine). */
int job_store_write_one(JobStore *s, const char *sql, const char *a, const char *b, double num, int if_none);

/* Calls cb (without the lock) for every job that the clause where (after FROM jobs; ?1 =
 * text, ?2 = num) selects. */
int job_store_for_each_job(
        JobStore *s,
        const char *where,
        const char *text,
        double num,
        int (*cb)(const JobRow *row, void *userdata),
        void *userdata);

/* job-store-checkpoint.c */
void job_store_checkpoint_init(JobStoreCheckpoint *c);
/* The checkpointer for the writer's database file in WAL mode (none for :memory: or a
 * failed switch to WAL: SQLite's own autocheckpoint then stays). An SQLite result code. */
int job_store_checkpoint_start(JobStoreCheckpoint *c, sqlite3 *writer, const char *path);
void job_store_checkpoint_stop(JobStoreCheckpoint *c);
void job_store_checkpoint_done(JobStoreCheckpoint *c);
