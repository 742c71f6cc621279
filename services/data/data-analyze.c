/* SPDX-License-Identifier: MIT */
/* data-analyze.c — per-column profile: inferred type, count, nulls, distinct; exact
 * min/max/mean/median/stddev/p25/p75/p95 over numbers (sorted once); top values and
 * lengths over text (one hash table of distinct values). The values come from SQLite for
 * stored datasets and JSON records, and straight from the CSV scan for CSV, which then
 * needs no database: both feed the same Profile, so both answer alike. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "data-ops.h"
#include "data-stats.h"
#include "fileio.h"
#include "json-util.h"
#include "memory-util.h"

static json_object *num_or_null(double d) {
        return isfinite(d) ? json_object_new_double(d) : NULL;
}

/* An integer column's extreme, read back through a double: INT64_MAX rounds up to 2^63,
 * which does not convert back (it came out as INT64_MIN). */
static json_object *int_from_double(double d) {
        if (d >= 0x1p63)
                return json_object_new_int64(INT64_MAX);
        return json_object_new_int64((int64_t) d);
}

/* ---- text: distinct values in a hash table ------------------------------------------
 * Memory goes through sqlite3_malloc64(), so DATA_SQL_MEMORY_LIMIT bounds it as it bounds
 * the database the values would otherwise sit in. */

typedef struct TextEntry {
        char *s; /* NULL = free slot */
        size_t len;
        int64_t n;
        uint64_t hash;
        char head[16]; /* the first bytes: most values compare without leaving the table */
} TextEntry;

/* The values' bytes, in blocks: one allocation per distinct value would cost more than
 * the hashing. */
typedef struct TextBlock {
        struct TextBlock *next;
        size_t used, size;
        char data[];
} TextBlock;

typedef struct TextTable {
        TextEntry *v;
        size_t cap, used;
        TextBlock *blocks;
} TextTable;

static void text_table_done(TextTable *t) {
        while (t->blocks) {
                TextBlock *b = t->blocks;
                t->blocks = b->next;
                sqlite3_free(b);
        }
        sqlite3_free(t->v);
        *t = (TextTable){};
}

static char *text_table_store(TextTable *t, const unsigned char *s, size_t len) {
        TextBlock *b = t->blocks;
        char *p;

        if (!b || b->size - b->used < len + 1) {
                size_t size = MAX((size_t) 64 * 1024, len + 1);
                b = sqlite3_malloc64(sizeof(TextBlock) + size);
                if (!b)
                        return NULL;
                *b = (TextBlock){ .next = t->blocks, .size = size };
                t->blocks = b;
        }
        p = b->data + b->used;
        memcpy(p, s, len);
        p[len] = '\0';
        b->used += len + 1;
        return p;
}

/* Eight bytes at a time: a multiply and a shift per word, then a final mix. */
static uint64_t hash_bytes(const unsigned char *s, size_t n) {
        uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                memcpy(&w, s + i, 8);
                h = (h ^ w) * 0xff51afd7ed558ccdULL;
                h ^= h >> 32;
        }
        if (i < n) {
                w = 0;
                memcpy(&w, s + i, n - i);
                h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        }
        h ^= h >> 29;
        h *= 0xff51afd7ed558ccdULL;
        return h ^ (h >> 32);
}

