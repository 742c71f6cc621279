/* SPDX-License-Identifier: MIT */
/* data-ops.h — the operations of POST /process. Each runs over the `records` table of
 * op->db (already loaded and guarded), reads its options and sets op->result. */
#pragma once

#include "data-guard.h"
#include "data-table.h"
#include "data-util.h"
#include "service-tasks.h"

typedef struct DataOp {
        sqlite3 *db;
        DataGuard *guard;
        json_object *options; /* never NULL */
        const DataConfig *config;
        const DataColumns *columns;
        const char *source_format; /* "csv" or "json" */
        int64_t rows;              /* rows in records */
        json_object *result;       /* owned; set on success */
        DataError *error;
} DataOp;

typedef int (*DataOpFn)(DataOp *op);

int data_op_analyze(DataOp *op);
/* analyze straight from CSV text, with no database: what loading it and running
 * data_op_analyze() answers, errors and limits included. */
int data_analyze_csv(
        const DataConfig *cfg,
        const char *buf,
        size_t len,
        const char *field,
        json_object *options,
        json_object **ret_result,
        int64_t *ret_rows,
        DataError *err);
int data_op_transform(DataOp *op);
int data_op_filter(DataOp *op);
int data_op_aggregate(DataOp *op);
int data_op_validate(DataOp *op);
int data_op_query(DataOp *op);
int data_op_convert(DataOp *op);
int data_op_plot(DataOp *op);
/* Frees cairo's and fontconfig's process-wide caches (at exit). */
void data_plot_shutdown(void);

/* Looks an operation up by name; NULL if unknown. */
DataOpFn data_op_find(const char *name);
/* "analyze, transform, ..." for messages. */
const char *data_op_names(void);
/* GET /tasks (ServiceDefinition.tasks): every operation of POST /process. */
int data_ops_tasks(ServiceTasks *out, void *userdata);

/* Shared by the operations: a column named by options.<field> must exist (422 otherwise). */
int data_op_column(DataOp *op, const char *name, const char *field);
/* Runs prepared st into rows JSON (capped at DATA_MAX_RESULT_ROWS and options.limit). */
int data_op_run_rows(DataOp *op, sqlite3_stmt *st, const char *field, json_object **ret);
/* options.limit: 1..DATA_MAX_RESULT_ROWS, default DATA_MAX_RESULT_ROWS. */
int data_op_limit(DataOp *op, int64_t *ret);
