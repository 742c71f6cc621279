/* SPDX-License-Identifier: MIT */
/* podman-stats.h — per-container stats from the Podman REST API
 * (GET /v4.0.0/libpod/containers/stats?stream=false over podman.sock). Podman answers
 * 409 on rootless cgroup v1 hosts; the caller reports that reason instead of figures. */
#pragma once

#include <stdint.h>

#include "macro.h"

typedef struct PodmanStat {
        const char *name;
        double cpu_percent;
        uint64_t mem_usage_bytes;
        uint64_t mem_limit_bytes;
        uint64_t pids;
} PodmanStat;

typedef void (*PodmanStatHandler)(const PodmanStat *s, void *userdata);

/* One request; *ret_code and *ret_body on any HTTP answer, -errno without one. */
int podman_stats_fetch(const char *socket_path, uint64_t timeout_ms, long *ret_code, char **ret_body);
/* {"Error":null,"Stats":[{Name,CPU,MemUsage,MemLimit,PIDs,...}]} → handler per container.
 * -EBADMSG when body is not that JSON. */
int podman_stats_parse(const char *body, PodmanStatHandler handler, void *userdata);
/* The "cause" (or "message") of a Podman error answer, or NULL; caller frees. */
char *podman_stats_error(const char *body);
