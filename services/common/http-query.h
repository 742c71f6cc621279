/* SPDX-License-Identifier: MIT */
/* http-query.h — the query string of a request URL ("a=1&b=%20x"): one value by key, every
 * pair in order, and percent-decoding. */
#pragma once

#include <stddef.h>

typedef enum HttpQueryFlags {
        HTTP_QUERY_PLUS_IS_SPACE = 1 << 0, /* "+" means " " (HTML forms); else it stays "+" */
        HTTP_QUERY_STRICT = 1 << 1,        /* a bad %XX or %00 is -EINVAL; else it is kept as written */
} HttpQueryFlags;

/* The raw (not decoded) value of the first key=value pair with this key, copied into buf
 * and NUL-terminated: 1 when found, 0 when absent (a bare "key" without "=" is absent),
 * -ENOBUFS when it is longer than buf (which then holds what fits). query may be NULL. */
int http_query_get(const char *query, const char *key, char *buf, size_t size);
/* The next non-empty pair at *cursor, decoded with flags into *ret_key and *ret_value
 * (freed by the caller; value "" for a bare key); *cursor moves past it. 1 = a pair,
 * 0 = the end, -EINVAL (HTTP_QUERY_STRICT) or -ENOMEM. */
int http_query_next(const char **cursor, HttpQueryFlags flags, char **ret_key, char **ret_value);
/* Percent-decodes the len bytes of s into buf (NUL-terminated; decoding never lengthens, so
 * buf may be s). -ENOBUFS when the result does not fit, -EINVAL as HTTP_QUERY_STRICT says. */
int http_query_unescape(const char *s, size_t len, HttpQueryFlags flags, char *buf, size_t size);
/* The value of key in query, %XX-decoded strictly ("+" stays "+": RFC 3339 offsets): 1 when
 * found, 0 when absent, -EINVAL when it is not valid percent-encoding (or %00) or too long
 * (for buf, or over 511 bytes as written). */
int http_query_get_decoded(const char *query, const char *key, char *buf, size_t size);
