/* SPDX-License-Identifier: MIT */
/* job-store-internal.h — what the job store's files share (job-store.c: the group commit
 * and the writes; job-store-schema.c: the tables and their migrations; job-store-read.c:
 * the reads; job-store-locks.c: the named leases; job-store-schedules.c: the schedules and
 * delayed jobs; ...): the connection (store-db.h, SQLite or PostgreSQL) and its prepared
 * statements, the single-row getter and the one-statement write. */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>

#include "job-store.h"
#include "macro.h"
#include "store-db.h"

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
        ST_SET_REDACTIONS,
        ST_STATES_1, /* the first 1, 2 or 3 state events of a job inserted */
        ST_STATES_2,
        ST_STATES_3,
        _ST_MAX,
};

/* A write waiting for the next group commit. */
typedef struct WriteOp WriteOp;

struct JobStore {
        pthread_mutex_t lock; /* the connection */
        pthread_cond_t changed;
        uint64_t generation;
        StoreDb *db;
        StoreStmt *st[_ST_MAX];

        /* Group commit: writers queue here; one of them (the leader) runs every queued
         * write in one transaction while the next ones queue behind it. */
        pthread_mutex_t queue_lock;
        WriteOp *queue, **queue_tail;
        bool leader;
        uint64_t commits, writes; /* for tests and the docs' figures */

        JobStoreCommitHook commit_hook;
        void *commit_hook_userdata;

        /* PostgreSQL: other orchestrators' commits wake our waiters (job-store-listen.c). */
        struct {
                char *location;
                pthread_t thread;
                bool started;
                atomic_bool stop;
                atomic_uint_fast64_t connects, wakeups;
        } listener;

        /* Leases (job-store-lease.c): set when several orchestrators share the store. */
        char *lease_owner; /* this orchestrator's instance name; NULL = no leases */
        uint64_t lease_ms;
};

/* A prepared statement, reset and unbound. */
static inline StoreStmt *stmt(JobStore *s, int which) {
        store_stmt_reset(s->st[which]);
        return s->st[which];
}

/* An ad-hoc statement on the store's connection (s->lock held), finalized by the caller. */
static inline int prepare(JobStore *s, const char *sql, StoreStmt **ret) {
        return store_db_prepare(s->db, sql, 0, ret);
}

/* Runs a statement without rows to its end (a write): 0 or -errno. */
static inline int step_done(StoreStmt *st) {
        int r = store_step(st);

        return r < 0 ? r : 0;
}

/* Steps st to its end, each row made a JSON object by row() and added to the array list
 * (which owns it then). A failed step is its error, not the end of the rows. */
static inline int collect_rows(StoreStmt *st, json_object *(*row)(StoreStmt *st), json_object *list) {
        int r;

        while ((r = store_step(st)) > 0) {
                json_object *o = row(st);

                if (!o || json_object_array_add(list, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        return r;
}

/* Runs the single-row statement which with ?1 = key and, when not NULL, ?2 = owner (the
 * statements that take one answer only that submitter's job) (s->lock held), and
 * read(st, userdata) on its row (read may be NULL: does it exist?). -ENOENT without a row. */
int job_store_get_row_locked(
        JobStore *s,
        int which,
        const char *key,
        const char *owner,
        int (*read)(StoreStmt *st, void *userdata),
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

/* job-store-listen.c: the channel every group commit notifies on PostgreSQL, and the
 * thread that listens to it. */
#define JOB_STORE_CHANNEL "ai_semble_jobs"
int job_store_listen_start(JobStore *s, const char *location);
void job_store_listen_stop(JobStore *s);

/* job-store-schema.c: creates the tables, or brings them to this release's version. */
int job_store_schema_migrate(StoreDb *db);
