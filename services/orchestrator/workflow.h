/* SPDX-License-Identifier: MIT */
/* workflow.h — POST /workflows: a DAG of steps validated at submit (unknown service or
 * task, missing dependency, cycle, bad $ref, too many steps → 422 naming the step), run
 * as child jobs in dependency order with independent steps in parallel; a step's input
 * may take an earlier step's output by JSON pointer: {"$ref": "ocr#/results/text"}. */
#pragma once

#include <json-c/json.h>

#include "upstream.h"

#define WORKFLOW_MAX_STEPS 32
#define WORKFLOW_STEP_ID_MAX 64

typedef struct WorkflowStep {
        const char *id; /* borrowed from the definition */
        const UpstreamTask *task;
        json_object *input; /* borrowed */
        unsigned deps[WORKFLOW_MAX_STEPS];
        size_t n_deps;
        bool continue_on_error;
        const char *lock; /* a /locks name held while the step runs, or NULL */
} WorkflowStep;

typedef struct Workflow {
        json_object *def; /* owned */
        WorkflowStep steps[WORKFLOW_MAX_STEPS];
        size_t n_steps;
} Workflow;

/* Validates def (a reference is taken); on invalid input returns -EINVAL with every
 * problem appended to *errs as {field: "steps[i].x", message}. */
int workflow_parse(json_object *def, Workflow **ret, json_object **errs);
void workflow_free(Workflow *w);
static inline void workflow_freep(Workflow **w) {
        if (*w)
                workflow_free(*w);
}
/* A deep copy of step i's input with every {"$ref": "step#/pointer"} replaced by that
 * part of outputs[step]. -ENOENT (and *ret_error) when a pointer finds nothing. */
int workflow_resolve_input(
        const Workflow *w, size_t i, json_object *const *outputs, json_object **ret, char **ret_error);
/* Index of a step id, or -1. */
int workflow_step_index(const Workflow *w, const char *id);
