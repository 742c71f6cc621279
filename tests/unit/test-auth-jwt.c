/* SPDX-License-Identifier: MIT */
/* test-auth-jwt.c — the orchestrator's JWT verifier against the RFC 8725 attack table
 * (alg none, HS/RS confusion, expired, not yet valid, wrong iss/aud, tampered payload,
 * truncated/empty signature, oversized header, unknown kid) with keys made at run time. */
#include <check.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth-jwt.h"
#include "auth.h"
#include "base64.h"
#include "check-run.h"
#include "http-server.h"
#include "macro.h"
#include "test-http-util.h"

#define NOW 1800000000LL
static const char SECRET[] = "0123456789abcdef0123456789abcdef-test-secret";

static EVP_PKEY *rsa_key, *ec_key;
static char *rsa_pub_pem, *ec_pub_pem;

static char *pub_pem(EVP_PKEY *k) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data, *out;
        long n;

        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
        n = BIO_get_mem_data(b, &data);
        out = strndup(data, (size_t) n);
        BIO_free(b);
        return out;
}

static void setup_keys(void) {
        if (rsa_key)
                return;
        rsa_key = EVP_RSA_gen(2048);
        ec_key = EVP_EC_gen("P-256");
        ck_assert_ptr_nonnull(rsa_key);
        ck_assert_ptr_nonnull(ec_key);
        rsa_pub_pem = pub_pem(rsa_key);
        ec_pub_pem = pub_pem(ec_key);
}

static char *b64(const void *p, size_t n) {
        char *s = NULL;
        ck_assert_int_eq(base64url_encode(p, n, &s), 0);
        return s;
}

typedef enum { SIGN_HS, SIGN_RS, SIGN_ES, SIGN_NONE } SignWith;

/* header and claims as JSON text; hmac_key overrides the HS256 key (confusion attack). */
static char *
make_token(const char *header, const char *claims, SignWith how, const void *hmac_key, size_t hmac_len) {
        _cleanup_free_ char *h = b64(header, strlen(header)), *c = b64(claims, strlen(claims));
        _cleanup_free_ char *input = NULL, *sig64 = NULL;
        unsigned char sig[512];
        size_t sig_len = sizeof(sig);
        char *out;

        ck_assert_int_ge(asprintf(&input, "%s.%s", h, c), 0);
        if (how == SIGN_HS) {
                unsigned len = 32;
                HMAC(EVP_sha256(),
                     hmac_key ?: SECRET,
                     (int) (hmac_key ? hmac_len : strlen(SECRET)),
                     (unsigned char *) input,
                     strlen(input),
                     sig,
                     &len);
                sig_len = len;
        } else if (how == SIGN_RS || how == SIGN_ES) {
                EVP_MD_CTX *ctx = EVP_MD_CTX_new();
                unsigned char der[256];
                size_t der_len = sizeof(der);

                ck_assert_int_eq(
                        EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, how == SIGN_RS ? rsa_key : ec_key),
                        1);
                ck_assert_int_eq(
                        EVP_DigestSign(
                                ctx,
                                how == SIGN_RS ? sig : der,
                                how == SIGN_RS ? &sig_len : &der_len,
                                (unsigned char *) input,
                                strlen(input)),
                        1);
                EVP_MD_CTX_free(ctx);
                if (how == SIGN_ES) {
                        const unsigned char *p = der;
                        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long) der_len);
                        ck_assert_ptr_nonnull(es);
                        memset(sig, 0, 64);
                        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
                        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
                        ECDSA_SIG_free(es);
                        sig_len = 64;
                }
        } else
                sig_len = 0;
        sig64 = b64(sig, sig_len);
        ck_assert_int_ge(asprintf(&out, "%s.%s", input, sig64), 0);
        return out;
}

static AuthJwt *verifier(bool hs, const char *pem, const char *kid, const char *iss, const char *aud) {
        AuthJwt *v = NULL;
        AuthJwtOptions o = {
                .hs_secret = hs ? SECRET : NULL,
                .hs_secret_len = hs ? strlen(SECRET) : 0,
                .public_key_pem = pem,
                .kid = kid,
                .issuer = iss,
                .audience = aud,
                .leeway_s = 30,
        };
        ck_assert_int_eq(auth_jwt_new(&o, &v), 0);
        return v;
}

