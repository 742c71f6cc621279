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

/* Why Podman cannot measure memory for this user on cgroup v2, or NULL when it can (or the
 * host is on cgroup v1, where Podman answers 409 itself). proc_self_cgroup: the text of
 * /proc/self/cgroup; controllers_of(path) reads <cgroupfs>/path/cgroup.controllers. The
 * containers run below the user manager's cgroup (…/user@UID.service): when "memory" is
 * not delegated there (nspawn containers, some CI runners), Podman reports 0 bytes. */
char *podman_stats_undelegated(const char *proc_self_cgroup, char *(*controllers_of)(const char *path));
/* The same for this process, reading /proc/self/cgroup and /sys/fs/cgroup. */
char *podman_stats_undelegated_here(void);
