/* SPDX-License-Identifier: MIT */
/* apikey.c — see apikey.h: a key's form, secret, hash and name. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "base64.h"
#include "macro.h"

#define APIKEY_RANDOM_BYTES 32

bool apikey_is_key(const char *token, size_t len) {
        return len > strlen(APIKEY_PREFIX) && strncmp(token, APIKEY_PREFIX, strlen(APIKEY_PREFIX)) == 0;
}

int apikey_hash(const char *secret, size_t len, uint8_t ret[static KEY_HASH_SIZE]) {
        unsigned n = 0;

        if (EVP_Digest(secret, len, ret, &n, EVP_sha256(), NULL) != 1 || n != KEY_HASH_SIZE)
                return -EIO;
        return 0;
}

int apikey_generate(
        char ret_secret[static APIKEY_SECRET_MAX],
        char ret_prefix[static APIKEY_SHOWN_PREFIX_LEN + 1],
        uint8_t ret_hash[static KEY_HASH_SIZE]) {
        uint8_t raw[APIKEY_RANDOM_BYTES];
        _cleanup_free_ char *b64 = NULL;
        int r;

        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return -EIO;
        r = base64url_encode(raw, sizeof(raw), &b64);
        OPENSSL_cleanse(raw, sizeof(raw));
        if (r < 0)
                return r;
        r = snprintf(ret_secret, APIKEY_SECRET_MAX, APIKEY_PREFIX "%s", b64);
        OPENSSL_cleanse(b64, strlen(b64));
        if (r < 0 || r >= APIKEY_SECRET_MAX)
                return -E2BIG;
        snprintf(ret_prefix, APIKEY_SHOWN_PREFIX_LEN + 1, "%s", ret_secret);
        return apikey_hash(ret_secret, strlen(ret_secret), ret_hash);
}

bool apikey_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        return n >= 1 && n <= APIKEY_NAME_MAX && !streq(name, APIKEY_METRICS_OTHER) &&
                strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

const char *apikey_name_of(const char *sub) {
        return sub && startswith(sub, APIKEY_SUB_PREFIX) ? sub + strlen(APIKEY_SUB_PREFIX) : NULL;
}
