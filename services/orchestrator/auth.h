/* SPDX-License-Identifier: MIT */
/* auth.h — the orchestrator's bearer-token gate: configuration (key files, iss/aud,
 * leeway, exempt paths), the role → route table and the per-request check that answers
 * 401/403. Auth is on exactly when a secret or public key file is configured; /health*
 * and /metrics (served by the common service layer through its gate hook) need a viewer
 * token unless listed in ORCH_AUTH_EXEMPT (all four are by default). */
#pragma once

#include "auth-jwt.h"
#include "http-server.h"

typedef struct AuthConfig {
        char *secret_file;     /* HS256 shared secret (e.g. /run/secrets/orch-jwt) */
        char *public_key_file; /* PEM public key: RSA → RS256, P-256 → ES256 */
        char *issuer, *audience, *kid, *role_claim;
        uint64_t leeway_ms;
        char *exempt; /* comma list of built-in paths served without a token */
} AuthConfig;

#define AUTH_EXEMPT_DEFAULT "/health,/health/live,/health/ready,/metrics"

/* Parses a comma list of the built-in paths (/health, /health/live, /health/ready,
 * /metrics; blanks around entries ignored) into a bit mask. An unknown entry → -EINVAL
 * with it copied into bad. */
int auth_exempt_parse(const char *list, unsigned *ret_mask, char *bad, size_t bad_size);
bool auth_exempt_match(unsigned mask, const char *path);

/* *ret = NULL when nothing is configured (auth off). A configured file that cannot be
 * read or used is an error: the service must not silently start open. */
int auth_setup(const AuthConfig *c, AuthJwt **ret);

/* Whether role may call method on the route pattern (as in the route table). */
bool auth_role_allows(AuthRole role, const char *method, const char *route);

/* Checks req's Authorization header against jwt (NULL = auth off: allowed, *ret gets an
 * anonymous admin). On refusal replies 401 or 403 with WWW-Authenticate and returns
 * -EACCES; the handler must then not run. */
int auth_gate(const AuthJwt *jwt, HttpRequest *req, const char *method, const char *route, AuthClaims *ret);

/* Answers status (401/403) with WWW-Authenticate (error NULL = none) and a problem whose
 * detail is description; returns -EACCES once answered. */
int auth_refuse(HttpRequest *req, int status, const char *error, const char *description);
