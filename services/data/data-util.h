/* SPDX-License-Identifier: MIT */
/* data-util.h — what every part of the data service shares: its configuration, the
 * error a request ends with (status, detail, per-field errors), identifier quoting and
 * turning SQLite rows into JSON. */
#pragma once

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdint.h>

#include "macro.h"

typedef struct DataConfig {
        char *dir;                 /* DATA_DIR: stored datasets */
        uint64_t max_upload;       /* body cap of dataset uploads and raw CSV */
        uint64_t max_json;         /* JSON bodies above this are refused before parsing */
        uint64_t max_stream_bytes; /* bytes of one streamed text/csv dataset upload */
        int64_t max_stream_rows;   /* rows of one streamed text/csv dataset upload */
        int64_t max_rows;          /* rows loaded from one input */
        int64_t max_columns;       /* columns of one input */
        int64_t max_result_rows;   /* rows returned by transform/filter/query/convert */
        uint64_t query_timeout_ms; /* time a statement over user SQL may run */
        uint64_t sql_memory_limit; /* sqlite3_hard_heap_limit64 */
        char *plot_dir;            /* DATA_PLOT_DIR: plots written with output "file" */
} DataConfig;

/* SQLite's limits on every handle (data_db_harden), tight enough that the deepest
 * recursion they allow fits the executor's stack (data-exec.h) and that no allowed
 * function (data-funcs.h) runs long: */
#define DATA_SQL_MAX_VALUE (4 * 1024 * 1024) /* bytes of a value or row (SQLITE_LIMIT_LENGTH) */
#define DATA_SQL_MAX_SQL 100000              /* bytes of one statement */
#define DATA_SQL_MAX_EXPR_DEPTH 100
#define DATA_SQL_MAX_COMPOUND 100 /* terms of a UNION/INTERSECT/EXCEPT */
#define DATA_SQL_MAX_PATTERN 100  /* bytes of a LIKE or GLOB pattern: O(value × pattern) */
#define DATA_SQL_MAX_ARGS 100     /* arguments of a function */
#define DATA_SQL_MAX_VDBE_OPS 250000

/* How a request failed when it is the client's fault (status 4xx) or a named limit. */
typedef struct DataError {
        int status;
        char detail[512];
        json_object *errors; /* [{field, message}] or NULL */
} DataError;

void data_error_done(DataError *e);
/* Records status/detail and, when field is set, one {field, message} entry with the same
 * text. Returns -EINVAL so callers can `return data_error(...)`. */
int data_error(DataError *e, int status, const char *field, const char *fmt, ...) _printf_(4, 5);

/* "name" with embedded quotes doubled: column names are user data. */
char *data_quote_ident(const char *name);

/* Column value as JSON (NULL for SQL NULL and non-finite reals). */
json_object *data_column_to_json(sqlite3_stmt *st, int i);

/* Steps st into {columns, records, count, truncated}; at most max rows. Returns the
 * sqlite3_step() error code mapped by the caller, i.e. SQLITE_DONE on success. */
int data_rows_to_json(sqlite3_stmt *st, int64_t max, json_object **ret);

/* Binds a JSON scalar; SQLITE_MISMATCH for objects and arrays. */
int data_bind_json(sqlite3_stmt *st, int i, json_object *v);

static inline void sqlite3_closep(sqlite3 **db) {
        if (*db)
                sqlite3_close_v2(*db);
}
static inline void sqlite3_finalizep(sqlite3_stmt **st) {
        if (*st)
                sqlite3_finalize(*st);
}
#define _cleanup_sqlite_ _cleanup_(sqlite3_closep)
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)
