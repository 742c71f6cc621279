/* SPDX-License-Identifier: MIT */
/* json-util.c — strict parsing of untrusted JSON and typed field getters. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>

#include "json-util.h"

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at
 * most U+10FFFF), 0 if invalid. */
static size_t utf8_sequence_len(const unsigned char *p, size_t left) {
        unsigned c = p[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        if (left < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* json-c's "strict" mode still takes single-quoted strings and NaN/Infinity, and lets
 * UTF-8-encoded surrogates through: a lexical pass that knows only RFC 8259's alphabet
 * outside strings closes those gaps before json-c sees the input. */
static int prescan(const char *buf, size_t len, size_t *ret_off, const char **ret_why) {
        const unsigned char *p = (const unsigned char *) buf;
        bool in_string = false, escaped = false;
        /* json-c keeps object keys as C strings: "te\u0000xt" would become the key "te". A
         * string with \u0000 is remembered until the next token shows whether it was a key. */
        bool string_has_nul = false, key_has_nul = false;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = p[i];

                if (c == 0) {
                        *ret_off = i;
                        *ret_why = "NUL byte";
                        return -EBADMSG;
                }
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\') {
                                escaped = true;
                                if (len - i > 5 && memcmp(p + i + 1, "u0000", 5) == 0)
                                        string_has_nul = true;
                        } else if (c == '"') {
                                in_string = false;
                                key_has_nul = string_has_nul;
                        } else if (c < 0x20) {
                                *ret_off = i;
                                *ret_why = "control character in string";
                                return -EBADMSG;
                        } else if (c >= 0x80) {
                                size_t n = utf8_sequence_len(p + i, len - i);
                                if (n == 0) {
                                        *ret_off = i;
                                        *ret_why = "invalid UTF-8";
                                        return -EBADMSG;
                                }
                                i += n - 1;
                        }
                } else if (c == '"') {
                        in_string = true;
                        string_has_nul = false;
                } else if (c == ':' && key_has_nul) {
                        *ret_off = i;
                        *ret_why = "\\u0000 in an object key";
                        return -EBADMSG;
                } else if (!strchr(" \t\r\n{}[],:0123456789+-.eEtrufalsn", c)) {
                        *ret_off = i;
                        *ret_why = "unexpected character";
                        return -EBADMSG;
                } else if (!strchr(" \t\r\n", c))
                        key_has_nul = false;
        }
        return 0;
}

/* The code point of the valid UTF-8 sequence of n bytes at p. */
static uint32_t utf8_decode(const unsigned char *p, size_t n) {
        uint32_t cp = n == 2 ? p[0] & 0x1f : n == 3 ? p[0] & 0x0f : p[0] & 0x07;

        for (size_t i = 1; i < n; i++)
                cp = (cp << 6) | (p[i] & 0x3f);
        return cp;
}

/* Calls emit(piece, len) for each unit of a prescanned buffer: a non-ASCII character as
 * its \u escape (two for one beyond the BMP), any other byte as itself. Returns the
 * original offset at which the output first passes stop_at (SIZE_MAX = never). */
static size_t escape_walk(const char *buf, size_t len, char *out, size_t *ret_out_len, size_t stop_at) {
        const unsigned char *p = (const unsigned char *) buf;
        size_t j = 0;

        for (size_t i = 0; i < len;) {
                char piece[13];
                size_t n = 1, k = 1;

                if (p[i] < 0x80)
                        piece[0] = (char) p[i];
                else {
                        uint32_t cp;

                        n = utf8_sequence_len(p + i, len - i);
                        cp = utf8_decode(p + i, n);
                        if (cp < 0x10000)
                                k = (size_t) snprintf(piece, sizeof(piece), "\\u%04" PRIx32, cp);
                        else {
                                cp -= 0x10000;
                                k = (size_t) snprintf(
                                        piece,
                                        sizeof(piece),
                                        "\\u%04" PRIx32 "\\u%04" PRIx32,
                                        0xd800 + (cp >> 10),
                                        0xdc00 + (cp & 0x3ff));
                        }
                }
                if (j + k > stop_at)
                        return i;
                if (out)
                        memcpy(out + j, piece, k);
                j += k;
                i += n;
        }
        if (ret_out_len)
                *ret_out_len = j;
        return SIZE_MAX;
}

int json_escape_non_ascii(const char *buf, size_t len, char **ret, size_t *ret_len) {
        size_t off, n;
        const char *why;
        char *out;

        if (prescan(buf, len, &off, &why) < 0)
                return -EBADMSG;
        out = malloc(len * 3 + 1); /* 2 bytes become 6, 3 become 6, 4 become 12 */
        if (!out)
                return -ENOMEM;
        (void) escape_walk(buf, len, out, &n, SIZE_MAX);
        out[n] = '\0';
        *ret = out;
        *ret_len = n;
        return 0;
}