static int check(const AuthJwt *v, const char *tok, AuthClaims *c, const char **why) {
        return auth_jwt_verify(v, tok, strlen(tok), NOW, c, why);
}

#define HS_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS_HDR "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define ES_HDR "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
#define GOOD_CLAIMS "{\"sub\":\"alice\",\"role\":\"operator\",\"iat\":1800000000,\"exp\":1800003600}"

START_TEST(test_valid_each_alg) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_(auth_jwt_freep) AuthJwt *rs = NULL, *es = NULL;
        _cleanup_free_ char *t1 = NULL, *t2 = NULL, *t3 = NULL;
        AuthClaims c;
        const char *why;

        setup_keys();
        rs = verifier(false, rsa_pub_pem, NULL, NULL, NULL);
        es = verifier(false, ec_pub_pem, NULL, NULL, NULL);
        t1 = make_token(HS_HDR, GOOD_CLAIMS, SIGN_HS, NULL, 0);
        t2 = make_token(RS_HDR, GOOD_CLAIMS, SIGN_RS, NULL, 0);
        t3 = make_token(ES_HDR, GOOD_CLAIMS, SIGN_ES, NULL, 0);
        ck_assert_int_eq(check(hs, t1, &c, &why), 0);
        ck_assert_str_eq(c.sub, "alice");
        ck_assert_int_eq(c.role, AUTH_ROLE_OPERATOR);
        ck_assert_int_eq(check(rs, t2, &c, &why), 0);
        ck_assert_int_eq(check(es, t3, &c, &why), 0);
        /* Each key only with its own algorithm. */
        ck_assert_int_eq(check(hs, t2, &c, &why), -EPROTONOSUPPORT);
        ck_assert_int_eq(check(rs, t1, &c, &why), -EPROTONOSUPPORT);
        ck_assert_int_eq(check(rs, t3, &c, &why), -EPROTONOSUPPORT);
        ck_assert_int_eq(check(es, t2, &c, &why), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(test_alg_none) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        const char *hdrs[] = { "{\"alg\":\"none\"}",  "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
                               "{\"alg\":\"HS512\"}", "{\"alg\":\"\"}",     "{\"typ\":\"JWT\"}",
                               "{\"alg\":256}" };
        AuthClaims c;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(hdrs); i++) {
                _cleanup_free_ char *t = make_token(hdrs[i], GOOD_CLAIMS, SIGN_NONE, NULL, 0);
                _cleanup_free_ char *t2 = make_token(hdrs[i], GOOD_CLAIMS, SIGN_HS, NULL, 0);
                ck_assert_int_lt(check(hs, t, &c, &why), 0);
                ck_assert_int_lt(check(hs, t2, &c, &why), 0);
                ck_assert_ptr_nonnull(why);
        }
}
END_TEST

START_TEST(test_hs_rs_confusion) {
        _cleanup_(auth_jwt_freep) AuthJwt *rs = NULL, *both = NULL;
        _cleanup_free_ char *t = NULL;
        AuthClaims c;
        const char *why;

        setup_keys();
        rs = verifier(false, rsa_pub_pem, NULL, NULL, NULL);
        /* CVE-2015-9235: HS256 keyed with the RSA public key's PEM text. */
        t = make_token(HS_HDR, GOOD_CLAIMS, SIGN_HS, rsa_pub_pem, strlen(rsa_pub_pem));
        ck_assert_int_eq(check(rs, t, &c, &why), -EPROTONOSUPPORT);
        ck_assert_str_eq(why, "algorithm not allowed");
        /* With both configured, HS256 is checked against the shared secret, never the PEM. */
        both = verifier(true, rsa_pub_pem, NULL, NULL, NULL);
        ck_assert_int_eq(check(both, t, &c, &why), -EKEYREJECTED);
}
END_TEST

