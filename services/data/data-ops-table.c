/* SPDX-License-Identifier: MIT */
/* data-ops-table.c — the operations of POST /process by name: the one list, which also
 * answers GET /tasks and names them in errors. */
#include <pthread.h>

#include "data-ops.h"

static const struct {
        const char *name;
        DataOpFn fn;
} ops[] = {
        { "analyze", data_op_analyze },     { "transform", data_op_transform },
        { "aggregate", data_op_aggregate }, { "filter", data_op_filter },
        { "validate", data_op_validate },   { "query", data_op_query },
        { "convert", data_op_convert },     { "plot", data_op_plot },
};

DataOpFn data_op_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(ops[i].name, name))
                        return ops[i].fn;
        return NULL;
}

static char names[256];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_init(void) {
        size_t used = 0;

        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                int k = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", ops[i].name);

                if (k < 0 || (size_t) k >= sizeof(names) - used)
                        break;
                used += (size_t) k;
        }
}

const char *data_op_names(void) {
        pthread_once(&names_once, names_init);
        return names;
}

int data_ops_tasks(ServiceTasks *out, void *userdata) {
        static const char *const fields[] = { "operation", "data", "options?", NULL };

        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                /* Pure functions of their input (plot with output "file" rewrites the same
                 * file): idempotent. JSON through the orchestrator; text/csv with
                 * ?operation= directly. */
                int r = service_tasks_add(
                        out,
                        &(ServiceTask){
                                .name = ops[i].name,
                                .path = "/process",
                                .field = "operation",
                                .idempotent = true,
                                .body = "application/json",
                                .fields = fields,
                        });
                if (r < 0)
                        return r;
        }
        return 0;
}
