/* SPDX-License-Identifier: MIT */
/* json-util.h — strict JSON parsing of untrusted bodies and typed field access that
 * collects validation errors ({field, message}) instead of failing on the first. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "macro.h"

#define JSON_MAX_DEPTH 64

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parses exactly one JSON value filling buf[0..len): strict RFC 8259, valid UTF-8, no
 * NUL bytes, no \u0000 in object keys (json-c would cut the key there), no trailing
 * garbage, nesting at most JSON_MAX_DEPTH. Returns -EBADMSG and
 * (if ret_error) a message with the byte offset; -ENOMEM on allocation failure. */
int json_parse_strict(const char *buf, size_t len, json_object **ret, char **ret_error);

/* buf (which must pass json_parse_strict's lexical checks) with every non-ASCII character
 * written as its \uXXXX escape (a surrogate pair beyond the BMP): the same JSON, in ASCII.
 * json_parse_strict() uses it where json-c's strict mode refuses UTF-8 (json-c 0.18). */
int json_escape_non_ascii(const char *buf, size_t len, char **ret, size_t *ret_len);

/* Appends {field, message} to *errs (an array created on first use). */
int json_errors_add(json_object **errs, const char *field, const char *fmt, ...) _printf_(3, 4);

/* Whether any string in o (nested at any depth) has an embedded NUL (\u0000): such a
 * string read as a C string is shorter than what was sent. */
bool json_has_nul_string(json_object *o);

/* Field getters: return 1 when the field is present and valid (ret set), 0 when it is
 * absent and optional (ret untouched), -EINVAL after appending to *errs when it is
 * missing but required, of the wrong type, or out of bounds. obj that is not an object
 * is reported as field "" once per call. Strings and containers are borrowed from obj;
 * a string with an embedded NUL (\u0000) is refused, naming the field. */
int json_get_string(
        json_object *obj, const char *field, bool required, json_object **errs, const char **ret);
/* Like json_get_string with a length bound in bytes (0 = none) and non-empty check. */
int json_get_string_bounded(
        json_object *obj,
        const char *field,
        bool required,
        size_t min_len,
        size_t max_len,
        json_object **errs,
        const char **ret);
int json_get_int(
        json_object *obj,
        const char *field,
        bool required,
        int64_t min,
        int64_t max,
        json_object **errs,
        int64_t *ret);
int json_get_double(
        json_object *obj,
        const char *field,
        bool required,
        double min,
        double max,
        json_object **errs,
        double *ret);
int json_get_bool(json_object *obj, const char *field, bool required, json_object **errs, bool *ret);
int json_get_object(
        json_object *obj, const char *field, bool required, json_object **errs, json_object **ret);
int json_get_array(
        json_object *obj, const char *field, bool required, json_object **errs, json_object **ret);

/* Name of a json-c type as users know it ("string", "integer", "object", ...). */
const char *json_type_to_user_string(json_type t);

/* o in a canonical text: object keys sorted by their bytes, no whitespace, scalars as
 * json-c writes them (so two bodies that differ only in key order or spacing give the same
 * text). */
int json_canonical_string(json_object *o, char **ret, size_t *ret_len);
