/* SPDX-License-Identifier: MIT */
/* data-analyze.c — per-column profile: inferred type, count, nulls, distinct; exact
 * min/max/mean/median/stddev/p25/p75/p95 over numbers (one column in memory at a time);
 * top values and lengths over text (SQL GROUP BY). */
#include <math.h>
#include <stdint.h>

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

/* ---- text: one scan into a hash table of distinct values --------------------------- */

typedef struct TextEntry {
        char *s; /* NULL = free slot */
        size_t len;
        int64_t n;
        uint64_t hash;
} TextEntry;

typedef struct TextTable {
        TextEntry *v;
        size_t cap, used;
} TextTable;

static void text_table_done(TextTable *t) {
        for (size_t i = 0; i < t->cap; i++)
                free(t->v[i].s);
        free(t->v);
}

static uint64_t hash_bytes(const unsigned char *s, size_t n) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (size_t i = 0; i < n; i++)
                h = (h ^ s[i]) * 1099511628211ULL;
        return h;
}

static int text_table_grow(TextTable *t) {
        size_t ncap = t->cap ? t->cap * 2 : 1024;
        TextEntry *nv = calloc(ncap, sizeof(TextEntry));

        if (!nv)
                return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
                size_t j;
                if (!t->v[i].s)
                        continue;
                for (j = t->v[i].hash & (ncap - 1); nv[j].s; j = (j + 1) & (ncap - 1))
                        ;
                nv[j] = t->v[i];
        }
        free(t->v);
        t->v = nv;
        t->cap = ncap;
        return 0;
}

static int text_table_add(TextTable *t, const unsigned char *s, size_t len) {
        uint64_t h = hash_bytes(s, len);
        size_t j;

        if ((t->used + 1) * 2 > t->cap && text_table_grow(t) < 0)
                return -ENOMEM;
        for (j = h & (t->cap - 1); t->v[j].s; j = (j + 1) & (t->cap - 1))
                if (t->v[j].hash == h && t->v[j].len == len && memcmp(t->v[j].s, s, len) == 0) {
                        t->v[j].n++;
                        return 0;
                }
        t->v[j].s = malloc(len + 1);
        if (!t->v[j].s)
                return -ENOMEM;
        memcpy(t->v[j].s, s, len);
        t->v[j].s[len] = '\0';
        t->v[j] = (TextEntry){ .s = t->v[j].s, .len = len, .n = 1, .hash = h };
        t->used++;
        return 0;
}

/* Most frequent first, then by value (bytes, as SQLite's BINARY collation orders). */
static int cmp_top(const void *a, const void *b) {
        const TextEntry *x = *(TextEntry *const *) a, *y = *(TextEntry *const *) b;
        int c;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        c = memcmp(x->s, y->s, MIN(x->len, y->len));
        return c ? c : (x->len > y->len) - (x->len < y->len);
}

static size_t utf8_length(const unsigned char *s, size_t n) {
        size_t chars = 0;
        for (size_t i = 0; i < n; i++)
                chars += (s[i] & 0xc0) != 0x80;
        return chars;
}

static int analyze_text(DataOp *op, const char *q, int64_t top, json_object *col) {
        _cleanup_(text_table_done) TextTable t = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        _cleanup_free_ TextEntry **sorted = NULL;
        int64_t count = 0, nulls = 0;
        size_t min_len = SIZE_MAX, max_len = 0, k = 0;
        json_object *arr;
        int rc;

        if (asprintf(&sql, "SELECT %s FROM records", q) < 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(op->db, sql, -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const unsigned char *s;
                size_t len, chars;

                if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
                        nulls++;
                        continue;
                }
                s = sqlite3_column_text(st, 0);
                len = (size_t) sqlite3_column_bytes(st, 0);
                if (!s || text_table_add(&t, s, len) < 0)
                        return -ENOMEM;
                chars = utf8_length(s, len);
                min_len = MIN(min_len, chars);
                max_len = MAX(max_len, chars);
                count++;
        }
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        json_object_object_add(col, "count", json_object_new_int64(count));
        json_object_object_add(col, "nulls", json_object_new_int64(nulls));
        json_object_object_add(col, "distinct", json_object_new_int64((int64_t) t.used));
        if (count == 0)
                return 0;
        json_object_object_add(col, "min_length", json_object_new_int64((int64_t) min_len));
        json_object_object_add(col, "max_length", json_object_new_int64((int64_t) max_len));
        sorted = malloc(t.used * sizeof(TextEntry *));
        arr = json_object_new_array();
        if (!sorted || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(col, "top", arr);
        for (size_t i = 0; i < t.cap; i++)
                if (t.v[i].s)
                        sorted[k++] = &t.v[i];
        qsort(sorted, k, sizeof(TextEntry *), cmp_top);
        for (size_t i = 0; i < k && (int64_t) i < top; i++) {
                json_object *e = json_object_new_object();
                if (!e)
                        return -ENOMEM;
                json_object_object_add(
                        e, "value", json_object_new_string_len(sorted[i]->s, (int) sorted[i]->len));
                json_object_object_add(e, "count", json_object_new_int64(sorted[i]->n));
                json_object_array_add(arr, e);
        }
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
