/* SPDX-License-Identifier: MIT */
/* lease-keeper.h — with several orchestrators on one store: the one thread that renews this
 * orchestrator's leases on its unfinished jobs, and takes over the jobs and workflows of an
 * orchestrator that stopped renewing its own (killed, its host gone): every lease_ms / 3. */
#pragma once

#include "job-runner.h"
#include "job-store.h"
#include "workflow-run.h"

typedef struct LeaseKeeper LeaseKeeper;

/* The store has its leases set (job_store_set_lease). */
int lease_keeper_start(
        JobStore *store, JobRunner *runner, WorkflowRuns *workflows, uint64_t lease_ms, LeaseKeeper **ret);
/* One pass: renew, then take over what expired. The thread's pass; tests call it. */
int lease_keeper_tick(LeaseKeeper *k, unsigned *ret_taken);
/* Stops and joins the thread (NULL is a no-op). */
void lease_keeper_free(LeaseKeeper *k);
