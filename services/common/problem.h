/* SPDX-License-Identifier: MIT */
/* problem.h — RFC 9457 problem details (application/problem+json) for every 4xx/5xx. */
#pragma once

#include <json-c/json.h>

#include "macro.h"

#define PROBLEM_CONTENT_TYPE "application/problem+json"
#define PROBLEM_TYPE_BASE "https://ai-semble.dev/problems/"

typedef struct Problem Problem;

/* A problem with the given status; type defaults to a per-status URI under
 * PROBLEM_TYPE_BASE for the statuses we emit on purpose (validation, malformed-json, ...)
 * and "about:blank" otherwise. title NULL = the status' reason phrase. Returns NULL on OOM. */
Problem *problem_new(int status, const char *title, const char *detail);
Problem *problem_newf(int status, const char *title, const char *detail_fmt, ...) _printf_(3, 4);
/* *ret = a problem whose detail is the formatted text, also given as the error of field
 * when field is not NULL. Returns status, or -ENOMEM. */
int problem_for_field(Problem **ret, int status, const char *field, const char *fmt, ...) _printf_(4, 5);
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
int problem_get_status(const Problem *p);
/* {type, title, status, detail, errors?, request_id?}; request_id NULL = omitted. */
int problem_to_json(const Problem *p, const char *request_id, json_object **ret);

/* Reason phrase of an HTTP status ("Not Found"), "Unknown" when we don't know it. */
const char *problem_status_reason(int status);
