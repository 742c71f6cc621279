/* SPDX-License-Identifier: MIT */
/* fuzz-data-sql — libFuzzer target for the SQL the data service accepts: the input's first
 * byte picks where user SQL goes (query, filter's where, transform's derive, or validate's
 * pattern), the rest is that text, and it runs through data_process_run() as POST
 * /process runs it: the guard, the limits, the bounded functions and the executor thread,
 * over a small `records` table of every column type. Built by tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data-guard.h"
#include "data-service.h"
#include "json-util.h"

static const DataConfig cfg = {
        .max_rows = 1000,
        .max_columns = 20,
        .max_result_rows = 50,
        .query_timeout_ms = 500,
};

static const char CSV[] =
        "i,r,t,j,e\n"
        "1,1.5,abc,\"{\"\"a\"\":[1,2]}\",\n"
        "-7,2e10,héllo wörld,[],\n"
        "42,,\"multi\nline\",null,\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        if (data_guard_setup() < 0 || sqlite3_initialize() != SQLITE_OK)
                abort();
        /* The service's default heap cap, so that running out of it is exercised too. */
        (void) sqlite3_hard_heap_limit64(256 << 20);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct {
                const char *operation, *option, *key;
        } targets[] = {
                { "query", "sql", NULL },
                { "filter", "where", NULL },
                { "transform", "derive", "x" },
                { "validate", "patterns", "t" },
        };
        json_object *options, *text, *inner, *dataobj, *result = NULL;
        DataError err = {};
        DataRequest dr = { .config = &cfg };
        int64_t rows;
        size_t which;

        if (size < 1)
                return 0;
        which = data[0] % (sizeof(targets) / sizeof(targets[0]));
        options = json_object_new_object();
        dataobj = json_object_new_object();
        text = json_object_new_string_len((const char *) data + 1, (int) (size - 1));
        if (!options || !dataobj || !text)
                abort();
        if (targets[which].key) {
                inner = json_object_new_object();
                json_object_object_add(inner, targets[which].key, text);
                json_object_object_add(options, targets[which].option, inner);
        } else
                json_object_object_add(options, targets[which].option, text);
        json_object_object_add(dataobj, "csv", json_object_new_string(CSV));
        dr.fn = data_op_find(targets[which].operation);
        dr.data = dataobj;
        dr.options = options;
        if (data_process_run(&dr, &result, &rows, &err) >= 0)
                json_object_put(result);
        else if (!err.status)
                /* Only the client's mistakes and the named limits may fail a request (4xx);
                 * anything else would be a 500. */
                abort();
        data_error_done(&err);
        json_object_put(options);
        json_object_put(dataobj);
        return 0;
}
