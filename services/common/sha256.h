/* SPDX-License-Identifier: MIT */
/* sha256.h — SHA-256 (libcrypto) of one or more byte ranges, and its hex form: the one
 * home of request fingerprints and cache keys. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SHA256_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_SIZE + 1)

/* The digest of the n ranges one after the other; -EIO when libcrypto fails. */
int sha256_parts(const struct iovec *parts, size_t n, uint8_t ret[static SHA256_SIZE]);
/* Lowercase hex, NUL-terminated. */
void sha256_to_hex(const uint8_t digest[static SHA256_SIZE], char ret[static SHA256_HEX_SIZE]);
