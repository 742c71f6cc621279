/* SPDX-License-Identifier: MIT */
/* problem.c — builder and serializer for RFC 9457 problem details. */
#include <stdarg.h>

#include "problem.h"

struct Problem {
        int status;
        char *type, *title, *detail;
        json_object *errors;
        json_object *extensions; /* object, in the order added */
        json_object *relayed;    /* the upstream's problem object, or NULL */
};

const char *problem_status_reason(int status) {
        switch (status) {
        case 100:
                return "Continue";
        case 200:
                return "OK";
        case 201:
                return "Created";
        case 202:
                return "Accepted";
        case 204:
                return "No Content";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 409:
                return "Conflict";
        case 411:
                return "Length Required";
        case 413:
                return "Content Too Large";
        case 414:
                return "URI Too Long";
        case 415:
                return "Unsupported Media Type";
        case 417:
                return "Expectation Failed";
        case 421:
                return "Misdirected Request";
        case 422:
                return "Unprocessable Content";
        case 429:
                return "Too Many Requests";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        case 505:
                return "HTTP Version Not Supported";
        case 507:
                return "Insufficient Storage";
        }
        return "Unknown";
}

static const char *default_type(int status) {
        switch (status) {
        case 413:
                return PROBLEM_TYPE_BASE "payload-too-large";
        case 415:
                return PROBLEM_TYPE_BASE "unsupported-media-type";
        case 422:
                return PROBLEM_TYPE_BASE "validation";
        }
        return "about:blank";
}

Problem *problem_new(int status, const char *title, const char *detail) {
        Problem *p = calloc(1, sizeof(Problem));

        if (!p)
                return NULL;
        p->status = status;
        p->type = strdup(default_type(status));
        p->title = strdup(title ? title : problem_status_reason(status));
        p->detail = detail ? strdup(detail) : NULL;
        if (!p->type || !p->title || (detail && !p->detail)) {
                problem_free(p);
                return NULL;
        }
        return p;
}

Problem *problem_newv(int status, const char *title, const char *detail_fmt, va_list ap) {
        _cleanup_free_ char *d = NULL;

        if (vasprintf(&d, detail_fmt, ap) < 0)
                return NULL;
        return problem_new(status, title, d);
}

Problem *problem_newf(int status, const char *title, const char *detail_fmt, ...) {
        Problem *p;
        va_list ap;

        va_start(ap, detail_fmt);
        p = problem_newv(status, title, detail_fmt, ap);
        va_end(ap);
        return p;
}

int problem_for_fieldv(Problem **ret, int status, const char *field, const char *fmt, va_list ap) {
        _cleanup_free_ char *d = NULL;
        Problem *p;

        if (vasprintf(&d, fmt, ap) < 0)
                return -ENOMEM;
        p = problem_new(status, NULL, d);
        if (!p)
                return -ENOMEM;
        if (field && problem_add_error(p, field, d) < 0) {
                problem_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return status;
}

int problem_for_field(Problem **ret, int status, const char *field, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = problem_for_fieldv(ret, status, field, fmt, ap);
        va_end(ap);
        return r;
}

void problem_free(Problem *p) {
        if (!p)
                return;
        free(p->type);
        free(p->title);
        free(p->detail);
        if (p->errors)
                json_object_put(p->errors);
        if (p->extensions)
                json_object_put(p->extensions);
        if (p->relayed)
                json_object_put(p->relayed);
        free(p);
}

int problem_set_type(Problem *p, const char *type) {
        char *t = strdup(type);

        if (!t)
                return -ENOMEM;
        free(p->type);
        p->type = t;
        return 0;
}

int problem_add_extension(Problem *p, const char *name, json_object *value) {
        if (!p->extensions) {
                p->extensions = json_object_new_object();
                if (!p->extensions) {
                        json_object_put(value);
                        return -ENOMEM;
                }
        }
        return json_object_object_add(p->extensions, name, value) < 0 ? -ENOMEM : 0;
}

void problem_relay(Problem *p, json_object *upstream) {
        if (p->relayed)
                json_object_put(p->relayed);
        p->relayed = json_object_get(upstream);
}

int problem_get_status(const Problem *p) {
        return p->status;
}

int problem_add_error(Problem *p, const char *field, const char *message) {
        json_object *e;

        if (!p->errors) {
                p->errors = json_object_new_array();
                if (!p->errors)
                        return -ENOMEM;
        }
        e = json_object_new_object();
        if (!e)
                return -ENOMEM;
        json_object_object_add(e, "field", json_object_new_string(strempty(field)));
        json_object_object_add(e, "message", json_object_new_string(strempty(message)));
        if (json_object_array_add(p->errors, e) < 0) {
                json_object_put(e);
                return -ENOMEM;
        }
        return 0;
}

int problem_add_errors(Problem *p, json_object *errors) {
        size_t n;
        int r;

        if (!errors || !json_object_is_type(errors, json_type_array))
                return 0;
        n = json_object_array_length(errors);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(errors, i), *f = NULL, *m = NULL;

                json_object_object_get_ex(e, "field", &f);
                json_object_object_get_ex(e, "message", &m);
                r = problem_add_error(p, json_object_get_string(f), json_object_get_string(m));
                if (r < 0)
                        return r;
        }
        return 0;
}

static void add_extensions(const Problem *p, json_object *o) {
        if (!p->extensions)
                return;
        for (struct json_object_iterator it = json_object_iter_begin(p->extensions),
                                         end = json_object_iter_end(p->extensions);
             !json_object_iter_equal(&it, &end);
             json_object_iter_next(&it))
                json_object_object_add(
                        o,
                        json_object_iter_peek_name(&it),
                        json_object_get(json_object_iter_peek_value(&it)));
}

int problem_to_json(const Problem *p, const char *request_id, json_object **ret) {
        json_object *o;

        if (p->relayed) {
                o = json_object_get(p->relayed);
                if (p->detail && !json_object_object_get_ex(o, "detail", NULL))
                        json_object_object_add(o, "detail", json_object_new_string(p->detail));
                json_object_object_add(o, "status", json_object_new_int(p->status));
                add_extensions(p, o);
                *ret = o;
                return 0;
        }
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "type", json_object_new_string(p->type));
        json_object_object_add(o, "title", json_object_new_string(p->title));
        json_object_object_add(o, "status", json_object_new_int(p->status));
        if (p->detail)
                json_object_object_add(o, "detail", json_object_new_string(p->detail));
        if (p->errors)
                json_object_object_add(o, "errors", json_object_get(p->errors));
        if (request_id)
                json_object_object_add(o, "request_id", json_object_new_string(request_id));
        add_extensions(p, o);
        *ret = o;
        return 0;
}
