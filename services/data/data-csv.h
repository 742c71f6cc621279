/* SPDX-License-Identifier: MIT */
/* data-csv.h — an RFC 4180 CSV reader that streams records out of input fed in pieces
 * (quotes, doubled quotes, embedded newlines, a UTF-8 BOM, CRLF or LF line ends), and
 * the matching writer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct CsvReader CsvReader;

/* Called once per record; fields[i] is NUL-terminated (lengths in lens[]) and only valid
 * during the call. A negative return stops the reader and is returned by feed/finish. */
typedef int (*CsvRecordFn)(const char *const *fields, const size_t *lens, size_t n, void *userdata);

typedef struct CsvLimits {
        size_t max_fields; /* per record; 0 = 4096 */
        size_t max_record; /* bytes in one record; 0 = 1 MiB */
} CsvLimits;

int csv_reader_new(const CsvLimits *limits, CsvRecordFn cb, void *userdata, CsvReader **ret);
void csv_reader_free(CsvReader *r);
static inline void csv_reader_freep(CsvReader **r) {
        if (*r)
                csv_reader_free(*r);
}
/* Feeds the next piece. -EBADMSG on malformed input (a quote inside an unquoted field, text
 * after a closing quote), -E2BIG over a limit; csv_reader_error() then says where. */
int csv_reader_feed(CsvReader *r, const char *buf, size_t len);
/* Ends the input: flushes a last record without a line end; -EBADMSG inside open quotes. */
int csv_reader_finish(CsvReader *r);
const char *csv_reader_error(const CsvReader *r);
/* Records delivered so far (1-based line of the current record = lines seen + 1). */
size_t csv_reader_records(const CsvReader *r);

/* Convenience: parses a whole buffer. */
int csv_parse_buffer(
        const char *buf,
        size_t len,
        const CsvLimits *limits,
        CsvRecordFn cb,
        void *userdata,
        char **ret_error);

/* Appends one field, quoted when it holds a comma, quote, CR or LF (RFC 4180). */
int csv_write_field(FILE *f, const char *s, size_t len);