/* Rewrites the "offset N" of an error message about the escaped text of buf as the
 * offset of the same place in buf. Leaves the message as it is if it names none. */
static void remap_offset(char **msg, const char *buf, size_t len) {
        const char *at = strstr(*msg, "offset ");
        char *again = NULL, *end;
        size_t off;

        if (!at)
                return;
        at += strlen("offset ");
        off = strtoul(at, &end, 10);
        if (end == at)
                return;
        off = escape_walk(buf, len, NULL, NULL, off);
        if (asprintf(&again, "%.*s%zu%s", (int) (at - *msg), *msg, off == SIZE_MAX ? len : off, end) < 0)
                return;
        free(*msg);
        *msg = again;
}

/* json-c 0.18 (Debian 13) refuses every byte >= 0x80 in a string under JSON_TOKENER_STRICT:
 * its new control-character check compares a signed char (json-c issues #875 and #892).
 * Where the library has that bug, input with non-ASCII strings reaches it with those
 * characters as \u escapes, which it decodes back to the same UTF-8. */
static bool strict_refuses_utf8;
static pthread_once_t strict_probe_once = PTHREAD_ONCE_INIT;

static void strict_probe(void) {
        json_tokener *tok = json_tokener_new();
        json_object *o;

        if (!tok)
                return;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, "\"\xc3\xa9\"", 4);
        strict_refuses_utf8 = !o;
        json_object_put(o);
        json_tokener_free(tok);
}

static bool has_non_ascii(const char *buf, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) buf[i] >= 0x80)
                        return true;
        return false;
}

static bool all_numbers_finite(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_double:
                return isfinite(json_object_get_double(o));
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (!all_numbers_finite(json_object_array_get_idx(o, i)))
                                return false;
                return true;
        case json_type_object: {
                json_object_object_foreach(o, k, v) {
                        (void) k;
                        if (!all_numbers_finite(v))
                                return false;
                }
                return true;
        }
        default:
                return true;
        }
}

/* One tokener per thread, reset for each parse: a new one costs an allocation of its
 * whole JSON_MAX_DEPTH stack, and every request parses a body or two. Freed when its
 * thread ends. */
static pthread_key_t tokener_key;
static pthread_once_t tokener_once = PTHREAD_ONCE_INIT;
static int tokener_key_error;

static void tokener_free(void *p) {
        json_tokener_free(p);
}

static void tokener_key_init(void) {
        tokener_key_error = -pthread_key_create(&tokener_key, tokener_free);
}

static json_tokener *tokener_get(void) {
        json_tokener *tok;

        pthread_once(&tokener_once, tokener_key_init);
        if (tokener_key_error < 0)
                return NULL;
        tok = pthread_getspecific(tokener_key);
        if (tok) {
                json_tokener_reset(tok);
                return tok;
        }
        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                return NULL;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        if (pthread_setspecific(tokener_key, tok) != 0) {
                json_tokener_free(tok);
                return NULL;
        }
        return tok;
}

