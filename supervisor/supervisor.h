/* SPDX-License-Identifier: MIT */
/* supervisor.h — what every verb of ai-semble-supervisor shares: its configuration
 * (one declarative table, settings.c), the user's paths, and the CLI flags. Verbs
 * return 0, a positive exit code (3 = not running/ready), or -errno (exit 1). */
#pragma once

#include <stdint.h>

#include "config.h"
#include "manifest.h"
#include "paths.h"
#include "unit-manager.h"

#define EXIT_NOT_READY 3

typedef struct SupervisorConfig {
        char *quadlet_dir;
        char *seccomp_dir; /* source of security apply and of the supervisor's own filter */
        char *env_file;
        char *publish;
        char *podman;
        uint64_t job_timeout_ms;
        char *ready_url;
        uint64_t ready_timeout_ms;
        int log_level;
        /* run (the daemon) */
        char *listen;
        char *metrics_url;
        uint64_t check_interval_ms;
        uint64_t agent_timeout_ms;
        uint64_t restart_backoff_ms;
        uint64_t restart_backoff_max_ms;
        int64_t start_limit;
        int64_t pod_escalate;
        uint64_t alert_dedup_ms;
        int64_t alert_rate_burst;
        char *webhook_url;
        char *webhook_secret_file;
        char *orchestrator_secret_file;
        char *jwt_secret_file; /* verifies admin tokens of the API's POST routes */
        char *allowed_hosts;   /* Host names the API answers besides the loopback ones */
        char *slack_webhook_file;
        char *smtp_url;
        char *smtp_from;
        char *smtp_to;
        char *smtp_user;
        char *smtp_password_file;
        bool smtp_require_tls;
} SupervisorConfig;

extern const ConfigEntry supervisor_config_table[];
extern const size_t supervisor_config_table_size;

typedef struct Supervisor {
        SupervisorConfig cfg;
        Paths paths;
        bool dev;
        bool json;
        bool all; /* update --all */
} Supervisor;

/* Connects to the user manager; on failure logs what to do (linger, session,
 * XDG_RUNTIME_DIR) and returns the error. */
int supervisor_open_manager(UnitManager **ret);
/* Reads the install manifest; logs "run install first" when there is none. */
int supervisor_read_manifest(const Supervisor *s, Manifest *ret);
/* Both, in that order: a missing session is reported before a missing install. */
int supervisor_open_installed(const Supervisor *s, UnitManager **ret_manager, Manifest *ret_manifest);
/* Waits for the queued jobs with the configured timeout; logs each failure. */
int supervisor_wait_jobs(const Supervisor *s, UnitManager *m, const char *what);

int verb_install(Supervisor *s, int argc, char **argv);
int verb_start(Supervisor *s, int argc, char **argv);
int verb_stop(Supervisor *s, int argc, char **argv);
int verb_restart(Supervisor *s, int argc, char **argv);
int verb_status(Supervisor *s, int argc, char **argv);
int verb_uninstall(Supervisor *s, int argc, char **argv);
int verb_run(Supervisor *s, int argc, char **argv);
int verb_security(Supervisor *s, int argc, char **argv);
int verb_update(Supervisor *s, int argc, char **argv);
/* The text of ai-semble-supervisor.service for the binary exe; syscall_filter: the
 * names for SystemCallFilter= (from supervisor.json), or NULL for systemd's groups. */
int supervisor_unit_text(const char *exe, const char *pod_unit, const char *syscall_filter, char **ret);
/* Validates every seccomp profile in src, then installs them all into
 * ~/.config/ai-semble/seccomp, where the units point; logs what failed. print: one line
 * per profile on stdout (security apply) instead of one log line (install). */
int security_install_profiles(const Supervisor *s, const char *src, bool print);
/* Stops every installed unit (used by stop and uninstall). */
int supervisor_stop_all(const Supervisor *s, UnitManager *m, const Manifest *mf);
