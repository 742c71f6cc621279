/* SPDX-License-Identifier: MIT */
/* auth.h — the orchestrator's bearer-token gate: configuration (ORCH_AUTH, key files,
 * iss/aud, leeway, exempt paths), the role → route table and the per-request check that
 * answers 401/403. Auth is required unless ORCH_AUTH=off says otherwise, and required
 * auth without a key stops the start; /health* and /metrics (served by the common service
 * layer through its gate hook) need a viewer token unless listed in ORCH_AUTH_EXEMPT (all
 * four are by default). */
#pragma once

#include "auth-jwt.h"
#include "http-server.h"

typedef struct AuthConfig {
        char *mode;            /* "required" (also when NULL) or "off" */
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

extern const char *const auth_modes[]; /* the choices of ORCH_AUTH: "required", "off" */

/* Whether c says ORCH_AUTH=off. */
bool auth_mode_off(const AuthConfig *c);

/* *ret = NULL when c's mode is off. Otherwise a key must be configured (-ENOKEY without
 * one) and usable: a configured file that cannot be read or used is an error too, so the
 * service never silently starts open. */
int auth_setup(const AuthConfig *c, AuthJwt **ret);

/* Whether role may call method on the route pattern (as in the route table). */
bool auth_role_allows(AuthRole role, const char *method, const char *route);

/* API keys (apikey.h) besides JWTs: lookup fills *ret for a known, unrevoked key and
 * returns 0, -ENOENT for any other, another -errno when it could not tell. */
typedef struct AuthKeyResolver {
        int (*lookup)(const char *token, size_t len, AuthClaims *ret, void *userdata);
        void *userdata;
} AuthKeyResolver;

/* Checks req's Authorization header against jwt (NULL = auth off: allowed, *ret gets an
 * anonymous admin), or, for a token of a key's form, against keys (NULL = no keys). On
 * refusal replies 401 or 403 with WWW-Authenticate and returns -EACCES; the handler must
 * then not run. */
int auth_gate(
        const AuthJwt *jwt,
        const AuthKeyResolver *keys,
        HttpRequest *req,
        const char *method,
        const char *route,
        AuthClaims *ret);
