/* SPDX-License-Identifier: MIT */
/* test-data-sql.c — loading into SQLite (type inference, hostile column names), every
 * refusal of the query guard by rule, its time limit, and the statistics helpers and SQL
 * aggregates on data with known answers. */
#include <check.h>
#include <math.h>

#include "check-run.h"
#include "data-guard.h"
#include "data-stats.h"
#include "data-table.h"
#include "json-util.h"
#include "time-util.h"

static const DataConfig cfg = {
        .max_rows = 1000,
        .max_columns = 10,
        .max_result_rows = 100,
        .query_timeout_ms = 200,
};

static sqlite3 *load_csv(const char *csv, DataError *err) {
        sqlite3 *db = NULL;

        ck_assert_int_eq(data_db_open_memory(&db), 0);
        ck_assert_int_ge(data_table_load_csv(db, csv, strlen(csv), &cfg, "data.csv", err), 0);
        ck_assert_int_eq(data_stats_register(db), 0);
        return db;
}

START_TEST(test_types_inferred) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_(data_columns_done) DataColumns c = {};
        _cleanup_sqlite_ sqlite3 *db = load_csv("i,r,t,z,e\n1,1.5,007x,007,\n-2,3,b,1,\n", &err);

        ck_assert_int_eq(data_columns_get(db, &c), 0);
        ck_assert_uint_eq(c.n, 5);
        ck_assert_int_eq(c.types[0], DATA_COL_INTEGER);
        ck_assert_int_eq(c.types[1], DATA_COL_REAL);
        ck_assert_int_eq(c.types[2], DATA_COL_TEXT);
        ck_assert_int_eq(c.types[3], DATA_COL_INTEGER);
        ck_assert_str_eq(data_col_type_to_string(c.types[4]), "empty");
}
END_TEST

START_TEST(test_hostile_names) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_(data_columns_done) DataColumns c = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *q = NULL, *sql = NULL;
        /* A column name that would end the identifier and inject a statement if spliced. */
        _cleanup_sqlite_ sqlite3 *db = load_csv("\"a\"\"); DROP TABLE records; --\",,x,x\n1,2,3,4\n", &err);

        ck_assert_int_eq(data_columns_get(db, &c), 0);
        ck_assert_str_eq(c.names[0], "a\"); DROP TABLE records; --");
        ck_assert_str_eq(c.names[1], "column_2");
        ck_assert_str_eq(c.names[2], "x");
        ck_assert_str_eq(c.names[3], "x_2");
        q = data_quote_ident(c.names[0]);
        ck_assert_str_eq(q, "\"a\"\"); DROP TABLE records; --\"");
        ck_assert_int_ge(asprintf(&sql, "SELECT %s FROM records", q), 0);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
}
END_TEST

START_TEST(test_limits) {
        _cleanup_(data_error_done) DataError err = {}, err2 = {};
        _cleanup_sqlite_ sqlite3 *db = NULL, *db2 = NULL;
        _cleanup_free_ char *big = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&big, &len);

        fputs("a\n", f);
        for (int i = 0; i < 1001; i++)
                fprintf(f, "%d\n", i);
        fclose(f);
        ck_assert_int_eq(data_db_open_memory(&db), 0);
        ck_assert_int_lt(data_table_load_csv(db, big, len, &cfg, "data.csv", &err), 0);
        ck_assert_int_eq(err.status, 413);
        ck_assert_ptr_nonnull(strstr(err.detail, "DATA_MAX_ROWS"));
        ck_assert_int_eq(data_db_open_memory(&db2), 0);
        ck_assert_int_lt(data_table_load_csv(db2, "a,b\n1,2,3\n", 10, &cfg, "data.csv", &err2), 0);
        ck_assert_int_eq(err2.status, 422);
}
END_TEST

START_TEST(test_names_unique_ignoring_case) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_(data_columns_done) DataColumns c = {}, c2 = {};
        _cleanup_json_ json_object *recs = json_tokener_parse("[{\"Id\":1,\"id\":2,\"\":3}]");
        _cleanup_sqlite_ sqlite3 *db = NULL, *db2 = load_csv("A,a,a_2\n1,2,3\n", &err);

        ck_assert_int_eq(data_db_open_memory(&db), 0);
        ck_assert_int_eq(data_table_load_records(db, recs, &cfg, "data.records", &err), 1);
        ck_assert_int_eq(data_columns_get(db, &c), 0);
        ck_assert_str_eq(c.names[0], "Id");
        ck_assert_str_eq(c.names[1], "id_2");
        ck_assert_str_eq(c.names[2], "column_3");
        ck_assert_int_eq(data_columns_get(db2, &c2), 0);
        ck_assert_str_eq(c2.names[1], "a_2");
        ck_assert_str_eq(c2.names[2], "a_2_2");
}
END_TEST

