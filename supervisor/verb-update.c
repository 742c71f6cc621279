/* SPDX-License-Identifier: MIT */
/* verb-update.c — `update [--all] [SERVICE...]`: asks the running daemon, over the user
 * bus, to replace the services whose image changed (or all of them), one at a time with
 * a canary and a rollback (update.c), and prints what happened. */
#include <stdio.h>

#include "daemon.h"
#include "log.h"
#include "supervisor.h"

/* An update restarts each service and waits for it: allow for all of them. */
#define UPDATE_CALL_TIMEOUT_USEC (60ULL * 60 * 1000000)

int verb_update(Supervisor *s, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *summary = NULL;
        int ok = 0, r;

        r = sd_bus_open_user(&bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the user bus: %m");
        r = sd_bus_message_new_method_call(
                bus, &m, SUPERVISOR_BUS_NAME, SUPERVISOR_BUS_PATH, SUPERVISOR_BUS_NAME, "Update");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", s->all);
        if (r < 0)
                return log_error_errno(r, "Cannot build the Update call: %m");
        r = sd_bus_call(bus, m, UPDATE_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_SERVICE_UNKNOWN))
                return log_error_errno(
                        r,
                        "The supervisor daemon is not running (ai-semble-supervisor.service): it runs the "
                        "update. Start it with ./scripts/deploy.sh start.");
        if (r < 0)
                return log_error_errno(r, "Update failed: %s", e.message ? e.message : strerror(-r));
        r = sd_bus_message_read(reply, "bs", &ok, &summary);
        if (r < 0)
                return log_error_errno(r, "Cannot read the Update answer: %m");
        fputs(summary, stdout);
        if (!ok)
                return log_error_errno(
                        -ECANCELED, "The update did not complete (see above; an alert was raised)");
        return 0;
}
