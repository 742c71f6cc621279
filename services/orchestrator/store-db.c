/* SPDX-License-Identifier: MIT */
/* store-db.c — store-db.h's entry points: the engine picked by the location, and every
 * call passed to the engine of its connection or statement. */
#include <errno.h>
#include <string.h>

#include "store-db-internal.h"

static const StoreDbEngine *const engines[] = {
        &store_db_pg_engine, &store_db_sqlite_engine, /* last: it takes every location that is not a URL */
};

int store_db_open(const char *location, StoreDb **ret) {
        if (!location || !*location)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(engines); i++)
                if (engines[i]->claims(location))
                        return engines[i]->open(location, ret);
        return -EPROTONOSUPPORT;
}

void store_db_close(StoreDb *db) {
        if (db)
                db->engine->close(db);
}

StoreDbKind store_db_kind(StoreDb *db) {
        return db->engine->kind;
}

const char *store_db_kind_to_string(StoreDbKind k) {
        return k == STORE_DB_POSTGRESQL ? "postgresql" : "sqlite";
}

int store_db_exec(StoreDb *db, const char *script) {
        return db->engine->exec(db, script);
}

int64_t store_db_changes(StoreDb *db) {
        return db->engine->changes(db);
}

int store_db_begin(StoreDb *db) {
        return db->engine->tx(db, STORE_TX_BEGIN);
}

int store_db_commit(StoreDb *db) {
        return db->engine->tx(db, STORE_TX_COMMIT);
}

int store_db_rollback(StoreDb *db) {
        return db->engine->tx(db, STORE_TX_ROLLBACK);
}

int store_db_savepoint(StoreDb *db) {
        return db->engine->tx(db, STORE_TX_SAVEPOINT);
}

int store_db_release(StoreDb *db) {
        return db->engine->tx(db, STORE_TX_RELEASE);
}

int store_db_rollback_to(StoreDb *db) {
        return db->engine->tx(db, STORE_TX_ROLLBACK_TO);
}

int store_db_prepare(StoreDb *db, const char *sql, unsigned flags, StoreStmt **ret) {
        return db->engine->prepare(db, sql, flags, ret);
}

void store_stmt_finalize(StoreStmt *st) {
        if (st)
                st->db->engine->finalize(st);
}

void store_stmt_reset(StoreStmt *st) {
        st->db->engine->reset(st);
}

void store_bind_text(StoreStmt *st, int i, const char *v) {
        st->db->engine->bind(
                st, i, &(StoreValue){ .type = v ? STORE_VALUE_TEXT : STORE_VALUE_NULL, .text = v });
}

void store_bind_int64(StoreStmt *st, int i, int64_t v) {
        st->db->engine->bind(st, i, &(StoreValue){ .type = STORE_VALUE_INT64, .i = v });
}

void store_bind_double(StoreStmt *st, int i, double v) {
        st->db->engine->bind(st, i, &(StoreValue){ .type = STORE_VALUE_DOUBLE, .d = v });
}

void store_bind_blob(StoreStmt *st, int i, const void *v, size_t n) {
        st->db->engine->bind(st, i, &(StoreValue){ .type = STORE_VALUE_BLOB, .blob = { v, n } });
}

void store_bind_null(StoreStmt *st, int i) {
        st->db->engine->bind(st, i, &(StoreValue){ .type = STORE_VALUE_NULL });
}

int store_step(StoreStmt *st) {
        return st->db->engine->step(st);
}

int store_column_count(StoreStmt *st) {
        return st->db->engine->column_count(st);
}

const char *store_column_name(StoreStmt *st, int col) {
        return st->db->engine->column_name(st, col);
}

bool store_column_is_null(StoreStmt *st, int col) {
        return st->db->engine->column_is_null(st, col);
}

const char *store_column_text(StoreStmt *st, int col) {
        return st->db->engine->column_text(st, col);
}

int64_t store_column_int64(StoreStmt *st, int col) {
        return st->db->engine->column_int64(st, col);
}

double store_column_double(StoreStmt *st, int col) {
        return st->db->engine->column_double(st, col);
}

const void *store_column_blob(StoreStmt *st, int col, size_t *ret_size) {
        return st->db->engine->column_blob(st, col, ret_size);
}

int store_column_index(StoreStmt *st, const char *name) {
        int n = store_column_count(st);

        for (int i = 0; i < n; i++) {
                const char *c = store_column_name(st, i);

                if (c && strcmp(c, name) == 0)
                        return i;
        }
        return -1;
}

int store_db_run(StoreDb *db, const char *sql, const char *const *params, size_t n_params) {
        _cleanup_stmt_ StoreStmt *st = NULL;
        int r;

        r = store_db_prepare(db, sql, 0, &st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_params; i++)
                store_bind_text(st, (int) i + 1, params[i]);
        while ((r = store_step(st)) > 0)
                ;
        if (r < 0)
                return r;
        return (int) MIN(store_db_changes(db), (int64_t) INT32_MAX);
}

int store_db_checkpoint_tune(StoreDb *db, int wake_pages, int bound_pages) {
        if (!db->engine->checkpoint_tune)
                return -EOPNOTSUPP;
        return db->engine->checkpoint_tune(db, wake_pages, bound_pages);
}

int store_db_notify(StoreDb *db, const char *channel) {
        return db->engine->notify ? db->engine->notify(db, channel) : 0;
}

int store_db_listen(StoreDb *db, const char *channel) {
        return db->engine->listen ? db->engine->listen(db, channel) : -EOPNOTSUPP;
}

int store_db_wait_notify(StoreDb *db, int timeout_ms) {
        return db->engine->wait_notify ? db->engine->wait_notify(db, timeout_ms) : -EOPNOTSUPP;
}

int store_db_checkpoint_stats(StoreDb *db, uint64_t *ret_passive, uint64_t *ret_restart) {
        if (!db->engine->checkpoint_stats)
                return -EOPNOTSUPP;
        return db->engine->checkpoint_stats(db, ret_passive, ret_restart);
}
