/* SPDX-License-Identifier: MIT */
/* api-locks.c — /locks: named leases (take, renew, release, list) kept in the job store. */
#include <ctype.h>

#include "api-internal.h"
#include "http-query.h"

static bool lock_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("._:-", *s))
                        return false;
        return true;
}

int api_locks_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *list = NULL, *resp = json_object_new_object();
        int r;

        if (!resp)
                return -ENOMEM;
        r = job_store_lock_list(o->store, &list);
        if (r < 0)
                return r;
        json_object_object_add(resp, "locks", TAKE_PTR(list));
        return http_reply_json(req, 200, resp);
}

/* POST /locks/{name} {owner, ttl=30}: take a free or expired lease, or renew one's own;
 * 409 with the holder otherwise. */
int api_locks_acquire(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *lock = NULL;
        const char *name = http_request_param(req, "name"), *owner = NULL;
        double ttl = 30;
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        if (!lock_name_valid(name))
                (void) json_errors_add(&errs, "name", "must be 1-128 characters of [A-Za-z0-9._:-]");
        (void) json_get_string_bounded(in, "owner", true, 1, 128, &errs, &owner);
        (void) json_get_double(in, "ttl", false, 0.1, 86400, &errs, &ttl);
        if (errs)
                return http_reply_validation(req, errs);
        r = job_store_lock_acquire(o->store, name, owner, (uint64_t) (ttl * 1000.0), &lock);
        if (r == -EBUSY) {
                _cleanup_problem_ Problem *p = problem_newf(
                        409,
                        NULL,
                        "lock %s is held by %s",
                        name,
                        strempty(
                                lock ? json_object_get_string(json_object_object_get(lock, "owner"))
                                     : NULL));

                if (!p || problem_add_extension(p, "lock", TAKE_PTR(lock)) < 0)
                        return -ENOMEM;
                return http_reply_problem(req, p);
        }
        if (r < 0)
                return r;
        json_object_object_add(lock, "acquired", json_object_new_boolean(true));
        return http_reply_json(req, 200, lock);
}

/* DELETE /locks/{name}?owner=X */
int api_locks_release(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *resp = json_object_new_object();
        const char *name = http_request_param(req, "name");
        char owner[129];
        int r;

        if (!resp)
                return -ENOMEM;
        if (http_query_get(http_request_query(req), "owner", owner, sizeof(owner)) == 0 || !owner[0])
                return api_reply_400_field(req, "owner", "the owner query parameter is required");
        r = job_store_lock_release(o->store, name, owner);
        if (r == -ENOENT)
                return http_reply_error(req, 404, "lock %.128s is not held", name);
        if (r == -EPERM)
                return http_reply_error(req, 409, "lock %.128s is held by another owner", name);
        if (r < 0)
                return r;
        json_object_object_add(resp, "name", json_object_new_string(name));
        json_object_object_add(resp, "released", json_object_new_boolean(true));
        return http_reply_json(req, 200, resp);
}
