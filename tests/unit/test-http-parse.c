/* SPDX-License-Identifier: MIT */
/* test-http-parse.c — the request parser as a pure function: what RFC 9112 allows is
 * parsed, and every framing ambiguity a smuggling attack needs is refused with its status;
 * chunked bodies decode the same whatever the split of the input. */
#include <check.h>

#include "check-run.h"
#include "http-parse.h"
#include "macro.h"

static int parse(const char *text, HttpHead *h, const char **why) {
        size_t pos = 0, skip = 0;
        int n = http_parse_head_end(text, strlen(text), &pos, &skip);

        ck_assert_msg(n > 0, "head not found in %s", text);
        ck_assert_uint_eq(skip + (size_t) n, strlen(text));
        return http_parse_head(text + skip, (size_t) n, h, why);
}

static const char *field(const HttpHead *h, const char *buf, const char *name, char *out, size_t size) {
        const HttpField *f = http_head_field(h, buf, name);

        if (!f)
                return NULL;
        snprintf(out, size, "%.*s", (int) f->value.len, buf + f->value.off);
        return out;
}

START_TEST(test_valid_heads) {
        static const char get[] =
                "GET /jobs/1?x=1&y HTTP/1.1\r\nHost: t\r\nX-A:  spaced value \t\r\n"
                "Connection: keep-alive, Upgrade\r\nX-Empty:\r\n\r\n";
        HttpHead h;
        const char *why;
        char v[64];

        ck_assert_int_eq(parse(get, &h, &why), 0);
        ck_assert_int_eq((int) h.method.len, 3);
        ck_assert(memcmp(get + h.path.off, "/jobs/1", h.path.len) == 0 && h.path.len == 7);
        ck_assert(h.has_query);
        ck_assert(memcmp(get + h.query.off, "x=1&y", h.query.len) == 0);
        ck_assert_uint_eq(h.minor, 1);
        ck_assert(h.keep_alive);
        ck_assert(!h.chunked && !h.has_content_length && !h.expect_continue);
        ck_assert_str_eq(field(&h, get, "x-a", v, sizeof(v)), "spaced value");
        ck_assert_str_eq(field(&h, get, "X-EMPTY", v, sizeof(v)), "");
        ck_assert_ptr_null(field(&h, get, "X-Missing", v, sizeof(v)));
        ck_assert_uint_eq(h.length, strlen(get));

        /* A body's framing, either kind; Transfer-Encoding is case-insensitive, OWS around. */
        ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0012\r\n\r\n", &h, &why), 0);
        ck_assert(h.has_content_length && h.content_length == 12 && !h.chunked);
        ck_assert_int_eq(
                parse("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\tChunked \r\n\r\n", &h, &why), 0);
        ck_assert(h.chunked && !h.has_content_length);
        ck_assert_int_eq(
                parse("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ,chunked,\r\n\r\n", &h, &why), 0);
        ck_assert(h.chunked);

        /* HTTP/1.0: close unless asked; Expect ignored; no Host needed. */
        ck_assert_int_eq(parse("GET / HTTP/1.0\r\nExpect: whatever\r\n\r\n", &h, &why), 0);
        ck_assert(!h.keep_alive && !h.expect_continue && h.minor == 0);
        ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &why), 0);
        ck_assert(h.keep_alive);
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &h, &why), 0);
        ck_assert(!h.keep_alive);
        ck_assert_int_eq(parse("PUT /x HTTP/1.1\r\nHost: t\r\nexpect: 100-Continue\r\n\r\n", &h, &why), 0);
        ck_assert(h.expect_continue);
        /* A later minor version is served as 1.1. */
        ck_assert_int_eq(parse("GET / HTTP/1.7\r\nHost: t\r\n\r\n", &h, &why), 0);
        ck_assert_uint_eq(h.minor, 1);

        /* Other target forms: absolute (path "" = "/"), and * for OPTIONS. */
        ck_assert_int_eq(parse("GET http://a.example:80/p/q?z HTTP/1.1\r\nHost: a\r\n\r\n", &h, &why), 0);
        ck_assert_int_eq((int) h.path.len, 4);
        ck_assert_int_eq(parse("GET HTTPS://a.example?z HTTP/1.1\r\nHost: a\r\n\r\n", &h, &why), 0);
        ck_assert(h.path.len == 0 && h.has_query);
        ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &h, &why), 0);
}
END_TEST

