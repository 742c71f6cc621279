/* SPDX-License-Identifier: MIT */
/* data-http.c — what the data service's HTTP handlers share: a DataError as a
 * problem+json reply, and plain words out of a raw query string. */
#include "data-service.h"

int data_reply_error(HttpRequest *req, DataError *err) {
        _cleanup_problem_ Problem *p = problem_new(err->status, NULL, err->detail);

        if (!p)
                return -ENOMEM;
        if (err->errors && problem_add_errors(p, err->errors) < 0)
                return -ENOMEM;
        return http_reply_problem(req, p);
}

bool data_query_param(const char *query, const char *key, char *buf, size_t size) {
        size_t kl = strlen(key);

        for (const char *p = query; p && *p;) {
                const char *end = strchrnul(p, '&');
                if ((size_t) (end - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
                        size_t n = (size_t) (end - p) - kl - 1;
                        if (n >= size)
                                return false;
                        memcpy(buf, p + kl + 1, n);
                        buf[n] = '\0';
                        return true;
                }
                p = *end ? end + 1 : end;
        }
        return false;
}
