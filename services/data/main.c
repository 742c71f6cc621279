/* SPDX-License-Identifier: MIT */
/* ai-semble-data — the data processor: analysis, transforms, aggregation, validation,
 * read-only SQL, conversion and charts over CSV/JSON records, run on SQLite (an in-memory
 * database per request, or a stored dataset). */
#include <stddef.h>
#include <sys/stat.h>

#include "data-guard.h"
#include "data-ops.h"
#include "data-service.h"
#include "log.h"
#include "pod-services.h"
#include "service.h"
#include "version.h"

static DataService data;

#define DATA(field) offsetof(DataService, config.field)

/* clang-format off */
static const ConfigEntry config_table[] = {
        CONFIG_STR("DATA_DIR", "/data/datasets", DATA(dir),
                "Directory of the stored datasets (one SQLite file each); created if missing."),
        CONFIG_STR("DATA_PLOT_DIR", "/data/plots", DATA(plot_dir),
                "Directory plots are written to with options.output \"file\"."),
        CONFIG_SIZE("DATA_MAX_UPLOAD", "64M", 1024, 1024LL * 1024 * 1024, DATA(max_upload),
                "Body cap of POST /process, read into memory (413 above); other routes keep "
                "HTTP_MAX_BODY. text/csv dataset uploads stream instead (DATA_MAX_STREAM_BYTES)."),
        CONFIG_SIZE("DATA_MAX_STREAM_BYTES", "4G", 1024, 1024LL * 1024 * 1024 * 1024, DATA(max_stream_bytes),
                "Bytes of one text/csv upload to POST /datasets, streamed to DATA_DIR, "
                "never held in memory (413 above; DATA_DIR needs about twice this free)."),
        CONFIG_INT("DATA_MAX_STREAM_ROWS", "50000000", 1, INT64_C(10000000000), DATA(max_stream_rows),
                "Rows of one text/csv upload to POST /datasets (413 above); DATA_MAX_ROWS bounds the rest."),
        CONFIG_SIZE("DATA_MAX_JSON_BODY", "8M", 1024, 256LL * 1024 * 1024, DATA(max_json),
                "JSON bodies above this are refused (413) before parsing; larger data goes as text/csv."),
        CONFIG_INT("DATA_MAX_ROWS", "2000000", 1, 100000000, DATA(max_rows),
                "Rows one request or JSON dataset upload may load "
                "(413 above); text/csv uploads: DATA_MAX_STREAM_ROWS."),
        CONFIG_INT("DATA_MAX_COLUMNS", "1000", 1, 2000, DATA(max_columns),
                "Columns one request or upload may have (413 above)."),
        CONFIG_INT("DATA_MAX_RESULT_ROWS", "10000", 1, 10000000, DATA(max_result_rows),
                "Rows returned by transform, filter, aggregate and query "
                "(then truncated: true); convert answers 413 above."),
        CONFIG_DURATION("DATA_QUERY_TIMEOUT", "5s", 10, 600000, DATA(query_timeout_ms),
                "Time one statement of user SQL (query, where, derive, aggregations) may run (422 after)."),
        CONFIG_SIZE("DATA_SQL_MEMORY_LIMIT", "512M", 16LL * 1024 * 1024, 64LL * 1024 * 1024 * 1024,
                DATA(sql_memory_limit),
                "Hard heap limit of SQLite across all requests "
                "(sqlite3_hard_heap_limit64); 413 when reached."),
};
/* clang-format on */

static int setup(ServiceContext *ctx, void *userdata) {
        static const char *const op_labels[] = { "operation", "outcome", NULL };
        DataService *s = userdata;
        const HttpRoute routes[] = {
                { "POST",
                  "/process",
                  data_process_handler,
                  HTTP_ROUTE_ANY_CONTENT_TYPE,
                  s,
                  s->config.max_upload },
                /* Streamed: the handler pulls text/csv into DATA_DIR and buffers JSON itself. */
                { "POST",
                  "/datasets",
                  data_datasets_create,
                  HTTP_ROUTE_ANY_CONTENT_TYPE | HTTP_ROUTE_STREAM_BODY,
                  s,
                  s->config.max_stream_bytes },
                { "GET", "/datasets", data_datasets_list, 0, s, 0 },
                { "GET", "/datasets/{name}", data_datasets_get, 0, s, 0 },
                { "DELETE", "/datasets/{name}", data_datasets_delete, 0, s, 0 },
        };
        int r;

        r = data_guard_setup();
        if (r < 0)
                return r;
        r = sqlite3_initialize();
        if (r != SQLITE_OK)
                return -ENOMEM;
        (void) sqlite3_hard_heap_limit64((sqlite3_int64) s->config.sql_memory_limit);
        if (mkdir(s->config.dir, 0750) < 0 && errno != EEXIST)
                log_warning("Cannot create DATA_DIR %s, datasets will answer 503: %m", s->config.dir);
        r = data_datasets_sweep(&s->config);
        if (r > 0)
                log_info("Removed %d unfinished upload(s) left in %s by an earlier run", r, s->config.dir);

        r = metrics_counter_new(
                service_metrics(ctx),
                "data_operations_total",
                "Operations of POST /process by outcome (completed, client_error, error).",
                op_labels,
                &s->operations);
        if (r >= 0)
                r = metrics_counter_new(
                        service_metrics(ctx),
                        "data_rows_processed_total",
                        "Rows loaded by completed operations.",
                        op_labels,
                        &s->rows);
        if (r < 0)
                return r;
        /* Registered here rather than in the definition: the upload cap comes from config. */
        return http_server_add_routes(service_http_server(ctx), routes, ELEMENTSOF(routes));
}

static void teardown(void *userdata) {
        data_plot_shutdown();
        (void) sqlite3_shutdown();
}

static const ServiceDefinition definition = {
        .name = "data",
        .version = PROJECT_VERSION,
        .description = "data processor: analysis, transforms, SQL and charts over CSV/JSON on SQLite",
        .listen_env = "DATA_LISTEN",
        .listen_default = "127.0.0.1:" AI_SEMBLE_PORT_DATA_S,
        .config = config_table,
        .n_config = ELEMENTSOF(config_table),
        .config_data = &data,
        .userdata = &data,
        .tasks = data_ops_tasks,
        .setup = setup,
        .teardown = teardown,
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
