/* SPDX-License-Identifier: MIT */
/* data-ops.c — the operation table and the helpers every operation uses. */
#include "data-ops.h"
#include "json-util.h"

static const struct {
        const char *name;
        DataOpFn fn;
} ops[] = {
        { "analyze", data_op_analyze },     { "transform", data_op_transform },
        { "aggregate", data_op_aggregate }, { "filter", data_op_filter },
        { "validate", data_op_validate },   { "query", data_op_query },
        { "convert", data_op_convert },     { "plot", data_op_plot },
};

DataOpFn data_op_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(ops[i].name, name))
                        return ops[i].fn;
        return NULL;
}

const char *data_op_names(void) {
        return "analyze, transform, aggregate, filter, validate, query, convert, plot";
}

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
