/* SPDX-License-Identifier: MIT */
/* data-aggregate.c — group_by with sum/avg/min/max/count/median/stddev/pNN per column:
 * options {group_by: "col" | [cols], aggregations: {"col": ["sum", "p90"], "*": ["count"]}}. */
#include <ctype.h>

#include "data-ops.h"
#include "json-util.h"

/* Writes the SQL of one aggregate over quoted column q, or returns false if fn is unknown. */
static bool emit_agg(FILE *f, const char *fn, const char *q) {
        static const struct {
                const char *name, *sql;
        } simple[] = {
                { "sum", "SUM" },       { "avg", "AVG" },       { "mean", "AVG" },
                { "min", "MIN" },       { "max", "MAX" },       { "count", "COUNT" },
                { "median", "median" }, { "stddev", "stddev" }, { "variance", "variance" },
        };
        const char *p;
        char *end;
        double pct;

        for (size_t i = 0; i < ELEMENTSOF(simple); i++)
                if (streq(fn, simple[i].name)) {
                        fprintf(f, "%s(%s)", simple[i].sql, q);
                        return true;
                }
        p = startswith(fn, "p");
        if (!p || !isdigit((unsigned char) *p))
                return false;
        pct = strtod(p, &end);
        if (*end || pct < 0 || pct > 100)
                return false;
        fprintf(f, "percentile(%s, %.17g)", q, pct);
        return true;
}

int data_op_aggregate(DataOp *op) {
        _cleanup_json_ json_object *errs = NULL, *groups = NULL, *default_aggs = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL, *group_sql = NULL;
        size_t sql_len = 0, group_len = 0;
        _cleanup_fclose_ FILE *f = NULL, *g = NULL;
        json_object *group_by = NULL, *aggs = NULL;
        bool first = true;
        int r;

        if (json_object_object_get_ex(op->options, "group_by", &group_by)) {
                if (json_object_is_type(group_by, json_type_string)) {
                        groups = json_object_new_array();
                        if (!groups)
                                return -ENOMEM;
                        json_object_array_add(groups, json_object_get(group_by));
                } else if (json_object_is_type(group_by, json_type_array))
                        groups = json_object_get(group_by);
                else
                        return data_error(
                                op->error,
                                422,
                                "options.group_by",
                                "must be a column name or an array of them");
        }
        if (json_get_object(op->options, "aggregations", false, &errs, &aggs) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        if (!aggs) {
                /* The seed's clients send aggregate without options: summarise every
                 * numeric column (per group if group_by is given) and count the rows. */
                aggs = default_aggs = json_object_new_object();
                if (!aggs)
                        return -ENOMEM;
                for (size_t i = 0; i < op->columns->n; i++) {
                        json_object *fns;
                        if (op->columns->types[i] != DATA_COL_INTEGER &&
                            op->columns->types[i] != DATA_COL_REAL)
                                continue;
                        fns = json_object_new_array();
                        if (!fns)
                                return -ENOMEM;
                        json_object_array_add(fns, json_object_new_string("sum"));
                        json_object_array_add(fns, json_object_new_string("avg"));
                        json_object_array_add(fns, json_object_new_string("min"));
                        json_object_array_add(fns, json_object_new_string("max"));
                        json_object_object_add(aggs, op->columns->names[i], fns);
                }
                json_object_object_add(aggs, "*", json_object_new_string("count"));
        }

        f = open_memstream(&sql, &sql_len);
        g = open_memstream(&group_sql, &group_len);
        if (!f || !g)
                return -ENOMEM;
        fputs("SELECT ", f);
        for (size_t i = 0; groups && i < json_object_array_length(groups); i++) {
                json_object *c = json_object_array_get_idx(groups, i);
                _cleanup_free_ char *q = NULL;
                char field[48];

                snprintf(field, sizeof(field), "options.group_by[%zu]", i);
                if (!json_object_is_type(c, json_type_string))
                        return data_error(op->error, 422, field, "must be a column name");
                r = data_op_column(op, json_object_get_string(c), field);
                if (r < 0)
                        return r;
                q = data_quote_ident(json_object_get_string(c));
                if (!q)
                        return -ENOMEM;
                fprintf(f, "%s%s", first ? "" : ", ", q);
                fprintf(g, "%s%s", i ? ", " : "", q);
                first = false;
        }
        if (aggs) {
                json_object_object_foreach(aggs, key, val) {
                        _cleanup_free_ char *q = NULL;
                        char field[256];
                        bool star = streq(key, "*");

                        snprintf(field, sizeof(field), "options.aggregations.%s", key);
                        if (!star && (r = data_op_column(op, key, field)) < 0)
                                return r;
                        if (json_object_is_type(val, json_type_string)) {
                                json_object *a = json_object_new_array();
                                if (!a)
                                        return -ENOMEM;
                                json_object_array_add(a, json_object_get(val));
                                json_object_object_add(aggs, key, a); /* normalise in place */
                                val = a;
                        }
                        if (!json_object_is_type(val, json_type_array) || json_object_array_length(val) == 0)
                                return data_error(
                                        op->error,
                                        422,
                                        field,
                                        "must be a function name or an array of them");
                        q = star ? strdup("*") : data_quote_ident(key);
                        if (!q)
                                return -ENOMEM;
                        for (size_t i = 0; i < json_object_array_length(val); i++) {
                                json_object *fn = json_object_array_get_idx(val, i);
                                const char *name = json_object_get_string(fn);
                                _cleanup_free_ char *alias = NULL, *qalias = NULL;

                                if (!json_object_is_type(fn, json_type_string) ||
                                    (star && !streq(name, "count")))
                                        return data_error(
                                                op->error,
                                                422,
                                                field,
                                                star ? "\"*\" only takes count" : "must be function names");
                                if (asprintf(&alias, "%s_%s", star ? "rows" : key, name) < 0)
                                        return -ENOMEM;
                                qalias = data_quote_ident(alias);
                                if (!qalias)
                                        return -ENOMEM;
                                fputs(first ? "" : ", ", f);
                                first = false;
                                if (!emit_agg(f, name, q))
                                        return data_error(
                                                op->error,
                                                422,
                                                field,
                                                "'%s' is not one of sum, avg, min, max, count, median, stddev, variance, p0..p100",
                                                name);
                                fprintf(f, " AS %s", qalias);
                        }
                }
        }
        fputs(" FROM records", f);
        if (fflush(g) != 0)
                return -ENOMEM;
        if (group_len > 0)
                fprintf(f, " GROUP BY %s ORDER BY %s", group_sql, group_sql);
        if (fflush(f) != 0)
                return -ENOMEM;
        r = data_guard_prepare(op->guard, op->db, sql, "options", &st, op->error);
        if (r < 0)
                return r;
        return data_op_run_rows(op, st, "options", &op->result);
}
