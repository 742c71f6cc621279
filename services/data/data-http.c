/* SPDX-License-Identifier: MIT */
/* data-http.c — what the data service's HTTP handlers share: a DataError as a
 * problem+json reply (query strings go through common's http_query_get()). */
#include "data-service.h"

int data_reply_error(HttpRequest *req, DataError *err) {
        _cleanup_problem_ Problem *p = problem_new(err->status, NULL, err->detail);

        if (!p)
                return -ENOMEM;
        if (err->errors && problem_add_errors(p, err->errors) < 0)
                return -ENOMEM;
        return http_reply_problem(req, p);
}
