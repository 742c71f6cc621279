/* SPDX-License-Identifier: MIT */
/* fetch.h — SSRF-safe download of a client-supplied image_url: http/https only, the host
 * resolved first and every address checked against a deny list (loopback, private,
 * link-local, metadata, multicast, reserved) unless an allow-list names it, the checked
 * address pinned for the connection, redirects followed by hand and re-checked, a size
 * cap and a timeout. The body's magic bytes are checked by the decoder. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "macro.h"

#define VISION_FETCH_MAX_ALLOW 32
#define VISION_FETCH_MAX_REDIRECTS 5
#define VISION_FETCH_ERROR_MAX 256

/* One allow-listed network (IPv4 or IPv6 CIDR). */
typedef struct VisionNet {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        unsigned prefix;
} VisionNet;

typedef struct VisionFetchPolicy {
        VisionNet allow[VISION_FETCH_MAX_ALLOW];
        size_t n_allow;
        uint64_t max_bytes;
        uint64_t timeout_ms;
} VisionFetchPolicy;

/* Parses "10.1.0.0/16, 127.0.0.1, ::1/128" into policy->allow. Empty/NULL = none.
 * -EINVAL on a malformed entry, -E2BIG on more than VISION_FETCH_MAX_ALLOW. */
int vision_fetch_parse_allow(const char *list, VisionFetchPolicy *policy);

/* Why an address may not be fetched ("loopback", "private", "link-local or metadata", ...),
 * or NULL when it is a public address or allow-listed. */
const char *vision_fetch_address_denied(const VisionFetchPolicy *policy, const struct sockaddr *sa);

/* Downloads url into *ret (malloc'ed, owned by the caller); timeout_ms bounds it all, the
 * name lookups included. Errors: -EPROTONOSUPPORT (not http/https), -EINVAL (malformed
 * URL), -EACCES (host resolves to a refused address; nothing was sent), -ENOENT (host does
 * not resolve), -EFBIG (over max_bytes), -ETIMEDOUT, -EAGAIN (too many lookups running),
 * -ELOOP (too many redirects), -EREMOTEIO (non-2xx answer), other -errno for transport
 * failures. A human sentence for the client goes to error (VISION_FETCH_ERROR_MAX). */
int vision_fetch_url(
        const VisionFetchPolicy *policy,
        const char *url,
        char error[static VISION_FETCH_ERROR_MAX],
        uint8_t **ret,
        size_t *ret_len);

/* Sockets opened by vision_fetch_url() since start (tests prove refusals open none). */
uint64_t vision_fetch_sockets_opened(void);