START_TEST(test_times) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        struct {
                const char *claims;
                int want;
        } cases[] = {
                { "{\"sub\":\"a\",\"exp\":1799999000}", -EKEYEXPIRED },
                { "{\"sub\":\"a\",\"exp\":1799999971}", 0 },            /* within 30 s leeway */
                { "{\"sub\":\"a\",\"exp\":1799999970}", -EKEYEXPIRED }, /* leeway edge */
                { "{\"sub\":\"a\",\"exp\":1800003600,\"nbf\":1800000100}", -EAGAIN },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"nbf\":1800000030}", 0 },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"iat\":1800000500}", -EAGAIN },
                { "{\"sub\":\"a\"}", -EBADMSG }, /* exp required */
                { "{\"sub\":\"a\",\"exp\":\"soon\"}", -EBADMSG },
                { "{\"exp\":1800003600}", -EBADMSG }, /* sub required */
                /* exp + leeway past INT64_MAX: far in the future, not wrapped into the past */
                { "{\"sub\":\"a\",\"exp\":9223372036854775807}", 0 },
                { "{\"sub\":\"a\",\"exp\":9223372036854775790}", 0 },
        };
        AuthClaims c;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *t = make_token(HS_HDR, cases[i].claims, SIGN_HS, NULL, 0);
                ck_assert_msg(check(hs, t, &c, &why) == cases[i].want, "case %zu", i);
        }
}
END_TEST

/* A claim is compared as a C string: "bob\u0000x" must not act as "bob", nor may any other
 * string of the token carry a NUL. */
START_TEST(test_nul_in_claims) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_(auth_jwt_freep) AuthJwt *kid = verifier(true, NULL, "k1", NULL, NULL);
        static const struct {
                const char *header, *claims;
        } cases[] = {
                { HS_HDR, "{\"sub\":\"bob\\u0000x\",\"role\":\"admin\",\"exp\":1800003600}" },
                { HS_HDR, "{\"sub\":\"\\u0000\",\"role\":\"admin\",\"exp\":1800003600}" },
                { HS_HDR, "{\"sub\":\"bob\",\"role\":\"admin\\u0000viewer\",\"exp\":1800003600}" },
                { HS_HDR, "{\"sub\":\"bob\",\"exp\":1800003600,\"groups\":[\"a\",\"b\\u0000\"]}" },
                { "{\"alg\":\"HS256\",\"kid\":\"k1\\u0000evil\"}", "{\"sub\":\"bob\",\"exp\":1800003600}" },
        };
        AuthClaims c;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *t = make_token(cases[i].header, cases[i].claims, SIGN_HS, NULL, 0);

                ck_assert_msg(check(i == 4 ? kid : hs, t, &c, &why) == -EBADMSG, "case %zu", i);
                ck_assert_msg(strstr(why, "NUL character"), "case %zu: %s", i, why);
        }
        {
                _cleanup_free_ char *t = make_token(
                        HS_HDR, "{\"sub\":\"bob\",\"role\":\"admin\",\"exp\":1800003600}", SIGN_HS, NULL, 0);

                ck_assert_int_eq(check(hs, t, &c, &why), 0);
                ck_assert_str_eq(c.sub, "bob");
        }
}
END_TEST

START_TEST(test_iss_aud) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, "https://idp", "ai-semble");
        struct {
                const char *claims;
                int want;
        } cases[] = {
                { "{\"sub\":\"a\",\"exp\":1800003600,\"iss\":\"https://idp\",\"aud\":\"ai-semble\"}", 0 },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"iss\":\"https://idp\",\"aud\":[\"x\",\"ai-semble\"]}",
                  0 },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"iss\":\"https://evil\",\"aud\":\"ai-semble\"}",
                  -EACCES },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"iss\":\"https://idp\",\"aud\":\"other\"}", -EACCES },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"aud\":\"ai-semble\"}", -EACCES },
                { "{\"sub\":\"a\",\"exp\":1800003600,\"iss\":\"https://idp\"}", -EACCES },
        };
        AuthClaims c;
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *t = make_token(HS_HDR, cases[i].claims, SIGN_HS, NULL, 0);
                ck_assert_msg(check(hs, t, &c, &why) == cases[i].want, "case %zu", i);
        }
}
END_TEST

