/* SPDX-License-Identifier: MIT */
/* lease-keeper.c — see lease-keeper.h. A failed renewal is logged once per cause and
 * tried again next pass: the leases last lease_ms, so two missed passes still hold them. */
#include <string.h>

#include "lease-keeper.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

/* Jobs and workflows taken over in one pass; what is left waits for the next one. */
#define TAKE_JOBS_MAX 256
#define TAKE_WORKFLOWS_MAX 64

struct LeaseKeeper {
        JobStore *store;
        JobRunner *runner;
        WorkflowRuns *workflows;
        uint64_t lease_ms, period_ms;
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        int last_error; /* logged once until it changes */
};

int lease_keeper_tick(LeaseKeeper *k, unsigned *ret_taken) {
        unsigned jobs = 0, workflows = 0, orphans = 0;
        int r;

        r = job_store_lease_renew(k->store);
        if (r >= 0)
                r = job_runner_take_over(k->runner, TAKE_JOBS_MAX, &jobs);
        /* Our own, lost from memory (e.g. their outcome's write failed with the database
         * connection): unchanged for a whole lease, so not a job still being queued. */
        if (r >= 0)
                r = job_runner_adopt_orphans(
                        k->runner, time_now_s(CLOCK_REALTIME) - (double) k->lease_ms / 1000.0, &orphans);
        if (r >= 0)
                r = workflow_runs_take_over(k->workflows, TAKE_WORKFLOWS_MAX, &workflows);
        if (ret_taken)
                *ret_taken = jobs + workflows + orphans;
        return r;
}

static void *keeper_thread(void *userdata) {
        LeaseKeeper *k = userdata;

        pthread_mutex_lock(&k->lock);
        while (!k->stop) {
                struct timespec ts = timespec_deadline_ms(k->period_ms);
                unsigned taken;
                int r;

                (void) pthread_cond_timedwait(&k->cond, &k->lock, &ts);
                if (k->stop)
                        break;
                pthread_mutex_unlock(&k->lock);
                r = lease_keeper_tick(k, &taken);
                if (taken > 0)
                        log_info(
                                "took over %u jobs whose orchestrator stopped renewing their leases, or that this one lost",
                                taken);
                if (r < 0 && r != k->last_error)
                        log_warning_errno(
                                r,
                                "Lease renewal or takeover failed (tried again in %" PRIu64 " ms): %m",
                                k->period_ms);
                else if (r >= 0 && k->last_error < 0)
                        log_info("leases renewed again");
                k->last_error = r < 0 ? r : 0;
                pthread_mutex_lock(&k->lock);
        }
        pthread_mutex_unlock(&k->lock);
        return NULL;
}

int lease_keeper_start(
        JobStore *store, JobRunner *runner, WorkflowRuns *workflows, uint64_t lease_ms, LeaseKeeper **ret) {
        LeaseKeeper *k;
        int r;

        if (!job_store_leasing(store) || lease_ms < 3)
                return -EINVAL;
        k = calloc(1, sizeof(LeaseKeeper));
        if (!k)
                return -ENOMEM;
        *k = (LeaseKeeper){ .store = store,
                            .runner = runner,
                            .workflows = workflows,
                            .lease_ms = lease_ms,
                            .period_ms = lease_ms / 3 };
        pthread_mutex_init(&k->lock, NULL);
        pthread_cond_init(&k->cond, NULL);
        r = -pthread_create(&k->thread, NULL, keeper_thread, k);
        if (r < 0) {
                lease_keeper_free(k);
                return r;
        }
        k->started = true;
        *ret = k;
        return 0;
}

void lease_keeper_free(LeaseKeeper *k) {
        if (!k)
                return;
        if (k->started) {
                pthread_mutex_lock(&k->lock);
                k->stop = true;
                pthread_cond_signal(&k->cond);
                pthread_mutex_unlock(&k->lock);
                (void) pthread_join(k->thread, NULL);
        }
        pthread_cond_destroy(&k->cond);
        pthread_mutex_destroy(&k->lock);
        free(k);
}
