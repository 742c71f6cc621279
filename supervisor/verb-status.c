/* SPDX-License-Identifier: MIT */
/* verb-status.c — `status [--json]`: unit states from the manager plus readiness from
 * the orchestrator. Exit 0 when all active and ready, 3 when not, 1 on errors. */
#include "log.h"
#include "status.h"
#include "supervisor.h"

static int fill_state(UnitManager *m, const char *unit, UnitState *st) {
        _cleanup_free_ char *error = NULL;
        int r = unit_manager_get_state(m, unit, st, &error);

        if (r < 0)
                return log_error_errno(
                        r, "Cannot read the state of %s: %s", unit, error ? error : strerror(-r));
        return 0;
}

int verb_status(Supervisor *s, int argc, char **argv) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(manifest_done) Manifest mf = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_(pod_status_done) PodStatus st = {};
        _cleanup_free_ char *body = NULL;
        long code = 0;
        int r;

        if (argc > 0)
                return log_error_errno(-EINVAL, "status takes no arguments besides --json");
        r = supervisor_open_installed(s, &m, &mf);
        if (r < 0)
                return r;

        st.unit = strdup(mf.pod_unit);
        if (!st.unit)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = fill_state(m, mf.pod_unit, &st.state);
        if (r < 0)
                return r;
        for (size_t i = 0; mf.services && mf.services[i]; i++) {
                r = pod_status_add_service(&st, mf.services[i], mf.units[i]);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
                r = fill_state(m, mf.units[i], &st.services[i].state);
                if (r < 0)
                        return r;
        }

        r = status_probe(s->cfg.ready_url, s->cfg.ready_timeout_ms, &code, &body);
        if (r < 0)
                log_debug_errno(r, "Readiness probe %s got no answer: %m", s->cfg.ready_url);
        else {
                r = status_apply_ready(&st, code, body);
                if (r < 0)
                        log_warning_errno(
                                r,
                                "Readiness answer of %s (HTTP %ld) is not the expected JSON",
                                s->cfg.ready_url,
                                code);
        }

        if (s->json) {
                _cleanup_free_ char *text = NULL;
                r = status_render_json(&st, &text);
                if (r < 0)
                        return log_error_errno(r, "Cannot render status: %m");
                printf("%s\n", text);
        } else
                status_print_table(&st, stdout);
        if (fflush(stdout) != 0)
                return log_error_errno(-EIO, "Cannot write status: %m");
        return status_all_ok(&st) ? 0 : EXIT_NOT_READY;
}
