/* SPDX-License-Identifier: MIT */
/* verb-uninstall.c — `uninstall`: stops the pod, removes the files install wrote and
 * the manifest, and reloads the manager. Volumes and the env file are kept (user data). */
#include "log.h"
#include "supervisor.h"

int verb_uninstall(Supervisor *s, int argc, char **argv) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(manifest_done) Manifest mf = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_free_ char *error = NULL;
        int r;

        if (argc > 0)
                return log_error_errno(-EINVAL, "uninstall takes no arguments");
        r = supervisor_open_installed(s, &m, &mf);
        if (r < 0)
                return r;

        r = supervisor_stop_all(s, m, &mf);
        if (r < 0)
                log_warning("Continuing to uninstall although stopping failed");

        for (size_t i = 0; mf.files && mf.files[i]; i++) {
                if (unlink(mf.files[i]) < 0 && errno != ENOENT)
                        return log_error_errno(errno, "Cannot remove %s: %m", mf.files[i]);
                log_info("Removed %s", mf.files[i]);
        }
        if (unlink(s->paths.manifest) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Cannot remove %s: %m", s->paths.manifest);

        r = unit_manager_reload(m, &error);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Files removed, but the manager's Reload failed: %s",
                        error ? error : strerror(-r));
        log_info("ai-semble uninstalled (volumes and %s kept)", s->cfg.env_file);
        return 0;
}
