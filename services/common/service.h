/* SPDX-License-Identifier: MIT */
/* service.h — the common main() of every ai-semble binary: command line, config
 * tables, logging, metrics, HTTP server with the common routes, signalfd loop,
 * sd_notify and draining shutdown. */
#pragma once

#include "config.h"
#include "health.h"
#include "http-server.h"
#include "metrics.h"
#include "service-tasks.h"

#define SERVICE_EXIT_CONFIG 2 /* bad command line or configuration (EX_USAGE-ish) */

/* Sent by the orchestrator to the data service with every call: a hash of the principal
 * it acts for, whose stored datasets the call may name (data-datasets.c). */
#define DATASET_OWNER_HEADER "X-Dataset-Owner"

typedef struct ServiceContext ServiceContext;

/* Settings every binary shares (the common config table). */
typedef struct ServiceCommonConfig {
        char *listen;
        int log_level;
        int64_t http_threads;
        uint64_t http_max_body;
        uint64_t http_max_header;
        uint64_t http_request_timeout_ms;
        uint64_t http_shutdown_timeout_ms;
        uint64_t watchdog_interval_ms; /* 0 = no WATCHDOG=1 */
        int64_t http_max_connections;
        bool http_access_log;
        bool trace;
        int64_t trace_sample_rate; /* new traces a second logged; 0 = all */
        char *otlp_endpoint;       /* NULL = no OTLP export */
} ServiceCommonConfig;

typedef struct ServiceDefinition {
        const char *name; /* "llm": log "service", SYSLOG_IDENTIFIER=ai-semble-llm */
        const char *version;
        const char *description;    /* one line for --help */
        const char *listen_env;     /* "LLM_LISTEN" */
        const char *listen_default; /* "127.0.0.1:8081" */
        const ConfigEntry *config;  /* the service's own table (may be NULL) */
        size_t n_config;
        void *config_data;       /* filled from config */
        const HttpRoute *routes; /* the service's routes */
        size_t n_routes;
        HealthReadinessFn readiness; /* NULL = ready once listening */
        bool trace_start;            /* the door: a request without a traceparent starts a trace */
        void *userdata;              /* passed to readiness, setup and teardown */
        /* After config, logging and metrics, before listening: register metrics etc. */
        int (*setup)(ServiceContext *ctx, void *userdata);
        void (*teardown)(void *userdata);
        /* NULL = the built-in routes (/health*, /metrics) are open. Otherwise called with
         * userdata before each of them is served: >= 0 serve it, < 0 refused (the gate has
         * answered, e.g. 401). The service's own routes are not passed through it. */
        int (*gate)(HttpRequest *req, void *userdata);
        /* The service's tasks, for GET /tasks (service-tasks.h): written from its own
         * dispatch table with service_tasks_add(). NULL = no GET /tasks. */
        int (*tasks)(ServiceTasks *out, void *userdata);
} ServiceDefinition;

/* Runs the service; returns the process exit code. */
int service_main(const ServiceDefinition *def, int argc, char **argv);

MetricsRegistry *service_metrics(ServiceContext *ctx);
const ServiceCommonConfig *service_common_config(ServiceContext *ctx);
HttpServer *service_http_server(ServiceContext *ctx);
