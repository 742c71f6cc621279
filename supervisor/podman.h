/* SPDX-License-Identifier: MIT */
/* podman.h — running the podman CLI (fork/exec with pipes, never a shell) and
 * deciding from its version which install flavor applies. */
#pragma once

#include <stdbool.h>

#include "macro.h"

typedef struct PodmanVersion {
        unsigned major, minor, patch;
        bool prerelease; /* "-rc1", "-dev", ... */
} PodmanVersion;

/* Runs `podman args...` in cwd (NULL: unchanged) with stdin from /dev/null and returns
 * its exit status in *ret_status (128+signal if killed); stdout and stderr are captured
 * when ret_stdout/ret_stderr are not NULL. Returns -errno if it could not run at all. */
int podman_run(
        const char *podman,
        char *const *args,
        const char *cwd,
        int *ret_status,
        char **ret_stdout,
        char **ret_stderr);

/* Parses "4.3.1", "5.0.0-rc1", "5.2" (patch 0); anything else → -EINVAL. */
int podman_version_parse(const char *s, PodmanVersion *ret);
/* <0, 0, >0 like strcmp; a pre-release sorts before its release. */
int podman_version_compare(const PodmanVersion *a, const PodmanVersion *b);
/* Feature gate by major.minor: 5.0 pre-releases already ship .pod support, so
 * "5.0.0-rc1" is at least 5.0. */
bool podman_version_at_least(const PodmanVersion *v, unsigned major, unsigned minor);
/* Asks `podman version --format '{{.Client.Version}}'`. On a non-zero exit returns
 * -EPROTO with podman's stderr in *ret_error. */
int podman_version_detect(const char *podman, PodmanVersion *ret, char **ret_error);
