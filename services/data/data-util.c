/* SPDX-License-Identifier: MIT */
/* data-util.c — errors, identifier quoting and row serialization shared by the operations. */
#include <math.h>
#include <stdarg.h>
#include <time.h>

#include "data-util.h"
#include "json-util.h"

void data_error_done(DataError *e) {
        if (e->errors)
                json_object_put(e->errors);
        e->errors = NULL;
}

int data_error(DataError *e, int status, const char *field, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
        va_end(ap);
        e->status = status;
        if (field)
                (void) json_errors_add(&e->errors, field, "%s", e->detail);
        return -EINVAL;
}

char *data_quote_ident(const char *name) {
        size_t n = strlen(name), q = 0;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                q += name[i] == '"';
        s = malloc(n + q + 3);
        if (!s)
                return NULL;
        p = s;
        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
                if (name[i] == '"')
                        *p++ = '"';
                *p++ = name[i];
        }
        *p++ = '"';
        *p = '\0';
        return s;
}

json_object *data_column_to_json(sqlite3_stmt *st, int i) {
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
                return json_object_new_int64(sqlite3_column_int64(st, i));
        case SQLITE_FLOAT: {
                double d = sqlite3_column_double(st, i);
                return isfinite(d) ? json_object_new_double(d) : NULL;
        }
        case SQLITE_TEXT:
                return json_object_new_string_len(
                        (const char *) sqlite3_column_text(st, i), sqlite3_column_bytes(st, i));
        case SQLITE_BLOB: {
                /* Blobs only come from expressions (zeroblob, randomblob): hex them. */
                static const char hex[] = "0123456789abcdef";
                const unsigned char *b = sqlite3_column_blob(st, i);
                int n = sqlite3_column_bytes(st, i);
                _cleanup_free_ char *s = malloc((size_t) n * 2 + 1);
                if (!s)
                        return NULL;
                for (int k = 0; k < n; k++) {
                        s[2 * k] = hex[b[k] >> 4];
                        s[2 * k + 1] = hex[b[k] & 15];
                }
                return json_object_new_string_len(s, n * 2);
        }
        default:
                return NULL;
        }
}

int data_rows_to_json(sqlite3_stmt *st, int64_t max, json_object **ret) {
        _cleanup_json_ json_object *out = json_object_new_object();
        json_object *cols = json_object_new_array(), *recs = json_object_new_array();
        int n = sqlite3_column_count(st), rc;
        int64_t count = 0;
        bool truncated = false;

        if (!out || !cols || !recs) {
                json_object_put(cols);
                json_object_put(recs);
                return SQLITE_NOMEM;
        }
        json_object_object_add(out, "columns", cols);
        json_object_object_add(out, "records", recs);
        for (int i = 0; i < n; i++)
                json_object_array_add(cols, json_object_new_string(sqlite3_column_name(st, i)));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_object *row;

                if (count >= max) {
                        truncated = true;
                        rc = SQLITE_DONE;
                        break;
                }
                row = json_object_new_object();
                if (!row)
                        return SQLITE_NOMEM;
                for (int i = 0; i < n; i++)
                        json_object_object_add(row, sqlite3_column_name(st, i), data_column_to_json(st, i));
                json_object_array_add(recs, row);
                count++;
        }
        if (rc != SQLITE_DONE)
                return rc;
        json_object_object_add(out, "count", json_object_new_int64(count));
        json_object_object_add(out, "truncated", json_object_new_boolean(truncated));
        *ret = TAKE_PTR(out);
        return SQLITE_DONE;
}

int data_bind_json(sqlite3_stmt *st, int i, json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return sqlite3_bind_null(st, i);
        case json_type_boolean:
                return sqlite3_bind_int(st, i, json_object_get_boolean(v));
        case json_type_int:
                return sqlite3_bind_int64(st, i, json_object_get_int64(v));
        case json_type_double:
                return sqlite3_bind_double(st, i, json_object_get_double(v));
        case json_type_string:
                return sqlite3_bind_text(
                        st, i, json_object_get_string(v), json_object_get_string_len(v), SQLITE_TRANSIENT);
        default:
                return SQLITE_MISMATCH;
        }
}
