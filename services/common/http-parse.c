/* SPDX-License-Identifier: MIT */
/* http-parse.c — request heads and chunked bodies per RFC 9112, strictly: each rule below
 * names the section whose leniency has been used to smuggle a second request past a
 * front end (a proxy and this server reading different message boundaries). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http-parse.h"

enum {
        C_TCHAR = 1 << 0,  /* token (RFC 9110 §5.6.2) */
        C_FIELD = 1 << 1,  /* field-value octet: VCHAR, obs-text, SP, HTAB */
        C_TARGET = 1 << 2, /* request-target octet we accept: VCHAR but '#' */
        C_HEX = 1 << 3,
};

static const unsigned char char_class[256] = {
        ['\t'] = C_FIELD,
        [' '] = C_FIELD,
        ['!'] = C_TCHAR | C_FIELD | C_TARGET,
        ['"'] = C_FIELD | C_TARGET,
        ['#'] = C_TCHAR | C_FIELD,
        ['$'] = C_TCHAR | C_FIELD | C_TARGET,
        ['%'] = C_TCHAR | C_FIELD | C_TARGET,
        ['&'] = C_TCHAR | C_FIELD | C_TARGET,
        ['\''] = C_TCHAR | C_FIELD | C_TARGET,
        ['('] = C_FIELD | C_TARGET,
        [')'] = C_FIELD | C_TARGET,
        ['*'] = C_TCHAR | C_FIELD | C_TARGET,
        ['+'] = C_TCHAR | C_FIELD | C_TARGET,
        [','] = C_FIELD | C_TARGET,
        ['-'] = C_TCHAR | C_FIELD | C_TARGET,
        ['.'] = C_TCHAR | C_FIELD | C_TARGET,
        ['/'] = C_FIELD | C_TARGET,
        ['0' ... '9'] = C_TCHAR | C_FIELD | C_TARGET | C_HEX,
        [':'] = C_FIELD | C_TARGET,
        [';'] = C_FIELD | C_TARGET,
        ['<'] = C_FIELD | C_TARGET,
        ['='] = C_FIELD | C_TARGET,
        ['>'] = C_FIELD | C_TARGET,
        ['?'] = C_FIELD | C_TARGET,
        ['@'] = C_FIELD | C_TARGET,
        ['A' ... 'F'] = C_TCHAR | C_FIELD | C_TARGET | C_HEX,
        ['G' ... 'Z'] = C_TCHAR | C_FIELD | C_TARGET,
        ['['] = C_FIELD | C_TARGET,
        ['\\'] = C_FIELD | C_TARGET,
        [']'] = C_FIELD | C_TARGET,
        ['^'] = C_TCHAR | C_FIELD | C_TARGET,
        ['_'] = C_TCHAR | C_FIELD | C_TARGET,
        ['`'] = C_TCHAR | C_FIELD | C_TARGET,
        ['a' ... 'f'] = C_TCHAR | C_FIELD | C_TARGET | C_HEX,
        ['g' ... 'z'] = C_TCHAR | C_FIELD | C_TARGET,
        ['{'] = C_FIELD | C_TARGET,
        ['|'] = C_TCHAR | C_FIELD | C_TARGET,
        ['}'] = C_FIELD | C_TARGET,
        ['~'] = C_TCHAR | C_FIELD | C_TARGET,
        [0x80 ... 0xff] = C_FIELD, /* obs-text: allowed in values, never in names or targets */
};

static bool is(char c, unsigned cls) {
        return char_class[(unsigned char) c] & cls;
}

static bool is_ows(char c) {
        return c == ' ' || c == '\t';
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        return (c | 0x20) - 'a' + 10;
}

/* ---- finding the head ------------------------------------------------------------- */

