/* SPDX-License-Identifier: MIT */
/* data-convert.c — convert: CSV to JSON records and back (options {to: "json" | "csv"},
 * default the other format than the input). Whole tables or nothing: over
 * DATA_MAX_RESULT_ROWS is 413, never a silently cut file. */
#include "data-csv.h"
#include "data-ops.h"
#include "json-util.h"

static int to_csv(DataOp *op, json_object *result) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *out = NULL;
        size_t out_len = 0;
        _cleanup_fclose_ FILE *f = NULL;
        int rc, n;

        if (sqlite3_prepare_v2(op->db, "SELECT * FROM records", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        f = open_memstream(&out, &out_len);
        if (!f)
                return -ENOMEM;
        n = sqlite3_column_count(st);
        for (int i = 0; i < n; i++) {
                const char *name = sqlite3_column_name(st, i);
                if (i)
                        fputc(',', f);
                csv_write_field(f, name, strlen(name));
        }
        fputs("\r\n", f);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                for (int i = 0; i < n; i++) {
                        if (i)
                                fputc(',', f);
                        if (sqlite3_column_type(st, i) == SQLITE_FLOAT)
                                fprintf(f, "%.17g", sqlite3_column_double(st, i));
                        else if (sqlite3_column_type(st, i) != SQLITE_NULL)
                                csv_write_field(
                                        f,
                                        (const char *) sqlite3_column_text(st, i),
                                        (size_t) sqlite3_column_bytes(st, i));
                }
                fputs("\r\n", f);
        }
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        if (fflush(f) != 0)
                return -ENOMEM;
        json_object_object_add(result, "csv", json_object_new_string_len(out, (int) out_len));
        return 0;
}

int data_op_convert(DataOp *op) {
        _cleanup_json_ json_object *result = json_object_new_object(), *errs = NULL;
        const char *to = streq(op->source_format, "csv") ? "json" : "csv";
        int r;

        if (!result)
                return -ENOMEM;
        if (json_get_string(op->options, "to", false, &errs, &to) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        if (!streq(to, "json") && !streq(to, "csv"))
                return data_error(op->error, 422, "options.to", "must be json or csv");
        if (op->rows > op->config->max_result_rows)
                return data_error(
                        op->error,
                        413,
                        "data",
                        "%" PRIi64 " rows are more than DATA_MAX_RESULT_ROWS (%" PRIi64 ") can return",
                        op->rows,
                        op->config->max_result_rows);
        json_object_object_add(result, "format", json_object_new_string(to));
        if (streq(to, "csv"))
                r = to_csv(op, result);
        else {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                json_object *rows = NULL, *recs;
                int rc;

                if (sqlite3_prepare_v2(op->db, "SELECT * FROM records", -1, &st, NULL) != SQLITE_OK)
                        return -EIO;
                rc = data_rows_to_json(st, op->config->max_result_rows, &rows);
                if (rc != SQLITE_DONE)
                        return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
                if (json_object_object_get_ex(rows, "records", &recs))
                        json_object_object_add(result, "records", json_object_get(recs));
                json_object_put(rows);
                r = 0;
        }
        if (r < 0)
                return r;
        op->result = TAKE_PTR(result);
        return 0;
}
