/* SPDX-License-Identifier: MIT */
/* data-csv.c — the streaming RFC 4180 reader: a byte-at-a-time state machine over the
 * fed pieces, so uploads never need to be split on record boundaries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data-csv.h"
#include "macro.h"

#define _fallthrough_ __attribute__((fallthrough))

typedef enum CsvState {
        CSV_FIELD_START,
        CSV_UNQUOTED,
        CSV_QUOTED,
        CSV_QUOTE_IN_QUOTED, /* saw '"' inside quotes: a doubled quote or the closing one */
        CSV_AFTER_CR,        /* saw '\r' ending a record: swallow a following '\n' */
} CsvState;

struct CsvReader {
        CsvLimits limits;
        CsvRecordFn cb;
        void *userdata;
        CsvState state;
        bool bom_checked;
        size_t bom_seen; /* bytes of a possible BOM held back */
        char *buf;       /* current record's fields, each NUL-terminated */
        size_t len, cap;
        size_t *starts;      /* field offsets into buf */
        const char **fields; /* handed to the callback, sized like starts */
        size_t *lens;
        size_t n_fields, cap_fields;
        size_t records;
        size_t line; /* physical line (1-based) for messages */
        char error[160];
};

int csv_reader_new(const CsvLimits *limits, CsvRecordFn cb, void *userdata, CsvReader **ret) {
        CsvReader *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        if (limits)
                r->limits = *limits;
        if (r->limits.max_fields == 0)
                r->limits.max_fields = 4096;
        if (r->limits.max_record == 0)
                r->limits.max_record = 1024 * 1024;
        r->cb = cb;
        r->userdata = userdata;
        r->line = 1;
        *ret = r;
        return 0;
}

void csv_reader_free(CsvReader *r) {
        if (!r)
                return;
        free(r->buf);
        free(r->starts);
        free(r->fields);
        free(r->lens);
        free(r);
}

const char *csv_reader_error(const CsvReader *r) {
        return r->error;
}

size_t csv_reader_records(const CsvReader *r) {
        return r->records;
}

static int put_byte(CsvReader *r, char c) {
        if (r->len + 1 > r->limits.max_record) {
                snprintf(
                        r->error,
                        sizeof(r->error),
                        "line %zu, field %zu: record is longer than %zu bytes",
                        r->line,
                        r->n_fields,
                        r->limits.max_record);
                return -E2BIG;
        }
        if (r->len + 1 >= r->cap) {
                size_t ncap = r->cap ? r->cap * 2 : 256;
                char *nb = realloc(r->buf, ncap);

                if (!nb)
                        return -ENOMEM;
                r->buf = nb;
                r->cap = ncap;
        }
        r->buf[r->len++] = c;
        return 0;
}

/* Bytes that end a run of an unquoted field. */
static const bool unquoted_special[256] = { [','] = true, ['\n'] = true, ['\r'] = true, ['"'] = true };

/* n plain bytes of the current field (no quote; newlines only inside quotes, where
 * `quoted` says to count them). Where the record limit falls inside the run, the bytes go
 * one by one, so the error names the line and field put_byte() would. */
static int put_run(CsvReader *r, const char *s, size_t n, bool quoted) {
        if (r->len + n + 1 > r->limits.max_record) {
                for (size_t i = 0; i < n; i++) {
                        int k;
                        r->line += s[i] == '\n'; /* as feed_byte() counts it: first */
                        k = put_byte(r, s[i]);
                        if (k < 0)
                                return k;
                }
                return 0;
        }
        if (r->len + n + 1 > r->cap) {
                size_t ncap = MAX(r->cap * 2, r->len + n + 1);
                char *nb = realloc(r->buf, ncap);

                if (!nb)
                        return -ENOMEM;
                r->buf = nb;
                r->cap = ncap;
        }
        if (n <= 16) /* most fields: a call to memcpy costs more */
                for (size_t i = 0; i < n; i++)
                        r->buf[r->len + i] = s[i];
        else
                memcpy(r->buf + r->len, s, n);
        r->len += n;
        for (const char *p = s; quoted && (p = memchr(p, '\n', (size_t) (s + n - p))); p++)
                r->line++;
        return 0;
}

static int begin_field(CsvReader *r) {
        if (r->n_fields >= r->limits.max_fields) {
                snprintf(
                        r->error,
                        sizeof(r->error),
                        "line %zu: more than %zu fields",
                        r->line,
                        r->limits.max_fields);
                return -E2BIG;
        }
        if (r->n_fields == r->cap_fields) {
                size_t ncap = r->cap_fields ? r->cap_fields * 2 : 16;
                size_t *ns = realloc(r->starts, ncap * sizeof(size_t));
                const char **nf;
                size_t *nl;

                if (!ns)
                        return -ENOMEM;
                r->starts = ns;
                nf = realloc(r->fields, ncap * sizeof(char *));
                if (!nf)
                        return -ENOMEM;
                r->fields = nf;
                nl = realloc(r->lens, ncap * sizeof(size_t));
                if (!nl)
                        return -ENOMEM;
                r->lens = nl;
                r->cap_fields = ncap;
        }
        r->starts[r->n_fields++] = r->len;
        return 0;
}

