/* SPDX-License-Identifier: MIT */
/* podman-events.h — the Podman REST API's event stream over
 * $XDG_RUNTIME_DIR/podman/podman.sock (libcurl, CURLOPT_UNIX_SOCKET_PATH), read on a
 * thread of its own and reconnected after a failure. Container died, oom and
 * health_status events are handed to a callback. */
#pragma once

#include <stdint.h>

#include "macro.h"

typedef struct PodmanEvent {
        const char *action;        /* "died", "oom", "health_status" */
        const char *name;          /* container name */
        const char *unit;          /* PODMAN_SYSTEMD_UNIT, or NULL */
        const char *exit_code;     /* containerExitCode, or NULL */
        const char *health_status; /* for health_status, or NULL */
} PodmanEvent;

typedef void (*PodmanEventHandler)(const PodmanEvent *e, void *userdata);

typedef struct PodmanEvents PodmanEvents;

/* The socket path: $XDG_RUNTIME_DIR/podman/podman.sock. */
int podman_events_socket_path(char **ret);
/* Parses one line of the stream; -ENOMSG when it is not a container event of interest. */
int podman_events_parse(const char *line, PodmanEventHandler handler, void *userdata);
int podman_events_start(
        const char *socket_path, PodmanEventHandler handler, void *userdata, PodmanEvents **ret);
/* Whether the stream is connected now, and how many events were read. */
void podman_events_stats(PodmanEvents *p, bool *ret_connected, uint64_t *ret_events);
void podman_events_stop(PodmanEvents *p);
