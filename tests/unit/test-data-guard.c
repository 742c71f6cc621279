/* SPDX-License-Identifier: MIT */
/* test-data-guard.c — user SQL against the limits that keep the data service alive: each
 * request runs through data_process_run() as POST /process runs it, called from a thread
 * whose stack is as small as an HTTP worker's, with the attacks an outside test used to
 * crash the service or keep its CPU busy. */
#include <check.h>
#include <pthread.h>

#include "check-run.h"
#include "data-funcs.h"
#include "data-guard.h"
#include "data-service.h"
#include "json-util.h"

/* civetweb as Debian builds it (USE_STACK_SIZE=102400): the service must not need more. */
#define WORKER_STACK (100 * 1024)

static const DataConfig cfg = {
        .max_rows = 100000,
        .max_columns = 100,
        .max_result_rows = 100,
        .query_timeout_ms = 300,
};

typedef struct Call {
        const char *operation;
        const char *data;    /* JSON */
        const char *options; /* JSON */
        uint64_t timeout_ms; /* 0: cfg's */
        int r;
        int status;
        char detail[512];
        char field[64];
        json_object *result;
} Call;

static void *call_main(void *userdata) {
        Call *c = userdata;
        _cleanup_json_ json_object *data = json_tokener_parse(c->data),
                                   *options = json_tokener_parse(c->options);
        _cleanup_(data_error_done) DataError err = {};
        DataConfig config = cfg;
        DataRequest dr = {
                .config = &config,
                .fn = data_op_find(c->operation),
                .data = data,
                .options = options,
        };
        int64_t rows = 0;

        if (c->timeout_ms)
                config.query_timeout_ms = c->timeout_ms;
        c->r = data_process_run(&dr, &c->result, &rows, &err);
        c->status = err.status;
        snprintf(c->detail, sizeof(c->detail), "%s", err.detail);
        if (err.errors)
                snprintf(
                        c->field,
                        sizeof(c->field),
                        "%s",
                        json_object_get_string(
                                json_object_object_get(json_object_array_get_idx(err.errors, 0), "field")));
        return NULL;
}

/* Runs one request the way an HTTP worker would, on a stack of WORKER_STACK bytes. */
static void call(Call *c) {
        pthread_attr_t attr;
        pthread_t t;

        ck_assert_int_eq(pthread_attr_init(&attr), 0);
        ck_assert_int_eq(pthread_attr_setstacksize(&attr, WORKER_STACK), 0);
        ck_assert_int_eq(pthread_create(&t, &attr, call_main, c), 0);
        pthread_attr_destroy(&attr);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
}

static Call query_within(const char *sql, uint64_t timeout_ms) {
        _cleanup_json_ json_object *o = json_object_new_object();
        Call c = { .operation = "query", .data = "{\"csv\": \"a\\n1\\n\"}", .timeout_ms = timeout_ms };

        json_object_object_add(o, "sql", json_object_new_string(sql));
        c.options = strdup(json_object_to_json_string(o));
        ck_assert_ptr_nonnull(c.options);
        call(&c);
        free((char *) c.options);
        return c;
}

/* A query over a one-row `records` under cfg's time limit. */
static Call query(const char *sql) {
        return query_within(sql, 0);
}

static const char *first_value(const Call *c) {
        json_object *rec = json_object_array_get_idx(json_object_object_get(c->result, "records"), 0);
        json_object_object_foreach(rec, k, v) {
                (void) k;
                return json_object_to_json_string(v);
        }
        return NULL;
}

