/* SPDX-License-Identifier: MIT */
/* settings.c — the supervisor's configuration table: one row per environment variable,
 * used both to load the configuration and to print --help. */
#include <stddef.h>

#include "pod-services.h"
#include "supervisor.h"

#ifndef AI_SEMBLE_QUADLET_SOURCE_DIR
#        define AI_SEMBLE_QUADLET_SOURCE_DIR "/usr/local/share/ai-semble/quadlets"
#endif
#ifndef AI_SEMBLE_SECCOMP_SOURCE_DIR
#        define AI_SEMBLE_SECCOMP_SOURCE_DIR "/usr/local/share/ai-semble/seccomp"
#endif

#define SUP(field) offsetof(SupervisorConfig, field)

/* clang-format off */
const ConfigEntry supervisor_config_table[] = {
        CONFIG_STR("AI_SEMBLE_QUADLET_DIR", AI_SEMBLE_QUADLET_SOURCE_DIR, SUP(quadlet_dir),
                "directory of the quadlet files that define the pod"),
        CONFIG_STR("AI_SEMBLE_SECCOMP_DIR", AI_SEMBLE_SECCOMP_SOURCE_DIR, SUP(seccomp_dir),
                "directory of the seccomp profiles that security apply validates and installs"),
        CONFIG_STR("AI_SEMBLE_ENV_FILE", NULL, SUP(env_file),
                "environment file of the services (default $XDG_CONFIG_HOME/ai-semble/ai-semble.env)"),
        CONFIG_STR("AI_SEMBLE_PUBLISH", "127.0.0.1:" AI_SEMBLE_PORT_ORCHESTRATOR_S, SUP(publish),
                "where the pod publishes the orchestrator: "
                "[ip:]port[:" AI_SEMBLE_PORT_ORCHESTRATOR_S "][,...]"),
        CONFIG_STR("AI_SEMBLE_PODMAN", "podman", SUP(podman), "podman binary to run"),
        CONFIG_DURATION("SUPERVISOR_JOB_TIMEOUT", "120s", 1000, 3600 * 1000, SUP(job_timeout_ms),
                "how long to wait for systemd start/stop/restart jobs, and for an update's canary job"),
        CONFIG_URL("AI_SEMBLE_READY_URL", "http://127.0.0.1:" AI_SEMBLE_PORT_ORCHESTRATOR_S "/health/ready",
                SUP(ready_url),
                "the orchestrator's readiness endpoint, probed by status"),
        CONFIG_DURATION("AI_SEMBLE_READY_TIMEOUT", "3s", 100, 60 * 1000, SUP(ready_timeout_ms),
                "timeout of the readiness probe"),
        CONFIG_HOST_PORT("SUPERVISOR_LISTEN", "127.0.0.1:8090", SUP(listen),
                "run: address of the supervisor's HTTP API and status page"),
        CONFIG_URL("SUPERVISOR_METRICS_URL", "http://127.0.0.1:" AI_SEMBLE_PORT_ORCHESTRATOR_S "/metrics",
                SUP(metrics_url),
                "run: the orchestrator's Prometheus endpoint, read for last activity"),
        CONFIG_DURATION("SUPERVISOR_CHECK_INTERVAL", "5s", 500, 3600 * 1000, SUP(check_interval_ms),
                "run: how often each service's readiness is checked (seed check_interval)"),
        CONFIG_DURATION("SUPERVISOR_AGENT_TIMEOUT", "60s", 1000, 3600 * 1000, SUP(agent_timeout_ms),
                "run: grace after a start before readiness counts, and how long a "
                "service must stay ready to reset its backoff (seed agent_timeout)"),
        CONFIG_DURATION("SUPERVISOR_RESTART_BACKOFF", "2s", 100, 3600 * 1000, SUP(restart_backoff_ms),
                "run: delay before the first self-healing restart; doubles with each attempt"),
        CONFIG_DURATION("SUPERVISOR_RESTART_BACKOFF_MAX", "60s", 100, 3600 * 1000,
                SUP(restart_backoff_max_ms),
                "run: upper bound of the restart delay"),
        CONFIG_INT("SUPERVISOR_START_LIMIT", "5", 1, 100, SUP(start_limit),
                "run: self-healing restarts of a service before it is "
                "given up (CRITICAL) until POST /api/monitoring/start"),
        CONFIG_INT("SUPERVISOR_POD_ESCALATE", "3", 2, 5, SUP(pod_escalate),
                "run: services failing together that make the supervisor restart the whole pod"),
        CONFIG_DURATION("SUPERVISOR_ALERT_DEDUP", "10m", 1000, 24 * 3600 * 1000, SUP(alert_dedup_ms),
                "run: an alert with the same key and level within this window is counted, not sent again"),
        CONFIG_INT("SUPERVISOR_ALERT_RATE", "20", 1, 10000, SUP(alert_rate_burst),
                "run: new alerts per minute sent to the sinks (CRITICAL is never dropped)"),
        CONFIG_URL("SUPERVISOR_WEBHOOK_URL", NULL, SUP(webhook_url),
                "run: generic webhook sink; each alert is POSTed as JSON, signed with X-Signature"),
        CONFIG_STR("SUPERVISOR_WEBHOOK_SECRET_FILE", NULL, SUP(webhook_secret_file),
                "run: file holding the webhook's HMAC-SHA256 secret (required with SUPERVISOR_WEBHOOK_URL)"),
        CONFIG_STR("SUPERVISOR_ORCHESTRATOR_SECRET_FILE", NULL, SUP(orchestrator_secret_file),
                "run: the orchestrator's webhook secret, for signed service notices that open "
                "its breakers at once (default $XDG_CONFIG_HOME/ai-semble/secrets/webhook, "
                "written by deploy.sh; missing = notices off)"),
        CONFIG_STR("SUPERVISOR_JWT_SECRET_FILE", NULL, SUP(jwt_secret_file),
                "run: the pod's JWT secret; POST /api/* need an admin token signed with it "
                "(default $XDG_CONFIG_HOME/ai-semble/secrets/jwt, written by deploy.sh; missing "
                "= those routes answer 503)"),
        CONFIG_STR("SUPERVISOR_ALLOWED_HOSTS", "", SUP(allowed_hosts),
                "run: Host names the API answers besides localhost, 127.0.0.1 and [::1] "
                "(comma list of name or name:port); others get 421"),
        CONFIG_STR("SUPERVISOR_SLACK_WEBHOOK_FILE", NULL, SUP(slack_webhook_file),
                "run: file holding a Slack incoming-webhook URL (a secret)"),
        CONFIG_STR("SUPERVISOR_SMTP_URL", NULL, SUP(smtp_url),
                "run: e-mail sink, smtp://host[:port] (STARTTLS when offered) or smtps://host[:port]"),
        CONFIG_STR("SUPERVISOR_SMTP_FROM", NULL, SUP(smtp_from),
                "run: envelope and From: address of the alert e-mails"),
        CONFIG_STR("SUPERVISOR_SMTP_TO", NULL, SUP(smtp_to),
                "run: recipients of the alert e-mails, comma-separated"),
        CONFIG_STR("SUPERVISOR_SMTP_USER", NULL, SUP(smtp_user),
                "run: SMTP login (AUTH), if the server wants one"),
        CONFIG_STR("SUPERVISOR_SMTP_PASSWORD_FILE", NULL, SUP(smtp_password_file),
                "run: file holding the SMTP password (mode 0600)"),
        CONFIG_BOOL("SUPERVISOR_SMTP_REQUIRE_TLS", "false", SUP(smtp_require_tls),
                "run: refuse to send e-mail unless STARTTLS succeeds"),
        CONFIG_LOG_LEVEL("LOG_LEVEL", "info", SUP(log_level),
                "log level: debug, info, notice, warning, error or 0-7"),
};
/* clang-format on */

const size_t supervisor_config_table_size = ELEMENTSOF(supervisor_config_table);
