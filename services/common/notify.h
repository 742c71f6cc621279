/* SPDX-License-Identifier: MIT */
/* notify.h — the sd_notify(3) protocol (READY=1, STOPPING=1, STATUS=…, WATCHDOG=1)
 * spoken directly, so that service images need not carry libsystemd and its
 * compression and crypto libraries just to say "ready". */
#pragma once

#include "macro.h"

/* Sends state to $NOTIFY_SOCKET. Returns 1 when sent, 0 when there is no socket to
 * notify (not run by systemd or Podman's --sdnotify=container), -errno on failure. */
int notify_send(const char *state);
int notify_sendf(const char *format, ...) _printf_(1, 2);