START_TEST(test_tampered_and_truncated) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_(auth_jwt_freep) AuthJwt *es = NULL;
        _cleanup_free_ char *t = make_token(HS_HDR, GOOD_CLAIMS, SIGN_HS, NULL, 0);
        _cleanup_free_ char *adm = make_token(
                HS_HDR, "{\"sub\":\"alice\",\"role\":\"admin\",\"exp\":1800003600}", SIGN_NONE, NULL, 0);
        _cleanup_free_ char *swapped = NULL, *te = NULL;
        char *dot2;
        AuthClaims c;
        const char *why;

        /* Payload swapped for an admin claim under the original signature. */
        dot2 = strrchr(t, '.');
        ck_assert_int_ge(asprintf(&swapped, "%.*s%s", (int) (strrchr(adm, '.') - adm), adm, dot2), 0);
        ck_assert_int_eq(check(hs, swapped, &c, &why), -EKEYREJECTED);
        /* Every single-byte flip anywhere in the token fails. */
        for (size_t i = 0; i < strlen(t); i++) {
                _cleanup_free_ char *m = strdup(t);
                if (m[i] == '.')
                        continue;
                m[i] = m[i] == 'A' ? 'B' : 'A';
                ck_assert_msg(check(hs, m, &c, &why) < 0, "flip at %zu", i);
        }
        /* Truncated and empty signatures; a missing part. */
        for (size_t cut = 1; cut < 43; cut += 7) {
                _cleanup_free_ char *m = strndup(t, strlen(t) - cut);
                ck_assert_int_lt(check(hs, m, &c, &why), 0);
        }
        *(dot2 + 1) = 0;
        ck_assert_int_eq(check(hs, t, &c, &why), -EKEYREJECTED);
        *dot2 = 0;
        ck_assert_int_eq(check(hs, t, &c, &why), -EBADMSG);
        ck_assert_int_eq(auth_jwt_verify(hs, "", 0, NOW, &c, &why), -EBADMSG);
        ck_assert_int_eq(check(hs, "a.b.c.d", &c, &why), -EBADMSG);

        setup_keys();
        es = verifier(false, ec_pub_pem, NULL, NULL, NULL);
        te = make_token(ES_HDR, GOOD_CLAIMS, SIGN_ES, NULL, 0);
        te[strlen(te) - 5] = 0; /* truncated R||S */
        ck_assert_int_eq(check(es, te, &c, &why), -EKEYREJECTED);
}
END_TEST

START_TEST(test_sizes) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_free_ char *big_hdr = malloc(4096), *t = NULL, *huge = NULL;
        AuthClaims c;
        const char *why;

        snprintf(big_hdr, 4096, "{\"alg\":\"HS256\",\"x\":\"%03000d\"}", 0);
        t = make_token(big_hdr, GOOD_CLAIMS, SIGN_HS, NULL, 0);
        ck_assert_int_eq(check(hs, t, &c, &why), -E2BIG);
        huge = malloc(20000);
        memset(huge, 'A', 19999);
        huge[19999] = 0;
        ck_assert_int_eq(check(hs, huge, &c, &why), -E2BIG);
}
END_TEST

START_TEST(test_kid) {
        _cleanup_(auth_jwt_freep) AuthJwt *none = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_(auth_jwt_freep) AuthJwt *k1 = verifier(true, NULL, "k1", NULL, NULL);
        _cleanup_free_ char *t1 =
                make_token("{\"alg\":\"HS256\",\"kid\":\"k1\"}", GOOD_CLAIMS, SIGN_HS, NULL, 0);
        _cleanup_free_ char *t2 =
                make_token("{\"alg\":\"HS256\",\"kid\":\"k2\"}", GOOD_CLAIMS, SIGN_HS, NULL, 0);
        _cleanup_free_ char *t0 = make_token(HS_HDR, GOOD_CLAIMS, SIGN_HS, NULL, 0);
        AuthClaims c;
        const char *why;

        ck_assert_int_eq(check(k1, t1, &c, &why), 0);
        ck_assert_int_eq(check(k1, t2, &c, &why), -ENOKEY);
        ck_assert_str_eq(why, "unknown kid");
        ck_assert_int_eq(check(k1, t0, &c, &why), 0);
        ck_assert_int_eq(check(none, t1, &c, &why), -ENOKEY);
}
END_TEST

