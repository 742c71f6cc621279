/* SPDX-License-Identifier: MIT */
/* podman-stats.c — the stats request and its answer. */
#include <json-c/json.h>
#include <stdio.h>

#include "fileio.h"

#include "json-util.h"
#include "podman-api.h"
#include "podman-stats.h"

#define STATS_PATH "/v4.0.0/libpod/containers/stats?stream=false"

int podman_stats_fetch(const char *socket_path, uint64_t timeout_ms, long *ret_code, char **ret_body) {
        return podman_api_request(socket_path, NULL, STATS_PATH, timeout_ms, ret_code, ret_body);
}

static double num_at(json_object *o, const char *k) {
        json_object *v;

        if (!json_object_object_get_ex(o, k, &v) ||
            !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
                return 0;
        return json_object_get_double(v);
}

int podman_stats_parse(const char *body, PodmanStatHandler handler, void *userdata) {
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(body);
        json_object *stats, *name;

        if (!o || !json_object_object_get_ex(o, "Stats", &stats) ||
            !json_object_is_type(stats, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(stats); i++) {
                json_object *s = json_object_array_get_idx(stats, i);
                if (!json_object_is_type(s, json_type_object) ||
                    !json_object_object_get_ex(s, "Name", &name) ||
                    !json_object_is_type(name, json_type_string))
                        continue;
                PodmanStat st = {
                        .name = json_object_get_string(name),
                        .cpu_percent = num_at(s, "CPU"),
                        .mem_usage_bytes = (uint64_t) num_at(s, "MemUsage"),
                        .mem_limit_bytes = (uint64_t) num_at(s, "MemLimit"),
                        .pids = (uint64_t) num_at(s, "PIDs"),
                };
                handler(&st, userdata);
        }
        return 0;
}

char *podman_stats_error(const char *body) {
        _cleanup_(json_object_putp) json_object *o = body ? json_tokener_parse(body) : NULL;
        json_object *v;

        if (!o || !json_object_is_type(o, json_type_object))
                return NULL;
        if ((json_object_object_get_ex(o, "cause", &v) || json_object_object_get_ex(o, "message", &v)) &&
            json_object_is_type(v, json_type_string))
                return strdup(json_object_get_string(v));
        return NULL;
}

char *podman_stats_undelegated(const char *proc_self_cgroup, char *(*controllers_of)(const char *path)) {
        _cleanup_free_ char *path = NULL, *have = NULL;
        const char *line, *end, *at;
        char *why = NULL;

        line = strstr(proc_self_cgroup, "0::/");
        if (!line || (line != proc_self_cgroup && line[-1] != '\n'))
                return NULL; /* no unified hierarchy: cgroup v1 */
        line += strlen("0::");
        end = strchrnul(line, '\n');
        path = strndup(line, (size_t) (end - line));
        if (!path)
                return NULL;
        /* the user manager's own cgroup: everything up to the first "user@UID.service" */
        at = strstr(path, "/user@");
        if (!at || !(at = strstr(at, ".service")))
                return NULL;
        path[at + strlen(".service") - path] = '\0';
        have = controllers_of(path);
        if (!have)
                return NULL;
        for (char *w = have, *save = NULL, *t; (t = strtok_r(w, " \n", &save)); w = NULL)
                if (streq(t, "memory"))
                        return NULL;
        if (asprintf(
                    &why,
                    "the memory controller is not delegated to %s (its cgroup.controllers has none), so "
                    "Podman measures no container",
                    path) < 0)
                return NULL;
        return why;
}

static char *controllers_from_sysfs(const char *path) {
        _cleanup_free_ char *file = NULL;
        char *text = NULL;

        if (asprintf(&file, "/sys/fs/cgroup%s/cgroup.controllers", path) < 0)
                return NULL;
        if (read_full_file(file, 4096, &text, NULL) < 0)
                return NULL;
        return text;
}

char *podman_stats_undelegated_here(void) {
        _cleanup_free_ char *self = NULL;

        if (read_full_file("/proc/self/cgroup", 65536, &self, NULL) < 0)
                return NULL;
        return podman_stats_undelegated(self, controllers_from_sysfs);
}
