/* SPDX-License-Identifier: MIT */
/* http-probe.h — one plain-HTTP GET to an IPv4 address, for health probes. It keeps
 * libcurl (and the TLS libraries it drags in) out of binaries that make no other
 * outgoing request. */
#pragma once

#include <stdint.h>

#include "macro.h"

/* GETs path from ipv4:port within timeout_ms; stores the status code. Returns 0 when
 * a status line was read, -errno otherwise (-ETIMEDOUT, -ECONNREFUSED, -EBADMSG). */
int http_probe_get(const char *ipv4, uint16_t port, const char *path, int timeout_ms, int *ret_status);
