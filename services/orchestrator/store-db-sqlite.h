/* SPDX-License-Identifier: MIT */
/* store-db-sqlite.h — what the SQLite engine's files share (store-db-sqlite.c: the
 * connection and statements; store-db-sqlite-checkpoint.c: the WAL checkpointer thread;
 * store-db-sqlite-vfs.c: the VFS both open the database with). */
#pragma once

#include <pthread.h>
#include <sqlite3.h>

#include "store-db-internal.h"

/* WAL checkpoints off the request path: the writing connection has wal_autocheckpoint=0,
 * and a thread with its own connection copies the WAL back into the database (PASSIVE:
 * never blocks the writer) when a commit leaves more than wake_pages in it, and
 * CHECKPOINT_INTERVAL_MS after a commit made the WAL dirty (an idle store sleeps without
 * timers). A commit that leaves bound_pages runs a RESTART checkpoint itself: the WAL
 * stays bounded. */
typedef struct SqliteCheckpoint {
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
} SqliteCheckpoint;

void store_db_sqlite_checkpoint_init(SqliteCheckpoint *c);
/* The checkpointer for the writer's database file in WAL mode (none for :memory: or a
 * failed switch to WAL: SQLite's own autocheckpoint then stays). An SQLite result code. */
int store_db_sqlite_checkpoint_start(SqliteCheckpoint *c, sqlite3 *writer, const char *path);
void store_db_sqlite_checkpoint_stop(SqliteCheckpoint *c);
void store_db_sqlite_checkpoint_done(SqliteCheckpoint *c);
void store_db_sqlite_checkpoint_tune(SqliteCheckpoint *c, int wake_pages, int bound_pages);
void store_db_sqlite_checkpoint_stats(SqliteCheckpoint *c, uint64_t *ret_passive, uint64_t *ret_restart);

/* The VFS of the store's connections: the unix VFS, with the WAL frames of a commit
 * written in one system call. Registered once; an SQLite result code. */
#define STORE_DB_SQLITE_VFS "ai-semble"
int store_db_sqlite_vfs_register(void);
/* WAL writes SQLite asked for, and writes made of them (for tests and benchmarks). */
void store_db_sqlite_vfs_stats(uint64_t *ret_gathered, uint64_t *ret_issued);
