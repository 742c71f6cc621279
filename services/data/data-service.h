/* SPDX-License-Identifier: MIT */
/* data-service.h — the data service's state and its HTTP handlers: POST /process and
 * the /datasets collection. */
#pragma once

#include "data-ops.h"
#include "data-util.h"
#include "http-server.h"
#include "metrics.h"

typedef struct DataService {
        DataConfig config;
        MetricsFamily *operations; /* data_operations_total{operation,outcome} */
        MetricsFamily *rows;       /* data_rows_processed_total{operation} */
} DataService;

int data_process_handler(HttpRequest *req, void *userdata);

/* What POST /process is asked to do, once the HTTP layer has read it. */
typedef struct DataRequest {
        const DataConfig *config;
        const char *dataset_dir; /* where data.dataset is looked up (data_dataset_dir()) */
        DataOpFn fn;
        json_object *data; /* {records | csv | dataset}, or NULL: the raw text/csv body */
        const char *body;  /* that body */
        size_t body_len;
        json_object *options; /* never NULL */
} DataRequest;

/* Loads the data and runs the operation; on success *ret_result is the operation's result
 * (owned by the caller) and *ret_rows the rows it ran over. The client's mistakes and the
 * named limits come back in err (status set), anything else as -errno. */
int data_process_run(const DataRequest *dr, json_object **ret_result, int64_t *ret_rows, DataError *err);

int data_datasets_sweep(const DataConfig *cfg);
int data_datasets_create(HttpRequest *req, void *userdata);
int data_datasets_list(HttpRequest *req, void *userdata);
int data_datasets_get(HttpRequest *req, void *userdata);
int data_datasets_delete(HttpRequest *req, void *userdata);

/* The directory of the request's datasets: DATA_DIR, or the directory in it of the owner
 * named by X-Dataset-Owner (400 in err when that is not 1-64 lowercase hex digits). */
int data_dataset_dir(HttpRequest *req, const DataConfig *cfg, char **ret, DataError *err);
/* Opens the stored dataset in dir read-only: 404 in err when it does not exist. */
int data_dataset_open(const char *dir, const char *name, const char *field, sqlite3 **ret, DataError *err);
/* Checks a dataset name: 1-64 of [A-Za-z0-9_-], not starting with '-' or '_'. */
bool data_dataset_name_valid(const char *name);

/* data-http.c: replies with err as problem+json; returns 0 (replied) or -errno. */
int data_reply_error(HttpRequest *req, DataError *err);