static int text_table_grow(TextTable *t) {
        size_t ncap = t->cap ? t->cap * 2 : 1024;
        TextEntry *nv = sqlite3_malloc64(ncap * sizeof(TextEntry));

        if (!nv)
                return -ENOMEM;
        memory_want_huge_pages(nv, ncap * sizeof(TextEntry));
        memset(nv, 0, ncap * sizeof(TextEntry));
        for (size_t i = 0; i < t->cap; i++) {
                size_t j;
                if (!t->v[i].s)
                        continue;
                for (j = t->v[i].hash & (ncap - 1); nv[j].s; j = (j + 1) & (ncap - 1))
                        ;
                nv[j] = t->v[i];
        }
        sqlite3_free(t->v);
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
                if (t->v[j].hash == h && t->v[j].len == len &&
                    memcmp(t->v[j].head, s, MIN(len, sizeof(t->v[j].head))) == 0 &&
                    (len <= sizeof(t->v[j].head) ||
                     memcmp(t->v[j].s + sizeof(t->v[j].head),
                            s + sizeof(t->v[j].head),
                            len - sizeof(t->v[j].head)) == 0)) {
                        t->v[j].n++;
                        return 0;
                }
        t->v[j] = (TextEntry){ .s = text_table_store(t, s, len), .len = len, .n = 1, .hash = h };
        if (!t->v[j].s)
                return -ENOMEM;
        memcpy(t->v[j].head, s, MIN(len, sizeof(t->v[j].head)));
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
        size_t chars = 0, i = 0;
        uint64_t w;

        /* Words of ASCII are eight characters. */
        for (; i + 8 <= n; i += 8) {
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ULL)
                        break;
                chars += 8;
        }
        for (; i < n; i++)
                chars += (s[i] & 0xc0) != 0x80;
        return chars;
}

/* ---- one column's profile ------------------------------------------------------------- */

typedef struct Profile {
        int64_t count; /* values that are not NULL */
        double *v;     /* numbers, while the column may be numeric */
        size_t cap;
        bool not_int; /* a number was not stored as an integer */
        TextTable text;
        size_t min_len, max_len;
        bool rescan; /* turned text after numbers: its values are read again as text */
        bool sorted; /* v is in order already */
} Profile;

static void profile_done(Profile *p) {
        sqlite3_free(p->v);
        text_table_done(&p->text);
}

static int profile_number(Profile *p, double d) {
        if ((size_t) p->count == p->cap) {
                size_t ncap = p->cap ? p->cap * 2 : 1024;
                double *nv = sqlite3_realloc64(p->v, ncap * sizeof(double));
                if (!nv)
                        return -ENOMEM;
                memory_want_huge_pages(nv, ncap * sizeof(double));
                p->v = nv;
                p->cap = ncap;
        }
        p->v[p->count++] = d;
        return 0;
}

static int profile_text(Profile *p, const unsigned char *s, size_t len) {
        size_t chars = utf8_length(s, len);

        if (text_table_add(&p->text, s, len) < 0)
                return -ENOMEM;
        p->min_len = p->count == 0 ? chars : MIN(p->min_len, chars);
        p->max_len = MAX(p->max_len, chars);
        p->count++;
        return 0;
}

