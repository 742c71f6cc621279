/* SPDX-License-Identifier: MIT */
/* data-ops.c — the helpers every operation uses (the table of operations: data-ops-table.c). */
#include "data-ops.h"
#include "json-util.h"

int data_op_column(DataOp *op, const char *name, const char *field) {
        int i = data_columns_find(op->columns, name);

        if (i < 0)
                return data_error(op->error, 422, field, "no column named '%s'", name);
        return i;
}

int data_op_limit(DataOp *op, int64_t *ret) {
        int64_t limit = op->config->max_result_rows;
        json_object *errs = NULL;

        if (json_get_int(op->options, "limit", false, 1, op->config->max_result_rows, &errs, &limit) < 0) {
                op->error->errors = errs;
                return data_error(
                        op->error,
                        422,
                        NULL,
                        "options.limit must be an integer from 1 to %" PRIi64 " (DATA_MAX_RESULT_ROWS)",
                        op->config->max_result_rows);
        }
        *ret = limit;
        return 0;
}

int data_op_run_rows(DataOp *op, sqlite3_stmt *st, const char *field, json_object **ret) {
        int64_t limit;
        int r, rc;

        r = data_op_limit(op, &limit);
        if (r < 0)
                return r;
        data_guard_arm(op->guard);
        rc = data_rows_to_json(st, limit, ret);
        data_guard_disarm(op->guard);
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, field, op->error);
        return 0;
}
