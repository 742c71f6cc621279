/* SPDX-License-Identifier: MIT */
/* auth-jwt.c — JWS compact verification (HS256, RS256, ES256) and HS256 minting. The
 * algorithm a token may use is decided by the configured keys, never by the token:
 * the header's "alg" only selects among keys that exist, and each key has one alg. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "auth-jwt.h"
#include "base64.h"
#include "json-util.h"
#include "macro.h"

struct AuthJwt {
        unsigned char *hs_secret;
        size_t hs_secret_len;
        EVP_PKEY *pkey;
        enum { PK_NONE, PK_RS256, PK_ES256 } pk_alg;
        char *kid, *issuer, *audience, *role_claim;
        uint64_t leeway_s;
        size_t max_token;
};

static const char *const role_names[] = {
        [AUTH_ROLE_NONE] = "none",
        [AUTH_ROLE_VIEWER] = "viewer",
        [AUTH_ROLE_OPERATOR] = "operator",
        [AUTH_ROLE_ADMIN] = "admin",
};

const char *auth_role_to_string(AuthRole r) {
        return (unsigned) r < ELEMENTSOF(role_names) ? role_names[r] : "none";
}

AuthRole auth_role_from_string(const char *s) {
        if (!s)
                return AUTH_ROLE_NONE;
        for (size_t i = AUTH_ROLE_VIEWER; i < ELEMENTSOF(role_names); i++)
                if (strcmp(s, role_names[i]) == 0)
                        return (AuthRole) i;
        return AUTH_ROLE_NONE;
}

/* ---- setup ---------------------------------------------------------------------- */

void auth_jwt_free(AuthJwt *v) {
        if (!v)
                return;
        if (v->hs_secret)
                OPENSSL_clear_free(v->hs_secret, v->hs_secret_len);
        EVP_PKEY_free(v->pkey);
        free(v->kid);
        free(v->issuer);
        free(v->audience);
        free(v->role_claim);
        free(v);
}