int json_parse_strict(const char *buf, size_t len, json_object **ret, char **ret_error) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error jerr;
        size_t off;
        char *m = NULL;

        if (len > INT32_MAX)
                return -E2BIG;
        /* This also refuses NUL bytes: json-c stops at a NUL inside a string in some versions
         * and treats it as the end of input in others. */
        const char *why;
        if (prescan(buf, len, &off, &why) < 0) {
                if (ret_error && asprintf(&m, "%s at offset %zu", why, off) < 0)
                        return -ENOMEM;
                if (ret_error)
                        *ret_error = m;
                return -EBADMSG;
        }

        pthread_once(&strict_probe_once, strict_probe);
        if (strict_refuses_utf8 && has_non_ascii(buf, len)) {
                _cleanup_free_ char *escaped = NULL;
                size_t elen;
                int r;

                r = json_escape_non_ascii(buf, len, &escaped, &elen);
                if (r < 0)
                        return r;
                if (elen > INT32_MAX)
                        return -E2BIG;
                r = json_parse_strict(escaped, elen, ret, ret_error);
                if (r == -EBADMSG && ret_error && *ret_error)
                        remap_offset(ret_error, buf, len);
                return r;
        }

        tok = tokener_get();
        if (!tok)
                return -ENOMEM;

        o = json_tokener_parse_ex(tok, buf, (int) len);
        jerr = json_tokener_get_error(tok);
        off = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue)
                /* Input ended inside a value. For a top-level number json-c waits for more
                 * digits: feeding an empty terminator completes it. */
                o = json_tokener_parse_ex(tok, "", 1), jerr = json_tokener_get_error(tok);

        if (!o || jerr != json_tokener_success) {
                why = jerr == json_tokener_continue ? "unexpected end of input"
                                                    : json_tokener_error_desc(jerr);
                if (o)
                        json_object_put(o);
                json_tokener_reset(tok); /* drops what the failed parse had built */
                if (ret_error && asprintf(&m, "invalid JSON at offset %zu: %s", off, why) < 0)
                        return -ENOMEM;
                if (ret_error)
                        *ret_error = m;
                return -EBADMSG;
        }

        if (!all_numbers_finite(o)) {
                json_object_put(o);
                if (ret_error && asprintf(&m, "invalid JSON: numbers must be finite") < 0)
                        return -ENOMEM;
                if (ret_error)
                        *ret_error = m;
                return -EBADMSG;
        }

        /* Trailing whitespace is fine, anything else is not. */
        for (size_t i = off; i < len; i++)
                if (!strchr(" \t\r\n", buf[i])) {
                        json_object_put(o);
                        if (ret_error && asprintf(&m, "trailing data after JSON value at offset %zu", i) < 0)
                                return -ENOMEM;
                        if (ret_error)
                                *ret_error = m;
                        return -EBADMSG;
                }

        *ret = o;
        return 0;
}

int json_errors_add(json_object **errs, const char *field, const char *fmt, ...) {
        json_object *e;
        char *m = NULL;
        va_list ap;

        if (!errs)
                return -EINVAL;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        if (!m)
                return -ENOMEM;
        if (!*errs) {
                *errs = json_object_new_array();
                if (!*errs) {
                        free(m);
                        return -ENOMEM;
                }
        }
        e = json_object_new_object();
        if (!e) {
                free(m);
                return -ENOMEM;
        }
        json_object_object_add(e, "field", json_object_new_string(strempty(field)));
        json_object_object_add(e, "message", json_object_new_string(m));
        free(m);
        json_object_array_add(*errs, e);
        return 0;
}

const char *json_type_to_user_string(json_type t) {
        switch (t) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "boolean";
        case json_type_double:
                return "number";
        case json_type_int:
                return "integer";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "unknown";
}

/* Common lookup: 1 = found (ret_v set), 0 = absent optional, -EINVAL = error recorded. */
static int
lookup(json_object *obj, const char *field, bool required, json_object **errs, json_object **ret_v) {
        json_object *v = NULL;

        if (!obj || !json_object_is_type(obj, json_type_object)) {
                json_errors_add(errs, "", "request body must be a JSON object");
                return -EINVAL;
        }
        if (!json_object_object_get_ex(obj, field, &v) || !v) {
                /* An explicit null counts as absent. */
                if (required) {
                        json_errors_add(errs, field, "field is required");
                        return -EINVAL;
                }
                return 0;
        }
        *ret_v = v;
        return 1;
}

static int wrong_type(json_object **errs, const char *field, const char *want, json_object *v) {
        json_errors_add(
                errs, field, "must be %s, got %s", want, json_type_to_user_string(json_object_get_type(v)));
        return -EINVAL;
}

/* lookup() of a field that must have type (want: its name for the message). */
static int lookup_typed(
        json_object *obj,
        const char *field,
        bool required,
        json_type type,
        const char *want,
        json_object **errs,
        json_object **ret_v) {
        int r;

        r = lookup(obj, field, required, errs, ret_v);
        if (r <= 0)
                return r;
        if (!json_object_is_type(*ret_v, type))
                return wrong_type(errs, field, want, *ret_v);
        return 1;
}

int json_get_string(
        json_object *obj, const char *field, bool required, json_object **errs, const char **ret) {
        return json_get_string_bounded(obj, field, required, 0, 0, errs, ret);
}

int json_get_string_bounded(
        json_object *obj,
        const char *field,
        bool required,
        size_t min_len,
        size_t max_len,
        json_object **errs,
        const char **ret) {
        json_object *v;
        size_t l;
        int r;

        r = lookup_typed(obj, field, required, json_type_string, "a string", errs, &v);
        if (r <= 0)
                return r;
        l = (size_t) json_object_get_string_len(v);
        if (l < min_len) {
                json_errors_add(
                        errs,
                        field,
                        min_len == 1 ? "must not be empty" : "must be at least %zu bytes",
                        min_len);
                return -EINVAL;
        }
        if (max_len > 0 && l > max_len) {
                json_errors_add(errs, field, "must be at most %zu bytes", max_len);
                return -EINVAL;
        }
        /* A C string stops at the first NUL: what the caller checks would not be all of it. */
        if (strlen(json_object_get_string(v)) != l) {
                json_errors_add(errs, field, "must not contain a NUL character (\\u0000)");
                return -EINVAL;
        }
        *ret = json_object_get_string(v);
        return 1;
}

