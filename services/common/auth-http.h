/* SPDX-License-Identifier: MIT */
/* auth-http.h — bearer tokens on HTTP requests (RFC 6750), for every binary that takes
 * them (the orchestrator's API, the supervisor's mutating routes): the token of the
 * Authorization header, and the 401/403 answers with WWW-Authenticate. */
#pragma once

#include <stddef.h>

#include "http-server.h"

#define AUTH_HTTP_REALM "ai-semble"

/* The token of "Authorization: Bearer <token>" (surrounding blanks trimmed): 0 with
 * *ret_tok (pointing into the header) and *ret_len; -ENOKEY without the header, -EBADMSG
 * when it names another scheme. */
int auth_http_bearer(HttpRequest *req, const char **ret_tok, size_t *ret_len);

/* Answers status (401/403) with WWW-Authenticate (error NULL = none) and a problem whose
 * detail is description; returns -EACCES once answered. */
int auth_http_refuse(HttpRequest *req, int status, const char *error, const char *description);
