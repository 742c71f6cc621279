/* SPDX-License-Identifier: MIT */
/* unit-manager.h — the user's systemd manager over sd-bus (org.freedesktop.systemd1):
 * queueing start/stop/restart jobs and waiting for them through JobRemoved, Reload,
 * and reading a unit's state. Never runs systemctl. */
#pragma once

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct UnitManager UnitManager;

typedef struct UnitState {
        char *load_state;   /* loaded, not-found, ... */
        char *active_state; /* active, inactive, failed, activating, ... */
        char *sub_state;
        uint64_t state_change_usec; /* CLOCK_REALTIME µs; 0 = never */
} UnitState;

/* Connects to the user bus. -ENOMEDIUM when $XDG_RUNTIME_DIR is unset or missing (no
 * login session), otherwise sd_bus_open_user()'s error. *ret_error, if set, is the
 * bus error message (the caller owns it). */
int unit_manager_open(UnitManager **ret, char **ret_error);
UnitManager *unit_manager_free(UnitManager *m);
static inline void unit_manager_freep(UnitManager **m) {
        unit_manager_free(*m);
}

/* Manager.Reload (daemon-reload); returns when the manager has reloaded. */
int unit_manager_reload(UnitManager *m, char **ret_error);
/* Queues StartUnit/StopUnit/RestartUnit(unit, "replace"); the job joins the wait list. */
int unit_manager_start(UnitManager *m, const char *unit, char **ret_error);
int unit_manager_stop(UnitManager *m, const char *unit, char **ret_error);
int unit_manager_restart(UnitManager *m, const char *unit, char **ret_error);
/* Waits until every queued job is removed or timeout_usec passes (-ETIMEDOUT, with the
 * pending units in *ret_failures). A job whose result is not "done" makes the call return
 * -EIO, with "unit: result" strings in *ret_failures (NULL-terminated, caller frees). */
int unit_manager_wait(UnitManager *m, uint64_t timeout_usec, char ***ret_failures);

int unit_manager_get_state(UnitManager *m, const char *unit, UnitState *ret, char **ret_error);
void unit_state_done(UnitState *s);
