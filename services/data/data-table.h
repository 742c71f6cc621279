/* SPDX-License-Identifier: MIT */
/* data-table.h — loading CSV text or JSON records into the `records` table of an SQLite
 * database, with a type inferred per column, every value bound, never spliced. */
#pragma once

#include "data-util.h"

typedef enum DataColType {
        DATA_COL_EMPTY, /* only NULLs */
        DATA_COL_INTEGER,
        DATA_COL_REAL,
        DATA_COL_TEXT,
} DataColType;

const char *data_col_type_to_string(DataColType t);
DataColType data_col_type_from_decl(const char *decl);

typedef struct DataColumns {
        char **names;
        DataColType *types;
        size_t n;
} DataColumns;

void data_columns_done(DataColumns *c);
/* The columns of `records` (names and declared types). */
int data_columns_get(sqlite3 *db, DataColumns *ret);
/* Index of name in c, -1 if none. */
int data_columns_find(const DataColumns *c, const char *name);

/* Both create `records` and fill it in one transaction; field names the request part
 * ("data.csv") for error messages. They return the number of rows loaded or -errno, with
 * err filled for the client's mistakes (422) and limits (413). */
int data_table_load_csv(
        sqlite3 *db, const char *buf, size_t len, const DataConfig *cfg, const char *field, DataError *err);
int data_table_load_records(
        sqlite3 *db, json_object *records, const DataConfig *cfg, const char *field, DataError *err);

/* What the first pass of a CSV load sees, for callers that need no database: the
 * columns once the header is read, then each non-empty value with its column's type
 * before and after it (as data_table_load_csv() infers them) and, while that type is
 * numeric, the value as the load would store it, read back as a double. A negative
 * return stops the scan. */
typedef struct DataCsvObserver {
        int (*columns)(void *userdata, char *const *names, size_t n);
        int (*value)(
                void *userdata,
                size_t col,
                DataColType was,
                DataColType now,
                const char *s,
                size_t len,
                double number);
        void *userdata;
} DataCsvObserver;

/* The first pass of data_table_load_csv() alone, with the same errors and limits: shows
 * every value to obs and returns the columns (names and final types) and rows. */
int data_table_scan_csv(
        const char *buf,
        size_t len,
        const DataConfig *cfg,
        const char *field,
        const DataCsvObserver *obs,
        DataColumns *ret_columns,
        int64_t *ret_rows,
        DataError *err);

/* A CSV load for input too large to keep in memory, in two passes as data_table_load_csv():
 * the scan is fed the input piece by piece as it arrives (header, column types, limits with
 * DATA_MAX_STREAM_ROWS, malformed CSV: errors in err as soon as they are seen), while the
 * caller keeps a copy in a file; data_csv_load_fd() then creates `records` in db and
 * inserts that file's rows in one transaction with a prepared statement. Memory is one
 * record and one read buffer, whatever the size of the input. */
typedef struct CsvLoad CsvLoad;
#define DATA_CSV_READ_CHUNK (256 * 1024)
int data_csv_scan_new(const DataConfig *cfg, const char *field, DataError *err, CsvLoad **ret);
void data_csv_scan_free(CsvLoad *l);
static inline void data_csv_scan_freep(CsvLoad **l) {
        data_csv_scan_free(*l);
}
int data_csv_scan_feed(CsvLoad *l, const char *buf, size_t len);
int data_csv_scan_finish(CsvLoad *l);
int64_t data_csv_scan_rows(const CsvLoad *l);
/* -ENOSPC when the disk is full. */
int data_csv_load_fd(CsvLoad *l, sqlite3 *db, int fd);

/* Opens a fresh in-memory database with the service's limits applied. */
int data_db_open_memory(sqlite3 **ret);
/* Common hardening of any handle: no extensions, defensive mode, untrusted schema. */
void data_db_harden(sqlite3 *db);
