/* SPDX-License-Identifier: MIT */
/* auth.c — the bearer-token gate in front of the orchestrator's routes: reads the key
 * files once at start, then per request parses "Authorization: Bearer" (or, on /v1/,
 * Anthropic's "x-api-key"), verifies the JWT (or looks up an API key, apikey.h)
 * and applies the role table; 401 (no/bad token) and 403 (valid token, wrong role) are
 * answered with RFC 6750 WWW-Authenticate headers. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "auth-http.h"
#include "auth.h"
#include "fileio.h"
#include "macro.h"

#define AUTH_PUBKEY_MAX (64 * 1024)

/* Tokens verified lately, per HTTP thread: a client on a keep-alive connection sends the
 * same token again and again, and re-verifying it (base64, two JSON parses, an HMAC or a
 * signature check) was most of auth's cost on a cheap route. An entry is only ever a
 * token that passed auth_jwt_verify() under the current keys (auth_setup() bumps the
 * epoch), is compared in full with CRYPTO_memcmp, and misses from its exp on (the full
 * check then applies the leeway). Tokens longer than AUTH_CACHE_TOKEN_MAX are not kept. */
#define AUTH_CACHE_SLOTS 8
#define AUTH_CACHE_TOKEN_MAX 1024

typedef struct AuthCacheEntry {
        uint64_t epoch;
        size_t len;
        AuthClaims claims;
        char token[AUTH_CACHE_TOKEN_MAX];
} AuthCacheEntry;

static _Atomic uint64_t auth_cache_epoch = 1;
static __thread AuthCacheEntry auth_cache[AUTH_CACHE_SLOTS];
static __thread unsigned auth_cache_next;

static const AuthCacheEntry *auth_cache_find(const char *tok, size_t len, int64_t now) {
        uint64_t epoch = auth_cache_epoch;

        for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
                const AuthCacheEntry *e = &auth_cache[i];

                if (e->epoch == epoch && e->len == len && now < e->claims.exp &&
                    CRYPTO_memcmp(e->token, tok, len) == 0)
                        return e;
        }
        return NULL;
}

static void auth_cache_add(const char *tok, size_t len, const AuthClaims *claims) {
        AuthCacheEntry *e;

        if (len > AUTH_CACHE_TOKEN_MAX)
                return;
        e = &auth_cache[auth_cache_next++ % AUTH_CACHE_SLOTS];
        memcpy(e->token, tok, len);
        e->len = len;
        e->claims = *claims;
        e->epoch = auth_cache_epoch;
}

static const char *nonempty(const char *s) {
        return s && *s ? s : NULL;
}

const char *const auth_modes[] = { "required", "off", NULL };

bool auth_mode_off(const AuthConfig *c) {
        return c->mode && streq(c->mode, "off");
}

int auth_setup(const AuthConfig *c, AuthJwt **ret) {
        _cleanup_free_ char *pem = NULL;
        char *secret = NULL;
        size_t secret_len = 0;
        AuthJwt *jwt = NULL;
        int r;

        auth_cache_epoch++; /* new keys: forget the tokens verified under the old ones */
        if (auth_mode_off(c)) {
                *ret = NULL;
                return 0;
        }
        if (!nonempty(c->secret_file) && !nonempty(c->public_key_file))
                return -ENOKEY;
        if (nonempty(c->secret_file)) {
                r = auth_read_secret_file(c->secret_file, &secret, &secret_len);
                if (r < 0)
                        return r;
        }
        if (nonempty(c->public_key_file)) {
                r = read_full_file(c->public_key_file, AUTH_PUBKEY_MAX, &pem, NULL);
                if (r < 0)
                        goto finish;
        }
        r = auth_jwt_new(
                &(AuthJwtOptions){
                        .hs_secret = secret,
                        .hs_secret_len = secret_len,
                        .public_key_pem = pem,
                        .kid = nonempty(c->kid),
                        .issuer = nonempty(c->issuer),
                        .audience = nonempty(c->audience),
                        .role_claim = nonempty(c->role_claim),
                        .leeway_s = c->leeway_ms / 1000,
                },
                &jwt);
        if (r >= 0)
                *ret = jwt;
finish:
        if (secret)
                OPENSSL_clear_free(secret, secret_len);
        return r;
}

int auth_gate(
        const AuthJwt *jwt,
        const AuthKeyResolver *keys,
        HttpRequest *req,
        const char *method,
        const char *route,
        AuthClaims *ret) {
        const char *tok;
        size_t len;
        const char *why = NULL;
        const AuthCacheEntry *hit;
        int64_t now;
        int r;

        if (!jwt) {
                *ret = (AuthClaims){ .sub = "", .role = AUTH_ROLE_ADMIN };
                return 0;
        }
        r = auth_http_bearer(req, &tok, &len);
        /* Anthropic's clients send their key as x-api-key: on the /v1/ API it is the same
         * token as a bearer one (a custom header: no cross-site form can send it). */
        if (r == -ENOKEY && startswith(route, "/v1/") &&
            !isempty(tok = http_request_header(req, "x-api-key"))) {
                len = strlen(tok);
                r = 0;
        }
        if (r == -ENOKEY)
                return auth_http_refuse(req, 401, NULL, "a bearer token is required");
        if (r < 0)
                return auth_http_refuse(
                        req, 401, "invalid_request", "the Authorization scheme must be Bearer");
        now = (int64_t) time(NULL);
        /* A key is looked up every time (no cache): a revoke takes effect at once. */
        if (keys && apikey_is_key(tok, len)) {
                r = keys->lookup(tok, len, ret, keys->userdata);
                if (r == -ENOENT)
                        return auth_http_refuse(req, 401, "invalid_token", "unknown or revoked API key");
                if (r < 0)
                        return r;
        } else if ((hit = auth_cache_find(tok, len, now)))
                *ret = hit->claims;
        else {
                r = auth_jwt_verify(jwt, tok, len, now, ret, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return auth_http_refuse(req, 401, "invalid_token", why ?: "invalid token");
                auth_cache_add(tok, len, ret);
        }
        if (!auth_role_allows(ret->role, method, route))
                return auth_http_refuse(
                        req,
                        403,
                        "insufficient_scope",
                        ret->role == AUTH_ROLE_NONE ? "the token carries no known role"
                                                    : "this role may not call this endpoint");
        return 0;
}

static const char *const exempt_paths[] = { "/health", "/health/live", "/health/ready", "/metrics" };

int auth_exempt_parse(const char *list, unsigned *ret_mask, char *bad, size_t bad_size) {
        unsigned mask = 0;

        for (const char *p = list ?: ""; *p;) {
                const char *end = strchrnul(p, ',');
                size_t n;
                bool found = false;

                while (p < end && *p == ' ')
                        p++;
                n = (size_t) (end - p);
                while (n > 0 && p[n - 1] == ' ')
                        n--;
                for (size_t i = 0; n > 0 && i < ELEMENTSOF(exempt_paths); i++)
                        if (strlen(exempt_paths[i]) == n && strncmp(exempt_paths[i], p, n) == 0) {
                                mask |= 1u << i;
                                found = true;
                        }
                if (n > 0 && !found) {
                        snprintf(bad, bad_size, "%.*s", (int) n, p);
                        return -EINVAL;
                }
                p = *end ? end + 1 : end;
        }
        *ret_mask = mask;
        return 0;
}

bool auth_exempt_match(unsigned mask, const char *path) {
        for (size_t i = 0; path && i < ELEMENTSOF(exempt_paths); i++)
                if ((mask & (1u << i)) && strcmp(exempt_paths[i], path) == 0)
                        return true;
        return false;
}
