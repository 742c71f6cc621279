/* SPDX-License-Identifier: MIT */
/* auth-jwt.h — JWT (JWS compact) verification of bearer tokens (the orchestrator's API, the
 * supervisor's mutating routes), hardened along RFC 8725: each key is bound to exactly one
 * algorithm (HS256 to the shared secret, RS256/ES256 to the public key by its type), so
 * "none", HS/RS confusion and algorithms nobody configured are all rejected before any
 * crypto runs; signatures are compared with CRYPTO_memcmp; sizes are capped before
 * decoding. Also mints HS256 tokens (the CLI). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AuthRole {
        AUTH_ROLE_NONE = 0, /* valid token without a known role: 403 for everything */
        AUTH_ROLE_VIEWER,
        AUTH_ROLE_OPERATOR,
        AUTH_ROLE_ADMIN,
} AuthRole;

const char *auth_role_to_string(AuthRole r);
AuthRole auth_role_from_string(const char *s); /* AUTH_ROLE_NONE if unknown */

#define AUTH_JWT_TOKEN_MAX_DEFAULT 8192
#define AUTH_JWT_HEADER_MAX 1024 /* decoded JOSE header bytes */
#define AUTH_SUB_MAX 128

typedef struct AuthJwtOptions {
        const void *hs_secret; /* NULL = HS256 not accepted */
        size_t hs_secret_len;
        const char *public_key_pem; /* NULL = RS256/ES256 not accepted; RSA → RS256, P-256 → ES256 */
        const char *kid;            /* NULL = tokens must not name a kid; else it must match */
        const char *issuer;         /* NULL = iss not checked */
        const char *audience;       /* NULL = aud not checked */
        const char *role_claim;     /* NULL = "role" */
        uint64_t leeway_s;
        size_t max_token; /* 0 = AUTH_JWT_TOKEN_MAX_DEFAULT */
} AuthJwtOptions;

typedef struct AuthJwt AuthJwt;

typedef struct AuthClaims {
        char sub[AUTH_SUB_MAX + 1];
        AuthRole role;
        int64_t exp;
} AuthClaims;

/* -EINVAL if nothing is configured or the key is unusable (RSA < 2048 bits, EC not P-256). */
int auth_jwt_new(const AuthJwtOptions *opts, AuthJwt **ret);
void auth_jwt_free(AuthJwt *v);
static inline void auth_jwt_freep(AuthJwt **v) {
        if (*v)
                auth_jwt_free(*v);
}

/* Verifies token at time now (Unix seconds). On failure returns -errno and sets *ret_reason
 * to a short static text fit for WWW-Authenticate's error_description:
 *   -E2BIG        token or header over its cap
 *   -EBADMSG      not a well-formed JWS compact token / claims
 *   -EPROTONOSUPPORT algorithm not allowed (none, unconfigured, crit)
 *   -ENOKEY       unknown kid
 *   -EKEYREJECTED bad signature
 *   -EKEYEXPIRED  expired; -EAGAIN not yet valid (nbf/iat in the future)
 *   -EACCES       wrong iss or aud */
int auth_jwt_verify(
        const AuthJwt *v,
        const char *token,
        size_t len,
        int64_t now,
        AuthClaims *ret,
        const char **ret_reason);

/* An HS256 token {"sub","role","iat","exp"(+iss,aud if set)} into a malloc'd string. */
int auth_jwt_mint_hs256(
        const void *secret,
        size_t secret_len,
        const char *sub,
        const char *role,
        const char *issuer,
        const char *audience,
        int64_t now,
        uint64_t ttl_s,
        char **ret);

/* Reads a secret file (Podman secrets under /run/secrets): at most 4 KiB, one trailing
 * newline stripped; -EINVAL if shorter than 32 bytes (RFC 7518 §3.2: HS256 keys >= 256 bits). */
int auth_read_secret_file(const char *path, char **ret, size_t *ret_len);
