/* SPDX-License-Identifier: MIT */
/* update.h — a zero-downtime update of the pod, one service at a time, run by the daemon
 * on a thread of its own: the running image is kept (tagged ":previous"), the
 * orchestrator holds calls to the service (its "updating" notice), the unit restarts on
 * the new image (the old instance drains first), the service must become ready and pass a
 * canary job through the door; otherwise the previous image goes back (":latest" again,
 * restarted, an alert), and the update stops there. The orchestrator goes last: its
 * socket unit keeps connections waiting while it restarts. */
#pragma once

#include "daemon.h"

typedef struct UpdateRequest {
        char **services; /* short names; NULL = every service, the orchestrator last */
        bool all;        /* replace services whose image did not change, too */
} UpdateRequest;

/* Blocking; *ret_summary (one line per service) says what happened. 0 when every service
 * runs its new image (or had none), -ECANCELED when one was rolled back (the services
 * after it were left alone), -ENOENT for an unknown service, other -errno. */
int update_run(Daemon *d, const UpdateRequest *req, char **ret_summary);