START_TEST(test_json_records) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_(data_columns_done) DataColumns c = {};
        _cleanup_json_ json_object *recs = json_tokener_parse(
                "[{\"a\":1,\"b\":\"x\"},{\"a\":2.5,\"c\":true},{\"b\":null,\"d\":{\"k\":1}}]");
        _cleanup_sqlite_ sqlite3 *db = NULL;

        ck_assert_int_eq(data_db_open_memory(&db), 0);
        ck_assert_int_eq(data_table_load_records(db, recs, &cfg, "data.records", &err), 3);
        ck_assert_int_eq(data_columns_get(db, &c), 0);
        ck_assert_uint_eq(c.n, 4);
        ck_assert_int_eq(c.types[0], DATA_COL_REAL);
        ck_assert_int_eq(c.types[1], DATA_COL_TEXT);
        ck_assert_int_eq(c.types[2], DATA_COL_INTEGER);
        ck_assert_int_eq(c.types[3], DATA_COL_TEXT);
}
END_TEST

/* Prepares sql under the guard; returns the HTTP status (0 = allowed). */
static int guarded(const char *sql, char *detail, size_t size) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_sqlite_ sqlite3 *db = load_csv("a,b\n1,x\n2,y\n", &err);
        sqlite3_stmt *st = NULL;
        DataGuard g;
        int r;

        ck_assert_int_eq(data_guard_init(&g, 200), 0);
        ck_assert_int_eq(data_guard_install(&g, db), 0);
        r = data_guard_prepare(&g, db, sql, "options.sql", &st, &err);
        sqlite3_finalize(st);
        data_guard_done(&g);
        snprintf(detail, size, "%s", err.detail);
        return r < 0 ? err.status : 0;
}

static void refused(const char *sql, int status, const char *rule) {
        char detail[512];

        ck_assert_int_eq(guarded(sql, detail, sizeof(detail)), status);
        ck_assert_msg(strstr(detail, rule), "'%s': detail '%s' does not name %s", sql, detail, rule);
}

START_TEST(test_guard_refusals) {
        char detail[512];

        refused("ATTACH DATABASE '/tmp/x.db' AS x", 403, DATA_RULE_NO_ATTACH);
        refused("DETACH DATABASE main", 403, DATA_RULE_NO_ATTACH);
        refused("PRAGMA table_info(records)", 403, DATA_RULE_NO_PRAGMA);
        refused("PRAGMA writable_schema = 1", 403, DATA_RULE_NO_PRAGMA);
        refused("SELECT * FROM pragma_table_info('records')", 403, DATA_RULE_NO_PRAGMA);
        refused("SELECT load_extension('/tmp/evil.so')", 403, DATA_RULE_NO_EXTENSION);
        refused("INSERT INTO records VALUES (3, 'z')", 403, DATA_RULE_NO_WRITE);
        refused("UPDATE records SET a = 0", 403, DATA_RULE_NO_WRITE);
        refused("DELETE FROM records", 403, DATA_RULE_NO_WRITE);
        refused("DROP TABLE records", 403, DATA_RULE_NO_WRITE);
        refused("CREATE TABLE t (x)", 403, DATA_RULE_NO_WRITE);
        refused("CREATE TEMP TABLE t AS SELECT * FROM records", 403, DATA_RULE_NO_WRITE);
        refused("ALTER TABLE records ADD COLUMN c", 403, DATA_RULE_NO_WRITE);
        refused("BEGIN", 403, DATA_RULE_SELECT_ONLY);
        refused("SELECT * FROM sqlite_master", 403, DATA_RULE_RECORDS_ONLY);
        refused("SELECT * FROM temp.sqlite_master", 403, DATA_RULE_RECORDS_ONLY);
        refused("SELECT 1; DELETE FROM records", 403, DATA_RULE_ONE_STATEMENT);
        refused("SELECT nosuchcolumn FROM records", 422, "no such column");
        refused("SELEC 1", 422, "syntax error");

        ck_assert_int_eq(guarded("SELECT a, b FROM records WHERE a > 1;", detail, sizeof(detail)), 0);
        ck_assert_int_eq(
                guarded("WITH t AS (SELECT a FROM records) SELECT sum(a) FROM t", detail, sizeof(detail)),
                0);
        ck_assert_int_eq(
                guarded("SELECT median(a), percentile(a, 90) FROM records -- comment",
                        detail,
                        sizeof(detail)),
                0);
}
END_TEST

