/* SPDX-License-Identifier: MIT */
/* data-table.c — CSV and JSON records into SQLite. CSV is read twice over the same
 * buffer: once to infer each column's type (so "007" stays text in a text column and
 * numbers compare as numbers), once to insert with a prepared statement. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "data-csv.h"
#include "data-table.h"
#include "json-util.h"

static const char *const col_type_names[] = {
        [DATA_COL_EMPTY] = "empty",
        [DATA_COL_INTEGER] = "integer",
        [DATA_COL_REAL] = "real",
        [DATA_COL_TEXT] = "text",
};

const char *data_col_type_to_string(DataColType t) {
        return col_type_names[t];
}

DataColType data_col_type_from_decl(const char *decl) {
        if (!decl)
                return DATA_COL_EMPTY;
        if (strcasecmp(decl, "INTEGER") == 0)
                return DATA_COL_INTEGER;
        if (strcasecmp(decl, "REAL") == 0)
                return DATA_COL_REAL;
        if (strcasecmp(decl, "BLOB") == 0)
                return DATA_COL_EMPTY;
        return DATA_COL_TEXT;
}

void data_columns_done(DataColumns *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->names[i]);
        free(c->names);
        free(c->types);
        *c = (DataColumns){};
}

int data_columns_get(sqlite3 *db, DataColumns *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        DataColumns c = {};
        int n;

        if (sqlite3_prepare_v2(db, "SELECT * FROM records LIMIT 0", -1, &st, NULL) != SQLITE_OK)
                return -ENOENT;
        n = sqlite3_column_count(st);
        c.names = calloc((size_t) n + 1, sizeof(char *));
        c.types = calloc((size_t) n + 1, sizeof(DataColType));
        if (!c.names || !c.types) {
                data_columns_done(&c);
                return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                c.names[i] = strdup(sqlite3_column_name(st, i));
                if (!c.names[i]) {
                        data_columns_done(&c);
                        return -ENOMEM;
                }
                c.n++;
                c.types[i] = data_col_type_from_decl(sqlite3_column_decltype(st, i));
        }
        *ret = c;
        return 0;
}

int data_columns_find(const DataColumns *c, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->names[i], name))
                        return (int) i;
        return -1;
}

void data_db_harden(sqlite3 *db) {
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
        /* The two-argument fts3_tokenizer() would register a tokenizer from a pointer. */
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, NULL);
        sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
        sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, DATA_SQL_MAX_SQL);
        sqlite3_limit(db, SQLITE_LIMIT_LENGTH, DATA_SQL_MAX_VALUE);
        sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, DATA_SQL_MAX_EXPR_DEPTH);
        sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, DATA_SQL_MAX_COMPOUND);
        sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, DATA_SQL_MAX_PATTERN);
        sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, DATA_SQL_MAX_ARGS);
        sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, DATA_SQL_MAX_VDBE_OPS);
        sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 0);
        /* Sorts and GROUP BYs stay in memory (bounded by the heap limit): the pod's /tmp is small. */
        (void) sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
}

int data_db_open_memory(sqlite3 **ret) {
        sqlite3 *db = NULL;

        if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
                sqlite3_close_v2(db);
                return -ENOMEM;
        }
        data_db_harden(db);
        *ret = db;
        return 0;
}

/* ---- value classification ------------------------------------------------------ */

/* What strtoll(s, &end, 10) takes whole without ERANGE, less leading space: [+-]?[0-9]+
 * within int64. By hand: strtoll's locale and errno handling cost more than the digits. */
