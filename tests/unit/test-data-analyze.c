/* SPDX-License-Identifier: MIT */
/* test-data-analyze.c — analyze straight from CSV (data_analyze_csv(), no database) must
 * answer what loading the CSV into SQLite and running data_op_analyze() answers, to the
 * byte: on edge cases (empty cells, mixed and late-changing types, quoting, NaN-like and
 * huge numbers, UTF-8, blank lines, short rows), on options and on errors; its number
 * parsing must be strtod's and strtoll's; and the radix sort must order as a stable
 * comparison sort does. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "check-run.h"
#include "data-guard.h"
#include "data-ops.h"
#include "data-stats.h"
#include "json-util.h"

static const DataConfig cfg = {
        .max_rows = 50000,
        .max_columns = 20,
        .max_result_rows = 100,
        .query_timeout_ms = 5000,
};

/* The answer as text: the result's JSON, or "status: detail" of the error. */
static char *answer(int r, json_object *result, const DataError *err) {
        char *s = NULL;

        if (r < 0)
                ck_assert_int_ge(asprintf(&s, "%d: %s", err->status, err->detail), 0);
        else
                s = strdup(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN));
        ck_assert_ptr_nonnull(s);
        return s;
}

static char *analyze_sqlite(const char *csv, size_t len, json_object *options) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_(data_columns_done) DataColumns columns = {};
        _cleanup_sqlite_ sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        DataGuard g;
        DataOp op = { .options = options, .config = &cfg, .columns = &columns, .error = &err, .guard = &g };
        char *s;
        int r;

        ck_assert_int_eq(data_guard_init(&g, cfg.query_timeout_ms), 0);
        ck_assert_int_eq(data_db_open_memory(&db), 0);
        r = data_table_load_csv(db, csv, len, &cfg, "data.csv", &err);
        if (r >= 0) {
                ck_assert_int_eq(data_columns_get(db, &columns), 0);
                ck_assert_int_eq(
                        sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1, &st, NULL), SQLITE_OK);
                ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
                op.rows = sqlite3_column_int64(st, 0);
                sqlite3_finalize(st);
                op.db = db;
                ck_assert_int_eq(data_guard_install(&g, db), 0);
                r = data_op_analyze(&op);
                data_guard_uninstall(&g);
        }
        s = answer(r, op.result, &err);
        json_object_put(op.result);
        data_guard_done(&g);
        return s;
}

static char *analyze_direct(const char *csv, size_t len, json_object *options) {
        _cleanup_(data_error_done) DataError err = {};
        json_object *result = NULL;
        int64_t rows = 0;
        char *s;
        int r;

        r = data_analyze_csv(&cfg, csv, len, "data.csv", options, &result, &rows, &err);
        s = answer(r, result, &err);
        json_object_put(result);
        return s;
}

static void same_answer_len(const char *csv, size_t len, const char *options_json) {
        _cleanup_json_ json_object *options = json_tokener_parse(options_json ? options_json : "{}");
        _cleanup_free_ char *a = analyze_sqlite(csv, len, options), *b = analyze_direct(csv, len, options);

        ck_assert_msg(streq(a, b), "CSV:\n%.300s\nSQLite: %.2000s\ndirect: %.2000s", csv, a, b);
}

static void same_answer(const char *csv, const char *options_json) {
        same_answer_len(csv, strlen(csv), options_json);
}

