/* SPDX-License-Identifier: MIT */
/* job-runner-grace.c — deferred synchronous jobs: a job run by the request's own thread is
 * not stored before it runs; it goes in with its outcome (one commit), or once it
 * outlives the grace period, which the grace thread watches: as running, or as pending
 * while it still waits for a slot. */
#include "job-runner-internal.h"
#include "log.h"
#include "time-util.h"

JobNew job_runner_row(const Job *j, const char *idempotency_key, const char *request_hash) {
        return (JobNew){
                .id = j->id,
                .service = upstream_service_to_string(j->task->service),
                .task = j->task->name,
                .priority = job_priority_to_string(j->priority),
                .payload = j->payload,
                .timeout_ms = j->timeout_ms,
                .idempotency_key = idempotency_key,
                .request_hash = request_hash,
                .guardrail_flags = j->guardrail_flags,
                .submitter = j->submitter,
                .submitter_role = j->submitter_role,
                .cached = j->cached,
                .schedule_id = j->schedule_id,
                .run_at = j->run_at,
                .trace_id = j->trace.trace_id,
        };
}

void job_runner_grace_unlist(JobRunner *r, Job *j) {
        bool listed;

        pthread_mutex_lock(&r->grace_lock);
        listed = j->grace_listed;
        if (listed) {
                if (j->grace_prev)
                        j->grace_prev->grace_next = j->grace_next;
                else
                        r->grace_head = j->grace_next;
                if (j->grace_next)
                        j->grace_next->grace_prev = j->grace_prev;
                else
                        r->grace_tail = j->grace_prev;
                j->grace_prev = j->grace_next = NULL;
                j->grace_listed = false;
        }
        pthread_mutex_unlock(&r->grace_lock);
        if (listed)
                job_unref(j);
}

void job_runner_grace_list(JobRunner *r, Job *j) {
        bool wake;

        pthread_mutex_lock(&r->grace_lock);
        j->grace_at_ms = time_now_ms(CLOCK_MONOTONIC) + r->grace_ms;
        j->grace_prev = r->grace_tail;
        j->grace_next = NULL;
        if (r->grace_tail)
                r->grace_tail->grace_next = j;
        else
                r->grace_head = j;
        r->grace_tail = job_ref(j);
        j->grace_listed = true;
        wake = r->grace_idle;
        r->grace_idle = false;
        pthread_mutex_unlock(&r->grace_lock);
        if (wake)
                pthread_cond_signal(&r->grace_cond);
}

void job_runner_persist(JobRunner *r, Job *j) {
        int k = 0;

        pthread_mutex_lock(&j->persist_lock);
        if (j->deferred) {
                JobNew n = job_runner_row(j, NULL, NULL);

                n.created_at = j->created_at;
                n.started_at = j->started_at;
                n.running = j->started;
                k = job_store_insert(r->store, &n);
                if (k >= 0)
                        j->deferred = false;
        }
        pthread_mutex_unlock(&j->persist_lock);
        if (k < 0) /* the outcome's insert tries again */
                log_warning_errno(k, "Failed to record job %s: %m", j->id);
}

int job_runner_record_outcome(
        JobRunner *r, Job *j, JobStatus status, const char *result, const char *error, int error_status) {
        int k;

        job_runner_grace_unlist(r, j);
        pthread_mutex_lock(&j->persist_lock);
        if (j->deferred) {
                JobOutcome out = {
                        .status = status,
                        .result = result,
                        .error = error,
                        .error_status = error_status,
                        .redactions = status == JOB_COMPLETED ? j->redactions : NULL,
                };
                JobNew n = job_runner_row(j, NULL, NULL);

                n.created_at = j->created_at;
                n.started_at = j->started_at;
                n.outcome = &out;
                k = job_store_insert(r->store, &n);
                if (k >= 0)
                        j->deferred = false;
                else
                        j->store_error = k;
        } else {
                k = 0;
                if (status == JOB_COMPLETED && j->redactions)
                        k = job_store_set_redactions(r->store, j->id, j->redactions);
                if (k >= 0)
                        k = job_store_transition(r->store, j->id, status, result, error, error_status);
        }
        pthread_mutex_unlock(&j->persist_lock);
        return k;
}

static void *grace_thread(void *userdata) {
        JobRunner *r = userdata;

        pthread_mutex_lock(&r->grace_lock);
        while (!r->grace_stop) {
                uint64_t now = time_now_ms(CLOCK_MONOTONIC);
                Job *j = r->grace_head;
                struct timespec ts;

                if (!j) {
                        r->grace_idle = true;
                        pthread_cond_wait(&r->grace_cond, &r->grace_lock);
                        continue;
                }
                if (j->grace_at_ms > now) {
                        /* At least a quarter of the grace period between rounds: jobs that
                         * finish in time leave the list themselves, and this thread must
                         * not wake for each of them. */
                        ts = timespec_deadline_ms(MAX(j->grace_at_ms - now, r->grace_ms / 4));
                        (void) pthread_cond_timedwait(&r->grace_cond, &r->grace_lock, &ts);
                        continue;
                }
                job_ref(j);
                pthread_mutex_unlock(&r->grace_lock);
                job_runner_grace_unlist(r, j);
                job_runner_persist(r, j);
                job_unref(j);
                pthread_mutex_lock(&r->grace_lock);
        }
        pthread_mutex_unlock(&r->grace_lock);
        return NULL;
}

void job_runner_grace_init(JobRunner *r) {
        pthread_mutex_init(&r->grace_lock, NULL);
        pthread_cond_init(&r->grace_cond, NULL);
}

int job_runner_grace_start(JobRunner *r) {
        int k;

        if (r->grace_ms == 0)
                return 0;
        k = -pthread_create(&r->grace_thread, NULL, grace_thread, r);
        r->grace_started = k >= 0;
        return k;
}

void job_runner_grace_stop(JobRunner *r) {
        if (r->grace_started) {
                pthread_mutex_lock(&r->grace_lock);
                r->grace_stop = true;
                pthread_cond_signal(&r->grace_cond);
                pthread_mutex_unlock(&r->grace_lock);
                (void) pthread_join(r->grace_thread, NULL);
        }
        while (r->grace_head)
                job_runner_grace_unlist(r, r->grace_head);
}

void job_runner_grace_done(JobRunner *r) {
        pthread_cond_destroy(&r->grace_cond);
        pthread_mutex_destroy(&r->grace_lock);
}
