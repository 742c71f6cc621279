/* SPDX-License-Identifier: MIT */
/* base64.h — strict RFC 4648 base64: the standard alphabet with padding (section 4: images,
 * charts) and the URL alphabet without padding (section 5, as JWS uses it). Decoders
 * accept one encoding only: no whitespace, no other alphabet, padding only at the end. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Standard alphabet, '=' padded. *ret is NUL-terminated, freed by the caller. */
int base64_encode(const void *data, size_t len, char **ret);
/* The bytes len characters of standard base64 decode to, or -EBADMSG when they are not
 * base64 (checks without decoding). */
int64_t base64_decoded_size(const char *s, size_t len);
/* Standard alphabet, padded to a multiple of 4. -EBADMSG on anything that is not base64,
 * -EFBIG when the decoded size would exceed max. *ret (NUL-terminated) holds *ret_len bytes. */
int base64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len);
/* URL alphabet, no padding. */
int base64url_encode(const void *data, size_t len, char **ret);
/* URL alphabet, no padding; the unused bits of the last character must be zero, so that
 * every byte string has exactly one encoding (no malleable signatures). -EBADMSG otherwise. */
int base64url_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len);
