/* SPDX-License-Identifier: MIT */
/* workflow-run.h — running validated workflows as a job with child jobs. */
#pragma once

#include "workflow.h"

typedef struct Orchestrator Orchestrator;
typedef struct WorkflowRun WorkflowRun;

/* Persists the workflow job and starts its thread; takes over w (also on failure). The
 * workflow and its step jobs record submitter/role (NULL = auth off) as their owner. */
int workflow_run_start(
        Orchestrator *o,
        Workflow *w,
        const char *request_id,
        const char *submitter,
        const char *submitter_role,
        WorkflowRun **ret);
const char *workflow_run_id(WorkflowRun *r);
/* Waits until the workflow finished; -ETIMEDOUT after timeout_ms. */
int workflow_run_wait(WorkflowRun *r, uint64_t timeout_ms);
void workflow_run_unref(WorkflowRun *r);
static inline void workflow_run_unrefp(WorkflowRun **r) {
        if (*r)
                workflow_run_unref(*r);
}
/* Stops every workflow thread (at shutdown; they stay "running" in the store). */
void workflow_runs_stop(Orchestrator *o);
/* At start: workflows left unfinished by the previous run are failed with the reason. */
int workflow_runs_recover(Orchestrator *o);