static int end_field(CsvReader *r) {
        return put_byte(r, '\0');
}

static int emit_record(CsvReader *r) {
        int k;

        for (size_t i = 0; i < r->n_fields; i++) {
                r->fields[i] = r->buf + r->starts[i];
                r->lens[i] = (i + 1 < r->n_fields ? r->starts[i + 1] : r->len) - r->starts[i] - 1;
        }
        r->records++;
        k = r->cb(r->fields, r->lens, r->n_fields, r->userdata);
        r->len = 0;
        r->n_fields = 0;
        return k < 0 ? k : 0;
}

/* A line end in FIELD_START/UNQUOTED finishes the record; a blank line (one empty
 * field) is skipped, as RFC 4180 readers commonly do. */
static int end_record(CsvReader *r) {
        int k = end_field(r);

        if (k < 0)
                return k;
        if (r->n_fields == 1 && r->len == 1) {
                r->len = r->n_fields = 0;
                return 0;
        }
        return emit_record(r);
}

/* A comma or a line end after a field ends it (a line end the record too): true with the
 * result in *ret; false when c is neither. */
static bool separator(CsvReader *r, char c, int *ret) {
        if (c == ',') {
                r->state = CSV_FIELD_START;
                *ret = end_field(r);
                return true;
        }
        if (c == '\n' || c == '\r') {
                r->line++;
                r->state = c == '\r' ? CSV_AFTER_CR : CSV_FIELD_START;
                *ret = end_record(r);
                return true;
        }
        return false;
}

static int feed_byte(CsvReader *r, char c) {
        int k;

        switch (r->state) {
        case CSV_AFTER_CR:
                r->state = CSV_FIELD_START;
                if (c == '\n')
                        return 0;
                _fallthrough_;
        case CSV_FIELD_START:
                k = begin_field(r);
                if (k < 0)
                        return k;
                if (c == '"') {
                        r->state = CSV_QUOTED;
                        return 0;
                }
                r->state = CSV_UNQUOTED;
                _fallthrough_;
        case CSV_UNQUOTED:
                if (separator(r, c, &k))
                        return k;
                if (c == '"') {
                        snprintf(
                                r->error,
                                sizeof(r->error),
                                "line %zu, field %zu: quote inside an unquoted field",
                                r->line,
                                r->n_fields);
                        return -EBADMSG;
                }
                return put_byte(r, c);
        case CSV_QUOTED:
                if (c == '"') {
                        r->state = CSV_QUOTE_IN_QUOTED;
                        return 0;
                }
                if (c == '\n')
                        r->line++;
                return put_byte(r, c);
        case CSV_QUOTE_IN_QUOTED:
                if (c == '"') {
                        r->state = CSV_QUOTED;
                        return put_byte(r, '"');
                }
                if (separator(r, c, &k))
                        return k;
                snprintf(
                        r->error,
                        sizeof(r->error),
                        "line %zu, field %zu: text after a closing quote",
                        r->line,
                        r->n_fields);
                return -EBADMSG;
        }
        return -EINVAL;
}

/* A whole record that is one line of unquoted fields, ending in LF or CR LF: copied and
 * split at its commas in one pass. Returns 1 when done, 0 when the line needs the
 * byte-wise machine (a quote or another CR in it, or a limit to report), or <0. */
static int line_record(CsvReader *r, const char *s, size_t n) {
        size_t f = 1;
        int k;

        if (n > 0 && s[n - 1] == '\r')
                n--;
        if (n + 1 > r->limits.max_record || memchr(s, '"', n) || memchr(s, '\r', n))
                return 0;
        if (n + 1 > r->cap) {
                size_t ncap = MAX(r->cap * 2, n + 1);
                char *nb = realloc(r->buf, ncap);

                if (!nb)
                        return -ENOMEM;
                r->buf = nb;
                r->cap = ncap;
        }
        if (r->cap_fields == 0 && begin_field(r) < 0)
                return -ENOMEM;
        r->starts[0] = 0;
        memcpy(r->buf, s, n);
        r->buf[n] = '\0';
        for (char *p = r->buf, *end = r->buf + n; (p = memchr(p, ',', (size_t) (end - p))); p++) {
                if (f >= r->limits.max_fields)
                        return 0; /* for begin_field() to report */
                if (f == r->cap_fields) {
                        r->n_fields = f;
                        if (begin_field(r) < 0)
                                return -ENOMEM;
                }
                *p = '\0';
                r->starts[f++] = (size_t) (p - r->buf) + 1;
        }
        r->line++;
        if (n == 0) /* a blank line */
                return 1;
        r->len = n + 1;
        r->n_fields = f;
        k = emit_record(r);
        return k < 0 ? k : 1;
}

