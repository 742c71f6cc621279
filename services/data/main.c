/* SPDX-License-Identifier: MIT */
/* ai-semble-data — the data processing service. For now it serves the common endpoints (health, metrics);
 * its API routes are added with its backend, never as placeholders. */
#include "service.h"
#include "version.h"

static const ServiceDefinition definition = {
        .name = "data",
        .version = PROJECT_VERSION,
        .description = "data processing service",
        .listen_env = "DATA_LISTEN",
        .listen_default = "127.0.0.1:8084",
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
