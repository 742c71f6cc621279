/* SPDX-License-Identifier: MIT */
/* verb-control.c — start, stop and restart: systemd jobs on the installed units, each
 * waited for through JobRemoved. Also the helpers every bus-using verb shares. */
#include "argv-util.h"
#include "log.h"
#include "supervisor.h"

int supervisor_open_manager(UnitManager **ret) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = unit_manager_open(ret, &error);
        if (r == -ENOMEDIUM)
                return log_error_errno(
                        r,
                        "$XDG_RUNTIME_DIR is unset or missing, so there is no user bus. Log in through "
                        "a real session (ssh or the console, not su/sudo), or run "
                        "'loginctl enable-linger $USER' and 'export XDG_RUNTIME_DIR=/run/user/$(id -u)'.");
        if (r < 0)
                return log_error_errno(
                        r,
                        "Cannot reach the user's systemd manager (%s). Run 'loginctl enable-linger "
                        "$USER', log in through a real session, and "
                        "'export XDG_RUNTIME_DIR=/run/user/$(id -u)'.",
                        error ? error : "sd_bus_open_user failed");
        return 0;
}

int supervisor_read_manifest(const Supervisor *s, Manifest *ret) {
        int r = manifest_read(s->paths.manifest, ret);

        if (r == -ENOENT)
                return log_error_errno(
                        r,
                        "ai-semble is not installed (no %s): run 'ai-semble-supervisor install' first.",
                        s->paths.manifest);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", s->paths.manifest);
        return 0;
}

int supervisor_open_installed(const Supervisor *s, UnitManager **ret_manager, Manifest *ret_manifest) {
        int r = supervisor_open_manager(ret_manager);

        return r < 0 ? r : supervisor_read_manifest(s, ret_manifest);
}

int supervisor_wait_jobs(const Supervisor *s, UnitManager *m, const char *what) {
        _cleanup_argv_free_ char **failures = NULL;
        int r;

        r = unit_manager_wait(m, s->cfg.job_timeout_ms * 1000ULL, &failures);
        for (size_t i = 0; failures && failures[i]; i++)
                log_error("Failed to %s %s", what, failures[i]);
        if (r == -ETIMEDOUT)
                return log_error_errno(
                        r,
                        "Timed out after %llu ms waiting for the %s jobs (SUPERVISOR_JOB_TIMEOUT).",
                        (unsigned long long) s->cfg.job_timeout_ms,
                        what);
        if (r < 0)
                return log_error_errno(r, "Failed to %s ai-semble: %m", what);
        return 0;
}

typedef int (*EnqueueFn)(UnitManager *m, const char *unit, char **ret_error);

static int enqueue_logged(UnitManager *m, EnqueueFn fn, const char *what, const char *unit) {
        _cleanup_free_ char *error = NULL;
        int r = fn(m, unit, &error);

        if (r < 0)
                return log_error_errno(
                        r, "Failed to %s unit '%s': %s", what, unit, error ? error : strerror(-r));
        log_debug("Queued %s of %s", what, unit);
        return 0;
}

static int start_all(const Supervisor *s, UnitManager *m, const Manifest *mf) {
        int r;

        r = enqueue_logged(m, unit_manager_start, "start", mf->pod_unit);
        /* the sockets before the services they are passed to */
        for (size_t i = 0; r >= 0 && mf->sockets && mf->sockets[i]; i++)
                r = enqueue_logged(m, unit_manager_start, "start", mf->sockets[i]);
        for (size_t i = 0; r >= 0 && mf->units && mf->units[i]; i++)
                r = enqueue_logged(m, unit_manager_start, "start", mf->units[i]);
        if (r < 0) {
                (void) unit_manager_wait(m, s->cfg.job_timeout_ms * 1000ULL, NULL);
                return r;
        }
        return supervisor_wait_jobs(s, m, "start");
}

int supervisor_stop_all(const Supervisor *s, UnitManager *m, const Manifest *mf) {
        _cleanup_free_ char *ignored = NULL;
        int r = 0;

        /* the daemon first, or it would heal what is being stopped; absent when never
         * started, which is fine */
        (void) unit_manager_stop(m, "ai-semble-supervisor.service", &ignored);

        for (size_t i = 0; r >= 0 && mf->units && mf->units[i]; i++)
                r = enqueue_logged(m, unit_manager_stop, "stop", mf->units[i]);
        for (size_t i = 0; r >= 0 && mf->sockets && mf->sockets[i]; i++)
                r = enqueue_logged(m, unit_manager_stop, "stop", mf->sockets[i]);
        if (r >= 0)
                r = enqueue_logged(m, unit_manager_stop, "stop", mf->pod_unit);
        if (r < 0) {
                (void) unit_manager_wait(m, s->cfg.job_timeout_ms * 1000ULL, NULL);
                return r;
        }
        return supervisor_wait_jobs(s, m, "stop");
}

/* Starts or stops the whole installed pod. */
static int start_or_stop(Supervisor *s, bool start) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(manifest_done) Manifest mf = { .flavor = _UNIT_FLAVOR_INVALID };
        int r;

        r = supervisor_open_installed(s, &m, &mf);
        if (r < 0)
                return r;
        r = start ? start_all(s, m, &mf) : supervisor_stop_all(s, m, &mf);
        if (r < 0)
                return r;
        if (start)
                log_info("ai-semble started: %s and %zu services", mf.pod_unit, argv_length(mf.units));
        else
                log_info("ai-semble stopped");
        return 0;
}

int verb_start(Supervisor *s, int argc, char **argv) {
        return start_or_stop(s, true);
}

int verb_stop(Supervisor *s, int argc, char **argv) {
        return start_or_stop(s, false);
}

int verb_restart(Supervisor *s, int argc, char **argv) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(manifest_done) Manifest mf = { .flavor = _UNIT_FLAVOR_INVALID };
        int r, idx = -1;

        r = supervisor_open_installed(s, &m, &mf);
        if (r < 0)
                return r;
        if (argc > 1)
                return log_error_errno(-EINVAL, "restart takes at most one service name");
        if (argc == 1) {
                idx = manifest_find_service(&mf, argv[0]);
                if (idx < 0) {
                        _cleanup_free_ char *names = argv_join(mf.services, ", ");
                        return log_error_errno(
                                -EINVAL,
                                "Unknown service '%s'; installed services: %s",
                                argv[0],
                                strempty(names));
                }
        }
        if (idx >= 0) {
                r = enqueue_logged(m, unit_manager_restart, "restart", mf.units[idx]);
                if (r >= 0)
                        r = supervisor_wait_jobs(s, m, "restart");
                if (r < 0)
                        return r;
                log_info("Restarted %s (%s)", mf.services[idx], mf.units[idx]);
                return 0;
        }
        /* the containers are bound to the pod unit: restarting it alone would only stop
         * them, so the whole pod is stopped, then started again */
        r = supervisor_stop_all(s, m, &mf);
        if (r >= 0)
                r = start_all(s, m, &mf);
        if (r < 0)
                return r;
        log_info("ai-semble restarted");
        return 0;
}
