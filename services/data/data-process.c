/* SPDX-License-Identifier: MIT */
/* data-process.c — POST /process {operation, data, options} (the seed's shape): loads
 * the data into a fresh in-memory database (or opens a stored dataset read-only),
 * installs the guard, runs the operation and answers
 * {status, operation, result, rows_processed, processing_time}. A raw text/csv body is
 * accepted with ?operation=NAME. */
#include <strings.h>

#include "data-exec.h"
#include "data-ops.h"
#include "data-service.h"
#include "data-stats.h"
#include "http-query.h"
#include "json-util.h"
#include "time-util.h"

static bool is_csv_body(HttpRequest *req) {
        const char *ct = http_request_header(req, "Content-Type");
        return ct && strncasecmp(ct, "text/csv", 8) == 0;
}

/* Loads data (or the raw CSV body) into a database; sets format. */
static int load_source(const DataRequest *dr, sqlite3 **ret_db, const char **ret_format, DataError *err) {
        _cleanup_sqlite_ sqlite3 *db = NULL;
        json_object *data = dr->data, *records = NULL, *csv = NULL, *dataset = NULL;
        int given = 0, r;

        if (!data) {
                r = data_db_open_memory(&db);
                if (r < 0)
                        return r;
                r = data_table_load_csv(db, strempty(dr->body), dr->body_len, dr->config, "body", err);
                *ret_format = "csv";
                if (r < 0)
                        return r;
                *ret_db = TAKE_PTR(db);
                return 0;
        }
        given += json_object_object_get_ex(data, "records", &records);
        given += json_object_object_get_ex(data, "csv", &csv);
        given += json_object_object_get_ex(data, "dataset", &dataset);
        if (given != 1)
                return data_error(err, 422, "data", "give exactly one of records, csv or dataset");
        if (dataset) {
                if (!json_object_is_type(dataset, json_type_string))
                        return data_error(err, 422, "data.dataset", "must be a dataset name");
                *ret_format = "dataset";
                return data_dataset_open(
                        dr->dataset_dir, json_object_get_string(dataset), "data.dataset", ret_db, err);
        }
        r = data_db_open_memory(&db);
        if (r < 0)
                return r;
        if (records) {
                if (!json_object_is_type(records, json_type_array))
                        return data_error(err, 422, "data.records", "must be an array of objects");
                *ret_format = "json";
                r = data_table_load_records(db, records, dr->config, "data.records", err);
        } else {
                if (!json_object_is_type(csv, json_type_string))
                        return data_error(err, 422, "data.csv", "must be CSV text");
                *ret_format = "csv";
                r = data_table_load_csv(
                        db,
                        json_object_get_string(csv),
                        (size_t) json_object_get_string_len(csv),
                        dr->config,
                        "data.csv",
                        err);
        }
        if (r < 0)
                return r;
        *ret_db = TAKE_PTR(db);
        return 0;
}

