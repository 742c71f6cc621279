/* SPDX-License-Identifier: MIT */
/* ai-semble-vision — the image analysis service. For now it serves the common endpoints (health, metrics);
 * its API routes are added with its backend, never as placeholders. */
#include "service.h"
#include "version.h"

static const ServiceDefinition definition = {
        .name = "vision",
        .version = PROJECT_VERSION,
        .description = "image analysis service",
        .listen_env = "VISION_LISTEN",
        .listen_default = "127.0.0.1:8082",
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
