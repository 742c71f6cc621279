/* SPDX-License-Identifier: MIT */
/* problem.h — RFC 9457 problem details (application/problem+json) for every 4xx/5xx. */
#pragma once

#include <json-c/json.h>
#include <stdarg.h>

#include "macro.h"

#define PROBLEM_CONTENT_TYPE "application/problem+json"
#define PROBLEM_TYPE_BASE "https://ai-semble.dev/problems/"

typedef struct Problem Problem;

/* A problem with the given status; type defaults to a per-status URI under
 * PROBLEM_TYPE_BASE for the statuses we emit on purpose (validation, malformed-json, ...)
 * and "about:blank" otherwise. title NULL = the status' reason phrase. Returns NULL on OOM. */
Problem *problem_new(int status, const char *title, const char *detail);
Problem *problem_newf(int status, const char *title, const char *detail_fmt, ...) _printf_(3, 4);
Problem *problem_newv(int status, const char *title, const char *detail_fmt, va_list ap) _printf_(3, 0);
/* *ret = a problem whose detail is the formatted text, also given as the error of field
 * when field is not NULL. Returns status, or -ENOMEM. */
int problem_for_field(Problem **ret, int status, const char *field, const char *fmt, ...) _printf_(4, 5);
int problem_for_fieldv(Problem **ret, int status, const char *field, const char *fmt, va_list ap)
        _printf_(4, 0);
void problem_free(Problem *p);
static inline void problem_freep(Problem **p) {
        if (*p)
                problem_free(*p);
}
#define _cleanup_problem_ _cleanup_(problem_freep)

int problem_set_type(Problem *p, const char *type);
int problem_add_error(Problem *p, const char *field, const char *message);
/* Appends every {field, message} of an array made by json_errors_add(). */
int problem_add_errors(Problem *p, json_object *errors);
/* An extension member (RFC 9457 section 3.2: "job_id", "service", "rule", ...), written after
 * the standard ones; value is taken over (NULL = JSON null). A later one of the same name wins. */
int problem_add_extension(Problem *p, const char *name, json_object *value);
/* Relays an upstream's own problem object: the JSON is that object (a reference is taken)
 * with our status, our detail when it has none, and the extensions; type, title, errors
 * and request_id stay the upstream's. */
void problem_relay(Problem *p, json_object *upstream);
int problem_get_status(const Problem *p);
/* {type, title, status, detail, errors?, request_id?, extensions...}; request_id NULL =
 * omitted. */
int problem_to_json(const Problem *p, const char *request_id, json_object **ret);

/* Reason phrase of an HTTP status ("Not Found"), "Unknown" when we don't know it. */
const char *problem_status_reason(int status);