static bool parse_int(const char *s, size_t len, int64_t *ret) {
        size_t i = 0;
        uint64_t v = 0, limit = INT64_MAX;
        bool neg = false;

        if (len == 0 || len > 20)
                return false;
        if (s[0] == '+' || s[0] == '-') {
                neg = s[0] == '-';
                limit += neg;
                i = 1;
        }
        if (i == len)
                return false;
        for (size_t start = i; i < len; i++) {
                unsigned d = (unsigned char) s[i] - (unsigned) '0';
                if (d > 9)
                        return false;
                /* Eighteen digits always fit; from the 19th on, check. */
                if (i - start >= 18 && v > (limit - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *ret = !neg ? (int64_t) v : v == 0 ? 0 : -(int64_t) (v - 1) - 1;
        return true;
}

/* Exact powers of ten as doubles (10^22 is the largest). */
static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The common decimal [+-]?D*(.D*)?([eE][+-]?D+)? with a mantissa of at most 2^53 and a
 * power of ten within ±22: both are exact doubles, so one multiplication or division
 * rounds once, correctly, and gives strtod's answer (Clinger's fast path). False leaves
 * the rest to strtod. */
static bool parse_decimal_fast(const char *s, size_t len, double *ret) {
        size_t i = 0, digits = 0;
        uint64_t m = 0;
        int exp10 = 0, e = 0;
        bool neg = false, any = false, eneg = false;

        if (s[0] == '+' || s[0] == '-') {
                neg = s[0] == '-';
                i++;
        }
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, any = true)
                if (m || s[i] != '0') {
                        if (++digits > 19)
                                return false;
                        m = m * 10 + (uint64_t) (s[i] - '0');
                }
        if (i < len && s[i] == '.')
                for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, any = true) {
                        if (m || s[i] != '0') {
                                if (++digits > 19)
                                        return false;
                                m = m * 10 + (uint64_t) (s[i] - '0');
                        }
                        exp10--;
                }
        if (!any)
                return false;
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < len && (s[i] == '+' || s[i] == '-'))
                        eneg = s[i++] == '-';
                if (i == len)
                        return false;
                for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
                        if (e < 10000)
                                e = e * 10 + (s[i] - '0');
                exp10 += eneg ? -e : e;
        }
        if (i != len || m > (UINT64_C(1) << 53) || exp10 < -22 || exp10 > 22)
                return false;
        *ret = exp10 >= 0 ? (double) m * pow10_exact[exp10] : (double) m / pow10_exact[-exp10];
        if (neg)
                *ret = -*ret;
        return true;
}

