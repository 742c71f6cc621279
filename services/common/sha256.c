/* SPDX-License-Identifier: MIT */
/* sha256.c — SHA-256 through libcrypto's EVP interface (see sha256.h). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "sha256.h"

int sha256_parts(const struct iovec *parts, size_t n, uint8_t ret[static SHA256_SIZE]) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned int len = 0;
        bool ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
        for (size_t i = 0; ok && i < n; i++)
                ok = parts[i].iov_len == 0 ||
                        EVP_DigestUpdate(ctx, parts[i].iov_base, parts[i].iov_len) == 1;
        ok = ok && EVP_DigestFinal_ex(ctx, ret, &len) == 1 && len == SHA256_SIZE;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

void sha256_to_hex(const uint8_t digest[static SHA256_SIZE], char ret[static SHA256_HEX_SIZE]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < SHA256_SIZE; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 0xf];
        }
        ret[2 * SHA256_SIZE] = '\0';
}
