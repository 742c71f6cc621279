/* SPDX-License-Identifier: MIT */
/* store-db-sqlite-checkpoint.c — the SQLite engine's WAL checkpointer thread (see
 * SqliteCheckpoint in store-db-sqlite.h). */
#include "store-db-sqlite.h"
#include "time-util.h"

#define CHECKPOINT_WAKE_PAGES 1000 /* SQLite's own autocheckpoint default */
#define CHECKPOINT_BOUND_PAGES 16000
#define CHECKPOINT_INTERVAL_MS 1000

void store_db_sqlite_checkpoint_init(SqliteCheckpoint *c) {
        pthread_condattr_t ca;

        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
        c->wake_pages = CHECKPOINT_WAKE_PAGES;
        c->bound_pages = CHECKPOINT_BOUND_PAGES;
}

void store_db_sqlite_checkpoint_done(SqliteCheckpoint *c) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
}

void store_db_sqlite_checkpoint_stop(SqliteCheckpoint *c) {
        if (c->started) {
                pthread_mutex_lock(&c->lock);
                c->stop = true;
                pthread_cond_signal(&c->cond);
                pthread_mutex_unlock(&c->lock);
                pthread_join(c->thread, NULL);
                c->started = false;
        }
        sqlite3_close(TAKE_PTR(c->db));
}

/* After every commit of the writing connection, under the store's lock: wakes the checkpointer
 * once the WAL passes wake_pages. */
static int wal_hook(void *userdata, sqlite3 *db, const char *name, int pages) {
        SqliteCheckpoint *c = userdata;

        /* Only the first commit after a checkpoint takes the lock: it wakes the idle
         * checkpointer, which then waits CHECKPOINT_INTERVAL_MS for more. */
        if (!__atomic_load_n(&c->dirty, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&c->lock);
                __atomic_store_n(&c->dirty, true, __ATOMIC_SEQ_CST);
                pthread_cond_signal(&c->cond);
                pthread_mutex_unlock(&c->lock);
        }
        if (pages >= __atomic_load_n(&c->bound_pages, __ATOMIC_RELAXED)) {
                /* Writes that never pause leave no moment where the WAL is fully copied
                 * back and unread, so it is never reused and grows: past the bound the
                 * writer itself restarts it (the checkpointer has copied most frames). */
                if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL) == SQLITE_OK)
                        __atomic_add_fetch(&c->restart, 1, __ATOMIC_RELAXED);
                c->kicked_at = 0;
                return SQLITE_OK;
        }
        if (pages < c->kicked_at) /* the WAL was reused from its start */
                c->kicked_at = 0;
        /* Once per wake_pages of new frames, not after every commit: while writes go on
         * the WAL is not reused, and a PASSIVE checkpoint per commit (each with its
         * fdatasync) took 30 % of a core at 1 connection. */
        if (pages - c->kicked_at >= __atomic_load_n(&c->wake_pages, __ATOMIC_RELAXED)) {
                c->kicked_at = pages;
                pthread_mutex_lock(&c->lock);
                if (!c->kick) {
                        c->kick = true;
                        pthread_cond_signal(&c->cond);
                }
                pthread_mutex_unlock(&c->lock);
        }
        return SQLITE_OK;
}

static void *checkpointer(void *userdata) {
        SqliteCheckpoint *c = userdata;

        pthread_mutex_lock(&c->lock);
        while (!c->stop) {
                if (!c->kick) {
                        struct timespec ts;

                        if (!__atomic_load_n(&c->dirty, __ATOMIC_SEQ_CST)) {
                                /* Nothing committed since the last checkpoint. */
                                pthread_cond_wait(&c->cond, &c->lock);
                                continue;
                        }
                        ts = timespec_deadline_on(CLOCK_MONOTONIC, CHECKPOINT_INTERVAL_MS);
                        (void) pthread_cond_timedwait(&c->cond, &c->lock, &ts);
                        if (c->stop)
                                break;
                }
                c->kick = false;
                /* Commits from here on dirty it again (and are in the next checkpoint). */
                __atomic_store_n(&c->dirty, false, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&c->lock);
                /* Errors (I/O) are left for the next round: commits do not depend on them. */
                (void) sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
                pthread_mutex_lock(&c->lock);
                c->passive++;
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

int store_db_sqlite_checkpoint_start(SqliteCheckpoint *c, sqlite3 *writer, const char *path) {
        sqlite3_stmt *st = NULL;
        bool wal = false;
        int rc;

        if (sqlite3_prepare_v2(writer, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                wal = streq_ptr((const char *) sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        if (!wal)
                return SQLITE_OK;
        rc = sqlite3_open_v2(
                path,
                &c->db,
                SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                STORE_DB_SQLITE_VFS);
        if (rc != SQLITE_OK)
                return rc;
        (void) sqlite3_busy_timeout(c->db, 5000);
        /* A connection learns that the file is in WAL mode when it first reads it; until
         * then its checkpoints do nothing. */
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return rc;
        if (pthread_create(&c->thread, NULL, checkpointer, c) != 0)
                return SQLITE_NOMEM;
        c->started = true;
        /* The pragma first: it replaces any WAL hook with none. */
        rc = sqlite3_exec(writer, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                (void) sqlite3_wal_hook(writer, wal_hook, c);
        return rc;
}

void store_db_sqlite_checkpoint_tune(SqliteCheckpoint *c, int wake_pages, int bound_pages) {
        pthread_mutex_lock(&c->lock);
        __atomic_store_n(&c->wake_pages, wake_pages, __ATOMIC_RELAXED);
        __atomic_store_n(&c->bound_pages, bound_pages, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->lock);
}

void store_db_sqlite_checkpoint_stats(SqliteCheckpoint *c, uint64_t *ret_passive, uint64_t *ret_restart) {
        pthread_mutex_lock(&c->lock);
        *ret_passive = c->passive;
        *ret_restart = __atomic_load_n(&c->restart, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->lock);
}