START_TEST(test_crit_and_roles) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_free_ char *t =
                make_token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", GOOD_CLAIMS, SIGN_HS, NULL, 0);
        _cleanup_free_ char *r =
                make_token(HS_HDR, "{\"sub\":\"a\",\"role\":\"root\",\"exp\":1800003600}", SIGN_HS, NULL, 0);
        AuthClaims c;
        const char *why;

        ck_assert_int_eq(check(hs, t, &c, &why), -EPROTONOSUPPORT);
        ck_assert_int_eq(check(hs, r, &c, &why), 0);
        ck_assert_int_eq(c.role, AUTH_ROLE_NONE);
}
END_TEST

START_TEST(test_mint_roundtrip_and_secret_file) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_free_ char *t = NULL, *s = NULL;
        char path[] = "/tmp/test-auth-jwt-XXXXXX";
        AuthClaims c;
        const char *why;
        size_t n;
        int fd;

        ck_assert_int_eq(
                auth_jwt_mint_hs256(SECRET, strlen(SECRET), "bob", "viewer", NULL, NULL, NOW, 3600, &t), 0);
        ck_assert_int_eq(check(hs, t, &c, &why), 0);
        ck_assert_str_eq(c.sub, "bob");
        ck_assert_int_eq(c.role, AUTH_ROLE_VIEWER);
        ck_assert_int_eq(c.exp, NOW + 3600);
        ck_assert_int_eq(
                auth_jwt_mint_hs256(SECRET, strlen(SECRET), "bob", "god", NULL, NULL, NOW, 60, &t), -EINVAL);
        ck_assert_int_eq(auth_jwt_mint_hs256("short", 5, "bob", "viewer", NULL, NULL, NOW, 60, &t), -EINVAL);

        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, SECRET, strlen(SECRET)), (ssize_t) strlen(SECRET));
        ck_assert_int_eq(write(fd, "\n", 1), 1);
        close(fd);
        ck_assert_int_eq(auth_read_secret_file(path, &s, &n), 0);
        ck_assert_uint_eq(n, strlen(SECRET));
        ck_assert_str_eq(s, SECRET);
        fd = open(path, O_WRONLY | O_TRUNC);
        ck_assert_int_eq(write(fd, "short\n", 6), 6);
        close(fd);
        ck_assert_int_eq(auth_read_secret_file(path, &s, &n), -EINVAL);
        unlink(path);
}
END_TEST