static bool parse_real(const char *s, size_t len, double *ret) {
        /* strtod also takes "inf", "nan" and hex floats: those stay text. */
        static const char allowed[256] = {
                ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
                ['8'] = 1, ['9'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1,
        };
        char *end;
        double v;

        if (len == 0 || len > 64)
                return false;
        /* What the fast path takes is made of allowed characters only. */
        if (parse_decimal_fast(s, len, ret))
                return true;
        for (size_t i = 0; i < len; i++)
                if (!allowed[(unsigned char) s[i]])
                        return false;
        errno = 0;
        v = strtod(s, &end);
        if (end != s + len || !isfinite(v))
                return false;
        *ret = v;
        return true;
}

/* ---- CSV ------------------------------------------------------------------------ */

struct CsvLoad {
        sqlite3 *db;
        const DataConfig *cfg;
        const char *field;
        DataError *err;
        int64_t max_rows;                /* DATA_MAX_ROWS, or DATA_MAX_STREAM_ROWS for a streamed load */
        const char *max_rows_name;       /* the variable named in the 413 */
        CsvReader *reader;               /* a streamed load's reader, across feeds */
        const DataCsvObserver *observer; /* shown every value of the scan, or NULL */
        bool on_disk;                    /* SQLITE_FULL means the disk, not the heap limit */
        bool inserting;
        bool header_done;
        size_t n_cols;
        char **names;
        DataColType *types;
        sqlite3_stmt *insert;
        int64_t rows;
};

/* Sets names[i] to base, or column_<i+1> when base is empty, made unique against
 * names[0..i) with _2, _3, ...: SQLite compares column names without regard to ASCII case,
 * and every column must stay addressable. */
static int unique_name(char **names, size_t i, const char *base) {
        char buf[64];
        unsigned suffix = 1;

        if (isempty(base)) {
                snprintf(buf, sizeof(buf), "column_%zu", i + 1);
                base = buf;
        }
        names[i] = strdup(base);
        if (!names[i])
                return -ENOMEM;
        for (size_t j = 0; j < i; j++) {
                if (strcasecmp(names[j], names[i]) != 0)
                        continue;
                free(names[i]);
                if (asprintf(&names[i], "%s_%u", base, ++suffix) < 0) {
                        names[i] = NULL;
                        return -ENOMEM;
                }
                j = (size_t) -1;
        }
        return 0;
}

static int csv_header(CsvLoad *l, const char *const *fields, const size_t *lens, size_t n) {
        if ((int64_t) n > l->cfg->max_columns)
                return data_error(
                        l->err,
                        413,
                        l->field,
                        "the header has %zu columns, more than %" PRIi64 " (DATA_MAX_COLUMNS)",
                        n,
                        l->cfg->max_columns);
        l->names = calloc(n, sizeof(char *));
        l->types = calloc(n, sizeof(DataColType));
        if (!l->names || !l->types)
                return -ENOMEM;
        l->n_cols = n;
        for (size_t i = 0; i < n; i++) {
                int k = unique_name(l->names, i, lens[i] == strlen(fields[i]) ? fields[i] : "");
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Widens t for one non-empty value; *ret is the value as a number while t is numeric:
 * what the insert pass will bind, read back as a double. */
static void classify(DataColType *t, const char *s, size_t len, double *ret) {
        int64_t iv;

        if (*t == DATA_COL_TEXT)
                return;
        if (*t != DATA_COL_REAL && parse_int(s, len, &iv)) {
                *t = DATA_COL_INTEGER;
                *ret = (double) iv;
                return;
        }
        *t = parse_real(s, len, ret) ? DATA_COL_REAL : DATA_COL_TEXT;
        /* SQLite stores an integral REAL as an integer: -0 comes back as 0. */
        if (*t == DATA_COL_REAL && *ret == 0)
                *ret = 0;
}

static int csv_record(const char *const *fields, const size_t *lens, size_t n, void *userdata) {
        CsvLoad *l = userdata;
        int k;

        if (!l->header_done) {
                l->header_done = true;
                if (l->inserting)
                        return 0;
                k = csv_header(l, fields, lens, n);
                if (k >= 0 && l->observer)
                        k = l->observer->columns(l->observer->userdata, l->names, l->n_cols);
                return k;
        }
        if (n > l->n_cols)
                return data_error(
                        l->err,
                        422,
                        l->field,
                        "row %" PRIi64 " has %zu fields, the header has %zu",
                        l->rows + 1,
                        n,
                        l->n_cols);
        if (!l->inserting) {
                if (++l->rows > l->max_rows)
                        return data_error(
                                l->err,
                                413,
                                l->field,
                                "more than %" PRIi64 " rows (%s)",
                                l->max_rows,
                                l->max_rows_name);
                for (size_t i = 0; i < n; i++) {
                        DataColType was = l->types[i];
                        double v = 0;

                        if (lens[i] == 0)
                                continue;
                        classify(&l->types[i], fields[i], lens[i], &v);
                        if (l->observer) {
                                k = l->observer->value(
                                        l->observer->userdata, i, was, l->types[i], fields[i], lens[i], v);
                                if (k < 0)
                                        return k;
                        }
                }
                return 0;
        }

        for (size_t i = 0; i < l->n_cols; i++) {
                int64_t iv;
                double dv;
                int col = (int) i + 1;

                if (i >= n || lens[i] == 0)
                        k = sqlite3_bind_null(l->insert, col);
                else if (l->types[i] == DATA_COL_INTEGER && parse_int(fields[i], lens[i], &iv))
                        k = sqlite3_bind_int64(l->insert, col, iv);
                else if (l->types[i] == DATA_COL_REAL && parse_real(fields[i], lens[i], &dv))
                        k = sqlite3_bind_double(l->insert, col, dv);
                else
                        k = sqlite3_bind_text(l->insert, col, fields[i], (int) lens[i], SQLITE_STATIC);
                if (k != SQLITE_OK)
                        return -ENOMEM;
        }
        k = sqlite3_step(l->insert);
        sqlite3_reset(l->insert);
        if (k == SQLITE_FULL && l->on_disk)
                return -ENOSPC;
        if (k == SQLITE_NOMEM || k == SQLITE_FULL)
                return data_error(l->err, 413, l->field, "the data does not fit in DATA_SQL_MEMORY_LIMIT");
        if (k != SQLITE_DONE)
                return -EIO;
        l->rows++;
        return 0;
}

static int create_table(
        sqlite3 *db, char *const *names, const DataColType *types, size_t n, sqlite3_stmt **ret_insert) {
        _cleanup_free_ char *create = NULL, *insert = NULL;
        size_t create_len = 0, insert_len = 0;
        _cleanup_fclose_ FILE *c = open_memstream(&create, &create_len);
        _cleanup_fclose_ FILE *ins = open_memstream(&insert, &insert_len);

        if (!c || !ins)
                return -ENOMEM;
        fputs("CREATE TABLE records (", c);
        fputs("INSERT INTO records VALUES (", ins);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *q = data_quote_ident(names[i]);
                /* BLOB: no affinity, values stay as given; read back as "empty". */
                static const char *const decl[] = { "BLOB", "INTEGER", "REAL", "TEXT" };

                if (!q)
                        return -ENOMEM;
                fprintf(c, "%s%s %s", i ? ", " : "", q, decl[types[i]]);
                fprintf(ins, "%s?", i ? ", " : "");
        }
        fputs(")", c);
        fputs(")", ins);
        if (fflush(c) != 0 || fflush(ins) != 0)
                return -ENOMEM;
        if (sqlite3_exec(db, create, NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_prepare_v2(db, insert, -1, ret_insert, NULL) != SQLITE_OK)
                return -EIO;
        return 0;
}

static void csv_load_done(CsvLoad *l) {
        for (size_t i = 0; l->names && i < l->n_cols; i++)
                free(l->names[i]);
        free(l->names);
        free(l->types);
        sqlite3_finalize(l->insert);
}

static int csv_pass(CsvLoad *l, const char *buf, size_t len) {
        _cleanup_free_ char *msg = NULL;
        int k;

        k = csv_parse_buffer(buf, len, NULL, csv_record, l, &msg);
        if (k == -EBADMSG || k == -E2BIG)
                return data_error(l->err, k == -E2BIG ? 413 : 422, l->field, "%s", strempty(msg));
        return k;
}

/* The second pass of a load, after the first has named and typed the columns: creates
 * the table and inserts every row that pass() feeds to csv_record() in one transaction. */
static int csv_insert(CsvLoad *l, int (*pass)(CsvLoad *l, const void *src), const void *src) {
        int k;

        k = create_table(l->db, l->names, l->types, l->n_cols, &l->insert);
        if (k < 0)
                return k;
        l->inserting = true;
        l->header_done = false;
        l->rows = 0;
        if (sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        k = pass(l, src);
        if (k < 0) {
                (void) sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
                return k;
        }
        k = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
        if (k == SQLITE_FULL && l->on_disk)
                return -ENOSPC;
        if (k != SQLITE_OK)
                return data_error(l->err, 413, l->field, "the data does not fit in DATA_SQL_MEMORY_LIMIT");
        return 0;
}

typedef struct CsvBuffer {
        const char *buf;
        size_t len;
} CsvBuffer;

static int buffer_pass(CsvLoad *l, const void *src) {
        const CsvBuffer *b = src;

        return csv_pass(l, b->buf, b->len);
}

int data_table_load_csv(
        sqlite3 *db, const char *buf, size_t len, const DataConfig *cfg, const char *field, DataError *err) {
        CsvLoad l = {
                .db = db,
                .cfg = cfg,
                .field = field,
                .err = err,
                .max_rows = cfg->max_rows,
                .max_rows_name = "DATA_MAX_ROWS",
        };
        int k;

        k = csv_pass(&l, buf, len);
        if (k < 0)
                goto finish;
        if (!l.names) {
                k = data_error(err, 422, field, "no header row");
                goto finish;
        }
        k = csv_insert(&l, buffer_pass, &(CsvBuffer){ buf, len });
        if (k >= 0)
                k = l.rows > INT32_MAX ? INT32_MAX : (int) l.rows;
finish:
        csv_load_done(&l);
        return k;
}

int data_table_scan_csv(
        const char *buf,
        size_t len,
        const DataConfig *cfg,
        const char *field,
        const DataCsvObserver *obs,
        DataColumns *ret_columns,
        int64_t *ret_rows,
        DataError *err) {
        CsvLoad l = {
                .cfg = cfg,
                .field = field,
                .err = err,
                .max_rows = cfg->max_rows,
                .max_rows_name = "DATA_MAX_ROWS",
                .observer = obs,
        };
        int k;

        k = csv_pass(&l, buf, len);
        if (k >= 0 && !l.names)
                k = data_error(err, 422, field, "no header row");
        if (k >= 0 && ret_columns) {
                ret_columns->names = TAKE_PTR(l.names);
                ret_columns->types = TAKE_PTR(l.types);
                ret_columns->n = l.n_cols;
                l.n_cols = 0;
        }
        if (k >= 0)
                *ret_rows = l.rows;
        csv_load_done(&l);
        return k < 0 ? k : 0;
}

/* ---- streamed CSV ---------------------------------------------------------------- */

static int reader_error(CsvLoad *l, int k) {
        if (k == -EBADMSG || k == -E2BIG)
                return data_error(
                        l->err, k == -E2BIG ? 413 : 422, l->field, "%s", csv_reader_error(l->reader));
        return k;
}

int data_csv_scan_new(const DataConfig *cfg, const char *field, DataError *err, CsvLoad **ret) {
        CsvLoad *l = calloc(1, sizeof(CsvLoad));
        int k;

        if (!l)
                return -ENOMEM;
        *l = (CsvLoad){
                .cfg = cfg,
                .field = field,
                .err = err,
                .max_rows = cfg->max_stream_rows,
                .max_rows_name = "DATA_MAX_STREAM_ROWS",
        };
        k = csv_reader_new(NULL, csv_record, l, &l->reader);
        if (k < 0) {
                free(l);
                return k;
        }
        *ret = l;
        return 0;
}

void data_csv_scan_free(CsvLoad *l) {
        if (!l)
                return;
        csv_reader_free(l->reader);
        csv_load_done(l);
        free(l);
}

int data_csv_scan_feed(CsvLoad *l, const char *buf, size_t len) {
        int k = csv_reader_feed(l->reader, buf, len);
        return k < 0 ? reader_error(l, k) : 0;
}

int data_csv_scan_finish(CsvLoad *l) {
        int k = csv_reader_finish(l->reader);

        if (k < 0)
                return reader_error(l, k);
        if (!l->names)
                return data_error(l->err, 422, l->field, "no header row");
        return 0;
}

int64_t data_csv_scan_rows(const CsvLoad *l) {
        return l->rows;
}

/* Feeds the whole of fd, from its start, to a new reader and finishes it. */
static int fd_pass(CsvLoad *l, const void *src) {
        int fd = *(const int *) src;
        _cleanup_free_ char *buf = NULL;
        off_t off = 0;
        int k;

        csv_reader_free(TAKE_PTR(l->reader));
        k = csv_reader_new(NULL, csv_record, l, &l->reader);
        if (k < 0)
                return k;
        buf = malloc(DATA_CSV_READ_CHUNK);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = pread(fd, buf, DATA_CSV_READ_CHUNK, off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                k = n == 0 ? csv_reader_finish(l->reader) : csv_reader_feed(l->reader, buf, (size_t) n);
                if (k < 0 || n == 0)
                        return k < 0 ? reader_error(l, k) : 0;
                off += n;
        }
}

int data_csv_load_fd(CsvLoad *l, sqlite3 *db, int fd) {
        l->db = db;
        l->on_disk = true;
        return csv_insert(l, fd_pass, &fd);
}

/* ---- JSON records --------------------------------------------------------------- */

static void names_freep(char ***names) {
        for (char **p = *names; p && *p; p++)
                free(*p);
        free(*names);
}

static DataColType json_col_type(DataColType cur, json_object *v) {
        DataColType t;

        switch (json_object_get_type(v)) {
        case json_type_null:
                return cur;
        case json_type_int:
        case json_type_boolean:
                t = DATA_COL_INTEGER;
                break;
        case json_type_double:
                t = DATA_COL_REAL;
                break;
        default:
                t = DATA_COL_TEXT;
        }
        if (cur == DATA_COL_EMPTY || cur == t)
                return t;
        if ((cur == DATA_COL_INTEGER && t == DATA_COL_REAL) ||
            (cur == DATA_COL_REAL && t == DATA_COL_INTEGER))
                return DATA_COL_REAL;
        return DATA_COL_TEXT;
}

int data_table_load_records(
        sqlite3 *db, json_object *records, const DataConfig *cfg, const char *field, DataError *err) {
        _cleanup_json_ json_object *index = json_object_new_object(); /* name -> column number */
        _cleanup_stmt_ sqlite3_stmt *insert = NULL;
        _cleanup_(names_freep) char **names = NULL; /* NULL-terminated */
        _cleanup_free_ DataColType *types = NULL;
        size_t n_rows = json_object_array_length(records), n_cols = 0;
        int k;

        if (!index)
                return -ENOMEM;
        if ((int64_t) n_rows > cfg->max_rows)
                return data_error(
                        err,
                        413,
                        field,
                        "%zu records, more than %" PRIi64 " (DATA_MAX_ROWS)",
                        n_rows,
                        cfg->max_rows);
        for (size_t r = 0; r < n_rows; r++) {
                json_object *rec = json_object_array_get_idx(records, r);

                if (!json_object_is_type(rec, json_type_object)) {
                        char f[64];
                        snprintf(f, sizeof(f), "%s[%zu]", field, r);
                        return data_error(
                                err,
                                422,
                                f,
                                "must be an object, not %s",
                                json_type_to_user_string(json_object_get_type(rec)));
                }
                json_object_object_foreach(rec, key, val) {
                        json_object *idx;
                        (void) val;
                        if (json_object_object_get_ex(index, key, &idx))
                                continue;
                        if ((int64_t) n_cols >= cfg->max_columns)
                                return data_error(
                                        err,
                                        413,
                                        field,
                                        "more than %" PRIi64 " columns (DATA_MAX_COLUMNS)",
                                        cfg->max_columns);
                        json_object_object_add(index, key, json_object_new_int64((int64_t) n_cols++));
                }
        }
        if (n_cols == 0)
                return data_error(err, 422, field, "the records have no fields");
        names = calloc(n_cols + 1, sizeof(char *));
        types = calloc(n_cols, sizeof(DataColType));
        if (!names || !types)
                return -ENOMEM;
        {
                size_t i = 0;
                json_object_object_foreach(index, key, val) {
                        (void) val;
                        k = unique_name(names, i++, key);
                        if (k < 0)
                                return k;
                }
        }
        for (size_t r = 0; r < n_rows; r++) {
                json_object_object_foreach(json_object_array_get_idx(records, r), key, val) {
                        json_object *idx;
                        if (json_object_object_get_ex(index, key, &idx)) {
                                int64_t c = json_object_get_int64(idx);
                                types[c] = json_col_type(types[c], val);
                        }
                }
        }
        k = create_table(db, names, types, n_cols, &insert);
        if (k < 0)
                return k;
        (void) sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (size_t r = 0; r < n_rows; r++) {
                json_object *rec = json_object_array_get_idx(records, r);

                sqlite3_clear_bindings(insert);
                json_object_object_foreach(rec, key, val) {
                        json_object *idx;
                        int col;

                        if (!json_object_object_get_ex(index, key, &idx))
                                continue;
                        col = (int) json_object_get_int64(idx) + 1;
                        switch (json_object_get_type(val)) {
                        case json_type_null:
                                k = sqlite3_bind_null(insert, col);
                                break;
                        case json_type_boolean:
                                k = sqlite3_bind_int64(insert, col, json_object_get_boolean(val));
                                break;
                        case json_type_int:
                                k = sqlite3_bind_int64(insert, col, json_object_get_int64(val));
                                break;
                        case json_type_double:
                                k = sqlite3_bind_double(insert, col, json_object_get_double(val));
                                break;
                        case json_type_string:
                                k = sqlite3_bind_text(
                                        insert,
                                        col,
                                        json_object_get_string(val),
                                        json_object_get_string_len(val),
                                        SQLITE_STATIC);
                                break;
                        default: /* nested objects and arrays are kept as JSON text */
                                k = sqlite3_bind_text(
                                        insert,
                                        col,
                                        json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN),
                                        -1,
                                        SQLITE_TRANSIENT);
                        }
                        if (k != SQLITE_OK) {
                                (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                                return -ENOMEM;
                        }
                }
                k = sqlite3_step(insert);
                sqlite3_reset(insert);
                if (k != SQLITE_DONE) {
                        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                        if (k == SQLITE_NOMEM || k == SQLITE_FULL)
                                return data_error(
                                        err, 413, field, "the data does not fit in DATA_SQL_MEMORY_LIMIT");
                        return -EIO;
                }
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                return data_error(err, 413, field, "the data does not fit in DATA_SQL_MEMORY_LIMIT");
        return n_rows > INT32_MAX ? INT32_MAX : (int) n_rows;
}