/* Every way of making two parsers disagree about where a request ends, each refused. */
START_TEST(test_framing_refused) {
        static const struct {
                const char *head;
                int status;
                const char *why;
        } cases[] = {
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
                  400,
                  "both Content-Length and Transfer-Encoding" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
                  400,
                  "both" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n",
                  400,
                  "before the colon" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding\t: chunked\r\n\r\n",
                  400,
                  "before the colon" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length : 4\r\n\r\n", 400, "before the colon" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
                  400,
                  "more than one Content-Length" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
                  400,
                  "more than one Content-Length" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4, 4\r\n\r\n", 400, "not a decimal" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +4\r\n\r\n", 400, "not a decimal" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x4\r\n\r\n", 400, "not a decimal" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4 4\r\n\r\n", 400, "not a decimal" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n", 400, "not a decimal" },
                { "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                  400,
                  "not a decimal" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
                  400,
                  "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n\r\n", 400, "one final chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \x0b"
                  "chunked\r\n\r\n",
                  400,
                  "control character" },
                { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0" },
                { "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "chunked" },
                { "POST / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400, "obs-fold" },
                { "POST / HTTP/1.1\r\n Host: t\r\n\r\n", 400, "before the first header" },
                { "POST / HTTP/1.1\r\nHost: t\r\nX-A: a\x01"
                  "b\r\n\r\n",
                  400,
                  "control character" },
                { "POST / HTTP/1.1\r\nHost: t\r\nX-A: a\x7f\r\n\r\n", 400, "control character" },
                { "POST / HTTP/1.1\r\nHost: t\r\nX(A): a\r\n\r\n", 400, "header name" },
                { "POST / HTTP/1.1\r\nHost: t\r\n: a\r\n\r\n", 400, "empty header name" },
                { "GET / HTTP/1.1\r\n\r\n", 400, "no Host" },
                { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host" },
                { "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/1" },
                { "GET / http/1.1\r\nHost: a\r\n\r\n", 400, "HTTP version" },
                { "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "HTTP version" },
                { "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
                { "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line" },
                { "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target" },
                { "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request-target" },
                { "GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "neither a path" },
                { "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "only for OPTIONS" },
                { "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "no host" },
                { "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417, "100-continue" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                HttpHead h;
                const char *why = NULL;
                int st = parse(cases[i].head, &h, &why);

                ck_assert_msg(
                        st == cases[i].status,
                        "case %zu: %d (%s), not %d",
                        i,
                        st,
                        strempty(why),
                        cases[i].status);
                ck_assert_msg(why && strstr(why, cases[i].why), "case %zu: reason '%s'", i, strempty(why));
        }
}
END_TEST

START_TEST(test_limits) {
        char *big = malloc(HTTP_PARSE_MAX_TARGET + 64), *many = malloc(64 * 1024);
        HttpHead h;
        const char *why;
        size_t o;

        o = (size_t) sprintf(big, "GET /");
        memset(big + o, 'a', HTTP_PARSE_MAX_TARGET);
        strcpy(big + o + HTTP_PARSE_MAX_TARGET, " HTTP/1.1\r\nHost: t\r\n\r\n");
        ck_assert_int_eq(parse(big, &h, &why), 414);

        o = (size_t) sprintf(many, "GET / HTTP/1.1\r\nHost: t\r\n");
        for (int i = 0; i < HTTP_PARSE_MAX_HEADERS; i++)
                o += (size_t) sprintf(many + o, "X-%d: v\r\n", i);
        strcpy(many + o, "\r\n");
        ck_assert_int_eq(parse(many, &h, &why), 431);
        free(big);
        free(many);
}
END_TEST

START_TEST(test_head_end) {
        static const char req[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\nNEXT";
        size_t pos = 0, skip = 0, n = strlen(req);
        int r = 0;

        /* One byte at a time: found exactly once, at the same place, skipping the empty
         * lines a server may ignore before a request line. */
        for (size_t len = 1; len <= n && r == 0; len++)
                r = http_parse_head_end(req, len, &pos, &skip);
        ck_assert_int_eq(r, (int) (strlen(req) - 4 - 4));
        ck_assert_uint_eq(skip, 4);

        pos = 0;
        ck_assert_int_eq(http_parse_head_end("GET / HTTP/1.1\nHost: t\r\n\r\n", 26, &pos, &skip), -EBADMSG);
        pos = 0;
        ck_assert_int_eq(http_parse_head_end("GET / HTTP/1.1\r\nHost: t\r\rX", 27, &pos, &skip), -EBADMSG);
        pos = 0;
        ck_assert_int_eq(http_parse_head_end("GET / HTTP/1.1\r\nHost: t\r\n\n", 26, &pos, &skip), -EBADMSG);
        pos = 0;
        ck_assert_int_eq(http_parse_head_end("GET / HTTP/1.1\r\nHost: t\r\n\r", 26, &pos, &skip), 0);
}
END_TEST

/* Decodes all of in, fed `step` bytes at a time; returns the decode's last result. */
static int decode(const char *in, size_t len, size_t step, char *out, size_t *ret_out, size_t *ret_in) {
        HttpChunked c = {};
        size_t off = 0, o = 0;
        int r = 0;

        while (off < len && r == 0) {
                size_t n = MIN(step, len - off), used, made;

                r = http_chunked_decode(&c, in + off, n, out + o, 1024, 1024, &used, &made);
                off += used;
                o += made;
                if (r == 0 && used < n)
                        break; /* stuck: cannot happen with room left */
        }
        *ret_out = o;
        *ret_in = off;
        return r;
}

/* A response head: the status line, then the same field rules as a request's. */
START_TEST(test_status_heads) {
        static const char *const refused[] = {
                "HTTP/2 200 OK\r\n\r\n",
                "HTTP/1.1 20 OK\r\n\r\n",
                "HTTP/1.1 2000 OK\r\n\r\n",
                "HTTP/1.1 200 O\x01K\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n",
                "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        };
        HttpHead h;
        const char *why;
        const char *ok = "HTTP/1.1 201 Created\r\nContent-Length: 12\r\nX-Job-ID: j\r\n\r\n";
        char v[16];

        ck_assert_int_eq(http_parse_status_head(ok, strlen(ok), &h, &why), 0);
        ck_assert_uint_eq(h.status, 201);
        ck_assert(h.has_content_length && h.content_length == 12 && !h.chunked && h.keep_alive);
        ck_assert_str_eq(field(&h, ok, "x-job-id", v, sizeof(v)), "j");

        ok = "HTTP/1.1 204\r\nConnection: close\r\n\r\n"; /* no reason phrase */
        ck_assert_int_eq(http_parse_status_head(ok, strlen(ok), &h, &why), 0);
        ck_assert_uint_eq(h.status, 204);
        ck_assert(!h.keep_alive && !h.has_content_length);

        ok = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        ck_assert_int_eq(http_parse_status_head(ok, strlen(ok), &h, &why), 0);
        ck_assert(h.chunked && !h.keep_alive && h.minor == 0);

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                ck_assert_msg(
                        http_parse_status_head(refused[i], strlen(refused[i]), &h, &why) == 400,
                        "accepted: %s",
                        refused[i]);
                ck_assert_ptr_nonnull(why);
        }
}
END_TEST

START_TEST(test_chunked) {
        static const char body[] =
                "1\r\nA\r\n0bb8 ; name=\"v;x\" ; flag\r\n%s\r\n11\r\nCCCCCCCCCCCCCCCCC\r\n"
                "0\r\nTrailer-A: x\r\nB: y z\r\n\r\nNEXT REQUEST";
        char *in, out[4096], buf[8192];
        size_t n, used;

        memset(buf, 'B', 3000);
        buf[3000] = '\0';
        ck_assert_int_ge(asprintf(&in, body, buf), 0);
        for (size_t step = 1; step <= 4096; step = step * 3 + 1) {
                HttpChunked c = {};
                size_t o = 0, off = 0, len = strlen(in);
                int r = 0;

                while (r == 0) {
                        size_t k = MIN(step, len - off), u, m;
                        r = http_chunked_decode(&c, in + off, k, out + o, sizeof(out) - o, 1024, &u, &m);
                        off += u;
                        o += m;
                }
                ck_assert_int_eq(r, 1);
                ck_assert_uint_eq(o, 3018);
                ck_assert(out[0] == 'A' && out[1] == 'B' && out[3000] == 'B' && out[3001] == 'C');
                /* The bytes after the body are the next request's: not consumed. */
                ck_assert_str_eq(in + off, "NEXT REQUEST");
        }

        /* In place: output never overtakes input. */
        strcpy(buf, in);
        {
                HttpChunked c = {};
                size_t o;
                ck_assert_int_eq(
                        http_chunked_decode(&c, buf, strlen(buf), buf, sizeof(buf), 1024, &used, &o), 1);
                ck_assert_uint_eq(o, 3018);
                ck_assert(buf[0] == 'A' && buf[3017] == 'C');
        }
        free(in);

        /* No room for output: stops, then goes on. */
        {
                HttpChunked c = {};
                size_t o;
                ck_assert_int_eq(
                        http_chunked_decode(&c, "5\r\nhello\r\n0\r\n\r\n", 15, out, 2, 64, &used, &o), 0);
                ck_assert_uint_eq(o, 2);
                ck_assert_int_eq(
                        http_chunked_decode(
                                &c, "5\r\nhello\r\n0\r\n\r\n" + used, 15 - used, out, 64, 64, &used, &o),
                        1);
                ck_assert_uint_eq(o, 3);
        }
        ck_assert_int_eq(decode("0\r\n\r\n", 5, 1, out, &n, &used), 1);
        ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_chunked_refused) {
        static const char *const bad[] = {
                "g\r\n",                 /* not hex */
                "\r\n",                  /* no size */
                "-1\r\n",                /* sign */
                "1 2\r\nab\r\n",         /* junk after the size */
                "1\nA\r\n",              /* bare LF after the size */
                "1\r\nAB\r\n",           /* data longer than its size */
                "1\r\nA\n0\r\n\r\n",     /* bare LF after the data */
                "1;\x01\r\nA\r\n",       /* control character in an extension */
                "10000000000000000\r\n", /* overflows 64 bits */
                "0\r\n X: y\r\n\r\n",    /* obs-fold in the trailers */
                "0\r\nX y: z\r\n\r\n",   /* whitespace in a trailer name */
                "0\r\nX: \x7f\r\n\r\n",  /* control character in a trailer */
                "0\r\n\r\r\n",           /* bare CR at the end */
        };
        char out[64], line[2048];
        size_t n, used;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                for (size_t step = 1; step <= 32; step *= 32)
                        ck_assert_msg(
                                decode(bad[i], strlen(bad[i]), step, out, &n, &used) == -EBADMSG,
                                "case %zu step %zu accepted",
                                i,
                                step);

        /* A size line longer than HTTP_PARSE_MAX_CHUNK_LINE (leading zeros, extensions). */
        memset(line, '0', sizeof(line));
        memcpy(line + sizeof(line) - 5, "1\r\nA", 4);
        ck_assert_int_eq(decode(line, sizeof(line) - 1, 64, out, &n, &used), -EBADMSG);
        /* Trailers beyond the cap. */
        {
                HttpChunked c = {};
                ck_assert_int_eq(
                        http_chunked_decode(
                                &c, "0\r\nX-Long: 0123456789\r\n\r\n", 25, out, 64, 8, &used, &n),
                        -EBADMSG);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-parse");
        TCase *tc = tcase_create("rfc9112");

        tcase_add_test(tc, test_valid_heads);
        tcase_add_test(tc, test_framing_refused);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_head_end);
        tcase_add_test(tc, test_status_heads);
        tcase_add_test(tc, test_chunked);
        tcase_add_test(tc, test_chunked_refused);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