/* CPU time of this process: what the tests bound, as the wall clock depends on the load. */
static uint64_t cpu_usec(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void refused(const Call *c, int status, const char *field, const char *words) {
        ck_assert_msg(
                c->r < 0 && c->status == status,
                "wanted %d, got r=%d status %d (%s)",
                status,
                c->r,
                c->status,
                c->detail);
        ck_assert_str_eq(c->field, field);
        ck_assert_msg(strstr(c->detail, words), "detail '%s' lacks '%s'", c->detail, words);
}

static char *repeat(const char *s, size_t n) {
        size_t l = strlen(s);
        char *out = malloc(l * n + 1);

        ck_assert_ptr_nonnull(out);
        for (size_t i = 0; i < n; i++)
                memcpy(out + i * l, s, l);
        out[l * n] = '\0';
        return out;
}

/* ---- deep recursion inside SQLite --------------------------------------------------- */

START_TEST(test_like_wildcards) {
        _cleanup_free_ char *pat = repeat("%a", 550), *opts = NULL;
        Call c = { .operation = "transform", .data = "{\"csv\": \"a\\n1\\n\"}" };

        ck_assert_int_ge(
                asprintf(&opts, "{\"derive\": {\"x\": \"printf('%%.*c', 2000, 'a') LIKE '%sb'\"}}", pat), 0);
        c.options = opts;
        call(&c);
        refused(&c, 422, "options.derive", "pattern too complex");
}
END_TEST

START_TEST(test_glob_wildcards) {
        _cleanup_free_ char *pat = repeat("*a", 600), *sql = NULL;
        Call c;

        ck_assert_int_ge(asprintf(&sql, "SELECT printf('%%.*c', 2000, 'a') GLOB '%sb'", pat), 0);
        c = query(sql);
        refused(&c, 422, "options.sql", "pattern too complex");
}
END_TEST

START_TEST(test_json_nesting) {
        Call c = query("SELECT json(printf('%.*c', 5000, '[') || printf('%.*c', 5000, ']')) AS v");
        Call d = query("SELECT json_valid(printf('%.*c', 100000, '[')) AS v");

        refused(&c, 422, "options.sql", "malformed JSON");
        ck_assert_msg(d.r == 0, "json_valid: %s", d.detail);
        ck_assert_str_eq(first_value(&d), "0");
        json_object_put(d.result);
}
END_TEST

/* n common table expressions, each reading the one before: "c0 AS (SELECT 1), c1 AS
 * (SELECT * FROM c0), ..." then SELECT * FROM the last. */
static char *cte_chain(size_t n) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        ck_assert_ptr_nonnull(f);
        fputs("WITH c0(v) AS (SELECT 1)", f);
        for (size_t i = 1; i < n; i++)
                fprintf(f, ",c%zu AS(SELECT*FROM c%zu)", i, i - 1);
        fprintf(f, " SELECT v FROM c%zu", n - 1);
        ck_assert_int_eq(fclose(f), 0);
        return s;
}

START_TEST(test_cte_chain) {
        _cleanup_free_ char *sql = cte_chain(300);
        Call c = query(sql);

        ck_assert_msg(c.r == 0, "300 CTEs: %s", c.detail);
        ck_assert_str_eq(first_value(&c), "1");
        json_object_put(c.result);
}
END_TEST

START_TEST(test_cte_doubling) {
        /* Each CTE reads the one before twice: SQLite expands 2^19 copies while compiling. */
        _cleanup_free_ char *sql = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&sql, &len);
        uint64_t t0 = cpu_usec();
        Call c;

        fputs("WITH c0(v) AS (SELECT 1)", f);
        for (int i = 1; i < 20; i++)
                fprintf(f, ",c%d AS (SELECT a.v FROM c%d a, c%d b)", i, i - 1, i - 1);
        fputs(" SELECT count(*) FROM c19", f);
        ck_assert_int_eq(fclose(f), 0);
        c = query_within(sql, 60000); /* the compile budget, not the clock, stops it */
        refused(&c, 422, "options.sql", "too complex");
        ck_assert_uint_lt(cpu_usec() - t0, 10000000);
}
END_TEST

/* ---- CPU: functions bounded, work stopped at the deadline ------------------------------ */

START_TEST(test_printf_bomb) {
        uint64_t t0 = cpu_usec();
        Call c = query("SELECT printf('%.*c', 2000000000, 'x')");
        Call d = query("SELECT format('%2147483647d', 1)");
        Call e = query("SELECT printf('%.*c', 4294967296 + 2000000000, 'x')"); /* truncated to int */

        refused(&c, 422, "options.sql", "limited to 100000");
        refused(&d, 422, "options.sql", "limited to 100000");
        refused(&e, 422, "options.sql", "limited to 100000");
        ck_assert_uint_lt(cpu_usec() - t0, 1000000);
}
END_TEST

/* The stand-ins answer as SQLite's own functions do: each expression evaluated on a
 * plain handle and on one with the stand-ins registered. */
