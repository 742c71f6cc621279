/* SPDX-License-Identifier: MIT */
/* store-db-sqlite.c — store-db.h on SQLite: one connection in WAL mode with its
 * checkpointer thread (store-db-sqlite-checkpoint.c), and the one SQLite → -errno mapping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-db-sqlite.h"

typedef struct SqliteDb {
        StoreDb base;
        sqlite3 *db;
        sqlite3_stmt *tx[_STORE_TX_MAX];
        SqliteCheckpoint ckpt;
} SqliteDb;

typedef struct SqliteStmt {
        StoreStmt base;
        sqlite3_stmt *st;
} SqliteStmt;

static const char *const tx_sql[_STORE_TX_MAX] = {
        [STORE_TX_BEGIN] = "BEGIN IMMEDIATE", [STORE_TX_COMMIT] = "COMMIT",
        [STORE_TX_ROLLBACK] = "ROLLBACK",     [STORE_TX_SAVEPOINT] = "SAVEPOINT op",
        [STORE_TX_RELEASE] = "RELEASE op",    [STORE_TX_ROLLBACK_TO] = "ROLLBACK TO op",
};

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

static SqliteDb *db_of(StoreDb *db) {
        return (SqliteDb *) db;
}

static sqlite3_stmt *st_of(StoreStmt *st) {
        return ((SqliteStmt *) st)->st;
}

static bool sqlite_claims(const char *location) {
        return true;
}

static void sqlite_close(StoreDb *base) {
        SqliteDb *d = db_of(base);

        /* The checkpointer first: the writer's close checkpoints the rest. */
        store_db_sqlite_checkpoint_stop(&d->ckpt);
        for (size_t i = 0; i < _STORE_TX_MAX; i++)
                sqlite3_finalize(d->tx[i]);
        sqlite3_close(d->db);
        store_db_sqlite_checkpoint_done(&d->ckpt);
        free(d);
}

