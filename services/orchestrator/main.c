/* SPDX-License-Identifier: MIT */
/* ai-semble-orchestrator — the pod's only published service: the seed's task endpoints
 * and /dispatch as persistent jobs run by a worker pool against the backend services,
 * with job events, retries and circuit breakers. */
#include <stddef.h>

#include "orchestrator.h"
#include "service.h"
#include "version.h"

static Orchestrator orch;

#define UP(field) offsetof(OrchConfig, upstream.field)

static const ConfigEntry config_table[] = {
        { "LLM_SERVICE_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8081",
          0,
          0,
          NULL,
          UP(llm_url),
          "Base URL of the LLM service." },
        { "VISION_SERVICE_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8082",
          0,
          0,
          NULL,
          UP(vision_url),
          "Base URL of the vision service." },
        { "NLP_SERVICE_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8083",
          0,
          0,
          NULL,
          UP(nlp_url),
          "Base URL of the NLP service." },
        { "DATA_PROCESSOR_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8084",
          0,
          0,
          NULL,
          UP(data_url),
          "Base URL of the data processor." },
        { "ORCH_PROBE_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "1s",
          50,
          60000,
          NULL,
          UP(probe_timeout_ms),
          "Timeout of each upstream readiness probe." },
        { "ORCH_LLM_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "120s",
          100,
          3600000,
          NULL,
          UP(timeout_ms[UPSTREAM_LLM]),
          "Default time a job for the LLM service may take, queue wait and retries included." },
        { "ORCH_VISION_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "60s",
          100,
          3600000,
          NULL,
          UP(timeout_ms[UPSTREAM_VISION]),
          "Default job timeout for the vision service." },
        { "ORCH_NLP_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "30s",
          100,
          3600000,
          NULL,
          UP(timeout_ms[UPSTREAM_NLP]),
          "Default job timeout for the NLP service." },
        { "ORCH_DATA_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "30s",
          100,
          3600000,
          NULL,
          UP(timeout_ms[UPSTREAM_DATA]),
          "Default job timeout for the data processor." },
        { "ORCH_MAX_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "10m",
          1000,
          3600000,
          NULL,
          offsetof(OrchConfig, max_timeout_ms),
          "Largest timeout a /dispatch request may ask for." },
        { "ORCH_RETRY_MAX",
          NULL,
          CONFIG_INT,
          "2",
          0,
          10,
          NULL,
          UP(retry_max),
          "Retries of an upstream call after a connect error (any task) or a reset/503 (idempotent tasks)." },
        { "ORCH_RETRY_BASE",
          NULL,
          CONFIG_DURATION,
          "50ms",
          1,
          60000,
          NULL,
          UP(retry_base_ms),
          "Base of the exponential backoff (full jitter) between retries." },
        { "ORCH_RETRY_CAP",
          NULL,
          CONFIG_DURATION,
          "1s",
          1,
          600000,
          NULL,
          UP(retry_cap_ms),
          "Largest backoff between retries." },
        { "ORCH_BREAKER_FAILURES",
          NULL,
          CONFIG_INT,
          "5",
          1,
          1000,
          NULL,
          UP(breaker_failures),
          "Consecutive failures (connect/reset/timeout, HTTP 500/502/504) that open a service's breaker." },
        { "ORCH_BREAKER_OPEN",
          NULL,
          CONFIG_DURATION,
          "10s",
          100,
          3600000,
          NULL,
          UP(breaker_open_ms),
          "How long an open breaker rejects calls before letting one probe through (half-open)." },
        { "ORCH_DB_PATH",
          NULL,
          CONFIG_STRING,
          "/data/orchestrator.db",
          0,
          0,
          NULL,
          offsetof(OrchConfig, db_path),
          "SQLite database of jobs and events (WAL mode; the directory must be writable)." },
        { "ORCH_WORKERS",
          NULL,
          CONFIG_INT,
          "8",
          1,
          256,
          NULL,
          offsetof(OrchConfig, workers),
          "Worker threads, i.e. jobs running against the services at once." },
        { "ORCH_QUEUE_MAX",
          NULL,
          CONFIG_INT,
          "1024",
          1,
          1000000,
          NULL,
          offsetof(OrchConfig, queue_max),
          "Jobs that may wait for a worker; beyond it requests get 503 with Retry-After." },
        { "ORCH_JOB_RETENTION",
          NULL,
          CONFIG_DURATION,
          "168h",
          60000,
          315360000000,
          NULL,
          offsetof(OrchConfig, retention_ms),
          "Finished jobs older than this are deleted." },
        { "ORCH_CLEANUP_INTERVAL",
          NULL,
          CONFIG_DURATION,
          "10m",
          1000,
          86400000,
          NULL,
          offsetof(OrchConfig, cleanup_interval_ms),
          "How often finished jobs past retention are deleted." },
        { "ORCH_SSE_KEEPALIVE",
          NULL,
          CONFIG_DURATION,
          "15s",
          100,
          300000,
          NULL,
          offsetof(OrchConfig, sse_keepalive_ms),
          "Interval of keep-alive comments on idle event streams." },
};

static int setup(ServiceContext *ctx, void *userdata) {
        return orchestrator_start(userdata, service_metrics(ctx));
}

static void teardown(void *userdata) {
        orchestrator_stop(userdata);
}

static int readiness(json_object *response, bool *ret_ready, void *userdata) {
        Orchestrator *o = userdata;
        json_object *services = json_object_new_object();

        if (!services)
                return -ENOMEM;
        json_object_object_add(response, "services", services);
        if (o->runner) {
                json_object *q = json_object_new_object();

                if (q) {
                        json_object_object_add(
                                q,
                                "depth",
                                json_object_new_int64((int64_t) job_runner_queue_depth(o->runner)));
                        json_object_object_add(q, "max", json_object_new_int64(o->config.queue_max));
                        json_object_object_add(
                                q,
                                "workers_busy",
                                json_object_new_int64((int64_t) job_runner_busy(o->runner)));
                        json_object_object_add(q, "workers", json_object_new_int64(o->config.workers));
                        json_object_object_add(response, "queue", q);
                }
        }
        return upstream_probe_all(&o->upstreams, services, ret_ready);
}

int main(int argc, char **argv) {
        ServiceDefinition definition = {
                .name = "orchestrator",
                .version = PROJECT_VERSION,
                .description = "entry point of the ai-semble pod",
                .listen_env = "ORCHESTRATOR_LISTEN",
                .listen_default = "0.0.0.0:8080",
                .config = config_table,
                .n_config = ELEMENTSOF(config_table),
                .config_data = &orch.config,
                .readiness = readiness,
                .userdata = &orch,
                .setup = setup,
                .teardown = teardown,
        };

        definition.routes = api_routes(&orch, &definition.n_routes);
        return service_main(&definition, argc, argv);
}
