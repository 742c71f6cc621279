/* SPDX-License-Identifier: MIT */
/* http-query.c — see http-query.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http-query.h"
#include "macro.h"

typedef struct Pair {
        const char *key, *value; /* value NULL: no "=" */
        size_t key_len, value_len;
} Pair;

/* The next non-empty "key[=value]" at *cursor. */
static bool split_next(const char **cursor, Pair *ret) {
        const char *p = *cursor;

        while (p && *p == '&')
                p++;
        if (!p || !*p) {
                *cursor = p;
                return false;
        }
        const char *end = strchrnul(p, '&'), *eq = memchr(p, '=', (size_t) (end - p));

        *ret = (Pair){
                .key = p,
                .key_len = (size_t) ((eq ?: end) - p),
                .value = eq ? eq + 1 : NULL,
                .value_len = eq ? (size_t) (end - eq - 1) : 0,
        };
        *cursor = end;
        return true;
}

int http_query_get(const char *query, const char *key, char *buf, size_t size) {
        size_t kl = strlen(key);
        Pair p;

        while (split_next(&query, &p)) {
                if (!p.value || p.key_len != kl || memcmp(p.key, key, kl) != 0)
                        continue;
                if (size > 0) {
                        size_t n = MIN(p.value_len, size - 1);

                        memcpy(buf, p.value, n);
                        buf[n] = '\0';
                }
                return p.value_len < size ? 1 : -ENOBUFS;
        }
        return 0;
}

static int hexval(char c) {
        return c >= '0' && c <= '9'    ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
}

int http_query_unescape(const char *s, size_t len, HttpQueryFlags flags, char *buf, size_t size) {
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                int c = (unsigned char) s[i];

                if (c == '%') {
                        int h = i + 1 < len ? hexval(s[i + 1]) : -1,
                            l = h >= 0 && i + 2 < len ? hexval(s[i + 2]) : -1;

                        if (h >= 0 && l >= 0 && (h | l) != 0) {
                                c = h * 16 + l;
                                i += 2;
                        } else if (flags & HTTP_QUERY_STRICT)
                                return -EINVAL;
                        else if (h == 0 && l == 0) {
                                c = 0;
                                i += 2;
                        }
                } else if (c == '+' && (flags & HTTP_QUERY_PLUS_IS_SPACE))
                        c = ' ';
                if (o + 1 >= size)
                        return -ENOBUFS;
                buf[o++] = (char) c;
        }
        if (size == 0)
                return -ENOBUFS;
        buf[o] = '\0';
        return 0;
}

int http_query_next(const char **cursor, HttpQueryFlags flags, char **ret_key, char **ret_value) {
        _cleanup_free_ char *k = NULL, *v = NULL;
        Pair p;
        int r;

        if (!split_next(cursor, &p))
                return 0;
        k = malloc(p.key_len + 1);
        v = malloc(p.value_len + 1);
        if (!k || !v)
                return -ENOMEM;
        r = http_query_unescape(p.key, p.key_len, flags, k, p.key_len + 1);
        if (r >= 0)
                r = http_query_unescape(p.value ?: "", p.value_len, flags, v, p.value_len + 1);
        if (r < 0)
                return r;
        *ret_key = TAKE_PTR(k);
        *ret_value = TAKE_PTR(v);
        return 1;
}

int http_query_get_decoded(const char *query, const char *key, char *buf, size_t size) {
        char raw[512];
        int r;

        r = http_query_get(query, key, raw, sizeof(raw));
        if (r <= 0)
                return r == 0 ? 0 : -EINVAL;
        return http_query_unescape(raw, strlen(raw), HTTP_QUERY_STRICT, buf, size) < 0 ? -EINVAL : 1;
}
