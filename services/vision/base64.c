/* SPDX-License-Identifier: MIT */
/* base64.c — see base64.h. */
#include <string.h>

#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value(char c) {
        const char *p = c ? strchr(alphabet, c) : NULL;
        return p ? (int) (p - alphabet) : -1;
}

int vision_base64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t n = 0, pad = 0;

        if (len >= 5 && strncmp(s, "data:", 5) == 0) {
                const char *comma = memchr(s, ',', len);
                if (!comma || comma - s < 12 || strncmp(comma - 7, ";base64", 7) != 0)
                        return -EBADMSG;
                len -= (size_t) (comma + 1 - s);
                s = comma + 1;
        }
        if (len == 0 || len % 4 != 0)
                return -EBADMSG;
        if (s[len - 1] == '=')
                pad = s[len - 2] == '=' ? 2 : 1;
        if (len / 4 * 3 - pad > max)
                return -EFBIG;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                bool last = i + 4 == len;

                for (int k = 0; k < 4; k++) {
                        v[k] = value(s[i + k]);
                        if (v[k] < 0 && !(last && s[i + k] == '=' && k >= 4 - (int) pad))
                                return -EBADMSG;
                }
                out[n++] = (uint8_t) (v[0] << 2 | v[1] >> 4);
                if (!(last && pad == 2))
                        out[n++] = (uint8_t) ((v[1] & 0xf) << 4 | v[2] >> 2);
                if (!(last && pad >= 1))
                        out[n++] = (uint8_t) ((v[2] & 0x3) << 6 | v[3]);
        }
        *ret = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}

int vision_base64_encode(const void *data, size_t len, char **ret) {
        const uint8_t *p = data;
        char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < len ? (uint32_t) p[i + 1] << 8 : 0) |
                        (i + 2 < len ? p[i + 2] : 0);
                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                *o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
                *o++ = i + 2 < len ? alphabet[v & 63] : '=';
        }
        *o = 0;
        *ret = out;
        return 0;
}