START_TEST(test_edge_cases) {
        static const char *const csvs[] = {
                /* every type, empty cells, a short row */
                "i,r,t,e,mixed\n1,1.5,a,,1\n2,,b,,x\n,3e2,,,2.5\n4\n",
                /* numbers until the last row, then text: read again as text */
                "late,int_to_real,real_then_int\n1,1,1.5\n2,2,2\n3,3.25,3\n4,4,-4e-3\nfour,5,5\n",
                /* quoting: separators, doubled quotes, newlines, CRLF, a BOM */
                "\xef\xbb\xbfname,note\r\n\"Doe, J.\",\"said \"\"hi\"\"\nthen left\"\r\nx,\"multi\r\nline\"\r\n\"\",\"\"\r\n",
                /* NaN-like and infinite words stay text; 1e999 is not finite */
                "v\nNaN\nnan\ninf\n-Infinity\n1e999\n0x10\n",
                "v\n1.5\nNaN\n",
                /* huge, tiny and signed numbers */
                "big,real,tiny,z\n99999999999999999999,1.7976931348623157e308,4.9e-324,-0\n"
                "-9223372036854775808,-1.7976931348623157e308,2.2250738585072014e-308,0\n"
                "9223372036854775807,1e308,-4.9e-324,-0.0\n",
                "i\n9223372036854775807\n9223372036854775808\n",
                "i\n+5\n007\n-0\n",
                /* what is not a number: spaces, signs and exponents alone */
                "v\n 5\n5 \n1.5e\n+\n.\n-.5\n5.\n1e+\n",
                /* UTF-8: lengths in characters, bytes order the top values */
                "w\nétoile\n日本語\n😀\nétoile\nz\nZ\n\xc3\n",
                /* duplicate and empty names, blank lines */
                "a,A,,a_2\n\n1,2,3,4\n\n\n5,6,7,8\n",
                /* only a header; only nulls */
                "a,b\n",
                "a\n\n,\n",
                /* the same value many times, ties in the top values */
                "t,n\nb,1\na,1\nc,2\nb,2\na,3\nc,3\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(csvs); i++)
                same_answer(csvs[i], NULL);
}
END_TEST

START_TEST(test_options_and_errors) {
        static const char *const csv = "id,city,score\n1,tokyo,3.5\n2,osaka,\n3,tokyo,1\n";

        same_answer(csv, "{\"top\": 1}");
        same_answer(csv, "{\"top\": 100, \"columns\": [\"score\", \"city\"]}");
        same_answer(csv, "{\"top\": 0}");
        same_answer(csv, "{\"columns\": [\"nope\"]}");
        same_answer(csv, "{\"columns\": [1]}");
        same_answer(csv, "{\"columns\": \"city\"}");
        /* the CSV's errors come first, as the load reported them */
        same_answer("a,b\n1,2,3\n", "{\"top\": 0}");
        same_answer("a,b\n\"open,1\n", NULL);
        same_answer("a,b\n1,x\"y\n", NULL);
        same_answer("", NULL);
        same_answer("\n\n", NULL);
        same_answer("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u\n", NULL);
}
END_TEST

START_TEST(test_rows_limit) {
        _cleanup_free_ char *csv = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&csv, &len);

        fputs("n\n", f);
        for (int i = 0; i <= cfg.max_rows; i++)
                fprintf(f, "%d\n", i);
        ck_assert_int_eq(fclose(f), 0);
        same_answer_len(csv, len, NULL);
}
END_TEST

/* Random CSVs of numbers in many spellings, text and gaps: both answers agree. */
START_TEST(test_random_tables) {
        unsigned seed = 12345;

        for (int t = 0; t < 60; t++) {
                _cleanup_free_ char *csv = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&csv, &len);
                int rows = 1 + rand_r(&seed) % 400, late = rand_r(&seed) % (rows + 1);

                fputs("a,b,c,d\n", f);
                for (int r = 0; r < rows; r++) {
                        fprintf(f, "%d,", rand_r(&seed) % 7 == 0 ? 0 : rand_r(&seed) % 2000 - 1000);
                        switch (rand_r(&seed) % 5) {
                        case 0:
                                fputs(",", f);
                                break;
                        case 1:
                                fprintf(f,
                                        "%.*f,",
                                        rand_r(&seed) % 8,
                                        (rand_r(&seed) - RAND_MAX / 2) / 997.0);
                                break;
                        case 2:
                                fprintf(f, "%de%d,", rand_r(&seed) % 100 - 50, rand_r(&seed) % 40 - 20);
                                break;
                        default:
                                fprintf(f, "%.17g,", (rand_r(&seed) - RAND_MAX / 2) * 1e-3);
                        }
                        fprintf(f,
                                "%s,",
                                (const char *[]){
                                        "x", "y", "é", "", "\"q,\"\"r\"", "zz" }[rand_r(&seed) % 6]);
                        if (r == late)
                                fputs("text\n", f);
                        else
                                fprintf(f, "%d\n", rand_r(&seed) % 50);
                }
                ck_assert_int_eq(fclose(f), 0);
                same_answer_len(csv, len, "{\"top\": 3}");
        }
}
END_TEST

START_TEST(test_two_scans) {
        /* Over a megabyte two scans share the columns, each on a thread: late text in a
         * column of each, numbers and text in both. */
        _cleanup_free_ char *csv = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&csv, &len);
        unsigned seed = 5;

        fputs("id,value,late_even,late_odd,city\n", f);
        for (int r = 0; r < 45000; r++)
                fprintf(f,
                        "%d,%.4f,%s,%s,%s\n",
                        r,
                        (rand_r(&seed) % 100000) / 7.0,
                        r == 44000 ? "text" : "1",
                        r == 30000 ? "x" : "2.5",
                        (const char *[]){ "tokyo", "osaka", "kyoto", "" }[rand_r(&seed) % 4]);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_uint_gt(len, 1024 * 1024);
        same_answer_len(csv, len, "{\"top\": 4}");
}
END_TEST

/* ---- number parsing: what strtod and strtoll answer -------------------------------- */

/* The value analyze reads from a one-row CSV of s; false if the column is not numeric. */
static bool analyzed_number(const char *s, double *ret) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_json_ json_object *result = NULL, *options = json_object_new_object();
        _cleanup_free_ char *csv = NULL;
        json_object *col, *min;
        int64_t rows;

        ck_assert_int_ge(asprintf(&csv, "v\n%s\n", s), 0);
        ck_assert_int_eq(
                data_analyze_csv(&cfg, csv, strlen(csv), "data.csv", options, &result, &rows, &err), 0);
        col = json_object_object_get(json_object_object_get(result, "columns"), "v");
        if (!streq(json_object_get_string(json_object_object_get(col, "type")), "real") &&
            !streq(json_object_get_string(json_object_object_get(col, "type")), "integer"))
                return false;
        min = json_object_object_get(col, "min");
        *ret = json_object_get_double(min);
        return true;
}

