/* SPDX-License-Identifier: MIT */
/* data-transform.c — transform (select, rename, cast, derive) and filter (structured
 * conditions with bound values, or a SQL condition under the guard). Column names are
 * always quoted identifiers; values are always bound parameters. */
#include "data-ops.h"
#include "json-util.h"

static const char *cast_type(const char *t) {
        if (streq(t, "integer") || streq(t, "int"))
                return "INTEGER";
        if (streq(t, "real") || streq(t, "number") || streq(t, "float"))
                return "REAL";
        if (streq(t, "text") || streq(t, "string"))
                return "TEXT";
        return NULL;
}

/* Appends `<expr> AS "<out>"` for one column of records, applying cast and rename. */
static int
emit_column(DataOp *op, FILE *f, bool *first, const char *name, json_object *rename, json_object *cast) {
        _cleanup_free_ char *q = data_quote_ident(name), *out = NULL;
        json_object *v;
        const char *out_name = name, *type = NULL;

        if (!q)
                return -ENOMEM;
        if (rename && json_object_object_get_ex(rename, name, &v))
                out_name = json_object_get_string(v);
        if (cast && json_object_object_get_ex(cast, name, &v))
                type = cast_type(json_object_get_string(v));
        out = data_quote_ident(out_name);
        if (!out)
                return -ENOMEM;
        fprintf(f, "%s", *first ? "" : ", ");
        *first = false;
        if (type)
                fprintf(f, "CAST(%s AS %s) AS %s", q, type, out);
        else
                fprintf(f, "%s AS %s", q, out);
        return 0;
}

/* Checks that a map option names existing columns and has string values. */
static int check_map(DataOp *op, json_object *map, const char *opt, bool is_cast) {
        json_object_object_foreach(map, key, val) {
                char field[256];
                int r;

                snprintf(field, sizeof(field), "options.%s.%s", opt, key);
                if (!json_object_is_type(val, json_type_string) || json_object_get_string_len(val) == 0)
                        return data_error(op->error, 422, field, "must be a non-empty string");
                if (is_cast && !cast_type(json_object_get_string(val)))
                        return data_error(op->error, 422, field, "must be integer, real or text");
                r = data_op_column(op, key, field);
                if (r < 0)
                        return r;
        }
        return 0;
}