static int sqlite_open(const char *path, StoreDb **ret) {
        SqliteDb *d = calloc(1, sizeof(SqliteDb));
        int rc;

        if (!d)
                return -ENOMEM;
        d->base.engine = &store_db_sqlite_engine;
        store_db_sqlite_checkpoint_init(&d->ckpt);
        rc = store_db_sqlite_vfs_register();
        if (rc == SQLITE_OK)
                rc = sqlite3_open_v2(
                        path,
                        &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                SQLITE_OPEN_EXRESCODE,
                        STORE_DB_SQLITE_VFS);
        if (rc == SQLITE_OK) {
                (void) sqlite3_busy_timeout(d->db, 5000);
                /* WAL + synchronous=NORMAL: a commit is durable against a crash of the
                 * process, and costs no fsync; only a power loss can take the last
                 * transactions. 1 KiB pages (set before the file exists): a job's commit
                 * touches ~4 pages, and writing 4 KiB pages made the store the bottleneck
                 * (2,200 jobs/s against 10,000 measured). */
                rc = sqlite3_exec(
                        d->db,
                        "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                        "PRAGMA temp_store=MEMORY;",
                        NULL,
                        NULL,
                        NULL);
        }
        for (size_t i = 0; rc == SQLITE_OK && i < _STORE_TX_MAX; i++)
                rc = sqlite3_prepare_v3(d->db, tx_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->tx[i], NULL);
        if (rc == SQLITE_OK)
                rc = store_db_sqlite_checkpoint_start(&d->ckpt, d->db, path);
        if (rc != SQLITE_OK) {
                int r = sqlite_errno(rc);

                log_debug("SQLite %s: %s", path, d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
                sqlite_close(&d->base);
                return r;
        }
        *ret = &d->base;
        return 0;
}

static int sqlite_exec(StoreDb *base, const char *script) {
        return sqlite_errno(sqlite3_exec(db_of(base)->db, script, NULL, NULL, NULL));
}

static int64_t sqlite_changes(StoreDb *base) {
        return sqlite3_changes64(db_of(base)->db);
}

static int sqlite_tx(StoreDb *base, StoreTx op) {
        sqlite3_stmt *st = db_of(base)->tx[op];
        int rc;

        rc = sqlite3_step(st);
        sqlite3_reset(st);
        return sqlite_errno(rc);
}

static int sqlite_prepare(StoreDb *base, const char *sql, unsigned flags, StoreStmt **ret) {
        SqliteStmt *s = calloc(1, sizeof(SqliteStmt));
        int rc;

        if (!s)
                return -ENOMEM;
        s->base.db = base;
        rc = sqlite3_prepare_v3(
                db_of(base)->db,
                sql,
                -1,
                flags & STORE_PREPARE_PERSISTENT ? SQLITE_PREPARE_PERSISTENT : 0,
                &s->st,
                NULL);
        if (rc != SQLITE_OK) {
                log_debug("SQLite: %s: %s", sqlite3_errmsg(db_of(base)->db), sql);
                free(s);
                return sqlite_errno(rc);
        }
        *ret = &s->base;
        return 0;
}

static void sqlite_finalize(StoreStmt *st) {
        sqlite3_finalize(st_of(st));
        free(st);
}

static void sqlite_reset(StoreStmt *st) {
        sqlite3_reset(st_of(st));
        sqlite3_clear_bindings(st_of(st));
}

/* Binding errors (an index out of range) are ignored, as store-db.h says. */
static void sqlite_bind(StoreStmt *st, int i, const StoreValue *v) {
        sqlite3_stmt *s = st_of(st);

        switch (v->type) {
        case STORE_VALUE_NULL:
                (void) sqlite3_bind_null(s, i);
                break;
        case STORE_VALUE_TEXT:
                (void) sqlite3_bind_text(s, i, v->text, -1, SQLITE_STATIC);
                break;
        case STORE_VALUE_INT64:
                (void) sqlite3_bind_int64(s, i, v->i);
                break;
        case STORE_VALUE_DOUBLE:
                (void) sqlite3_bind_double(s, i, v->d);
                break;
        case STORE_VALUE_BLOB:
                (void) sqlite3_bind_blob64(s, i, v->blob.data, v->blob.size, SQLITE_STATIC);
                break;
        }
}

static int sqlite_step(StoreStmt *st) {
        int rc = sqlite3_step(st_of(st));

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        log_debug("SQLite: %s", sqlite3_errmsg(db_of(st->db)->db));
        return sqlite_errno(rc);
}

static int sqlite_column_count(StoreStmt *st) {
        return sqlite3_column_count(st_of(st));
}

static const char *sqlite_column_name(StoreStmt *st, int col) {
        return sqlite3_column_name(st_of(st), col);
}

static bool sqlite_column_is_null(StoreStmt *st, int col) {
        return sqlite3_column_type(st_of(st), col) == SQLITE_NULL;
}

static const char *sqlite_column_text(StoreStmt *st, int col) {
        return (const char *) sqlite3_column_text(st_of(st), col);
}

static int64_t sqlite_column_int64(StoreStmt *st, int col) {
        return sqlite3_column_int64(st_of(st), col);
}

static double sqlite_column_double(StoreStmt *st, int col) {
        return sqlite3_column_double(st_of(st), col);
}

static const void *sqlite_column_blob(StoreStmt *st, int col, size_t *ret_size) {
        const void *p = sqlite3_column_blob(st_of(st), col);

        *ret_size = (size_t) sqlite3_column_bytes(st_of(st), col);
        return p;
}

static int sqlite_checkpoint_tune(StoreDb *base, int wake_pages, int bound_pages) {
        store_db_sqlite_checkpoint_tune(&db_of(base)->ckpt, wake_pages, bound_pages);
        return 0;
}

static int sqlite_checkpoint_stats(StoreDb *base, uint64_t *ret_passive, uint64_t *ret_restart) {
        store_db_sqlite_checkpoint_stats(&db_of(base)->ckpt, ret_passive, ret_restart);
        return 0;
}

const StoreDbEngine store_db_sqlite_engine = {
        .kind = STORE_DB_SQLITE,
        .claims = sqlite_claims,
        .open = sqlite_open,
        .close = sqlite_close,
        .exec = sqlite_exec,
        .changes = sqlite_changes,
        .tx = sqlite_tx,
        .prepare = sqlite_prepare,
        .finalize = sqlite_finalize,
        .reset = sqlite_reset,
        .bind = sqlite_bind,
        .step = sqlite_step,
        .column_count = sqlite_column_count,
        .column_name = sqlite_column_name,
        .column_is_null = sqlite_column_is_null,
        .column_text = sqlite_column_text,
        .column_int64 = sqlite_column_int64,
        .column_double = sqlite_column_double,
        .column_blob = sqlite_column_blob,
        .checkpoint_tune = sqlite_checkpoint_tune,
        .checkpoint_stats = sqlite_checkpoint_stats,
};