static void same_as_sqlite(const char *expr) {
        _cleanup_sqlite_ sqlite3 *plain = NULL, *bounded = NULL;
        _cleanup_stmt_ sqlite3_stmt *a = NULL, *b = NULL;
        _cleanup_free_ char *sql = NULL;
        int ra, rb;

        ck_assert_int_eq(data_db_open_memory(&plain), 0);
        ck_assert_int_eq(data_db_open_memory(&bounded), 0);
        ck_assert_int_eq(data_funcs_register(bounded), 0);
        ck_assert_int_ge(asprintf(&sql, "SELECT %s", expr), 0);
        ck_assert_int_eq(sqlite3_prepare_v2(plain, sql, -1, &a, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(bounded, sql, -1, &b, NULL), SQLITE_OK);
        ra = sqlite3_step(a);
        rb = sqlite3_step(b);
        ck_assert_msg(ra == rb, "%s: step %d vs %d (%s)", expr, ra, rb, sqlite3_errmsg(bounded));
        if (ra != SQLITE_ROW)
                return;
        ck_assert_msg(
                sqlite3_column_type(a, 0) == sqlite3_column_type(b, 0),
                "%s: type %d vs %d",
                expr,
                sqlite3_column_type(a, 0),
                sqlite3_column_type(b, 0));
        ck_assert_msg(
                sqlite3_column_bytes(a, 0) == sqlite3_column_bytes(b, 0) &&
                        memcmp(sqlite3_column_blob(a, 0) ?: "",
                               sqlite3_column_blob(b, 0) ?: "",
                               (size_t) sqlite3_column_bytes(a, 0)) == 0,
                "%s: '%s' vs '%s'",
                expr,
                sqlite3_column_text(a, 0),
                sqlite3_column_text(b, 0));
}

START_TEST(test_bounded_functions_answer_as_sqlite) {
        static const char *const exprs[] = {
                "printf('%d|%5d|%-5d|%05d|%+d|% d', 42, 42, 42, 42, 42, 42)",
                "printf('%x %X %o %,d %p %r %lld %ld', 255, 255, 8, 1234567, 255, 3, 1, 2)",
                "printf('%.3f %e %g %G %E %!.20g %10.4f', 3.14159, 31415.9, 1e-5, 1e20, 2.5, 0.1, 2.0)",
                "printf('%s|%10s|%-10s|%.2s|%!5s|%!.1s', 'ab', 'ab', 'ab', 'abc', 'éé', 'éé')",
                "printf('%q %Q %w %Q', 'it''s', 'x', 'a\"b', NULL)",
                "printf('%c|%.3c|%5c|%!.3c|%c', 'xy', 'a', 'b', 'é', NULL)",
                "printf('%*d|%-*d|%.*f|%*.*s|%.*c|', 5, 1, -5, 2, 2, 3.14159, -8, 2, 'abcdef', -3, 'z')",
                "printf('%n%d %% %5% %z', 7, 'zz')",
                "printf('%d %T %d', 1, 2, 3)",
                "printf('%5-d|%d', 5, 6)",
                "printf('%b', 5)",
                "printf('%', 1)",
                "printf('abc')",
                "printf()",
                "printf(NULL, 1)",
                "printf('%s %d %f', NULL, '12abc', 'x')",
                "printf('%d %d %d', 1)",
                "printf(12, 3)",
                "format('%.2f and %s', 2.345, x'41')",
                "instr('hello world', 'o')",
                "instr('héllo wörld', 'ö')",
                "instr('héllo', '')",
                "instr('', '')",
                "instr('', 'a')",
                "instr(NULL, 'a')",
                "instr('a', NULL)",
                "instr(12345, 34)",
                "instr(x'0102030405', x'0304')",
                "instr(x'41424344', 'C')",
                "instr('ABCD', x'43')",
                "instr(x'c3a9c3a9', x'a9')",
                "instr(cast(x'a9c3a9' as text), cast(x'a9' as text))",
                "instr(cast(x'41a9c3a9' as text), cast(x'a9c3' as text))",
                "instr(cast(x'e282ac41' as text), 'A')",
                "instr('aaaa', 'aaaaa')",
                "instr(3.5, '.')",
                "replace('hello world', 'o', '0')",
                "replace('aaaa', 'aa', 'b')",
                "replace('abc', '', 'x')",
                "replace(5, '', 'x')",
                "replace(5, '5', 6)",
                "replace('abc', 'b', NULL)",
                "replace('abc', NULL, 'x')",
                "replace(NULL, 'a', 'x')",
                "replace('abc', 'abcd', 'x')",
                "replace('héllo', 'é', 'e')",
                "replace(x'410042', x'00', 'z')",
                "replace('abc', x'0062', 'z')",
                "replace('aXbXc', 'X', '')",
                "replace(printf('%.*c', 1000, 'a'), 'a', 'bb')",
                "trim('  x  ')",
                "trim('xxhixx', 'x')",
                "ltrim('abcba', 'ab')",
                "rtrim('abcba', 'ab')",
                "trim('ééxé', 'é')",
                "trim('abc', NULL)",
                "trim(NULL, 'a')",
                "trim(123, 1)",
        };

        for (size_t i = 0; i < ELEMENTSOF(exprs); i++)
                same_as_sqlite(exprs[i]);
}
END_TEST

START_TEST(test_search_is_linear) {
        /* SQLite's instr and replace compare the needle at every position: 5 s each at
         * 1 MiB. A needle of half a 4 MiB haystack that almost matches everywhere: */
        uint64_t t0 = cpu_usec();
        Call c = query_within(
                "SELECT instr(hex(zeroblob(2000000)), hex(zeroblob(1000000)) || '1') AS v", 60000);
        Call d = query_within(
                "SELECT length(replace(hex(zeroblob(2000000)), hex(zeroblob(1000000)) || '1', 'x')) AS v",
                60000);
        Call e = query("SELECT trim('ab', printf('%.*c', 33, 'x'))");

        ck_assert_msg(c.r == 0 && d.r == 0, "%s %s", c.detail, d.detail);
        ck_assert_str_eq(first_value(&c), "0");
        ck_assert_str_eq(first_value(&d), "4000000");
        refused(&e, 422, "options.sql", "limited to 32 bytes");
        /* SQLite's own: ~80 s each at this size (quadratic: 5 s at 1 MiB). */
        ck_assert_uint_lt(cpu_usec() - t0, 5000000);
        json_object_put(c.result);
        json_object_put(d.result);
}
END_TEST

START_TEST(test_timeout_stops_work) {
        /* Each row is one LIKE of a 100-byte pattern over 4 MB, about 0.5 s, so the
         * progress handler, which counts VM steps, would let this run for a minute. */
        uint64_t t0 = cpu_usec(), took;
        Call c =
                query("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                      "SELECT max(hex(zeroblob(2000000)) || i LIKE '%' || hex(zeroblob(49)) || '1') FROM r");

        took = cpu_usec() - t0;
        refused(&c, 422, "options.sql", "DATA_QUERY_TIMEOUT");
        ck_assert_msg(took < 300000 + 2000000, "stopped after %" PRIu64 " µs", took);
}
END_TEST

START_TEST(test_allowlist) {
        static const char *const refused_fns[] = {
                "SELECT fts3_tokenizer('simple')",    "SELECT fts3_tokenizer('evil', x'0000000000000000')",
                "SELECT json_patch('{}', '{}')",      "SELECT sqlite_version()",
                "SELECT sqlite_compileoption_get(0)", "SELECT last_insert_rowid()",
                "SELECT sqlite_log(1, 'x')",          "SELECT highlight(1)",
        };
        Call c;

        for (size_t i = 0; i < ELEMENTSOF(refused_fns); i++) {
                c = query(refused_fns[i]);
                refused(&c, 403, "options.sql", DATA_RULE_FUNCTIONS);
        }
        c = query("SELECT load_extension('/tmp/x.so')");
        refused(&c, 403, "options.sql", DATA_RULE_NO_EXTENSION);
        c = query("REINDEX");
        refused(&c, 403, "options.sql", DATA_RULE_SELECT_ONLY);
        c =
                query("SELECT count(*) + median(a) + sqrt(4) + length(json_object('k', a)) + "
                      "('{\"k\":3}' ->> '$.k') + unixepoch('1970-01-01 00:00:01') AS v FROM records");
        ck_assert_msg(c.r == 0, "%s", c.detail);
        ck_assert_str_eq(first_value(&c), "15.0");
        json_object_put(c.result);
}
END_TEST

/* ---- validate's patterns ------------------------------------------------------------- */

static Call validate(const char *data, const char *pattern) {
        _cleanup_json_ json_object *o = json_object_new_object(), *p = json_object_new_object();
        Call c = { .operation = "validate", .data = data };

        json_object_object_add(p, "v", json_object_new_string(pattern));
        json_object_object_add(o, "patterns", json_object_get(p));
        c.options = strdup(json_object_to_json_string(o));
        ck_assert_ptr_nonnull(c.options);
        call(&c);
        free((char *) c.options);
        return c;
}

START_TEST(test_pattern_bounds) {
        /* glibc's regcomp: 6.8 s and gigabytes for the first. */
        uint64_t t0 = cpu_usec();
        Call c = validate("{\"csv\": \"v\\naaa\\n\"}", "(((a{1,100}){1,100}){1,100})");
        Call d = validate("{\"csv\": \"v\\naa\\n\"}", "(a)\\1");
        Call e = validate(
                "{\"csv\": \"v\\nok\\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxa\\n\"}", "ok|(x+x+)+[yz]");
        _cleanup_free_ char *longer = repeat("a", 1001);
        Call f = validate("{\"csv\": \"v\\na\\n\"}", longer);
        Call g = validate("{\"csv\": \"v\\na\\n\"}", "a)|(b"); /* was "^(a)|(b)$" to regcomp */

        refused(&c, 422, "options.patterns.v", "too large");
        refused(&d, 422, "options.patterns.v", "non-existent subpattern");
        refused(&e, 422, "options.patterns.v", "matching row 2 takes more than 100000 steps");
        refused(&g, 422, "options.patterns.v", "unmatched closing parenthesis");
        refused(&f, 422, "options.patterns.v", "longer than 1000 bytes");
        ck_assert_uint_lt(cpu_usec() - t0, 1000000);
}
END_TEST

START_TEST(test_pattern_matches_whole_values) {
        /* POSIX ERE meaning: the whole value, '.' takes a newline, '$' only the end, an
         * alternation inside the implicit anchors, bytes as bytes. */
        static const struct {
                const char *pattern, *value;
                bool valid;
        } cases[] = {
                { "[^@ ]+@[^@ ]+\\.[a-z]+", "ann@example.org", true },
                { "[^@ ]+@[^@ ]+\\.[a-z]+", "ann@example.org!", false },
                { "a|ab", "ab", true },
                { "a.b", "a\nb", true },
                { "a$", "a\n", false },
                { "[[:digit:]]{3}-[[:alpha:]]+", "123-abc", true },
                { "(ab)*", "", true },
                { "caf.", "caf\xc3\xa9", false }, /* two bytes: . takes one */
                { "caf..", "caf\xc3\xa9", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_object *data = json_object_new_object(), *recs = json_object_new_array(),
                                           *rec = json_object_new_object();
                Call c;

                json_object_object_add(rec, "v", json_object_new_string(cases[i].value));
                json_object_array_add(recs, json_object_get(rec));
                json_object_object_add(data, "records", json_object_get(recs));
                c = validate(json_object_to_json_string(data), cases[i].pattern);
                ck_assert_msg(c.r == 0, "%s: %s", cases[i].pattern, c.detail);
                ck_assert_msg(
                        json_object_get_boolean(json_object_object_get(c.result, "valid")) == cases[i].valid,
                        "'%s' on '%s'",
                        cases[i].pattern,
                        cases[i].value);
                json_object_put(c.result);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("data-guard");
        TCase *tc = tcase_create("recursion");

        tcase_add_test(tc, test_like_wildcards);
        tcase_add_test(tc, test_glob_wildcards);
        tcase_add_test(tc, test_json_nesting);
        tcase_add_test(tc, test_cte_chain);
        tcase_add_test(tc, test_cte_doubling);
        suite_add_tcase(s, tc);
        tc = tcase_create("cpu");
        tcase_add_test(tc, test_printf_bomb);
        tcase_add_test(tc, test_bounded_functions_answer_as_sqlite);
        tcase_add_test(tc, test_search_is_linear);
        tcase_add_test(tc, test_timeout_stops_work);
        tcase_add_test(tc, test_allowlist);
        suite_add_tcase(s, tc);
        tc = tcase_create("patterns");
        tcase_add_test(tc, test_pattern_bounds);
        tcase_add_test(tc, test_pattern_matches_whole_values);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        if (data_guard_setup() < 0)
                return EXIT_FAILURE;
        return check_run(suite());
}