static int count_rows(sqlite3 *db, int64_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM records", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

/* The CSV text of a request that has CSV and nothing else, or NULL. */
static const char *csv_source(const DataRequest *dr, size_t *ret_len, const char **ret_field) {
        json_object *csv;

        if (!dr->data) {
                *ret_len = dr->body_len;
                *ret_field = "body";
                return strempty(dr->body);
        }
        if (json_object_object_length(dr->data) != 1 || !json_object_object_get_ex(dr->data, "csv", &csv) ||
            !json_object_is_type(csv, json_type_string))
                return NULL;
        *ret_len = (size_t) json_object_get_string_len(csv);
        *ret_field = "data.csv";
        return json_object_get_string(csv);
}

/* A request's database work, from loading to the operation's result: all on the
 * executor thread, which owns the database from open to close. analyze of CSV needs no
 * database: it profiles the columns while it reads them (data_analyze_csv()). */
typedef struct Job {
        const DataRequest *dr;
        DataGuard *guard;
        DataError *err;
        json_object *result;
        int64_t rows;
} Job;

static int job_run(void *userdata) {
        Job *j = userdata;
        const DataRequest *dr = j->dr;
        _cleanup_sqlite_ sqlite3 *db = NULL;
        _cleanup_(data_columns_done) DataColumns columns = {};
        const char *format = NULL, *csv, *field;
        size_t csv_len;
        DataOp op;
        int r;

        if (dr->fn == data_op_analyze && (csv = csv_source(dr, &csv_len, &field)))
                return data_analyze_csv(
                        dr->config, csv, csv_len, field, dr->options, &j->result, &j->rows, j->err);
        r = load_source(dr, &db, &format, j->err);
        if (r >= 0)
                r = data_stats_register(db);
        if (r >= 0)
                r = data_columns_get(db, &columns);
        op = (DataOp){
                .db = db,
                .guard = j->guard,
                .options = dr->options,
                .config = dr->config,
                .columns = &columns,
                .source_format = format ? format : "json",
                .error = j->err,
        };
        if (r >= 0)
                r = count_rows(db, &op.rows);
        if (r >= 0)
                r = data_guard_install(j->guard, db);
        if (r >= 0)
                r = dr->fn(&op);
        data_guard_uninstall(j->guard);
        if (r < 0) {
                json_object_put(op.result);
                return r;
        }
        j->result = op.result;
        j->rows = op.rows;
        return 0;
}

int data_process_run(const DataRequest *dr, json_object **ret_result, int64_t *ret_rows, DataError *err) {
        DataGuard guard;
        Job j = { .dr = dr, .guard = &guard, .err = err };
        int r;

        r = data_guard_init(&guard, dr->config->query_timeout_ms);
        if (r < 0)
                return r;
        r = data_exec_run(&guard, job_run, &j);
        data_guard_done(&guard);
        if (r < 0)
                return r;
        *ret_result = j.result;
        *ret_rows = j.rows;
        return 0;
}

static void count_operation(DataService *s, const char *operation, const char *outcome, int64_t rows) {
        const char *labels[] = { operation, outcome };

        if (s->operations)
                (void) metrics_counter_add(s->operations, labels, 1);
        if (s->rows && rows > 0)
                (void) metrics_counter_add(s->rows, labels, (double) rows);
}

int data_process_handler(HttpRequest *req, void *userdata) {
        DataService *s = userdata;
        _cleanup_json_ json_object *body = NULL, *empty = NULL, *reply = NULL, *errs = NULL;
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_free_ char *dataset_dir = NULL;
        const char *operation = NULL;
        json_object *data = NULL, *options = NULL, *result = NULL;
        char opbuf[32];
        uint64_t t0 = time_now_usec(CLOCK_MONOTONIC);
        DataRequest dr = { .config = &s->config };
        int64_t rows = 0;
        int r;

        if (is_csv_body(req)) {
                if (http_query_get(http_request_query(req), "operation", opbuf, sizeof(opbuf)) <= 0)
                        return http_reply_error(
                                req,
                                400,
                                "a text/csv body needs ?operation=NAME (one of %s)",
                                data_op_names());
                operation = opbuf;
        } else {
                size_t len;

                (void) http_request_body(req, &len);
                if (len > s->config.max_json)
                        return http_reply_error(
                                req,
                                413,
                                "JSON bodies are limited to %" PRIu64
                                " bytes (DATA_MAX_JSON_BODY); upload large data with POST /datasets or as text/csv",
                                s->config.max_json);
                r = http_request_parse_json(req, &body);
                if (r < 0)
                        return 0;
                if (!json_object_is_type(body, json_type_object))
                        return http_reply_error(req, 422, "the body must be a JSON object");
                if (json_get_string(body, "operation", true, &errs, &operation) < 0 ||
                    json_get_object(body, "data", true, &errs, &data) < 0 ||
                    json_get_object(body, "options", false, &errs, &options) < 0) {
                        /* The seed answered 400 for unknown operations; a missing one is a bad field. */
                        return http_reply_validation(req, errs);
                }
        }
        dr.fn = data_op_find(operation);
        if (!dr.fn) {
                count_operation(s, "unknown", "client_error", 0);
                return http_reply_error(
                        req, 400, "unknown operation '%s'; use one of %s", operation, data_op_names());
        }
        if (!options) {
                options = empty = json_object_new_object();
                if (!options)
                        return -ENOMEM;
        }

        r = data_dataset_dir(req, &s->config, &dataset_dir, &err);
        if (r < 0)
                return err.status ? data_reply_error(req, &err) : r;
        dr.dataset_dir = dataset_dir;
        dr.data = data;
        dr.options = options;
        if (!data)
                dr.body = http_request_body(req, &dr.body_len);
        r = data_process_run(&dr, &result, &rows, &err);
        if (r < 0) {
                count_operation(s, operation, err.status ? "client_error" : "error", 0);
                if (err.status)
                        return data_reply_error(req, &err);
                return r;
        }
        count_operation(s, operation, "completed", rows);
        reply = json_object_new_object();
        if (!reply) {
                json_object_put(result);
                return -ENOMEM;
        }
        json_object_object_add(reply, "status", json_object_new_string("completed"));
        json_object_object_add(reply, "operation", json_object_new_string(operation));
        json_object_object_add(reply, "result", result);
        json_object_object_add(reply, "rows_processed", json_object_new_int64(rows));
        json_object_object_add(
                reply,
                "processing_time",
                json_object_new_double((double) (time_now_usec(CLOCK_MONOTONIC) - t0) / 1e6));
        return http_reply_json(req, 200, reply);
}
