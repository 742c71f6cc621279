/* SPDX-License-Identifier: MIT */
/* workflow-run.h — running validated workflows as a job with child jobs. */
#pragma once

#include <pthread.h>

#include "job-runner.h"
#include "workflow.h"

typedef struct WorkflowRun WorkflowRun;

/* The workflows in flight and what their steps run on. */
typedef struct WorkflowRuns {
        JobStore *store;
        JobRunner *runner;
        const UpstreamConfig *upstream; /* the steps' timeouts */
        uint64_t max_timeout_ms;        /* a workflow's */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned running;
        unsigned resumed; /* workflows picked up again at start */
        bool stopping;
} WorkflowRuns;

void workflow_runs_init(WorkflowRuns *runs, const UpstreamConfig *upstream, uint64_t max_timeout_ms);
/* Opened store and runner (after job_runner_recover): workflows left unfinished by the
 * previous run go on where they were. Finished steps are not run again; a running step's
 * job was recovered like any job (re-run if idempotent) and is waited for; the rest start
 * as their dependencies complete. One that cannot go on (its definition no longer
 * validates, a finished step's job is gone) is failed with the reason. */
int workflow_runs_start(WorkflowRuns *runs, JobStore *store, JobRunner *runner);
/* With leases (a shared store): takes up to max workflows whose orchestrator stopped
 * renewing their leases, and resumes them as at a start. */
int workflow_runs_take_over(WorkflowRuns *runs, unsigned max, unsigned *ret_taken);
/* Stops every workflow thread (at shutdown; they stay "running" in the store). */
void workflow_runs_stop(WorkflowRuns *runs);
void workflow_runs_done(WorkflowRuns *runs);

/* Persists the workflow job and starts its thread; takes over w (also on failure). The
 * workflow and its step jobs record submitter/role (NULL = auth off) as their owner. */
int workflow_run_start(
        WorkflowRuns *runs,
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