int csv_reader_feed(CsvReader *r, const char *buf, size_t len) {
        static const char bom[3] = { '\xef', '\xbb', '\xbf' };
        size_t i = 0;
        int k;

        /* A UTF-8 BOM is only recognised at the very start, possibly split across feeds. */
        while (!r->bom_checked && i < len) {
                if (buf[i] == bom[r->bom_seen]) {
                        r->bom_seen++;
                        i++;
                        if (r->bom_seen == 3)
                                r->bom_checked = true;
                        continue;
                }
                r->bom_checked = true;
                for (size_t j = 0; j < r->bom_seen; j++) {
                        k = feed_byte(r, bom[j]);
                        if (k < 0)
                                return k;
                }
        }
        while (i < len) {
                /* Fast paths: a field that starts unquoted, a run of plain bytes inside a
                 * field (copied at once) and the comma after an unquoted one. */
                unsigned char c = (unsigned char) buf[i];
                size_t run = 0;

                if (r->state == CSV_FIELD_START && r->n_fields == 0 && r->len == 0) {
                        const char *nl = memchr(buf + i, '\n', len - i);

                        if (nl) {
                                k = line_record(r, buf + i, (size_t) (nl - (buf + i)));
                                if (k < 0)
                                        return k;
                                if (k > 0) {
                                        i = (size_t) (nl - buf) + 1;
                                        continue;
                                }
                                r->len = r->n_fields = 0;
                        }
                }
                if (r->state == CSV_FIELD_START && !unquoted_special[c]) {
                        k = begin_field(r);
                        if (k < 0)
                                return k;
                        r->state = CSV_UNQUOTED;
                } else if (
                        r->state == CSV_UNQUOTED && c == ',' && r->len + 1 < r->cap &&
                        r->len + 1 <= r->limits.max_record) {
                        r->buf[r->len++] = '\0';
                        r->state = CSV_FIELD_START;
                        i++;
                        continue;
                }
                if (r->state == CSV_UNQUOTED)
                        while (i + run < len && !unquoted_special[(unsigned char) buf[i + run]])
                                run++;
                else if (r->state == CSV_QUOTED) {
                        const char *q = memchr(buf + i, '"', len - i);
                        run = q ? (size_t) (q - (buf + i)) : len - i;
                }
                if (run > 0) {
                        k = put_run(r, buf + i, run, r->state == CSV_QUOTED);
                        if (k < 0)
                                return k;
                        i += run;
                        continue;
                }
                k = feed_byte(r, buf[i++]);
                if (k < 0)
                        return k;
        }
        return 0;
}

int csv_reader_finish(CsvReader *r) {
        int k;

        if (!r->bom_checked && r->bom_seen > 0) {
                static const char bom[3] = { '\xef', '\xbb', '\xbf' };
                r->bom_checked = true;
                for (size_t j = 0; j < r->bom_seen; j++) {
                        k = feed_byte(r, bom[j]);
                        if (k < 0)
                                return k;
                }
        }
        switch (r->state) {
        case CSV_QUOTED:
                snprintf(
                        r->error,
                        sizeof(r->error),
                        "line %zu, field %zu: unterminated quoted field",
                        r->line,
                        r->n_fields);
                return -EBADMSG;
        case CSV_UNQUOTED:
        case CSV_QUOTE_IN_QUOTED:
                r->state = CSV_FIELD_START;
                return end_record(r);
        case CSV_FIELD_START:
                /* "a,b,\n" ended with a separator: the last field is empty. */
                if (r->n_fields > 0) {
                        k = begin_field(r);
                        if (k < 0)
                                return k;
                        return end_record(r);
                }
                return 0;
        case CSV_AFTER_CR:
                return 0;
        }
        return 0;
}

int csv_parse_buffer(
        const char *buf,
        size_t len,
        const CsvLimits *limits,
        CsvRecordFn cb,
        void *userdata,
        char **ret_error) {
        _cleanup_(csv_reader_freep) CsvReader *r = NULL;
        int k;

        k = csv_reader_new(limits, cb, userdata, &r);
        if (k < 0)
                return k;
        k = csv_reader_feed(r, buf, len);
        if (k >= 0)
                k = csv_reader_finish(r);
        if (k < 0 && ret_error && r->error[0])
                *ret_error = strdup(r->error);
        return k;
}

int csv_write_field(FILE *f, const char *s, size_t len) {
        if (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len) && !memchr(s, '\r', len)) {
                fwrite(s, 1, len, f);
                return 0;
        }
        fputc('"', f);
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"')
                        fputc('"', f);
                fputc(s[i], f);
        }
        fputc('"', f);
        return 0;
}
