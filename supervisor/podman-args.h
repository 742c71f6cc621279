/* SPDX-License-Identifier: MIT */
/* podman-args.h — translation of the quadlet files into the podman command lines that
 * `podman generate systemd --new` turns into units on Podman < 5 (which has no Quadlet).
 * Every key is translated or refused: an unknown key is an error naming file and key,
 * so that a later quadlet edit can never be dropped silently. */
#pragma once

#include "unit-source.h"

/* argv (without the podman binary) of `pod create` for the set's .pod file. */
int podman_args_pod_create(const UnitSet *set, const char *home, char ***ret, char **ret_error);
/* argv (without the podman binary) of `create` for one .container file. */
int podman_args_container_create(
        const UnitSet *set, const UnitFile *ctr, const char *home, char ***ret, char **ret_error);
/* argv of `generate systemd --new --files --name ...` carrying the [Service] settings the
 * containers agree on (Restart=, TimeoutStartSec=, TimeoutStopSec=). */
int podman_args_generate(const UnitSet *set, char ***ret, char **ret_error);
/* The drop-in of a .container file for the generated units: its [Unit] Requires=/After=
 * and [Service] WatchdogSec= (which Quadlet passes on, but generate cannot write);
 * *ret NULL when it has none. */
int podman_args_dropin(const UnitFile *u, char **ret);
/* Checks every file of the set, returning the first error (used before touching podman). */
int podman_args_check(const UnitSet *set, const char *home, char **ret_error);

/* Expands the unit specifiers the quadlets may use: %h (home) and %%. Others → -EINVAL. */
int podman_args_expand(const char *value, const char *home, char **ret);
/* Parses a systemd time span limited to what generate accepts: "90", "90s", "2min", "1min 30s". */
int podman_args_parse_seconds(const char *value, unsigned *ret);