static int profile_numbers_json(Profile *p, int64_t nulls, json_object *col) {
        size_t n = (size_t) p->count, distinct = 0;
        double mean;

        json_object_object_add(col, "count", json_object_new_int64(p->count));
        json_object_object_add(col, "nulls", json_object_new_int64(nulls));
        if (n == 0) {
                json_object_object_add(col, "distinct", json_object_new_int64(0));
                return 0;
        }
        if (!p->sorted && data_stats_sort(p->v, n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                distinct += i == 0 || p->v[i] != p->v[i - 1];
        mean = data_stats_mean(p->v, n);
        json_object_object_add(col, "distinct", json_object_new_int64((int64_t) distinct));
        if (!p->not_int) {
                json_object_object_add(col, "min", int_from_double(p->v[0]));
                json_object_object_add(col, "max", int_from_double(p->v[n - 1]));
        } else {
                json_object_object_add(col, "min", num_or_null(p->v[0]));
                json_object_object_add(col, "max", num_or_null(p->v[n - 1]));
        }
        json_object_object_add(col, "mean", num_or_null(mean));
        json_object_object_add(col, "median", num_or_null(data_stats_percentile(p->v, n, 50)));
        json_object_object_add(col, "stddev", num_or_null(data_stats_stddev(p->v, n, mean)));
        json_object_object_add(col, "p25", num_or_null(data_stats_percentile(p->v, n, 25)));
        json_object_object_add(col, "p75", num_or_null(data_stats_percentile(p->v, n, 75)));
        json_object_object_add(col, "p95", num_or_null(data_stats_percentile(p->v, n, 95)));
        return 0;
}

static int profile_text_json(Profile *p, int64_t nulls, int64_t top, json_object *col) {
        _cleanup_free_ TextEntry **sorted = NULL;
        json_object *arr;
        size_t k = 0;

        json_object_object_add(col, "count", json_object_new_int64(p->count));
        json_object_object_add(col, "nulls", json_object_new_int64(nulls));
        json_object_object_add(col, "distinct", json_object_new_int64((int64_t) p->text.used));
        if (p->count == 0)
                return 0;
        json_object_object_add(col, "min_length", json_object_new_int64((int64_t) p->min_len));
        json_object_object_add(col, "max_length", json_object_new_int64((int64_t) p->max_len));
        /* Only the first `top` in cmp_top's order are wanted: kept sorted by insertion
         * while the table is walked once, instead of sorting every distinct value. */
        sorted = malloc((size_t) top * sizeof(TextEntry *));
        arr = json_object_new_array();
        if (!sorted || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(col, "top", arr);
        for (size_t i = 0; i < p->text.cap; i++) {
                TextEntry *e = &p->text.v[i];
                size_t j;

                if (!e->s || (k == (size_t) top && cmp_top(&e, &sorted[k - 1]) >= 0))
                        continue;
                if (k < (size_t) top)
                        k++;
                for (j = k - 1; j > 0 && cmp_top(&e, &sorted[j - 1]) < 0; j--)
                        sorted[j] = sorted[j - 1];
                sorted[j] = e;
        }
        for (size_t i = 0; i < k; i++) {
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

/* ---- options and the result, shared by both sources --------------------------------- */

/* options.top and options.columns, checked against the columns (422 in op->error). */
static int analyze_options(DataOp *op, int64_t *ret_top, json_object **ret_wanted) {
        _cleanup_json_ json_object *errs = NULL;
        json_object *wanted = NULL;
        int64_t top = 5;
        int r;

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
        *ret_top = top;
        *ret_wanted = wanted;
        return 0;
}

static bool selected(json_object *wanted, const char *name) {
        for (size_t j = 0; wanted && j < json_object_array_length(wanted); j++)
                if (streq(json_object_get_string(json_object_array_get_idx(wanted, j)), name))
                        return true;
        return !wanted;
}

static bool numeric(DataColType t) {
        return t == DATA_COL_INTEGER || t == DATA_COL_REAL || t == DATA_COL_EMPTY;
}

/* Adds {type, count, nulls, ...} for one column to cols. */
static int
column_json(json_object *cols, const char *name, DataColType t, Profile *p, int64_t nulls, int64_t top) {
        json_object *col = json_object_new_object();

        if (!col)
                return -ENOMEM;
        json_object_object_add(cols, name, col);
        json_object_object_add(col, "type", json_object_new_string(data_col_type_to_string(t)));
        return numeric(t) ? profile_numbers_json(p, nulls, col) : profile_text_json(p, nulls, top, col);
}

static json_object *result_new(int64_t rows, json_object **ret_cols) {
        json_object *result = json_object_new_object(), *cols = json_object_new_object();

        if (!result || !cols) {
                json_object_put(result);
                json_object_put(cols);
                return NULL;
        }
        json_object_object_add(result, "rows", json_object_new_int64(rows));
        json_object_object_add(result, "columns", cols);
        *ret_cols = cols;
        return result;
}

/* ---- from SQLite -------------------------------------------------------------------- */

/* One column's values through SELECT: NULLs counted, the rest into p. */
static int profile_column(DataOp *op, const char *name, bool as_numbers, Profile *p, int64_t *ret_nulls) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL, *q = data_quote_ident(name);
        int64_t nulls = 0;
        int rc, r;

        if (!q || asprintf(&sql, "SELECT %s FROM records", q) < 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(op->db, sql, -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int t = sqlite3_column_type(st, 0);

                if (t == SQLITE_NULL) {
                        nulls++;
                        continue;
                }
                if (as_numbers) {
                        p->not_int = p->not_int || t != SQLITE_INTEGER;
                        r = profile_number(p, sqlite3_column_double(st, 0));
                } else {
                        const unsigned char *s = sqlite3_column_text(st, 0);
                        r = s ? profile_text(p, s, (size_t) sqlite3_column_bytes(st, 0)) : -ENOMEM;
                }
                if (r < 0)
                        return data_error(
                                op->error,
                                413,
                                "operation",
                                "the data does not fit in DATA_SQL_MEMORY_LIMIT");
        }
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        *ret_nulls = nulls;
        return 0;
}

int data_op_analyze(DataOp *op) {
        _cleanup_json_ json_object *result = NULL;
        json_object *cols, *wanted;
        int64_t top;
        int r;

        r = analyze_options(op, &top, &wanted);
        if (r < 0)
                return r;
        result = result_new(op->rows, &cols);
        if (!result)
                return -ENOMEM;
        for (size_t i = 0; i < op->columns->n; i++) {
                const char *name = op->columns->names[i];
                DataColType t = op->columns->types[i];
                Profile p = {};
                int64_t nulls = 0;

                if (!selected(wanted, name))
                        continue;
                r = profile_column(op, name, numeric(t), &p, &nulls);
                if (r >= 0)
                        r = column_json(cols, name, t, &p, nulls, top);
                profile_done(&p);
                if (r < 0)
                        return r;
        }
        op->result = TAKE_PTR(result);
        return 0;
}

/* ---- straight from CSV ---------------------------------------------------------------- */

/* One of the scans that run side by side, one per core: each reads the whole CSV (so each
 * knows the types, the limits and the errors) and profiles the columns col % of == index;
 * profiling, not parsing, is most of the work. */
typedef struct CsvScan {
        const DataConfig *cfg;
        const char *buf, *field;
        size_t len;
        unsigned index, of;
        Profile *p;
        size_t n;
        bool second_pass; /* reading again for the columns to rescan */
        bool rescan;      /* some column needs it */
        DataColumns columns;
        int64_t rows;
        DataError err;
        int result;
} CsvScan;

static int csv_columns(void *userdata, char *const *names, size_t n) {
        CsvScan *c = userdata;

        (void) names;
        if (c->second_pass)
                return 0;
        c->p = sqlite3_malloc64(MAX(n, 1) * sizeof(Profile));
        if (!c->p)
                return -ENOMEM;
        memset(c->p, 0, MAX(n, 1) * sizeof(Profile));
        c->n = n;
        return 0;
}

static int csv_value(
        void *userdata,
        size_t col,
        DataColType was,
        DataColType now,
        const char *s,
        size_t len,
        double number) {
        CsvScan *c = userdata;
        Profile *p = &c->p[col];

        if (col % c->of != c->index)
                return 0;
        if (c->second_pass)
                return p->rescan ? profile_text(p, (const unsigned char *) s, len) : 0;
        if (now != DATA_COL_TEXT) {
                p->not_int = now != DATA_COL_INTEGER;
                return profile_number(p, number);
        }
        if (was != DATA_COL_TEXT && p->count > 0) {
                /* Numbers until now: their text is read again once the scan is over. */
                sqlite3_free(TAKE_PTR(p->v));
                p->cap = 0;
                p->count = 0;
                p->rescan = c->rescan = true;
        }
        return p->rescan ? 0 : profile_text(p, (const unsigned char *) s, len);
}

static void *csv_scan(void *userdata) {
        CsvScan *c = userdata;
        DataCsvObserver obs = { .columns = csv_columns, .value = csv_value, .userdata = c };
        int r;

        r = data_table_scan_csv(c->buf, c->len, c->cfg, c->field, &obs, &c->columns, &c->rows, &c->err);
        if (r >= 0 && c->rescan) {
                c->second_pass = true;
                r = data_table_scan_csv(c->buf, c->len, c->cfg, c->field, &obs, NULL, &c->rows, &c->err);
        }
        /* The numbers are sorted here, on this scan's core. */
        for (size_t i = c->index; r >= 0 && i < c->columns.n; i += c->of)
                if (c->columns.types[i] != DATA_COL_TEXT && c->p[i].count > 0 &&
                    data_stats_sort(c->p[i].v, (size_t) c->p[i].count) >= 0)
                        c->p[i].sorted = true;
        if (r == -ENOMEM && !c->err.status)
                r = data_error(&c->err, 413, c->field, "the data does not fit in DATA_SQL_MEMORY_LIMIT");
        c->result = r;
        return NULL;
}

/* CPUs this process may use: its affinity, capped by a cgroup v2 quota (the pod gives
 * the data container one CPU, where a second scan would only cost). */
static unsigned usable_cpus(void) {
        _cleanup_free_ char *max = NULL;
        cpu_set_t set;
        unsigned cpus = 1;
        long long quota, period;

        if (sched_getaffinity(0, sizeof(set), &set) == 0)
                cpus = (unsigned) MAX(CPU_COUNT(&set), 1);
        if (read_full_file("/sys/fs/cgroup/cpu.max", 64, &max, NULL) >= 0 &&
            sscanf(max, "%lld %lld", &quota, &period) == 2 && period > 0)
                cpus = (unsigned) MAX(MIN((long long) cpus, quota / period), 1);
        return cpus;
}

static void csv_scan_done(CsvScan *c) {
        for (size_t i = 0; i < c->n; i++)
                profile_done(&c->p[i]);
        sqlite3_free(c->p);
        data_columns_done(&c->columns);
        data_error_done(&c->err);
}

int data_analyze_csv(
        const DataConfig *cfg,
        const char *buf,
        size_t len,
        const char *field,
        json_object *options,
        json_object **ret_result,
        int64_t *ret_rows,
        DataError *err) {
        _cleanup_json_ json_object *result = NULL;
        /* Below a megabyte a second thread costs more than it saves. */
        unsigned of = len >= 1024 * 1024 && usable_cpus() > 1 ? 2 : 1;
        CsvScan scans[2] = {};
        pthread_t helper;
        bool helped = false;
        DataOp op = { .options = options, .config = cfg, .columns = &scans[0].columns, .error = err };
        json_object *cols = NULL, *wanted = NULL;
        int64_t top = 0;
        int r;

        for (unsigned i = 0; i < 2; i++)
                scans[i] = (CsvScan){
                        .cfg = cfg, .buf = buf, .len = len, .field = field, .index = i, .of = of
                };
        if (of > 1)
                helped = pthread_create(&helper, NULL, csv_scan, &scans[1]) == 0;
        if (of > 1 && !helped) /* then this thread scans for both */
                scans[0].of = 1;
        csv_scan(&scans[0]);
        if (helped)
                (void) pthread_join(helper, NULL);
        r = scans[0].result;
        if (r >= 0 && helped && scans[1].result < 0) {
                r = scans[1].result;
                *err = scans[1].err;
                scans[1].err.errors = NULL;
        } else {
                *err = scans[0].err;
                scans[0].err.errors = NULL;
        }
        if (r >= 0)
                r = analyze_options(&op, &top, &wanted);
        if (r >= 0) {
                result = result_new(scans[0].rows, &cols);
                if (!result)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < scans[0].columns.n; i++)
                if (selected(wanted, scans[0].columns.names[i])) {
                        CsvScan *c = &scans[i % scans[0].of];
                        r = column_json(
                                cols,
                                scans[0].columns.names[i],
                                scans[0].columns.types[i],
                                &c->p[i],
                                c->rows - c->p[i].count,
                                top);
                }
        csv_scan_done(&scans[0]);
        if (helped)
                csv_scan_done(&scans[1]);
        if (r < 0)
                return r;
        *ret_result = TAKE_PTR(result);
        *ret_rows = scans[0].rows;
        return 0;
}