START_TEST(test_b64url_strict) {
        unsigned char *out = NULL;
        size_t n;

        ck_assert_int_eq(base64url_decode("YQ", 2, &out, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(out[0], 'a');
        free(out);
        ck_assert_int_eq(base64url_decode("YR", 2, &out, &n), -EBADMSG); /* non-zero pad bits */
        ck_assert_int_eq(base64url_decode("YQ==", 4, &out, &n), -EBADMSG);
        ck_assert_int_eq(base64url_decode("Y+/a", 4, &out, &n), -EBADMSG);
        ck_assert_int_eq(base64url_decode("Y", 1, &out, &n), -EBADMSG);
}
END_TEST

START_TEST(test_role_table) {
        ck_assert(auth_role_allows(AUTH_ROLE_VIEWER, "GET", "/jobs"));
        ck_assert(auth_role_allows(AUTH_ROLE_VIEWER, "GET", "/jobs/{id}/events"));
        ck_assert(!auth_role_allows(AUTH_ROLE_VIEWER, "POST", "/dispatch"));
        ck_assert(!auth_role_allows(AUTH_ROLE_VIEWER, "GET", "/locks"));
        ck_assert(auth_role_allows(AUTH_ROLE_OPERATOR, "POST", "/dispatch"));
        ck_assert(auth_role_allows(AUTH_ROLE_OPERATOR, "POST", "/ai/llm/completion"));
        ck_assert(auth_role_allows(AUTH_ROLE_OPERATOR, "GET", "/jobs/{id}"));
        ck_assert(!auth_role_allows(AUTH_ROLE_OPERATOR, "POST", "/locks/{name}"));
        /* Operators reach DELETE /jobs/{id}; the handler then checks the job is theirs. */
        ck_assert(auth_role_allows(AUTH_ROLE_OPERATOR, "DELETE", "/jobs/{id}"));
        ck_assert(!auth_role_allows(AUTH_ROLE_VIEWER, "DELETE", "/jobs/{id}"));
        ck_assert(auth_role_allows(AUTH_ROLE_VIEWER, "GET", "/metrics"));
        ck_assert(!auth_role_allows(AUTH_ROLE_NONE, "GET", "/health/live"));
        ck_assert(auth_role_allows(AUTH_ROLE_ADMIN, "DELETE", "/locks/{name}"));
        ck_assert(auth_role_allows(AUTH_ROLE_ADMIN, "DELETE", "/jobs/{id}"));
        /* Unlisted routes are admin-only; no role means nothing. */
        ck_assert(!auth_role_allows(AUTH_ROLE_OPERATOR, "GET", "/audit"));
        ck_assert(auth_role_allows(AUTH_ROLE_ADMIN, "GET", "/audit"));
        ck_assert(!auth_role_allows(AUTH_ROLE_NONE, "GET", "/jobs"));
}
END_TEST

START_TEST(test_setup) {
        AuthJwt *jwt = (AuthJwt *) 1;
        char path[] = "/tmp/test-auth-setup-XXXXXX";
        int fd;

        /* Required (the default, also when unset) without a key: refused, never "auth off". */
        ck_assert_int_eq(auth_setup(&(AuthConfig){}, &jwt), -ENOKEY);
        ck_assert_int_eq(auth_setup(&(AuthConfig){ .secret_file = (char *) "" }, &jwt), -ENOKEY);
        ck_assert_int_eq(auth_setup(&(AuthConfig){ .mode = (char *) "required" }, &jwt), -ENOKEY);
        ck_assert_ptr_eq(jwt, (AuthJwt *) 1);
        /* Off only when said so. */
        ck_assert_int_eq(auth_setup(&(AuthConfig){ .mode = (char *) "off" }, &jwt), 0);
        ck_assert_ptr_null(jwt);
        /* Configured but unusable: an error, never "auth off". */
        ck_assert_int_eq(
                auth_setup(&(AuthConfig){ .secret_file = (char *) "/nonexistent/secret" }, &jwt), -ENOENT);
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "not a pem\n", 10), 10);
        close(fd);
        ck_assert_int_eq(auth_setup(&(AuthConfig){ .public_key_file = path }, &jwt), -EINVAL);
        fd = open(path, O_WRONLY | O_TRUNC);
        ck_assert_int_eq(write(fd, SECRET, strlen(SECRET)), (ssize_t) strlen(SECRET));
        close(fd);
        ck_assert_int_eq(auth_setup(&(AuthConfig){ .secret_file = path }, &jwt), 0);
        ck_assert_ptr_nonnull(jwt);
        auth_jwt_free(jwt);
        unlink(path);
}
END_TEST

/* The gate through a real server: status codes and WWW-Authenticate as clients see them. */
static int gated(HttpRequest *req, void *userdata) {
        AuthClaims who;
        int r = auth_gate(userdata, NULL, req, http_request_method(req), http_request_route(req), &who);
        if (r == -EACCES)
                return 0;
        if (r < 0)
                return r;
        return http_reply_text(req, 200, who.sub);
}

static int get_with(int port, const char *path, const char *auth, RawResponse *resp) {
        _cleanup_free_ char *req = NULL;
        ck_assert_int_ge(
                asprintf(
                        &req,
                        "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s%s\r\n",
                        path,
                        auth ? "Authorization: " : "",
                        auth ?: "",
                        auth ? "\r\n" : ""),
                0);
        return test_http(port, req, resp);
}