static int dup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int auth_jwt_init(AuthJwt *v, const AuthJwtOptions *opts) {
        int r;

        if (opts->hs_secret) {
                if (opts->hs_secret_len < 32)
                        return -EINVAL;
                v->hs_secret = OPENSSL_memdup(opts->hs_secret, opts->hs_secret_len);
                if (!v->hs_secret)
                        return -ENOMEM;
                v->hs_secret_len = opts->hs_secret_len;
        }
        if (opts->public_key_pem) {
                BIO *bio = BIO_new_mem_buf(opts->public_key_pem, -1);
                if (!bio)
                        return -ENOMEM;
                v->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
                BIO_free(bio);
                if (!v->pkey)
                        return -EINVAL;
                if (EVP_PKEY_is_a(v->pkey, "RSA")) {
                        if (EVP_PKEY_get_bits(v->pkey) < 2048)
                                return -EINVAL;
                        v->pk_alg = PK_RS256;
                } else if (EVP_PKEY_is_a(v->pkey, "EC")) {
                        char group[64];
                        if (!EVP_PKEY_get_group_name(v->pkey, group, sizeof(group), NULL) ||
                            (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
                                return -EINVAL;
                        v->pk_alg = PK_ES256;
                } else
                        return -EINVAL;
        }
        r = dup_opt(opts->kid, &v->kid);
        if (r >= 0)
                r = dup_opt(opts->issuer, &v->issuer);
        if (r >= 0)
                r = dup_opt(opts->audience, &v->audience);
        if (r >= 0)
                r = dup_opt(opts->role_claim ?: "role", &v->role_claim);
        if (r < 0)
                return r;
        v->leeway_s = opts->leeway_s;
        v->max_token = opts->max_token ?: AUTH_JWT_TOKEN_MAX_DEFAULT;
        return 0;
}

int auth_jwt_new(const AuthJwtOptions *opts, AuthJwt **ret) {
        AuthJwt *v;
        int r;

        if (!opts->hs_secret && !opts->public_key_pem)
                return -EINVAL;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        r = auth_jwt_init(v, opts);
        if (r < 0) {
                auth_jwt_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

/* ---- verification --------------------------------------------------------------- */

static int
hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[static 32]) {
        unsigned out_len = 32;
        if (!HMAC(EVP_sha256(), key, (int) key_len, data, len, out, &out_len) || out_len != 32)
                return -EIO;
        return 0;
}

static int verify_pkey(
        const AuthJwt *v, const char *input, size_t input_len, const unsigned char *sig, size_t sig_len) {
        unsigned char *der = NULL;
        const unsigned char *s = sig;
        size_t s_len = sig_len;
        EVP_MD_CTX *ctx;
        int r = -EKEYREJECTED;

        if (v->pk_alg == PK_ES256) {
                /* JWS carries R||S (RFC 7518 §3.4); OpenSSL wants DER. */
                ECDSA_SIG *es;
                BIGNUM *br, *bs;
                int der_len;

                if (sig_len != 64)
                        return -EKEYREJECTED;
                es = ECDSA_SIG_new();
                br = BN_bin2bn(sig, 32, NULL);
                bs = BN_bin2bn(sig + 32, 32, NULL);
                if (!es || !br || !bs || !ECDSA_SIG_set0(es, br, bs)) {
                        ECDSA_SIG_free(es);
                        BN_free(br);
                        BN_free(bs);
                        return -ENOMEM;
                }
                der_len = i2d_ECDSA_SIG(es, &der);
                ECDSA_SIG_free(es);
                if (der_len <= 0)
                        return -ENOMEM;
                s = der;
                s_len = (size_t) der_len;
        }
        ctx = EVP_MD_CTX_new();
        if (!ctx) {
                OPENSSL_free(der);
                return -ENOMEM;
        }
        if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, v->pkey) == 1 &&
            EVP_DigestVerify(ctx, s, s_len, (const unsigned char *) input, input_len) == 1)
                r = 0;
        EVP_MD_CTX_free(ctx);
        OPENSSL_free(der);
        return r;
}

static json_object *parse_object(const unsigned char *s, size_t len) {
        json_object *o = NULL;

        if (json_parse_strict((const char *) s, len, &o, NULL) < 0)
                return NULL;
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* A NumericDate claim: absent → 0 with *present false; present but not a number → -EBADMSG. */
static int get_time(json_object *claims, const char *name, int64_t *ret, bool *present) {
        json_object *v;

        *present = json_object_object_get_ex(claims, name, &v);
        if (!*present)
                return 0;
        if (json_object_is_type(v, json_type_int))
                *ret = json_object_get_int64(v);
        else if (json_object_is_type(v, json_type_double)) {
                double d = json_object_get_double(v);
                if (!(d > -1e15 && d < 1e15))
                        return -EBADMSG;
                *ret = (int64_t) d;
        } else
                return -EBADMSG;
        return 0;
}

static bool aud_matches(json_object *aud, const char *want) {
        if (json_object_is_type(aud, json_type_string))
                return strcmp(json_object_get_string(aud), want) == 0;
        if (json_object_is_type(aud, json_type_array))
                for (size_t i = 0; i < json_object_array_length(aud); i++) {
                        json_object *e = json_object_array_get_idx(aud, i);
                        if (json_object_is_type(e, json_type_string) &&
                            strcmp(json_object_get_string(e), want) == 0)
                                return true;
                }
        return false;
}

#define FAIL(err, why)               \
        do {                         \
                *ret_reason = (why); \
                return (err);        \
        } while (0)

int auth_jwt_verify(
        const AuthJwt *v,
        const char *token,
        size_t len,
        int64_t now,
        AuthClaims *ret,
        const char **ret_reason) {
        _cleanup_free_ unsigned char *hdr = NULL, *body = NULL, *sig = NULL;
        _cleanup_(json_object_putp) json_object *h = NULL, *c = NULL;
        size_t hdr_len, body_len, sig_len;
        const char *dot1, *dot2, *alg;
        json_object *x;
        int64_t exp = 0, nbf = 0, iat = 0, exp_limit;
        bool has_exp, has_nbf, has_iat;
        int64_t leeway = (int64_t) MIN(v->leeway_s, (uint64_t) 3600);
        int r;

        *ret_reason = "invalid token";
        if (len == 0)
                FAIL(-EBADMSG, "empty token");
        if (len > v->max_token)
                FAIL(-E2BIG, "token too large");
        if (memchr(token, 0, len))
                FAIL(-EBADMSG, "malformed token");
        dot1 = memchr(token, '.', len);
        if (!dot1)
                FAIL(-EBADMSG, "malformed token");
        dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token));
        if (!dot2 || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)))
                FAIL(-EBADMSG, "malformed token");
        if ((size_t) (dot1 - token) > AUTH_JWT_HEADER_MAX * 4 / 3 + 4)
                FAIL(-E2BIG, "header too large");

        /* The header: only alg, typ, kid are understood; crit cannot be honoured. */
        if (base64url_decode(token, (size_t) (dot1 - token), &hdr, &hdr_len) < 0)
                FAIL(-EBADMSG, "malformed header");
        h = parse_object(hdr, hdr_len);
        if (!h)
                FAIL(-EBADMSG, "malformed header");
        if (json_has_nul_string(h))
                FAIL(-EBADMSG, "NUL character in the header");
        if (!json_object_object_get_ex(h, "alg", &x) || !json_object_is_type(x, json_type_string))
                FAIL(-EBADMSG, "header has no alg");
        alg = json_object_get_string(x);
        if (json_object_object_get_ex(h, "crit", NULL))
                FAIL(-EPROTONOSUPPORT, "unsupported crit header");
        if (strcmp(alg, "HS256") == 0) {
                if (!v->hs_secret)
                        FAIL(-EPROTONOSUPPORT, "algorithm not allowed");
        } else if (strcmp(alg, "RS256") == 0) {
                if (v->pk_alg != PK_RS256)
                        FAIL(-EPROTONOSUPPORT, "algorithm not allowed");
        } else if (strcmp(alg, "ES256") == 0) {
                if (v->pk_alg != PK_ES256)
                        FAIL(-EPROTONOSUPPORT, "algorithm not allowed");
        } else
                FAIL(-EPROTONOSUPPORT, "algorithm not allowed");
        if (json_object_object_get_ex(h, "kid", &x)) {
                if (!json_object_is_type(x, json_type_string) || !v->kid ||
                    strcmp(json_object_get_string(x), v->kid) != 0)
                        FAIL(-ENOKEY, "unknown kid");
        }

        /* The signature, before anything in the payload is trusted. */
        if (dot2 + 1 == token + len)
                FAIL(-EKEYREJECTED, "missing signature");
        if (base64url_decode(dot2 + 1, len - (size_t) (dot2 + 1 - token), &sig, &sig_len) < 0)
                FAIL(-EKEYREJECTED, "malformed signature");
        if (alg[0] == 'H') {
                unsigned char mac[32];
                r = hmac_sha256(v->hs_secret, v->hs_secret_len, token, (size_t) (dot2 - token), mac);
                if (r < 0)
                        return r;
                if (sig_len != sizeof(mac) || CRYPTO_memcmp(mac, sig, sizeof(mac)) != 0)
                        FAIL(-EKEYREJECTED, "bad signature");
        } else {
                r = verify_pkey(v, token, (size_t) (dot2 - token), sig, sig_len);
                if (r == -EKEYREJECTED)
                        FAIL(r, "bad signature");
                if (r < 0)
                        return r;
        }

        /* The claims. */
        if (base64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), &body, &body_len) < 0)
                FAIL(-EBADMSG, "malformed claims");
        c = parse_object(body, body_len);
        if (!c)
                FAIL(-EBADMSG, "malformed claims");
        /* Claims are compared as C strings: "bob\u0000x" would act as "bob". */
        if (json_has_nul_string(c))
                FAIL(-EBADMSG, "NUL character in a claim");
        if (get_time(c, "exp", &exp, &has_exp) < 0 || get_time(c, "nbf", &nbf, &has_nbf) < 0 ||
            get_time(c, "iat", &iat, &has_iat) < 0)
                FAIL(-EBADMSG, "malformed time claim");
        if (!has_exp)
                FAIL(-EBADMSG, "token has no exp");
        /* exp is the signer's: near INT64_MAX it means "far away", not a wrap into the past. */
        if (__builtin_add_overflow(exp, leeway, &exp_limit))
                exp_limit = INT64_MAX;
        if (now >= exp_limit)
                FAIL(-EKEYEXPIRED, "token expired");
        if (has_nbf && now + leeway < nbf)
                FAIL(-EAGAIN, "token not yet valid");
        if (has_iat && now + leeway < iat)
                FAIL(-EAGAIN, "token issued in the future");
        if (v->issuer &&
            (!json_object_object_get_ex(c, "iss", &x) || !json_object_is_type(x, json_type_string) ||
             strcmp(json_object_get_string(x), v->issuer) != 0))
                FAIL(-EACCES, "wrong issuer");
        if (v->audience && (!json_object_object_get_ex(c, "aud", &x) || !aud_matches(x, v->audience)))
                FAIL(-EACCES, "wrong audience");
        if (!json_object_object_get_ex(c, "sub", &x) || !json_object_is_type(x, json_type_string) ||
            json_object_get_string_len(x) == 0 || json_object_get_string_len(x) > AUTH_SUB_MAX)
                FAIL(-EBADMSG, "token has no usable sub");

        *ret = (AuthClaims){ .exp = exp };
        memcpy(ret->sub, json_object_get_string(x), (size_t) json_object_get_string_len(x) + 1);
        if (json_object_object_get_ex(c, v->role_claim, &x) && json_object_is_type(x, json_type_string))
                ret->role = auth_role_from_string(json_object_get_string(x));
        *ret_reason = NULL;
        return 0;
}