int json_get_int(
        json_object *obj,
        const char *field,
        bool required,
        int64_t min,
        int64_t max,
        json_object **errs,
        int64_t *ret) {
        json_object *v;
        int64_t i;
        int r;

        r = lookup(obj, field, required, errs, &v);
        if (r <= 0)
                return r;
        if (!json_object_is_type(v, json_type_int))
                return wrong_type(errs, field, "an integer", v);
        errno = 0;
        i = json_object_get_int64(v);
        /* json-c keeps values above INT64_MAX as uint64 and saturates get_int64. */
        if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX)
                i = INT64_MAX;
        if (i < min || i > max) {
                json_errors_add(errs, field, "must be between %" PRId64 " and %" PRId64, min, max);
                return -EINVAL;
        }
        *ret = i;
        return 1;
}

int json_get_double(
        json_object *obj,
        const char *field,
        bool required,
        double min,
        double max,
        json_object **errs,
        double *ret) {
        json_object *v;
        double d;
        int r;

        r = lookup(obj, field, required, errs, &v);
        if (r <= 0)
                return r;
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
                return wrong_type(errs, field, "a number", v);
        d = json_object_get_double(v);
        if (!isfinite(d) || d < min || d > max) {
                json_errors_add(errs, field, "must be between %g and %g", min, max);
                return -EINVAL;
        }
        *ret = d;
        return 1;
}

int json_get_bool(json_object *obj, const char *field, bool required, json_object **errs, bool *ret) {
        json_object *v;
        int r;

        r = lookup_typed(obj, field, required, json_type_boolean, "a boolean", errs, &v);
        if (r <= 0)
                return r;
        *ret = json_object_get_boolean(v);
        return 1;
}

int json_get_object(
        json_object *obj, const char *field, bool required, json_object **errs, json_object **ret) {
        json_object *v;
        int r;

        r = lookup_typed(obj, field, required, json_type_object, "an object", errs, &v);
        if (r <= 0)
                return r;
        *ret = v;
        return 1;
}

int json_get_array(
        json_object *obj, const char *field, bool required, json_object **errs, json_object **ret) {
        json_object *v;
        int r;

        r = lookup_typed(obj, field, required, json_type_array, "an array", errs, &v);
        if (r <= 0)
                return r;
        *ret = v;
        return 1;
}

bool json_has_nul_string(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string:
                return strlen(json_object_get_string(o)) != (size_t) json_object_get_string_len(o);
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (json_has_nul_string(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        case json_type_object: {
                json_object_object_foreach(o, k, v) {
                        (void) k;
                        if (json_has_nul_string(v))
                                return true;
                }
                return false;
        }
        default:
                return false;
        }
}

static int key_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int write_canonical(FILE *f, json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_object: {
                _cleanup_free_ const char **keys = NULL;
                size_t n = 0;
                bool first = true;

                keys = calloc((size_t) json_object_object_length(o) + 1, sizeof(char *));
                if (!keys)
                        return -ENOMEM;
                json_object_object_foreach(o, k, v) {
                        (void) v;
                        keys[n++] = k;
                }
                qsort(keys, n, sizeof(char *), key_cmp);
                fputc('{', f);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_json_ json_object *key = json_object_new_string(keys[i]);
                        int r;

                        if (!key)
                                return -ENOMEM;
                        if (!first)
                                fputc(',', f);
                        first = false;
                        fputs(json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN), f);
                        fputc(':', f);
                        r = write_canonical(f, json_object_object_get(o, keys[i]));
                        if (r < 0)
                                return r;
                }
                fputc('}', f);
                return 0;
        }
        case json_type_array:
                fputc('[', f);
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        int r;

                        if (i > 0)
                                fputc(',', f);
                        r = write_canonical(f, json_object_array_get_idx(o, i));
                        if (r < 0)
                                return r;
                }
                fputc(']', f);
                return 0;
        default: {
                size_t len = 0;
                /* Strings carry their length: an embedded \u0000 stays in the text. */
                const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);

                if (!t)
                        return -ENOMEM;
                fwrite(t, 1, len, f);
                return 0;
        }
        }
}

int json_canonical_string(json_object *o, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int r;

        if (!f)
                return -ENOMEM;
        r = write_canonical(f, o);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}