START_TEST(test_numbers_as_strtod) {
        unsigned seed = 777;

        for (int t = 0; t < 20000; t++) {
                char s[96];
                int n = 0, digits = 1 + rand_r(&seed) % 22, frac = rand_r(&seed) % 24;
                double want, got;
                char *end;
                bool ok;

                if (rand_r(&seed) % 3 == 0)
                        s[n++] = rand_r(&seed) % 2 ? '-' : '+';
                for (int i = 0; i < digits; i++)
                        s[n++] = (char) ('0' + rand_r(&seed) % 10);
                if (frac > 0 && rand_r(&seed) % 4) {
                        s[n++] = '.';
                        for (int i = 0; i < frac; i++)
                                s[n++] = (char) ('0' + rand_r(&seed) % 10);
                }
                if (rand_r(&seed) % 3 == 0)
                        n += snprintf(s + n, sizeof(s) - (size_t) n, "e%d", rand_r(&seed) % 60 - 30);
                s[n] = '\0';
                errno = 0;
                want = strtod(s, &end);
                ok = analyzed_number(s, &got);
                ck_assert_msg(ok, "%s is not read as a number", s);
                /* An integer column reads int64 values: those that fit are exact. */
                ck_assert_msg(
                        memcmp(&want, &got, sizeof(double)) == 0 || (want == 0 && got == 0),
                        "%s: strtod %.17g, analyze %.17g",
                        s,
                        want,
                        got);
        }
}
END_TEST

/* One value of test table t for the sort: t % 4 == 0 mixes signs, zeros, extremes and
 * magnitudes; 1 is whole numbers in a narrow range (with -0); 2 whole numbers up to
 * ±2^53 (and past it when t % 8 == 6); 3 ascending with ties of -0 and +0, so already
 * in order. */
static double sort_value(int t, size_t i, unsigned *seed) {
        switch (t % 4) {
        case 1:
                return rand_r(seed) % 7 == 0 ? -0.0 : (double) (rand_r(seed) % 1000) - 300;
        case 2:
                switch (rand_r(seed) % 4) {
                case 0:
                        return rand_r(seed) % 2 ? 0x1p53 : -0x1p53;
                case 1:
                        return t % 8 == 6 && rand_r(seed) % 2 ? 0x1p53 + 2 : -0.0;
                default:
                        return (double) (((int64_t) rand_r(seed) << 22) ^ rand_r(seed)) - 0x1p52;
                }
        case 3:
                return i < 100 ? (rand_r(seed) % 2 ? 0.0 : -0.0) : (double) (i / 3) * 0.5;
        }
        switch (rand_r(seed) % 6) {
        case 0:
                return rand_r(seed) % 2 ? 0.0 : -0.0;
        case 1:
                return (double) (rand_r(seed) % 10) - 5;
        case 2:
                return rand_r(seed) % 2 ? DBL_MAX : -DBL_MIN;
        default:
                return ((double) rand_r(seed) - RAND_MAX / 2) * pow(10, rand_r(seed) % 40 - 20);
        }
}

START_TEST(test_radix_sort_is_stable_sort) {
        unsigned seed = 99;

        for (int t = 0; t < 80; t++) {
                size_t n = 200 + (size_t) (rand_r(&seed) % 5000);
                _cleanup_free_ double *v = malloc(n * sizeof(double)), *w = malloc(n * sizeof(double));

                ck_assert_ptr_nonnull(v);
                ck_assert_ptr_nonnull(w);
                for (size_t i = 0; i < n; i++) {
                        v[i] = sort_value(t, i, &seed);
                        w[i] = v[i];
                }
                if (t % 8 == 7) { /* ascending but for one pair */
                        double x = v[n / 2];
                        v[n / 2] = w[n / 2] = v[n / 2 + 50];
                        v[n / 2 + 50] = w[n / 2 + 50] = x;
                }
                ck_assert_int_eq(data_stats_sort(v, n), 0);
                /* Insertion sort: stable, by value, -0 == +0. */
                for (size_t i = 1; i < n; i++) {
                        double x = w[i];
                        size_t j = i;
                        for (; j > 0 && w[j - 1] > x; j--)
                                w[j] = w[j - 1];
                        w[j] = x;
                }
                ck_assert_msg(memcmp(v, w, n * sizeof(double)) == 0, "radix sort differs (n=%zu)", n);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("data-analyze");
        TCase *tc = tcase_create("same-as-sqlite");

        tcase_add_test(tc, test_edge_cases);
        tcase_add_test(tc, test_options_and_errors);
        tcase_add_test(tc, test_rows_limit);
        tcase_add_test(tc, test_random_tables);
        tcase_add_test(tc, test_two_scans);
        suite_add_tcase(s, tc);
        tc = tcase_create("parts");
        tcase_add_test(tc, test_numbers_as_strtod);
        tcase_add_test(tc, test_radix_sort_is_stable_sort);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