/* ---- minting -------------------------------------------------------------------- */

int auth_jwt_mint_hs256(
        const void *secret,
        size_t secret_len,
        const char *sub,
        const char *role,
        const char *issuer,
        const char *audience,
        int64_t now,
        uint64_t ttl_s,
        char **ret) {
        _cleanup_(json_object_putp) json_object *c = NULL;
        _cleanup_free_ char *h64 = NULL, *c64 = NULL, *s64 = NULL, *out = NULL;
        static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        const char *cj;
        unsigned char mac[32];
        size_t n;
        int r;

        if (!secret || secret_len < 32 || !sub || !*sub || strlen(sub) > AUTH_SUB_MAX || !role ||
            auth_role_from_string(role) == AUTH_ROLE_NONE || ttl_s == 0)
                return -EINVAL;
        c = json_object_new_object();
        if (!c)
                return -ENOMEM;
        if (json_object_object_add(c, "sub", json_object_new_string(sub)) < 0 ||
            json_object_object_add(c, "role", json_object_new_string(role)) < 0 ||
            json_object_object_add(c, "iat", json_object_new_int64(now)) < 0 ||
            json_object_object_add(c, "exp", json_object_new_int64(now + (int64_t) ttl_s)) < 0 ||
            (issuer && json_object_object_add(c, "iss", json_object_new_string(issuer)) < 0) ||
            (audience && json_object_object_add(c, "aud", json_object_new_string(audience)) < 0))
                return -ENOMEM;
        cj = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!cj)
                return -ENOMEM;
        r = base64url_encode(header, sizeof(header) - 1, &h64);
        if (r >= 0)
                r = base64url_encode(cj, strlen(cj), &c64);
        if (r < 0)
                return r;
        n = strlen(h64) + 1 + strlen(c64);
        out = malloc(n + 1 + 44);
        if (!out)
                return -ENOMEM;
        snprintf(out, n + 1, "%s.%s", h64, c64);
        r = hmac_sha256(secret, secret_len, out, n, mac);
        if (r < 0)
                return r;
        r = base64url_encode(mac, sizeof(mac), &s64);
        if (r < 0)
                return r;
        snprintf(out + n, 1 + 44, ".%s", s64);
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- secret files --------------------------------------------------------------- */

int auth_read_secret_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        char buf[4097];
        size_t n = 0;
        char *out;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        OPENSSL_cleanse(buf, sizeof(buf));
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == sizeof(buf)) {
                        OPENSSL_cleanse(buf, sizeof(buf));
                        return -EFBIG;
                }
        }
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n > 0 && buf[n - 1] == '\r')
                n--;
        if (n < 32) {
                OPENSSL_cleanse(buf, sizeof(buf));
                return -EINVAL;
        }
        out = malloc(n + 1);
        if (!out) {
                OPENSSL_cleanse(buf, sizeof(buf));
                return -ENOMEM;
        }
        memcpy(out, buf, n);
        out[n] = 0;
        OPENSSL_cleanse(buf, sizeof(buf));
        *ret = out;
        *ret_len = n;
        return 0;
}
