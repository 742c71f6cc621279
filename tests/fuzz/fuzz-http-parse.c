/* SPDX-License-Identifier: MIT */
/* fuzz-http-parse — libFuzzer target for the HTTP/1.1 request parser: the input's first
 * byte picks how it is cut into reads; the head is searched for read by read, parsed, and
 * the rest decoded as a chunked body (into a small buffer and in place). Every slice must
 * lie inside the head and decoding must never produce more than it consumed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http-parse.h"

#define CHECK(x)                          \
        do {                              \
                if (!(x))                 \
                        __builtin_trap(); \
        } while (0)

static void check_slice(HttpSlice s, size_t len) {
        CHECK((size_t) s.off + s.len <= len);
}

static void decode(const char *in, size_t len, size_t step, size_t out_max) {
        char out[97];
        char *copy = malloc(len ? len : 1);
        HttpChunked c = {}, c2 = {};
        size_t off = 0, used, made, total = 0;
        int r = 0;

        while (off < len && r == 0) {
                size_t n = len - off < step ? len - off : step;

                r = http_chunked_decode(&c, in + off, n, out, out_max, 256, &used, &made);
                CHECK(used <= n && made <= out_max);
                if (used == 0 && made == 0 && r == 0)
                        break; /* needs more input than this step */
                off += used;
                total += made;
        }
        CHECK(total <= off);
        /* In place, all at once: the same verdict on what it consumed. */
        if (copy) {
                memcpy(copy, in, len);
                r = http_chunked_decode(&c2, copy, len, copy, len, 256, &used, &made);
                CHECK(used <= len && made <= used);
                free(copy);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data + 1;
        size_t len, pos = 0, skip = 0, step;
        int n = 0;

        if (size < 1)
                return 0;
        step = (size_t) (data[0] & 0x3f) + 1;
        len = size - 1;
        for (size_t have = step < len ? step : len;; have = have + step < len ? have + step : len) {
                n = http_parse_head_end(buf, have, &pos, &skip);
                CHECK(pos <= have && skip <= have);
                if (n != 0 || have == len)
                        break;
        }
        if (n > 0) {
                HttpHead h;
                const char *why;
                int st = http_parse_head(buf + skip, (size_t) n, &h, &why);

                CHECK(skip + (size_t) n <= len);
                if (st == 0) {
                        CHECK(h.n_fields <= HTTP_PARSE_MAX_HEADERS);
                        check_slice(h.method, (size_t) n);
                        check_slice(h.path, (size_t) n);
                        check_slice(h.query, (size_t) n);
                        for (unsigned i = 0; i < h.n_fields; i++) {
                                check_slice(h.fields[i].name, (size_t) n);
                                check_slice(h.fields[i].value, (size_t) n);
                        }
                        CHECK(!(h.chunked && h.has_content_length));
                        (void) http_head_field(&h, buf + skip, "Content-Type");
                } else
                        CHECK(why &&
                              (st == 400 || st == 414 || st == 417 || st == 431 || st == 501 || st == 505));
                /* The same bytes as a response head (http-client-plain reads those). */
                st = http_parse_status_head(buf + skip, (size_t) n, &h, &why);
                if (st == 0) {
                        CHECK(h.n_fields <= HTTP_PARSE_MAX_HEADERS && h.status >= 100 && h.status <= 999);
                        for (unsigned i = 0; i < h.n_fields; i++) {
                                check_slice(h.fields[i].name, (size_t) n);
                                check_slice(h.fields[i].value, (size_t) n);
                        }
                        CHECK(!(h.chunked && h.has_content_length));
                } else
                        CHECK(why && (st == 400 || st == 431));
                buf += skip + (size_t) n;
                len -= skip + (size_t) n;
        }
        decode(buf, len, step, (size_t) (data[0] >> 6) * 32 + 1);
        return 0;
}