START_TEST(test_guard_timeout) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_sqlite_ sqlite3 *db = load_csv("a\n1\n", &err);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        DataGuard g;
        uint64_t t0;
        int rc;

        ck_assert_int_eq(data_guard_init(&g, 200), 0);
        ck_assert_int_eq(data_guard_install(&g, db), 0);
        ck_assert_int_eq(
                data_guard_prepare(
                        &g,
                        db,
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                        "SELECT count(*) FROM c",
                        "options.sql",
                        &st,
                        &err),
                0);
        t0 = time_now_usec(CLOCK_MONOTONIC);
        data_guard_arm(&g);
        rc = sqlite3_step(st);
        ck_assert_int_eq(rc, SQLITE_INTERRUPT);
        ck_assert_uint_lt(time_now_usec(CLOCK_MONOTONIC) - t0, 2000000);
        ck_assert_int_lt(data_guard_step_error(&g, db, rc, "options.sql", &err), 0);
        ck_assert_int_eq(err.status, 422);
        ck_assert_ptr_nonnull(strstr(err.detail, "DATA_QUERY_TIMEOUT"));
        data_guard_done(&g);
}
END_TEST

START_TEST(test_stats_known) {
        /* statistics.quantiles([1..10], n=4, method='inclusive') == [3.25, 5.5, 7.75];
         * statistics.stdev([2,4,4,4,5,5,7,9]) == 2.138089935299395 */
        double v[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
        double w[] = { 2, 4, 4, 4, 5, 5, 7, 9 };

        data_stats_sort(v, 10);
        ck_assert_double_eq_tol(data_stats_percentile(v, 10, 25), 3.25, 1e-12);
        ck_assert_double_eq_tol(data_stats_percentile(v, 10, 50), 5.5, 1e-12);
        ck_assert_double_eq_tol(data_stats_percentile(v, 10, 75), 7.75, 1e-12);
        ck_assert_double_eq_tol(data_stats_percentile(v, 10, 95), 9.55, 1e-12);
        ck_assert_double_eq_tol(data_stats_percentile(v, 10, 0), 1, 1e-12);
        ck_assert_double_eq_tol(data_stats_percentile(v, 10, 100), 10, 1e-12);
        ck_assert_double_eq_tol(data_stats_mean(w, 8), 5, 1e-12);
        ck_assert_double_eq_tol(data_stats_stddev(w, 8, 5), 2.138089935299395, 1e-12);
        ck_assert(isnan(data_stats_stddev(w, 1, 2)));
        {
                double big[] = { -1e308, 1e308 };
                ck_assert_double_eq_tol(data_stats_percentile(big, 2, 25), -5e307, 1e293);
        }
}
END_TEST

START_TEST(test_sql_aggregates) {
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_sqlite_ sqlite3 *db = load_csv("g,v\na,1\na,2\na,3\na,4\nb,10\nb,\n", &err);
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *bad = NULL;

        ck_assert_int_eq(
                sqlite3_prepare_v2(
                        db,
                        "SELECT g, median(v), percentile(v, 25), stddev(v), variance(v) "
                        "FROM records GROUP BY g ORDER BY g",
                        -1,
                        &st,
                        NULL),
                SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_double_eq_tol(sqlite3_column_double(st, 1), 2.5, 1e-12);
        ck_assert_double_eq_tol(sqlite3_column_double(st, 2), 1.75, 1e-12);
        ck_assert_double_eq_tol(sqlite3_column_double(st, 3), 1.2909944487358056, 1e-12);
        ck_assert_double_eq_tol(sqlite3_column_double(st, 4), 5.0 / 3.0, 1e-12);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_double_eq_tol(sqlite3_column_double(st, 1), 10, 1e-12);
        ck_assert_int_eq(sqlite3_column_type(st, 3), SQLITE_NULL); /* one value: no sample stddev */
        ck_assert_int_eq(
                sqlite3_prepare_v2(db, "SELECT percentile(v, 101) FROM records", -1, &bad, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(bad), SQLITE_ERROR);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("data-sql");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_types_inferred);
        tcase_add_test(tc, test_hostile_names);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_json_records);
        tcase_add_test(tc, test_names_unique_ignoring_case);
        tcase_add_test(tc, test_guard_refusals);
        tcase_add_test(tc, test_guard_timeout);
        tcase_add_test(tc, test_stats_known);
        tcase_add_test(tc, test_sql_aggregates);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