int http_parse_head_end(const char *buf, size_t len, size_t *pos, size_t *ret_skip) {
        size_t skip = 0;

        while (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n')
                skip += 2;
        *ret_skip = skip;
        for (size_t i = *pos > skip ? *pos : skip; i < len; i++) {
                char c = buf[i];

                if (i > skip && buf[i - 1] == '\r' && c != '\n')
                        return -EBADMSG; /* bare CR (§2.2) */
                if (c != '\n')
                        continue;
                if (i == skip || buf[i - 1] != '\r')
                        return -EBADMSG; /* bare LF: another parser might end a line here (§2.2) */
                if (i >= skip + 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                        *pos = i + 1;
                        return (int) (i + 1 - skip);
                }
        }
        *pos = len;
        return 0;
}

/* ---- parsing it ---------------------------------------------------------------------- */

static bool slice_is(const char *buf, HttpSlice s, const char *lit) {
        size_t l = strlen(lit);
        return s.len == l && strncasecmp(buf + s.off, lit, l) == 0;
}

static HttpSlice slice(size_t off, size_t len) {
        return (HttpSlice){ (uint32_t) off, (uint32_t) len };
}

/* Splits the request-target (§3.2) into path and query: origin-form, the absolute-form a
 * server must accept, and "*" for OPTIONS. authority-form (CONNECT) is refused. */
static int parse_target(const char *buf, HttpHead *h, const char **why) {
        size_t p = h->target.off, end = h->target.off + h->target.len;

        if (buf[p] == '*' && h->target.len == 1) {
                if (!slice_is(buf, h->method, "OPTIONS")) {
                        *why = "the request-target * is only for OPTIONS";
                        return 400;
                }
                h->path = h->target;
                return 0;
        }
        if (buf[p] != '/') {
                size_t s;

                if (h->target.len > 7 && strncasecmp(buf + p, "http://", 7) == 0)
                        s = 7;
                else if (h->target.len > 8 && strncasecmp(buf + p, "https://", 8) == 0)
                        s = 8;
                else {
                        *why = "the request-target is neither a path nor an absolute URI";
                        return 400;
                }
                p += s;
                if (p >= end || buf[p] == '/' || buf[p] == '?') {
                        *why = "the absolute URI has no host";
                        return 400;
                }
                while (p < end && buf[p] != '/' && buf[p] != '?')
                        p++;
        }
        h->path = slice(p, end - p);
        for (size_t q = p; q < end; q++)
                if (buf[q] == '?') {
                        h->path.len = (uint32_t) (q - p);
                        h->query = slice(q + 1, end - q - 1);
                        h->has_query = true;
                        break;
                }
        return 0;
}

/* Content-Length (§6.3): digits only, no list, no sign, no overflow. */
static int parse_content_length(const char *v, size_t n, uint64_t *ret) {
        uint64_t x = 0;

        if (n == 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
                        return -EBADMSG;
                x = x * 10 + (uint64_t) (v[i] - '0');
        }
        *ret = x;
        return 0;
}

typedef struct Codings {
        bool seen, other;
        unsigned chunked; /* how many times */
        bool bad;         /* a coding after chunked, or a malformed element */
} Codings;

/* One Transfer-Encoding line (§6.1): a list of codings, chunked only as the last one. */
static void parse_codings(const char *v, size_t n, Codings *c) {
        size_t i = 0;

        c->seen = true;
        while (i <= n) {
                size_t s, e, t;

                while (i < n && is_ows(v[i]))
                        i++;
                s = i;
                while (i < n && v[i] != ',')
                        i++;
                e = i;
                while (e > s && is_ows(v[e - 1]))
                        e--;
                i++; /* past the comma */
                if (e == s)
                        continue; /* empty list element */
                for (t = s; t < e && is(v[t], C_TCHAR); t++)
                        ;
                if (t == s || (t < e && !is_ows(v[t]) && v[t] != ';')) {
                        c->bad = true;
                        return;
                }
                if (c->chunked > 0) {
                        c->bad = true; /* chunked is not the final coding */
                        return;
                }
                if (t - s == 7 && strncasecmp(v + s, "chunked", 7) == 0) {
                        if (t != e) {
                                c->bad = true; /* chunked takes no parameters */
                                return;
                        }
                        c->chunked++;
                } else
                        c->other = true;
        }
}

static bool value_has_token(const char *v, size_t n, const char *tok) {
        size_t l = strlen(tok);

        for (size_t i = 0; i < n;) {
                size_t s, e;

                while (i < n && (is_ows(v[i]) || v[i] == ','))
                        i++;
                s = i;
                while (i < n && v[i] != ',')
                        i++;
                e = i;
                while (e > s && is_ows(v[e - 1]))
                        e--;
                if (e - s == l && strncasecmp(v + s, tok, l) == 0)
                        return true;
        }
        return false;
}

#define FAIL(status, reason)         \
        do {                         \
                *ret_why = (reason); \
                return (status);     \
        } while (0)

/* What the field lines said about framing and the connection. */
typedef struct FieldsSeen {
        Codings te;
        unsigned hosts;
        bool conn_close, conn_keep;
} FieldsSeen;

/* field-line = field-name ":" OWS field-value OWS CRLF (§5), from p to the end of the
 * head: the same rules for a request's fields and a response's. */
static int
parse_fields(const char *buf, size_t len, size_t p, HttpHead *h, FieldsSeen *s, const char **ret_why) {
        for (;;) {
                size_t n0, v0, ve;
                HttpField *f;

                if (p + 1 >= len)
                        FAIL(400, "header section not terminated");
                if (buf[p] == '\r') {
                        if (buf[p + 1] != '\n' || p + 2 != len)
                                FAIL(400, "malformed end of the header section");
                        return 0;
                }
                if (is_ows(buf[p]))
                        FAIL(400,
                             h->n_fields > 0 ? "obs-fold: a header line starts with whitespace"
                                             : "whitespace before the first header");
                n0 = p;
                while (p < len && is(buf[p], C_TCHAR))
                        p++;
                if (p >= len)
                        FAIL(400, "header section not terminated");
                if (buf[p] != ':')
                        FAIL(400,
                             is_ows(buf[p]) ? "whitespace before the colon of a header"
                                            : "invalid character in a header name");
                if (p == n0)
                        FAIL(400, "empty header name");
                if (h->n_fields >= HTTP_PARSE_MAX_HEADERS)
                        FAIL(431, "too many header fields");
                f = &h->fields[h->n_fields++];
                f->name = slice(n0, p - n0);
                p++;
                while (p < len && is_ows(buf[p]))
                        p++;
                v0 = p;
                while (p < len && buf[p] != '\r') {
                        if (!is(buf[p], C_FIELD))
                                FAIL(400, "control character in a header value");
                        p++;
                }
                if (p + 1 >= len || buf[p + 1] != '\n')
                        FAIL(400, "header line not terminated by CRLF");
                ve = p;
                while (ve > v0 && is_ows(buf[ve - 1]))
                        ve--;
                f->value = slice(v0, ve - v0);
                p += 2;

                if (slice_is(buf, f->name, "Content-Length")) {
                        if (h->has_content_length)
                                FAIL(400, "more than one Content-Length");
                        if (parse_content_length(buf + v0, ve - v0, &h->content_length) < 0)
                                FAIL(400, "Content-Length is not a decimal number");
                        h->has_content_length = true;
                } else if (slice_is(buf, f->name, "Transfer-Encoding")) {
                        parse_codings(buf + v0, ve - v0, &s->te);
                        if (s->te.bad)
                                FAIL(400, "Transfer-Encoding other than one final chunked");
                } else if (slice_is(buf, f->name, "Host")) {
                        if (++s->hosts > 1)
                                FAIL(400, "more than one Host");
                } else if (slice_is(buf, f->name, "Connection")) {
                        s->conn_close = s->conn_close || value_has_token(buf + v0, ve - v0, "close");
                        s->conn_keep = s->conn_keep || value_has_token(buf + v0, ve - v0, "keep-alive");
                } else if (slice_is(buf, f->name, "Expect") && h->minor == 1 && h->method.len > 0) {
                        /* An HTTP/1.0 client cannot mean it (RFC 9110 §10.1.1): ignored. */
                        if (ve - v0 == 12 && strncasecmp(buf + v0, "100-continue", 12) == 0)
                                h->expect_continue = true;
                        else if (ve > v0)
                                FAIL(417, "the only expectation served is 100-continue");
                }
        }
}

/* Resets what a parse fills in. */
static void head_reset(HttpHead *h, size_t len) {
        h->n_fields = 0;
        h->has_query = h->has_content_length = h->chunked = h->expect_continue = false;
        h->content_length = 0;
        h->query = (HttpSlice){};
        h->method = (HttpSlice){};
        h->status = 0;
        h->length = len;
}

int http_parse_head(const char *buf, size_t len, HttpHead *h, const char **ret_why) {
        FieldsSeen s = {};
        size_t p = 0, t0;
        int r;

        *ret_why = NULL;
        head_reset(h, len);

        /* request-line = method SP request-target SP HTTP-version CRLF (§3), single spaces */
        while (p < len && is(buf[p], C_TCHAR))
                p++;
        if (p == 0 || p >= len || buf[p] != ' ')
                FAIL(400, "malformed request line");
        if (p > HTTP_PARSE_MAX_METHOD)
                FAIL(400, "method too long");
        h->method = slice(0, p);
        t0 = ++p;
        while (p < len && buf[p] != ' ' && buf[p] != '\r') {
                if (!is(buf[p], C_TARGET))
                        FAIL(400, "invalid character in the request-target");
                p++;
        }
        if (p >= len || buf[p] != ' ' || p == t0)
                FAIL(400, "malformed request line");
        if (p - t0 > HTTP_PARSE_MAX_TARGET)
                FAIL(414, "request-target too long");
        h->target = slice(t0, p - t0);
        p++;
        if (len - p < 10 || memcmp(buf + p, "HTTP/", 5) != 0 || buf[p + 5] < '0' || buf[p + 5] > '9' ||
            buf[p + 6] != '.' || buf[p + 7] < '0' || buf[p + 7] > '9' || buf[p + 8] != '\r' ||
            buf[p + 9] != '\n')
                FAIL(400, "malformed HTTP version");
        if (buf[p + 5] != '1')
                FAIL(505, "only HTTP/1.x is served here");
        h->minor = buf[p + 7] == '0' ? 0 : 1; /* a higher minor is answered as 1.1 (RFC 9110 §6.2) */
        p += 10;
        r = parse_target(buf, h, ret_why);
        if (r > 0)
                return r;
        r = parse_fields(buf, len, p, h, &s, ret_why);
        if (r > 0)
                return r;

        if (s.te.seen) {
                if (h->has_content_length)
                        FAIL(400, "both Content-Length and Transfer-Encoding");
                if (h->minor == 0)
                        FAIL(400, "Transfer-Encoding in an HTTP/1.0 request");
                if (s.te.chunked != 1)
                        FAIL(400, "Transfer-Encoding other than one final chunked");
                if (s.te.other)
                        FAIL(501, "only the chunked transfer coding is served");
                h->chunked = true;
        }
        if (h->minor == 1 && s.hosts == 0)
                FAIL(400, "no Host header");
        h->keep_alive = h->minor == 1 ? !s.conn_close : s.conn_keep && !s.conn_close;
        return 0;
}

int http_parse_status_head(const char *buf, size_t len, HttpHead *h, const char **ret_why) {
        FieldsSeen s = {};
        size_t p = 0;
        int r;

        *ret_why = NULL;
        head_reset(h, len);

        /* status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (§4) */
        if (len < 14 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ' ||
            buf[9] < '1' || buf[9] > '9' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
            buf[11] > '9' || (buf[12] != ' ' && buf[12] != '\r'))
                FAIL(400, "malformed status line");
        h->minor = buf[7] == '0' ? 0 : 1;
        h->status = (unsigned) ((buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'));
        for (p = 12; p < len && buf[p] != '\r'; p++)
                if (!is(buf[p], C_FIELD))
                        FAIL(400, "control character in the reason phrase");
        if (p + 1 >= len || buf[p + 1] != '\n')
                FAIL(400, "malformed status line");
        r = parse_fields(buf, len, p + 2, h, &s, ret_why);
        if (r > 0)
                return r;

        /* A response with both is framed by Transfer-Encoding (§6.3), but one that sends
         * both is refused here: it may be an attempt at desynchronising the connection. */
        if (s.te.seen) {
                if (h->has_content_length)
                        FAIL(400, "both Content-Length and Transfer-Encoding");
                if (s.te.chunked != 1 || s.te.other)
                        FAIL(400, "Transfer-Encoding other than one final chunked");
                h->chunked = true;
        }
        h->keep_alive = h->minor == 1 ? !s.conn_close : s.conn_keep && !s.conn_close;
        return 0;
}

const HttpField *http_head_field(const HttpHead *h, const char *buf, const char *name) {
        for (unsigned i = 0; i < h->n_fields; i++)
                if (slice_is(buf, h->fields[i].name, name))
                        return &h->fields[i];
        return NULL;
}

/* ---- chunked bodies ---------------------------------------------------------------- */

enum {
        CH_SIZE,    /* hex digits of chunk-size */
        CH_SIZE_WS, /* BWS after the size: only ";" or CR may follow */
        CH_EXT,     /* chunk-ext up to CR */
        CH_SIZE_LF, /* the LF of the size line */
        CH_DATA,    /* chunk-data */
        CH_DATA_CR, /* the CRLF after chunk-data */
        CH_DATA_LF,
        CH_TRAILER, /* start of a trailer line, or the final CRLF */
        CH_TNAME,   /* trailer field-name */
        CH_TVALUE,  /* trailer field-value */
        CH_TLF,     /* the LF of a trailer line */
        CH_END_LF,  /* the LF of the final CRLF */
        CH_DONE,
};

int http_chunked_decode(
        HttpChunked *c,
        const char *in,
        size_t in_len,
        char *out,
        size_t out_max,
        size_t max_trailers,
        size_t *ret_in,
        size_t *ret_out) {
        size_t i = 0, o = 0;
        int r = 0;

        while (i < in_len && r == 0) {
                char ch = in[i];

                switch (c->state) {
                case CH_DATA: {
                        size_t n = in_len - i;

                        if (n > c->remaining)
                                n = (size_t) c->remaining;
                        if (n > out_max - o)
                                n = out_max - o;
                        if (n == 0)
                                goto out; /* no room for output */
                        memmove(out + o, in + i, n);
                        i += n;
                        o += n;
                        c->remaining -= n;
                        if (c->remaining == 0)
                                c->state = CH_DATA_CR;
                        continue;
                }
                case CH_SIZE:
                        if (is(ch, C_HEX)) {
                                if (c->remaining > (UINT64_MAX >> 4))
                                        r = -EBADMSG;
                                c->remaining = c->remaining << 4 | (uint64_t) hexval(ch);
                                c->digits++;
                        } else if (c->digits == 0)
                                r = -EBADMSG;
                        else if (ch == ';')
                                c->state = CH_EXT;
                        else if (is_ows(ch))
                                c->state = CH_SIZE_WS;
                        else if (ch == '\r')
                                c->state = CH_SIZE_LF;
                        else
                                r = -EBADMSG;
                        break;
                case CH_SIZE_WS:
                        if (ch == ';')
                                c->state = CH_EXT;
                        else if (ch == '\r')
                                c->state = CH_SIZE_LF;
                        else if (!is_ows(ch))
                                r = -EBADMSG;
                        break;
                case CH_EXT:
                        if (ch == '\r')
                                c->state = CH_SIZE_LF;
                        else if (!is(ch, C_FIELD))
                                r = -EBADMSG;
                        break;
                case CH_SIZE_LF:
                        if (ch != '\n')
                                r = -EBADMSG;
                        else if (c->remaining == 0)
                                c->state = CH_TRAILER;
                        else
                                c->state = CH_DATA;
                        c->line = 0;
                        c->digits = 0;
                        break;
                case CH_DATA_CR:
                        r = ch == '\r' ? 0 : -EBADMSG;
                        c->state = CH_DATA_LF;
                        break;
                case CH_DATA_LF:
                        r = ch == '\n' ? 0 : -EBADMSG;
                        c->state = CH_SIZE;
                        break;
                case CH_TRAILER:
                        if (ch == '\r')
                                c->state = CH_END_LF;
                        else if (is(ch, C_TCHAR))
                                c->state = CH_TNAME;
                        else
                                r = -EBADMSG; /* obs-fold, whitespace or junk */
                        break;
                case CH_TNAME:
                        if (ch == ':')
                                c->state = CH_TVALUE;
                        else if (!is(ch, C_TCHAR))
                                r = -EBADMSG;
                        break;
                case CH_TVALUE:
                        if (ch == '\r')
                                c->state = CH_TLF;
                        else if (!is(ch, C_FIELD))
                                r = -EBADMSG;
                        break;
                case CH_TLF:
                        r = ch == '\n' ? 0 : -EBADMSG;
                        c->state = CH_TRAILER;
                        break;
                case CH_END_LF:
                        if (ch != '\n')
                                r = -EBADMSG;
                        else {
                                c->state = CH_DONE;
                                r = 1;
                        }
                        break;
                default:
                        r = -EBADMSG; /* nothing may follow the end */
                        continue;
                }
                if (r < 0)
                        break;
                i++;
                if (r == 0 && c->state <= CH_SIZE_LF && ++c->line > HTTP_PARSE_MAX_CHUNK_LINE)
                        r = -EBADMSG;
                if (r == 0 && c->state >= CH_TRAILER && ++c->trailers > max_trailers)
                        r = -EBADMSG;
        }
out:
        *ret_in = i;
        *ret_out = o;
        return r;
}
