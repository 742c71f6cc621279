/* SPDX-License-Identifier: MIT */
/* data-validate.c — the toolkit's validate: required fields, types, numeric ranges and
 * full-match patterns (data-pattern.h), reported per row ({row, column, rule, message}). */
#include <math.h>

#include "data-ops.h"
#include "data-pattern.h"
#include "json-util.h"

typedef enum Rule { RULE_REQUIRED, RULE_TYPE, RULE_RANGE, RULE_PATTERN } Rule;

typedef struct Check {
        Rule rule;
        int col;            /* index in the SELECT, -1 = column absent (required only) */
        const char *column; /* borrowed from options */
        const char *type;   /* RULE_TYPE */
        double min, max;    /* RULE_RANGE */
        bool has_min, has_max;
        DataPattern *re; /* RULE_PATTERN */
        char field[300]; /* RULE_PATTERN: options.patterns.<column> */
} Check;

static const char *const rule_names[] = { "required", "type", "range", "pattern" };

static bool type_matches(const char *type, sqlite3_stmt *st, int i) {
        int t = sqlite3_column_type(st, i);

        if (streq(type, "integer"))
                return t == SQLITE_INTEGER;
        if (streq(type, "number"))
                return t == SQLITE_INTEGER || t == SQLITE_FLOAT;
        if (streq(type, "string") || streq(type, "text"))
                return t == SQLITE_TEXT;
        /* boolean: 0/1 (JSON true/false are stored so) or the words */
        if (t == SQLITE_INTEGER)
                return sqlite3_column_int64(st, i) == 0 || sqlite3_column_int64(st, i) == 1;
        if (t == SQLITE_TEXT) {
                const char *s = (const char *) sqlite3_column_text(st, i);
                return strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0;
        }
        return false;
}

/* Returns a message when the check fails, NULL when the value passes; *ret_error is set
 * (with err) when the check cannot be made. */
static const char *check_value(Check *c, sqlite3_stmt *st, char *buf, size_t size, int *ret_error) {
        int t = c->col >= 0 ? sqlite3_column_type(st, c->col) : SQLITE_NULL;

        switch (c->rule) {
        case RULE_REQUIRED:
                if (t == SQLITE_NULL || (t == SQLITE_TEXT && sqlite3_column_bytes(st, c->col) == 0))
                        return "is required";
                return NULL;
        case RULE_TYPE:
                if (t == SQLITE_NULL || type_matches(c->type, st, c->col))
                        return NULL;
                snprintf(buf, size, "must be of type %s", c->type);
                return buf;
        case RULE_RANGE: {
                double v;
                if (t == SQLITE_NULL)
                        return NULL;
                if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
                        return "must be a number";
                v = sqlite3_column_double(st, c->col);
                if ((c->has_min && v < c->min) || (c->has_max && v > c->max)) {
                        if (c->has_min && c->has_max)
                                snprintf(buf, size, "%.15g is outside [%.15g, %.15g]", v, c->min, c->max);
                        else if (c->has_min)
                                snprintf(buf, size, "%.15g is below %.15g", v, c->min);
                        else
                                snprintf(buf, size, "%.15g is above %.15g", v, c->max);
                        return buf;
                }
                return NULL;
        }
        case RULE_PATTERN: {
                const char *s;
                int r;
                if (t == SQLITE_NULL)
                        return NULL;
                s = (const char *) sqlite3_column_text(st, c->col);
                r = s ? data_pattern_match(c->re, s, (size_t) sqlite3_column_bytes(st, c->col)) : -ENOMEM;
                if (r > 0)
                        return NULL;
                if (r < 0)
                        *ret_error = r;
                return "does not match the pattern";
        }
        }
        return NULL;
}

typedef struct Checks {
        Check *v;
        size_t n, cap;
} Checks;

static void checks_done(Checks *cs) {
        for (size_t i = 0; i < cs->n; i++)
                data_pattern_free(cs->v[i].re);
        free(cs->v);
}

static Check *checks_add(Checks *cs) {
        if (cs->n == cs->cap) {
                size_t ncap = cs->cap ? cs->cap * 2 : 16;
                Check *nv = realloc(cs->v, ncap * sizeof(Check));
                if (!nv)
                        return NULL;
                cs->v = nv;
                cs->cap = ncap;
        }
        cs->v[cs->n] = (Check){};
        return &cs->v[cs->n++];
}