START_TEST(test_gate_http) {
        _cleanup_(auth_jwt_freep) AuthJwt *hs = verifier(true, NULL, NULL, NULL, NULL);
        _cleanup_(http_server_freep) HttpServer *srv = NULL;
        _cleanup_free_ char *viewer = NULL, *bearer = NULL, *expired = NULL, *bad = NULL;
        HttpRoute routes[] = {
                { "GET", "/jobs", gated, 0, hs },
                { "GET", "/locks", gated, 0, hs },
        };
        RawResponse r = {};
        char buf[256];
        int port;

        ck_assert_int_eq(
                http_server_new(&(HttpServerConfig){ .listen = "127.0.0.1:0", .threads = 2 }, &srv), 0);
        ck_assert_int_eq(http_server_add_routes(srv, routes, ELEMENTSOF(routes)), 0);
        ck_assert_int_eq(http_server_start(srv), 0);
        port = http_server_get_port(srv);
        ck_assert_int_gt(port, 0);

        ck_assert_int_eq(
                auth_jwt_mint_hs256(
                        SECRET, strlen(SECRET), "carol", "viewer", NULL, NULL, time(NULL), 600, &viewer),
                0);
        ck_assert_int_ge(asprintf(&bearer, "Bearer %s", viewer), 0);
        ck_assert_int_eq(
                auth_jwt_mint_hs256(
                        SECRET,
                        strlen(SECRET),
                        "carol",
                        "viewer",
                        NULL,
                        NULL,
                        time(NULL) - 7200,
                        600,
                        &expired),
                0);
        ck_assert_int_ge(asprintf(&bad, "bearer %s", expired), 0);

        ck_assert_int_eq(get_with(port, "/jobs", NULL, &r), 0);
        ck_assert_int_eq(r.status, 401);
        ck_assert_str_eq(
                test_header(&r, "WWW-Authenticate", buf, sizeof(buf)), "Bearer realm=\"ai-semble\"");
        raw_response_done(&r);

        ck_assert_int_eq(get_with(port, "/jobs", bearer, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "carol");
        raw_response_done(&r);

        ck_assert_int_eq(get_with(port, "/locks", bearer, &r), 0);
        ck_assert_int_eq(r.status, 403);
        ck_assert_ptr_nonnull(
                strstr(test_header(&r, "WWW-Authenticate", buf, sizeof(buf)), "insufficient_scope"));
        raw_response_done(&r);

        ck_assert_int_eq(
                get_with(port, "/jobs", bad, &r), 0); /* scheme is case-insensitive; token expired */
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_nonnull(
                strstr(test_header(&r, "WWW-Authenticate", buf, sizeof(buf)), "token expired"));
        raw_response_done(&r);

        ck_assert_int_eq(get_with(port, "/jobs", "Basic YWxpY2U6cHc=", &r), 0);
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_nonnull(
                strstr(test_header(&r, "WWW-Authenticate", buf, sizeof(buf)), "invalid_request"));
        raw_response_done(&r);

        ck_assert_int_eq(http_server_shutdown(srv), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("auth-jwt");
        TCase *tc = tcase_create("rfc8725");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_valid_each_alg);
        tcase_add_test(tc, test_alg_none);
        tcase_add_test(tc, test_hs_rs_confusion);
        tcase_add_test(tc, test_times);
        tcase_add_test(tc, test_nul_in_claims);
        tcase_add_test(tc, test_iss_aud);
        tcase_add_test(tc, test_tampered_and_truncated);
        tcase_add_test(tc, test_sizes);
        tcase_add_test(tc, test_kid);
        tcase_add_test(tc, test_crit_and_roles);
        tcase_add_test(tc, test_mint_roundtrip_and_secret_file);
        tcase_add_test(tc, test_b64url_strict);
        tcase_add_test(tc, test_role_table);
        tcase_add_test(tc, test_setup);
        tcase_add_test(tc, test_gate_http);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
