/* SPDX-License-Identifier: MIT */
/* service-tasks.c — see service-tasks.h: the GET /tasks answer, written and read. */
#include <string.h>

#include "json-util.h"
#include "service-tasks.h"

struct ServiceTasks {
        json_object *array;
};

int service_tasks_add(ServiceTasks *out, const ServiceTask *t) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *fields = NULL;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "name", json_object_new_string(t->name));
        json_object_object_add(o, "method", json_object_new_string(t->method ?: "POST"));
        json_object_object_add(o, "path", json_object_new_string(t->path));
        json_object_object_add(o, "field", t->field ? json_object_new_string(t->field) : NULL);
        json_object_object_add(o, "idempotent", json_object_new_boolean(t->idempotent));
        json_object_object_add(o, "timeout_ms", json_object_new_int64((int64_t) t->timeout_ms));
        json_object_object_add(o, "stream", json_object_new_boolean(t->stream));
        json_object_object_add(o, "body", t->body ? json_object_new_string(t->body) : NULL);
        if (t->fields) {
                fields = json_object_new_array();
                if (!fields)
                        return -ENOMEM;
                json_object_object_add(o, "fields", fields);
                for (size_t i = 0; t->fields[i]; i++)
                        if (json_object_array_add(fields, json_object_new_string(t->fields[i])) < 0)
                                return -ENOMEM;
        }
        if (json_object_array_add(out->array, o) < 0)
                return -ENOMEM;
        o = NULL;
        return 0;
}

int service_tasks_build(
        const char *service,
        int (*fill)(ServiceTasks *out, void *userdata),
        void *userdata,
        json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        ServiceTasks out = { .array = json_object_new_array() };
        int r;

        if (!o || !out.array) {
                json_object_put(out.array);
                return -ENOMEM;
        }
        json_object_object_add(o, "service", json_object_new_string(service));
        json_object_object_add(o, "tasks", out.array);
        r = fill(&out, userdata);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static bool chars_ok(const char *s, size_t min, size_t max, const char *extra) {
        size_t n = strlen(s);

        if (n < min || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
                    !(s[i] >= '0' && s[i] <= '9') && !strchr(extra, s[i]))
                        return false;
        return true;
}

/* One task of the answer into *t (strings borrowed from o); false with err set. */
static bool parse_task(json_object *o, size_t i, ServiceTask *t, char *err, size_t err_size) {
        _cleanup_json_ json_object *errs = NULL;
        const char *method = "POST";
        int64_t timeout = 0;

        *t = (ServiceTask){};
        (void) json_get_string(o, "name", true, &errs, &t->name);
        (void) json_get_string(o, "method", false, &errs, &method);
        (void) json_get_string(o, "path", true, &errs, &t->path);
        if (json_object_object_get_ex(o, "field", NULL) && json_object_object_get(o, "field"))
                (void) json_get_string(o, "field", false, &errs, &t->field);
        (void) json_get_bool(o, "idempotent", false, &errs, &t->idempotent);
        (void) json_get_int(o, "timeout_ms", false, 0, 3600000, &errs, &timeout);
        (void) json_get_bool(o, "stream", false, &errs, &t->stream);
        if (json_object_object_get_ex(o, "body", NULL) && json_object_object_get(o, "body"))
                (void) json_get_string_bounded(o, "body", false, 1, 128, &errs, &t->body);
        if (errs) {
                json_object *e = json_object_array_get_idx(errs, 0);

                snprintf(
                        err,
                        err_size,
                        "tasks[%zu].%s: %s",
                        i,
                        json_object_get_string(json_object_object_get(e, "field")),
                        json_object_get_string(json_object_object_get(e, "message")));
                return false;
        }
        t->timeout_ms = (uint64_t) timeout;
        if (!chars_ok(t->name, 1, SERVICE_TASK_NAME_MAX, "_.-"))
                snprintf(err, err_size, "tasks[%zu].name: 1-64 letters, digits, _ . -", i);
        else if (!streq(method, "POST") && !streq(method, "GET"))
                snprintf(err, err_size, "tasks[%zu].method: POST or GET", i);
        else if (
                t->path[0] != '/' || strstr(t->path, "..") ||
                !chars_ok(t->path, 1, SERVICE_TASK_PATH_MAX, "/_.-"))
                snprintf(err, err_size, "tasks[%zu].path: an absolute path of letters, digits, / _ . -", i);
        else if (t->field && !chars_ok(t->field, 1, 64, "_"))
                snprintf(err, err_size, "tasks[%zu].field: 1-64 letters, digits, _", i);
        else {
                t->method = streq(method, "GET") ? "GET" : "POST";
                return true;
        }
        return false;
}

int service_tasks_parse(
        const char *text,
        size_t len,
        const char *service,
        ServiceTaskList *ret,
        char *err,
        size_t err_size) {
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ ServiceTask *tasks = NULL;
        json_object *array, *v;
        size_t n;
        int r;

        r = json_parse_strict(text, len, &root, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_object_is_type(root, json_type_object)) {
                snprintf(err, err_size, "not a JSON object");
                return -EBADMSG;
        }
        if (service &&
            (!json_object_object_get_ex(root, "service", &v) || !json_object_is_type(v, json_type_string) ||
             !streq(json_object_get_string(v), service))) {
                snprintf(err, err_size, "\"service\" is not \"%s\"", service);
                return -EBADMSG;
        }
        if (!json_object_object_get_ex(root, "tasks", &array) ||
            !json_object_is_type(array, json_type_array)) {
                snprintf(err, err_size, "\"tasks\" is not an array");
                return -EBADMSG;
        }
        n = json_object_array_length(array);
        if (n > SERVICE_TASKS_MAX) {
                snprintf(err, err_size, "more than %d tasks", SERVICE_TASKS_MAX);
                return -EBADMSG;
        }
        tasks = calloc(MAX(n, (size_t) 1), sizeof(ServiceTask));
        if (!tasks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(array, i);

                if (!json_object_is_type(o, json_type_object)) {
                        snprintf(err, err_size, "tasks[%zu] is not an object", i);
                        return -EBADMSG;
                }
                if (!parse_task(o, i, &tasks[i], err, err_size))
                        return -EBADMSG;
                for (size_t k = 0; k < i; k++)
                        if (streq(tasks[k].name, tasks[i].name)) {
                                snprintf(err, err_size, "tasks[%zu].name: \"%s\" twice", i, tasks[i].name);
                                return -EBADMSG;
                        }
        }
        *ret = (ServiceTaskList){ .tasks = TAKE_PTR(tasks), .n = n, .root = TAKE_PTR(root) };
        return 0;
}

void service_task_list_done(ServiceTaskList *l) {
        free(l->tasks);
        json_object_put(l->root);
        *l = (ServiceTaskList){};
}
