/* SPDX-License-Identifier: MIT */
/* data-analyze.c — per-column profile: inferred type, count, nulls, distinct; exact
 * min/max/mean/median/stddev/p25/p75/p95 over numbers (one column in memory at a time);
 * top values and lengths over text (SQL GROUP BY). */
#include <math.h>

#include "data-ops.h"
#include "data-stats.h"
#include "json-util.h"

static json_object *num_or_null(double d) {
        return isfinite(d) ? json_object_new_double(d) : NULL;
}

static int analyze_numeric(DataOp *op, const char *q, json_object *col) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        _cleanup_free_ double *v = NULL;
        size_t n = 0, nulls = 0, distinct = 0;
        bool all_int = true;
        int rc;

        if (asprintf(&sql, "SELECT %s FROM records", q) < 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(op->db, sql, -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        v = malloc(sizeof(double) * (size_t) MAX(op->rows, 1));
        if (!v)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int t = sqlite3_column_type(st, 0);
                if (t == SQLITE_NULL) {
                        nulls++;
                        continue;
                }
                if (n >= (size_t) op->rows)
                        break;
                if (t != SQLITE_INTEGER)
                        all_int = false;
                v[n++] = sqlite3_column_double(st, 0);
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);

        json_object_object_add(col, "count", json_object_new_int64((int64_t) n));
        json_object_object_add(col, "nulls", json_object_new_int64((int64_t) nulls));
        if (n == 0) {
                json_object_object_add(col, "distinct", json_object_new_int64(0));
                return 0;
        }
        data_stats_sort(v, n);
        for (size_t i = 0; i < n; i++)
                distinct += i == 0 || v[i] != v[i - 1];
        double mean = data_stats_mean(v, n);
        json_object_object_add(col, "distinct", json_object_new_int64((int64_t) distinct));
        if (all_int) {
                json_object_object_add(col, "min", json_object_new_int64((int64_t) v[0]));
                json_object_object_add(col, "max", json_object_new_int64((int64_t) v[n - 1]));
        } else {
                json_object_object_add(col, "min", num_or_null(v[0]));
                json_object_object_add(col, "max", num_or_null(v[n - 1]));
        }
        json_object_object_add(col, "mean", num_or_null(mean));
        json_object_object_add(col, "median", num_or_null(data_stats_percentile(v, n, 50)));
        json_object_object_add(col, "stddev", num_or_null(data_stats_stddev(v, n, mean)));
        json_object_object_add(col, "p25", num_or_null(data_stats_percentile(v, n, 25)));
        json_object_object_add(col, "p75", num_or_null(data_stats_percentile(v, n, 75)));
        json_object_object_add(col, "p95", num_or_null(data_stats_percentile(v, n, 95)));
        return 0;
}

static int analyze_text(DataOp *op, const char *q, int64_t top, json_object *col) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *tp = NULL;
        _cleanup_free_ char *sql = NULL, *sql_top = NULL;
        json_object *arr;
        int rc;

        if (asprintf(
                    &sql,
                    "SELECT COUNT(%s), COUNT(*) - COUNT(%s), COUNT(DISTINCT %s), MIN(length(%s)), "
                    "MAX(length(%s)) FROM records",
                    q,
                    q,
                    q,
                    q,
                    q) < 0 ||
            asprintf(
                    &sql_top,
                    "SELECT %s, COUNT(*) AS n FROM records WHERE %s IS NOT NULL GROUP BY 1 "
                    "ORDER BY n DESC, 1 LIMIT ?",
                    q,
                    q) < 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(op->db, sql, -1, &st, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(op->db, sql_top, -1, &tp, NULL) != SQLITE_OK)
                return -EIO;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        json_object_object_add(col, "count", json_object_new_int64(sqlite3_column_int64(st, 0)));
        json_object_object_add(col, "nulls", json_object_new_int64(sqlite3_column_int64(st, 1)));
        json_object_object_add(col, "distinct", json_object_new_int64(sqlite3_column_int64(st, 2)));
        if (sqlite3_column_int64(st, 0) == 0)
                return 0;
        json_object_object_add(col, "min_length", json_object_new_int64(sqlite3_column_int64(st, 3)));
        json_object_object_add(col, "max_length", json_object_new_int64(sqlite3_column_int64(st, 4)));
        arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        json_object_object_add(col, "top", arr);
        sqlite3_bind_int64(tp, 1, top);
        while ((rc = sqlite3_step(tp)) == SQLITE_ROW) {
                json_object *e = json_object_new_object();
                if (!e)
                        return -ENOMEM;
                json_object_object_add(e, "value", data_column_to_json(tp, 0));
                json_object_object_add(e, "count", json_object_new_int64(sqlite3_column_int64(tp, 1)));
                json_object_array_add(arr, e);
        }
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        return 0;
}

int data_op_analyze(DataOp *op) {
        _cleanup_json_ json_object *result = json_object_new_object(), *errs = NULL;
        json_object *cols = json_object_new_object(), *wanted = NULL;
        int64_t top = 5;
        int r;

        if (!result || !cols) {
                json_object_put(cols);
                return -ENOMEM;
        }
        json_object_object_add(result, "rows", json_object_new_int64(op->rows));
        json_object_object_add(result, "columns", cols);
        if (json_get_int(op->options, "top", false, 1, 100, &errs, &top) < 0 ||
            json_get_array(op->options, "columns", false, &errs, &wanted) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        for (size_t i = 0; wanted && i < json_object_array_length(wanted); i++) {
                json_object *w = json_object_array_get_idx(wanted, i);
                char field[48];

                snprintf(field, sizeof(field), "options.columns[%zu]", i);
                if (!json_object_is_type(w, json_type_string))
                        return data_error(op->error, 422, field, "must be a column name");
                r = data_op_column(op, json_object_get_string(w), field);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < op->columns->n; i++) {
                const char *name = op->columns->names[i];
                DataColType t = op->columns->types[i];
                _cleanup_free_ char *q = NULL;
                json_object *col;
                bool selected = !wanted;

                for (size_t j = 0; wanted && j < json_object_array_length(wanted); j++)
                        selected = selected ||
                                streq(json_object_get_string(json_object_array_get_idx(wanted, j)), name);
                if (!selected)
                        continue;
                q = data_quote_ident(name);
                col = json_object_new_object();
                if (!q || !col) {
                        json_object_put(col);
                        return -ENOMEM;
                }
                json_object_object_add(cols, name, col);
                json_object_object_add(col, "type", json_object_new_string(data_col_type_to_string(t)));
                if (t == DATA_COL_INTEGER || t == DATA_COL_REAL || t == DATA_COL_EMPTY)
                        r = analyze_numeric(op, q, col);
                else
                        r = analyze_text(op, q, top, col);
                if (r < 0)
                        return r;
        }
        op->result = TAKE_PTR(result);
        return 0;
}
