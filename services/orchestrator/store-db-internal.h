/* SPDX-License-Identifier: MIT */
/* store-db-internal.h — what an engine of store-db.h implements: a table of operations
 * (one per engine, as crun picks its cgroup manager), and the first member of its
 * connection and statement structs, through which store-db.c dispatches. */
#pragma once

#include "store-db.h"

typedef enum StoreTx {
        STORE_TX_BEGIN,
        STORE_TX_COMMIT,
        STORE_TX_ROLLBACK,
        STORE_TX_SAVEPOINT,
        STORE_TX_RELEASE,
        STORE_TX_ROLLBACK_TO,
        _STORE_TX_MAX,
} StoreTx;

typedef enum StoreValueType {
        STORE_VALUE_NULL,
        STORE_VALUE_TEXT,
        STORE_VALUE_INT64,
        STORE_VALUE_DOUBLE,
        STORE_VALUE_BLOB,
} StoreValueType;

typedef struct StoreValue {
        StoreValueType type;
        union {
                const char *text;
                int64_t i;
                double d;
                struct {
                        const void *data;
                        size_t size;
                } blob;
        };
} StoreValue;

typedef struct StoreDbEngine {
        StoreDbKind kind;
        /* Does location name this engine's database? */
        bool (*claims)(const char *location);
        int (*open)(const char *location, StoreDb **ret);
        void (*close)(StoreDb *db);
        int (*exec)(StoreDb *db, const char *script);
        int64_t (*changes)(StoreDb *db);
        int (*tx)(StoreDb *db, StoreTx op);
        int (*prepare)(StoreDb *db, const char *sql, unsigned flags, StoreStmt **ret);
        void (*finalize)(StoreStmt *st);
        void (*reset)(StoreStmt *st);
        void (*bind)(StoreStmt *st, int i, const StoreValue *v);
        int (*step)(StoreStmt *st);
        int (*column_count)(StoreStmt *st);
        const char *(*column_name)(StoreStmt *st, int col);
        bool (*column_is_null)(StoreStmt *st, int col);
        const char *(*column_text)(StoreStmt *st, int col);
        int64_t (*column_int64)(StoreStmt *st, int col);
        double (*column_double)(StoreStmt *st, int col);
        const void *(*column_blob)(StoreStmt *st, int col, size_t *ret_size);
        /* NULL when the engine has no notifications (store_db_notify is then a no-op). */
        int (*notify)(StoreDb *db, const char *channel);
        int (*listen)(StoreDb *db, const char *channel);
        int (*wait_notify)(StoreDb *db, int timeout_ms);
        /* NULL when the engine has no checkpointer. */
        int (*checkpoint_tune)(StoreDb *db, int wake_pages, int bound_pages);
        int (*checkpoint_stats)(StoreDb *db, uint64_t *ret_passive, uint64_t *ret_restart);
} StoreDbEngine;

struct StoreDb {
        const StoreDbEngine *engine;
};

struct StoreStmt {
        StoreDb *db;
};

extern const StoreDbEngine store_db_sqlite_engine;
extern const StoreDbEngine store_db_pg_engine;
