/* SPDX-License-Identifier: MIT */
/* ai-semble-llm — the LLM completion service. For now it serves the common endpoints (health, metrics);
 * its API routes are added with its backend, never as placeholders. */
#include "service.h"
#include "version.h"

static const ServiceDefinition definition = {
        .name = "llm",
        .version = PROJECT_VERSION,
        .description = "LLM completion service",
        .listen_env = "LLM_LISTEN",
        .listen_default = "127.0.0.1:8081",
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
