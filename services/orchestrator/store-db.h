/* SPDX-License-Identifier: MIT */
/* store-db.h — the job store's SQL on two engines: SQLite (store-db-sqlite.c, the embedded
 * default) and PostgreSQL (store-db-pg.c, libpq), chosen by the location given to
 * store_db_open(). SQL is written once with ?N placeholders (the PostgreSQL engine sends
 * them as $N); each engine maps its own errors to -errno in one place:
 *   -EEXIST      a constraint (unique key, not null) refused the write
 *   -EBUSY       locked, a serialization failure or a deadlock: try again
 *   -ECONNRESET  the connection to the server is lost (PostgreSQL): the request fails,
 *                the next statement reconnects
 *   -ENOMEM, -ENOSPC, -EACCES, -ENOENT as named; -EIO anything else.
 * A StoreDb is one connection: not thread-safe, its owner serializes (the JobStore lock). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct StoreDb StoreDb;
typedef struct StoreStmt StoreStmt;

typedef enum StoreDbKind {
        STORE_DB_SQLITE,
        STORE_DB_POSTGRESQL,
} StoreDbKind;

/* A prepared statement kept for the life of the connection (the hot ones). */
#define STORE_PREPARE_PERSISTENT 1u

/* location: "postgresql://..." or "postgres://..." (a libpq URL), otherwise an SQLite
 * file path (or ":memory:"). */
int store_db_open(const char *location, StoreDb **ret);
/* The statements must be finalized first. */
void store_db_close(StoreDb *db);
StoreDbKind store_db_kind(StoreDb *db);
const char *store_db_kind_to_string(StoreDbKind k);

/* Runs a script of statements separated by ';' without parameters (DDL, PRAGMAs). */
int store_db_exec(StoreDb *db, const char *script);
/* Rows inserted, updated or deleted by the last such statement. */
int64_t store_db_changes(StoreDb *db);

/* Transactions: begin takes the write lock at once on SQLite (BEGIN IMMEDIATE). The
 * savepoint has one fixed name: savepoints do not nest here. */
int store_db_begin(StoreDb *db);
int store_db_commit(StoreDb *db);
int store_db_rollback(StoreDb *db);
int store_db_savepoint(StoreDb *db);
int store_db_release(StoreDb *db);
int store_db_rollback_to(StoreDb *db);

int store_db_prepare(StoreDb *db, const char *sql, unsigned flags, StoreStmt **ret);
void store_stmt_finalize(StoreStmt *st);
static inline void store_stmt_finalizep(StoreStmt **st) {
        store_stmt_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(store_stmt_finalizep)
/* Back to before the first step, with every parameter NULL again. */
void store_stmt_reset(StoreStmt *st);

/* Parameters count from 1 (?1); the values are used until the statement is reset, and
 * are not copied (they must live until then). An index past the statement's parameters
 * is ignored. */
void store_bind_text(StoreStmt *st, int i, const char *v); /* NULL binds NULL */
void store_bind_int64(StoreStmt *st, int i, int64_t v);
void store_bind_double(StoreStmt *st, int i, double v);
void store_bind_blob(StoreStmt *st, int i, const void *v, size_t n);
void store_bind_null(StoreStmt *st, int i);

/* 1 with a row, 0 at the end, -errno on failure. The first step runs the statement. */
int store_step(StoreStmt *st);
/* The current row's columns, from 0; strings and blobs are valid until the next step or
 * reset. A NULL column is NULL text, 0 and an empty blob. */
int store_column_count(StoreStmt *st);
const char *store_column_name(StoreStmt *st, int col);
bool store_column_is_null(StoreStmt *st, int col);
const char *store_column_text(StoreStmt *st, int col);
int64_t store_column_int64(StoreStmt *st, int col);
double store_column_double(StoreStmt *st, int col);
const void *store_column_blob(StoreStmt *st, int col, size_t *ret_size);
/* The column's index by name, -1 when the statement has none. */
int store_column_index(StoreStmt *st, const char *name);

/* Runs sql (one statement) to its end: the generic entry for a one-off statement, with
 * params[] bound as text to ?1..?n (NULL = NULL). Returns the rows changed. */
int store_db_run(StoreDb *db, const char *sql, const char *const *params, size_t n_params);

/* Changes seen across processes (PostgreSQL's LISTEN/NOTIFY; SQLite has one writing
 * process, whose own waiters the job store wakes itself). notify: inside a transaction,
 * sent when it commits; a no-op on SQLite. listen: this connection receives channel's
 * notifications from now on. wait_notify: 1 when one or more arrived (all consumed), 0
 * after timeout_ms without, -ECONNRESET when the connection is lost (reopen and listen
 * again: what was sent meanwhile is lost). listen and wait_notify: -EOPNOTSUPP on SQLite.
 * channel is a plain lower-case identifier. */
int store_db_notify(StoreDb *db, const char *channel);
int store_db_listen(StoreDb *db, const char *channel);
int store_db_wait_notify(StoreDb *db, int timeout_ms);

/* SQLite only (-EOPNOTSUPP otherwise): the WAL checkpointer's thresholds and counts (see
 * store-db-sqlite-checkpoint.c). */
int store_db_checkpoint_tune(StoreDb *db, int wake_pages, int bound_pages);
int store_db_checkpoint_stats(StoreDb *db, uint64_t *ret_passive, uint64_t *ret_restart);
