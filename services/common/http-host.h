/* SPDX-License-Identifier: MIT */
/* http-host.h — which Host a request may name (DNS rebinding), and whether a browser sent
 * it from another site (CSRF). A page on evil.example whose name is re-pointed at
 * 127.0.0.1 reaches a loopback service with "Host: evil.example"; a service that serves
 * only the names it knows refuses it. A form or fetch from another origin carries that
 * origin in Origin and "cross-site" in Sec-Fetch-Site. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "http-server.h"

/* Whether host (a Host header value: name, IPv4, or [IPv6], with an optional :port) is
 * localhost, 127.0.0.1 or [::1] on any port, or an entry of extra: a comma list of names
 * (any port) or name:port (that port only); case-insensitive. NULL host (HTTP/1.0 without
 * Host, which no browser sends) is allowed. */
bool http_host_allowed(const char *host, const char *extra);

/* Checks an extra list as http_host_allowed() reads it: -EINVAL with the bad entry copied
 * into bad when one is not [A-Za-z0-9.-]+ or [IPv6], with an optional :port. */
int http_host_list_check(const char *extra, char *bad, size_t bad_size);

/* The Host check of a request: 0 when allowed, else a 421 problem naming the host and the
 * setting (setting: e.g. "ORCH_ALLOWED_HOSTS") is answered and -EPERM returned. */
int http_host_check(HttpRequest *req, const char *extra, const char *setting);

/* Whether a browser says req comes from another origin: Origin present and not
 * "http://<Host>", or Sec-Fetch-Site present and neither same-origin nor none. Requests
 * without either header (curl, scripts) are not cross-site. */
bool http_request_cross_site(HttpRequest *req);
