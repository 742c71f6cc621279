/* SPDX-License-Identifier: MIT */
/* settings.c — the supervisor's configuration table: one row per environment variable,
 * used both to load the configuration and to print --help. */
#include <stddef.h>

#include "supervisor.h"

#ifndef AI_SEMBLE_QUADLET_SOURCE_DIR
#define AI_SEMBLE_QUADLET_SOURCE_DIR "/usr/local/share/ai-semble/quadlets"
#endif

const ConfigEntry supervisor_config_table[] = {
        { "AI_SEMBLE_QUADLET_DIR", NULL, CONFIG_STRING, AI_SEMBLE_QUADLET_SOURCE_DIR, 0, 0, NULL,
          offsetof(SupervisorConfig, quadlet_dir), "directory of the quadlet files that define the pod" },
        { "AI_SEMBLE_ENV_FILE", NULL, CONFIG_STRING, NULL, 0, 0, NULL, offsetof(SupervisorConfig, env_file),
          "environment file of the services (default $XDG_CONFIG_HOME/ai-semble/ai-semble.env)" },
        { "AI_SEMBLE_PUBLISH", NULL, CONFIG_STRING, "127.0.0.1:8080", 0, 0, NULL,
          offsetof(SupervisorConfig, publish), "where the pod publishes the orchestrator: [ip:]port[:8080][,...]" },
        { "AI_SEMBLE_PODMAN", NULL, CONFIG_STRING, "podman", 0, 0, NULL, offsetof(SupervisorConfig, podman),
          "podman binary to run" },
        { "SUPERVISOR_JOB_TIMEOUT", NULL, CONFIG_DURATION, "120s", 1000, 3600 * 1000, NULL,
          offsetof(SupervisorConfig, job_timeout_ms), "how long to wait for systemd start/stop/restart jobs" },
        { "AI_SEMBLE_READY_URL", NULL, CONFIG_URL, "http://127.0.0.1:8080/health/ready", 0, 0, NULL,
          offsetof(SupervisorConfig, ready_url), "the orchestrator's readiness endpoint, probed by status" },
        { "AI_SEMBLE_READY_TIMEOUT", NULL, CONFIG_DURATION, "3s", 100, 60 * 1000, NULL,
          offsetof(SupervisorConfig, ready_timeout_ms), "timeout of the readiness probe" },
        { "LOG_LEVEL", NULL, CONFIG_LOG_LEVEL, "info", 0, 0, NULL, offsetof(SupervisorConfig, log_level),
          "log level: debug, info, notice, warning, error or 0-7" },
};

const size_t supervisor_config_table_size = ELEMENTSOF(supervisor_config_table);
