/* SPDX-License-Identifier: MIT */
/* http-parse.h — HTTP/1.1 request framing (RFC 9112) as pure functions over buffers: no
 * I/O, no allocation, no locale. Strict wherever two parsers could disagree about where a
 * message ends (request smuggling): CRLF only, no obs-fold, no whitespace before a colon,
 * no control characters, one Content-Length of digits only, never both Content-Length and
 * Transfer-Encoding, and a Transfer-Encoding of exactly one final "chunked". Every refusal
 * has a status (400, 414, 417, 431, 501, 505) and a one-line reason. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_PARSE_MAX_HEADERS 64
#define HTTP_PARSE_MAX_TARGET 8192 /* longer request-targets: 414 */
#define HTTP_PARSE_MAX_METHOD 32
#define HTTP_PARSE_MAX_CHUNK_LINE 1024 /* a chunk-size line with its extensions */

/* A range of the parsed buffer; nothing points into it, so the buffer may move. */
typedef struct HttpSlice {
        uint32_t off, len;
} HttpSlice;

typedef struct HttpField {
        HttpSlice name, value; /* value without the surrounding whitespace */
} HttpField;

typedef struct HttpHead {
        HttpSlice method, target;
        HttpSlice path, query; /* path: origin-form path, "*" or the path of an absolute-form */
        bool has_query;
        unsigned minor; /* HTTP/1.<minor>: 0 or 1 */
        HttpField fields[HTTP_PARSE_MAX_HEADERS];
        unsigned n_fields;
        uint64_t content_length;
        bool has_content_length, chunked;
        bool keep_alive;      /* after the version and any Connection tokens */
        unsigned status;      /* a response's status code (http_parse_status_head()); 0 for a request */
        bool expect_continue; /* Expect: 100-continue */
        size_t length;        /* bytes of the head, final empty line included */
} HttpHead;

/* Finds the end of a request head in buf[0..len): leading empty lines (which RFC 9112
 * §2.2 lets a server skip) are counted into *ret_skip; *pos keeps the scan position
 * across calls (start it at 0 for each request), so a client sending one byte at a time
 * costs O(n) in all. Returns the head's length after the skipped lines (final CRLF CRLF
 * included), 0 while incomplete, -EBADMSG at a bare CR or LF. */
int http_parse_head_end(const char *buf, size_t len, size_t *pos, size_t *ret_skip);

/* Parses a complete head of exactly len bytes (as found by http_parse_head_end()).
 * Returns 0, or the HTTP status to answer (400, 414, 417, 431, 501, 505) with *ret_why a
 * static one-line reason; the connection must then close. */
int http_parse_head(const char *buf, size_t len, HttpHead *ret, const char **ret_why);

/* Parses a complete response head (HTTP/1.x status line and fields) of exactly len bytes,
 * with the same field rules as a request's. Fills status, fields, content_length,
 * chunked and keep_alive. Returns 0, or 400 with *ret_why a static reason. */
int http_parse_status_head(const char *buf, size_t len, HttpHead *ret, const char **ret_why);

/* The value of the first field called name (case-insensitive), NULL if none. */
const HttpField *http_head_field(const HttpHead *h, const char *buf, const char *name);

/* ---- chunked bodies (RFC 9112 §7.1) ------------------------------------------------ */

typedef struct HttpChunked {
        unsigned state;
        uint64_t remaining; /* of the current chunk's data */
        size_t line;        /* bytes of the current size or trailer line */
        size_t trailers;    /* bytes of trailer section so far */
        unsigned digits;
        bool ext; /* inside a chunk extension */
} HttpChunked;

/* Decodes in[0..in_len) into out (at most out_max bytes). out may be in itself: output
 * never overtakes input. *ret_in and *ret_out say how much was consumed and produced.
 * Returns 1 once the last chunk and the trailer section (at most max_trailers bytes,
 * checked like header fields, then dropped) are consumed, 0 when it needs more input or
 * output room, -EBADMSG on bad framing: a size that is not hex or overflows, data not
 * followed by CRLF, a malformed extension or trailer, control characters. */
int http_chunked_decode(
        HttpChunked *c,
        const char *in,
        size_t in_len,
        char *out,
        size_t out_max,
        size_t max_trailers,
        size_t *ret_in,
        size_t *ret_out);
