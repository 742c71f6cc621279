/* SPDX-License-Identifier: MIT */
/* ai-semble-orchestrator — the pod's only published service. For now it serves the
 * common endpoints, with a readiness that reflects the four backend services. */
#include <stddef.h>

#include "http-client.h"
#include "service.h"
#include "upstream.h"
#include "version.h"

static UpstreamConfig config;
static Upstreams upstreams = { .config = &config };

static const ConfigEntry config_table[] = {
        { "LLM_SERVICE_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8081",
          0,
          0,
          NULL,
          offsetof(UpstreamConfig, llm_url),
          "Base URL of the LLM service." },
        { "VISION_SERVICE_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8082",
          0,
          0,
          NULL,
          offsetof(UpstreamConfig, vision_url),
          "Base URL of the vision service." },
        { "NLP_SERVICE_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8083",
          0,
          0,
          NULL,
          offsetof(UpstreamConfig, nlp_url),
          "Base URL of the NLP service." },
        { "DATA_PROCESSOR_URL",
          NULL,
          CONFIG_URL,
          "http://127.0.0.1:8084",
          0,
          0,
          NULL,
          offsetof(UpstreamConfig, data_url),
          "Base URL of the data processor." },
        { "ORCH_PROBE_TIMEOUT",
          NULL,
          CONFIG_DURATION,
          "1s",
          50,
          60000,
          NULL,
          offsetof(UpstreamConfig, probe_timeout_ms),
          "Timeout of each upstream readiness probe." },
};

static int setup(ServiceContext *ctx, void *userdata) {
        return upstream_setup_metrics(userdata, service_metrics(ctx));
}

/* Pooled upstream connections are closed before exit so that valgrind/ASan see no
 * leak and the services see an orderly FIN. */
static void teardown(void *userdata) {
        http_client_pool_flush();
}

static int readiness(json_object *response, bool *ret_ready, void *userdata) {
        json_object *services = json_object_new_object();
        int r;

        if (!services)
                return -ENOMEM;
        json_object_object_add(response, "services", services);
        r = upstream_probe_all(userdata, services, ret_ready);
        return r;
}

static const ServiceDefinition definition = {
        .name = "orchestrator",
        .version = PROJECT_VERSION,
        .description = "entry point of the ai-semble pod",
        .listen_env = "ORCHESTRATOR_LISTEN",
        .listen_default = "0.0.0.0:8080",
        .config = config_table,
        .n_config = ELEMENTSOF(config_table),
        .config_data = &config,
        .readiness = readiness,
        .userdata = &upstreams,
        .setup = setup,
        .teardown = teardown,
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
