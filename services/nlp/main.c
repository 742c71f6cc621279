/* SPDX-License-Identifier: MIT */
/* ai-semble-nlp — the text analysis service. For now it serves the common endpoints (health, metrics);
 * its API routes are added with its backend, never as placeholders. */
#include "service.h"
#include "version.h"

static const ServiceDefinition definition = {
        .name = "nlp",
        .version = PROJECT_VERSION,
        .description = "text analysis service",
        .listen_env = "NLP_LISTEN",
        .listen_default = "127.0.0.1:8083",
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
