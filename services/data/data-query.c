/* SPDX-License-Identifier: MIT */
/* data-query.c — query: one read-only SELECT over `records` with bound parameters
 * (options {sql, params: [..] | {name: value}, limit}), under the guard's authorizer,
 * time limit and the process-wide SQLite heap limit. */
#include "data-ops.h"
#include "json-util.h"

int data_op_query(DataOp *op) {
        _cleanup_json_ json_object *errs = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        json_object *params = NULL;
        const char *sql = NULL;
        int r;

        if (json_get_string_bounded(op->options, "sql", true, 1, 100000, &errs, &sql) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "options.sql must be a SELECT statement");
        }
        if (json_object_object_get_ex(op->options, "params", &params) &&
            !json_object_is_type(params, json_type_array) && !json_object_is_type(params, json_type_object))
                return data_error(op->error, 422, "options.params", "must be an array or an object");
        r = data_guard_prepare(op->guard, op->db, sql, "options.sql", &st, op->error);
        if (r < 0)
                return r;
        if (params && json_object_is_type(params, json_type_array)) {
                size_t n = json_object_array_length(params);
                if ((int) n != sqlite3_bind_parameter_count(st))
                        return data_error(
                                op->error,
                                422,
                                "options.params",
                                "has %zu values, the SQL has %d parameters",
                                n,
                                sqlite3_bind_parameter_count(st));
                for (size_t i = 0; i < n; i++)
                        if (data_bind_json(st, (int) i + 1, json_object_array_get_idx(params, i)) !=
                            SQLITE_OK) {
                                char field[48];
                                snprintf(field, sizeof(field), "options.params[%zu]", i);
                                return data_error(
                                        op->error, 422, field, "must be a string, number, boolean or null");
                        }
        } else if (params) {
                json_object_object_foreach(params, key, val) {
                        char name[256], field[300];
                        int idx = 0;

                        snprintf(field, sizeof(field), "options.params.%s", key);
                        /* Accept "name" for :name, @name and $name. */
                        for (const char *prefix = ":@$"; *prefix && idx == 0; prefix++) {
                                snprintf(name, sizeof(name), "%c%s", *prefix, key);
                                idx = sqlite3_bind_parameter_index(st, name);
                        }
                        if (idx == 0)
                                return data_error(
                                        op->error, 422, field, "the SQL has no parameter :%s", key);
                        if (data_bind_json(st, idx, val) != SQLITE_OK)
                                return data_error(
                                        op->error, 422, field, "must be a string, number, boolean or null");
                }
        } else if (sqlite3_bind_parameter_count(st) > 0)
                return data_error(
                        op->error, 422, "options.params", "the SQL has parameters: give their values");
        return data_op_run_rows(op, st, "options.sql", &op->result);
}
