/* SPDX-License-Identifier: MIT */
/* podman-api.h — requests to the Podman REST API over the user's podman.sock (libcurl,
 * CURLOPT_UNIX_SOCKET_PATH): what the daemon asks of Podman without running the podman
 * binary, which its unit's system call filter would not let run. */
#pragma once

#include <stdint.h>

#include "macro.h"

/* One request (method NULL = GET) of path ("/v4.0.0/libpod/..."); *ret_code and *ret_body
 * (at most 1 MiB) on any HTTP answer, -ETIMEDOUT or -ECONNREFUSED without one. */
int podman_api_request(
        const char *socket_path,
        const char *method,
        const char *path,
        uint64_t timeout_ms,
        long *ret_code,
        char **ret_body);

/* The id of the image a container runs ("Image") and the reference it was created from
 * ("ImageName", e.g. "localhost/ai-semble/nlp:latest"). -ENOENT: no such container. */
int podman_api_container_image(
        const char *socket_path, const char *container, char **ret_id, char **ret_ref);
/* The id of an image by reference ("localhost/ai-semble/nlp:latest") or id. -ENOENT: none. */
int podman_api_image_id(const char *socket_path, const char *ref, char **ret_id);
/* Tags image (an id or reference) as repo:tag ("localhost/ai-semble/nlp", "previous"). */
int podman_api_image_tag(const char *socket_path, const char *image, const char *repo, const char *tag);
