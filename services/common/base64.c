/* SPDX-License-Identifier: MIT */
/* base64.c — see base64.h. One encoder and one decoder, each over an alphabet. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base64.h"
#include "macro.h"

static const char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of c in the alphabet whose last two characters are c62 and c63, or -1. */
static int value(char c, char c62, char c63) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == c62)
                return 62;
        if (c == c63)
                return 63;
        return -1;
}

static int encode(const char *alphabet, bool pad, const void *data, size_t len, char **ret) {
        const uint8_t *p = data;
        char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < len ? (uint32_t) p[i + 1] << 8 : 0) |
                        (i + 2 < len ? p[i + 2] : 0);

                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                if (i + 1 < len)
                        *o++ = alphabet[v >> 6 & 63];
                else if (pad)
                        *o++ = '=';
                if (i + 2 < len)
                        *o++ = alphabet[v & 63];
                else if (pad)
                        *o++ = '=';
        }
        *o = '\0';
        *ret = out;
        return 0;
}

int base64_encode(const void *data, size_t len, char **ret) {
        return encode(std_alphabet, true, data, len, ret);
}

int base64url_encode(const void *data, size_t len, char **ret) {
        return encode(url_alphabet, false, data, len, ret);
}

/* The number of '=' that end a padded text, or -EBADMSG when it is not padded base64. */
static int padding(const char *s, size_t len) {
        int pad = 0;

        if (len == 0 || len % 4 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '=') {
                        if (i < len - 2)
                                return -EBADMSG;
                        pad++;
                } else if (pad > 0 || value(s[i], '+', '/') < 0)
                        return -EBADMSG;
        }
        return pad;
}

int64_t base64_decoded_size(const char *s, size_t len) {
        int pad = padding(s, len);

        if (pad < 0)
                return pad;
        return (int64_t) (len / 4 * 3 - (size_t) pad);
}

/* Decodes the n characters of s (no padding among them); canonical = the leftover bits
 * must be zero. */
static int
decode(const char *s, size_t n, char c62, char c63, bool canonical, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *out = malloc(n / 4 * 3 + 3);
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t k = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int v = value(s[i], c62, c63);

                if (v < 0)
                        return -EBADMSG;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[k++] = (uint8_t) (acc >> bits);
                }
        }
        if (canonical && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
                return -EBADMSG;
        out[k] = 0;
        *ret_len = k;
        *ret = TAKE_PTR(out);
        return 0;
}

int base64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len) {
        int pad;

        if (len == 0 || len % 4 != 0)
                return -EBADMSG;
        /* Too big is told before the characters are looked at. */
        if (len / 4 * 3 - (s[len - 1] != '=' ? 0 : s[len - 2] == '=' ? 2 : 1) > max)
                return -EFBIG;
        pad = padding(s, len);
        if (pad < 0)
                return pad;
        return decode(s, len - (size_t) pad, '+', '/', false, ret, ret_len);
}

int base64url_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len) {
        if (len % 4 == 1) /* no valid encoding has this length */
                return -EBADMSG;
        return decode(s, len, '-', '_', true, ret, ret_len);
}
