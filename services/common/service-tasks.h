/* SPDX-License-Identifier: MIT */
/* service-tasks.h — what a service tells the orchestrator about its tasks, on GET /tasks:
 * each task's name, the route that runs it, the body field that selects it, whether running
 * it twice is harmless, its default timeout and what its request body is. A service writes
 * the list from its own dispatch table (ServiceDefinition.tasks); the orchestrator reads it
 * with service_tasks_parse(). One format, both sides in this file:
 *
 *   {"service": "nlp", "tasks": [{"name": "tokenize", "method": "POST", "path": "/process",
 *     "field": "task", "idempotent": true, "timeout_ms": 0, "stream": false,
 *     "body": "application/json", "fields": ["text", "language?", "options?"]}, ...]}
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "http-server.h"

#define SERVICE_TASKS_MAX 256
#define SERVICE_TASK_NAME_MAX 64
#define SERVICE_TASK_PATH_MAX 256

typedef struct ServiceTask {
        const char *name;
        const char *method; /* "POST" (NULL means POST) or "GET" */
        const char *path;   /* the route on the service */
        const char *field;  /* the body field naming the task ("task", "operation"); NULL = the
                             * route is this one task */
        bool idempotent;    /* running it twice is harmless: retried after a reset, re-run after a restart */
        uint64_t timeout_ms;       /* default job timeout; 0 = the orchestrator's for the service */
        bool stream;               /* answers "stream": true with a streamed body (SSE) */
        const char *body;          /* media type(s) of the request body; NULL for GET */
        const char *const *fields; /* the body's fields, NULL-terminated; "name?" = optional */
} ServiceTask;

/* ---- writing (a service) ----------------------------------------------------------- */

typedef struct ServiceTasks ServiceTasks;
/* Adds one task to the GET /tasks answer being built. */
int service_tasks_add(ServiceTasks *out, const ServiceTask *t);
/* The answer: {"service": name, "tasks": [...]} built by fill(out, userdata). */
int service_tasks_build(
        const char *service,
        int (*fill)(ServiceTasks *out, void *userdata),
        void *userdata,
        json_object **ret);

/* ---- reading (the orchestrator) ---------------------------------------------------- */

typedef struct ServiceTaskList {
        ServiceTask *tasks; /* strings point into root; fields is NULL (see root) */
        size_t n;
        json_object *root; /* the parsed answer; tasks[i] is root.tasks[i] */
} ServiceTaskList;

/* Parses and checks a GET /tasks answer: names of 1-64 [A-Za-z0-9_.-], unique; method POST
 * or GET; an absolute path of [A-Za-z0-9/_.-] without ".."; at most SERVICE_TASKS_MAX
 * tasks; "service" equal to service when that is not NULL. -EBADMSG with a message in err
 * when it is not such an answer. */
int service_tasks_parse(
        const char *text, size_t len, const char *service, ServiceTaskList *ret, char *err, size_t err_size);
void service_task_list_done(ServiceTaskList *l);