int data_op_transform(DataOp *op) {
        _cleanup_json_ json_object *errs = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        size_t sql_len = 0;
        _cleanup_fclose_ FILE *f = NULL;
        json_object *select = NULL, *rename = NULL, *cast = NULL, *derive = NULL;
        bool first = true;
        int r;

        if (json_get_array(op->options, "select", false, &errs, &select) < 0 ||
            json_get_object(op->options, "rename", false, &errs, &rename) < 0 ||
            json_get_object(op->options, "cast", false, &errs, &cast) < 0 ||
            json_get_object(op->options, "derive", false, &errs, &derive) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        if ((rename && (r = check_map(op, rename, "rename", false)) < 0) ||
            (cast && (r = check_map(op, cast, "cast", true)) < 0))
                return r;

        /* No options at all gives the rows as they are (the seed accepted a bare transform). */
        f = open_memstream(&sql, &sql_len);
        if (!f)
                return -ENOMEM;
        fputs("SELECT ", f);
        if (select) {
                for (size_t i = 0; i < json_object_array_length(select); i++) {
                        json_object *s = json_object_array_get_idx(select, i);
                        char field[48];

                        snprintf(field, sizeof(field), "options.select[%zu]", i);
                        if (!json_object_is_type(s, json_type_string))
                                return data_error(op->error, 422, field, "must be a column name");
                        r = data_op_column(op, json_object_get_string(s), field);
                        if (r < 0)
                                return r;
                        r = emit_column(op, f, &first, json_object_get_string(s), rename, cast);
                        if (r < 0)
                                return r;
                }
        } else
                for (size_t i = 0; i < op->columns->n; i++) {
                        r = emit_column(op, f, &first, op->columns->names[i], rename, cast);
                        if (r < 0)
                                return r;
                }
        if (derive) {
                json_object_object_foreach(derive, key, val) {
                        _cleanup_free_ char *out = data_quote_ident(key);
                        char field[256];

                        snprintf(field, sizeof(field), "options.derive.%s", key);
                        if (!out)
                                return -ENOMEM;
                        if (!json_object_is_type(val, json_type_string) ||
                            json_object_get_string_len(val) == 0)
                                return data_error(op->error, 422, field, "must be an SQL expression");
                        /* The newline ends a trailing "--" comment inside the expression. */
                        fprintf(f, "%s(%s\n) AS %s", first ? "" : ", ", json_object_get_string(val), out);
                        first = false;
                }
        }
        if (first)
                return data_error(op->error, 422, "options.select", "selects no columns");
        fputs(" FROM records", f);
        if (fflush(f) != 0)
                return -ENOMEM;
        r = data_guard_prepare(
                op->guard, op->db, sql, derive ? "options.derive" : "options", &st, op->error);
        if (r < 0)
                return r;
        return data_op_run_rows(op, st, derive ? "options.derive" : "options", &op->result);
}

/* ---- filter --------------------------------------------------------------------- */

static const struct {
        const char *name;
        const char *sql; /* %s = quoted column; ? = the value */
        bool needs_value;
} filter_ops[] = {
        { "=", "%s = ?", true },
        { "==", "%s = ?", true },
        { "!=", "%s IS NOT ?", true },
        { "<", "%s < ?", true },
        { "<=", "%s <= ?", true },
        { ">", "%s > ?", true },
        { ">=", "%s >= ?", true },
        { "contains", "instr(%s, ?) > 0", true },
        { "starts_with", "substr(%s, 1, length(?2)) = ?2", true },
        { "is_null", "%s IS NULL", false },
        { "not_null", "%s IS NOT NULL", false },
};

int data_op_filter(DataOp *op) {
        _cleanup_json_ json_object *errs = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        size_t sql_len = 0;
        _cleanup_fclose_ FILE *f = NULL;
        json_object *conds = NULL, *params = NULL;
        const char *where = NULL;
        int r, n_bound = 0;
        _cleanup_free_ json_object **values = NULL;

        if (json_get_array(op->options, "conditions", false, &errs, &conds) < 0 ||
            json_get_string_bounded(op->options, "where", false, 1, 10000, &errs, &where) < 0 ||
            json_get_array(op->options, "params", false, &errs, &params) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        if (!conds && !where)
                return data_error(op->error, 422, "options", "give conditions or where");
        if (params && !where)
                return data_error(op->error, 422, "options.params", "only used with options.where");

        f = open_memstream(&sql, &sql_len);
        if (!f)
                return -ENOMEM;
        fputs("SELECT * FROM records WHERE 1", f);
        /* where's own ?NNN parameters come first; conditions' values are numbered after. */
        n_bound = params ? (int) json_object_array_length(params) : 0;
        if (where)
                fprintf(f, " AND (%s\n)", where);
        values = calloc(conds ? json_object_array_length(conds) + 1 : 1, sizeof(json_object *));
        if (!values)
                return -ENOMEM;
        for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
                json_object *c = json_object_array_get_idx(conds, i), *value = NULL;
                const char *column = NULL, *opname = NULL;
                char field[64];
                size_t k;
                _cleanup_free_ char *q = NULL, *numbered = NULL;

                snprintf(field, sizeof(field), "options.conditions[%zu]", i);
                if (!json_object_is_type(c, json_type_object))
                        return data_error(op->error, 422, field, "must be an object {column, op, value}");
                if (json_get_string(c, "column", true, &errs, &column) < 0 ||
                    json_get_string(c, "op", true, &errs, &opname) < 0) {
                        json_object_put(TAKE_PTR(errs));
                        return data_error(op->error, 422, field, "needs string fields column and op");
                }
                r = data_op_column(op, column, field);
                if (r < 0)
                        return r;
                for (k = 0; k < ELEMENTSOF(filter_ops); k++)
                        if (streq(filter_ops[k].name, opname))
                                break;
                if (k == ELEMENTSOF(filter_ops))
                        return data_error(
                                op->error,
                                422,
                                field,
                                "op '%s' is not one of =, !=, <, <=, >, >=, contains, starts_with, is_null, not_null",
                                opname);
                if (filter_ops[k].needs_value) {
                        if (!json_object_object_get_ex(c, "value", &value))
                                return data_error(op->error, 422, field, "op '%s' needs a value", opname);
                        if (json_object_is_type(value, json_type_object) ||
                            json_object_is_type(value, json_type_array))
                                return data_error(
                                        op->error,
                                        422,
                                        field,
                                        "value must be a string, number, boolean or null");
                }
                q = data_quote_ident(column);
                if (!q)
                        return -ENOMEM;
                /* Number the placeholder explicitly so that ?2 in starts_with is this one. */
                n_bound++;
                if (asprintf(&numbered, "?%d", n_bound) < 0)
                        return -ENOMEM;
                fputs(" AND ", f);
                for (const char *p = filter_ops[k].sql; *p; p++) {
                        if (p[0] == '%' && p[1] == 's') {
                                fputs(q, f);
                                p++;
                        } else if (*p == '?') {
                                fputs(numbered, f);
                                if (p[1] == '2')
                                        p++;
                        } else
                                fputc(*p, f);
                }
                values[i] = filter_ops[k].needs_value ? value : NULL;
        }
        if (fflush(f) != 0)
                return -ENOMEM;
        r = data_guard_prepare(
                op->guard, op->db, sql, where ? "options.where" : "options.conditions", &st, op->error);
        if (r < 0)
                return r;
        n_bound = 0;
        for (size_t i = 0; params && i < json_object_array_length(params); i++)
                if (data_bind_json(st, ++n_bound, json_object_array_get_idx(params, i)) != SQLITE_OK) {
                        char field[48];
                        snprintf(field, sizeof(field), "options.params[%zu]", i);
                        return data_error(
                                op->error, 422, field, "must be a string, number, boolean or null");
                }
        for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
                ++n_bound;
                if (values[i] && data_bind_json(st, n_bound, values[i]) != SQLITE_OK)
                        return -EIO;
        }
        return data_op_run_rows(op, st, where ? "options.where" : "options.conditions", &op->result);
}