static int build_checks(DataOp *op, Checks *cs) {
        _cleanup_json_ json_object *errs = NULL;
        json_object *required = NULL, *types = NULL, *ranges = NULL, *patterns = NULL;
        char field[300];
        Check *c;

        if (json_get_array(op->options, "required", false, &errs, &required) < 0 ||
            json_get_object(op->options, "types", false, &errs, &types) < 0 ||
            json_get_object(op->options, "ranges", false, &errs, &ranges) < 0 ||
            json_get_object(op->options, "patterns", false, &errs, &patterns) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        if (!required && !types && !ranges && !patterns)
                return data_error(
                        op->error, 422, "options", "give at least one of required, types, ranges, patterns");
        for (size_t i = 0; required && i < json_object_array_length(required); i++) {
                json_object *v = json_object_array_get_idx(required, i);
                snprintf(field, sizeof(field), "options.required[%zu]", i);
                if (!json_object_is_type(v, json_type_string))
                        return data_error(op->error, 422, field, "must be a column name");
                if (!(c = checks_add(cs)))
                        return -ENOMEM;
                c->rule = RULE_REQUIRED;
                c->column = json_object_get_string(v);
                c->col = data_columns_find(op->columns, c->column); /* absent: every row misses it */
        }
        if (types) {
                json_object_object_foreach(types, key, val) {
                        const char *t = json_object_get_string(val);
                        snprintf(field, sizeof(field), "options.types.%s", key);
                        if (!json_object_is_type(val, json_type_string) ||
                            !(streq(t, "integer") || streq(t, "number") || streq(t, "string") ||
                              streq(t, "text") || streq(t, "boolean")))
                                return data_error(
                                        op->error, 422, field, "must be integer, number, string or boolean");
                        if (!(c = checks_add(cs)))
                                return -ENOMEM;
                        c->rule = RULE_TYPE;
                        c->column = key;
                        c->type = t;
                        if ((c->col = data_op_column(op, key, field)) < 0)
                                return c->col;
                }
        }
        if (ranges) {
                json_object_object_foreach(ranges, key, val) {
                        json_object *e = NULL;
                        snprintf(field, sizeof(field), "options.ranges.%s", key);
                        if (!(c = checks_add(cs)))
                                return -ENOMEM;
                        c->rule = RULE_RANGE;
                        c->column = key;
                        if (!json_object_is_type(val, json_type_object))
                                return data_error(op->error, 422, field, "must be an object {min, max}");
                        if (json_get_double(val, "min", false, -INFINITY, INFINITY, &e, &c->min) > 0)
                                c->has_min = true;
                        if (json_get_double(val, "max", false, -INFINITY, INFINITY, &e, &c->max) > 0)
                                c->has_max = true;
                        json_object_put(e);
                        if (e || (!c->has_min && !c->has_max))
                                return data_error(op->error, 422, field, "needs a numeric min, max or both");
                        if ((c->col = data_op_column(op, key, field)) < 0)
                                return c->col;
                }
        }
        if (patterns) {
                json_object_object_foreach(patterns, key, val) {
                        char why[200];
                        int r;
                        snprintf(field, sizeof(field), "options.patterns.%s", key);
                        if (!json_object_is_type(val, json_type_string))
                                return data_error(op->error, 422, field, "must be a regular expression");
                        if (!(c = checks_add(cs)))
                                return -ENOMEM;
                        c->rule = RULE_PATTERN;
                        c->column = key;
                        snprintf(c->field, sizeof(c->field), "%s", field);
                        if ((c->col = data_op_column(op, key, field)) < 0)
                                return c->col;
                        r = data_pattern_compile(
                                json_object_get_string(val),
                                (size_t) json_object_get_string_len(val),
                                &c->re,
                                why,
                                sizeof(why));
                        if (r == -EINVAL)
                                return data_error(op->error, 422, field, "%s", why);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int data_op_validate(DataOp *op) {
        _cleanup_(checks_done) Checks cs = {};
        _cleanup_json_ json_object *result = NULL, *errs = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        size_t sql_len = 0;
        _cleanup_fclose_ FILE *f = NULL;
        json_object *list;
        int64_t max_errors = 1000, row = 0, invalid = 0, n_errors = 0;
        int r, rc;

        if (json_get_int(op->options, "max_errors", false, 1, 100000, &errs, &max_errors) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        r = build_checks(op, &cs);
        if (r < 0)
                return r;
        f = open_memstream(&sql, &sql_len);
        if (!f)
                return -ENOMEM;
        fputs("SELECT ", f);
        for (size_t i = 0; i < op->columns->n; i++) {
                _cleanup_free_ char *q = data_quote_ident(op->columns->names[i]);
                if (!q)
                        return -ENOMEM;
                fprintf(f, "%s%s", i ? ", " : "", q);
        }
        fputs(" FROM records", f);
        if (fflush(f) != 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(op->db, sql, -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        result = json_object_new_object();
        list = json_object_new_array();
        if (!result || !list) {
                json_object_put(list);
                return -ENOMEM;
        }
        json_object_object_add(result, "errors", list);
        /* The patterns run between steps, where SQLite cannot stop them: the loop checks
         * the deadline itself. */
        data_guard_arm(op->guard);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                bool bad = false;
                row++;
                if (data_guard_expired(op->guard)) {
                        rc = SQLITE_INTERRUPT;
                        break;
                }
                for (size_t i = 0; i < cs.n; i++) {
                        char buf[160];
                        int error = 0;
                        const char *msg = check_value(&cs.v[i], st, buf, sizeof(buf), &error);
                        json_object *e;

                        if (error == -E2BIG) {
                                data_guard_disarm(op->guard);
                                return data_error(
                                        op->error,
                                        422,
                                        cs.v[i].field,
                                        "matching row %" PRIi64 " takes more than %d steps or %d bytes",
                                        row,
                                        DATA_PATTERN_MAX_STEPS,
                                        DATA_PATTERN_MAX_MEMORY);
                        }
                        if (error < 0) {
                                data_guard_disarm(op->guard);
                                return error;
                        }
                        if (!msg)
                                continue;
                        bad = true;
                        if (n_errors++ >= max_errors)
                                continue;
                        e = json_object_new_object();
                        if (!e)
                                return -ENOMEM;
                        json_object_object_add(e, "row", json_object_new_int64(row));
                        json_object_object_add(e, "column", json_object_new_string(cs.v[i].column));
                        json_object_object_add(e, "rule", json_object_new_string(rule_names[cs.v[i].rule]));
                        json_object_object_add(e, "message", json_object_new_string(msg));
                        json_object_array_add(list, e);
                }
                invalid += bad;
        }
        data_guard_disarm(op->guard);
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        json_object_object_add(result, "valid", json_object_new_boolean(invalid == 0));
        json_object_object_add(result, "rows_checked", json_object_new_int64(row));
        json_object_object_add(result, "invalid_rows", json_object_new_int64(invalid));
        json_object_object_add(result, "error_count", json_object_new_int64(n_errors));
        json_object_object_add(result, "truncated", json_object_new_boolean(n_errors > max_errors));
        op->result = TAKE_PTR(result);
        return 0;
}
