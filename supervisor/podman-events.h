/* SPDX-License-Identifier: MIT */
/* podman-events.h — the Podman REST API's event stream over
 * $XDG_RUNTIME_DIR/podman/podman.sock (libcurl, CURLOPT_UNIX_SOCKET_PATH), read on a
 * thread of its own and reconnected after a failure; a reconnect asks for the events it
 * missed (since=) and drops the ones it has already handed on. Container died, oom and
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
        int64_t time_ns;           /* timeNano (or time × 10⁹); 0 when absent */
} PodmanEvent;

typedef void (*PodmanEventHandler)(const PodmanEvent *e, void *userdata);

typedef struct PodmanEvents PodmanEvents;

#define PODMAN_EVENTS_ERROR_MAX 256

/* The socket path: $XDG_RUNTIME_DIR/podman/podman.sock. */
int podman_events_socket_path(char **ret);
/* Whether something accepts connections on the socket at path: a file left behind by an
 * earlier user manager, or by a podman.socket stopped since, refuses them. */
bool podman_socket_listening(const char *path);
/* Parses one line of the stream; -ENOMSG when it is not a container event of interest. */
int podman_events_parse(const char *line, PodmanEventHandler handler, void *userdata);
int podman_events_start(
        const char *socket_path, PodmanEventHandler handler, void *userdata, PodmanEvents **ret);
/* After delay_ms, asks Podman (on a short-lived thread) for the container events logged
 * since since_s and hands on those the stream has not: a supervisor that saw a unit fail
 * must not depend on the stream having been up at that moment. */
int podman_events_catch_up(PodmanEvents *p, int64_t since_s, unsigned delay_ms);
/* Whether the stream is connected now, how many events were read, and why the last
 * attempt to connect failed ("" once connected). */
void podman_events_stats(
        PodmanEvents *p,
        bool *ret_connected,
        uint64_t *ret_events,
        char ret_error[static PODMAN_EVENTS_ERROR_MAX]);
void podman_events_stop(PodmanEvents *p);
