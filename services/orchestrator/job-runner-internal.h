/* SPDX-License-Identifier: MIT */
/* job-runner-internal.h — what job-runner.c (a job's life) and job-runner-grace.c (the
 * deferred synchronous jobs and their thread) share. */
#pragma once

#include "job-runner.h"

struct JobRunner {
        JobStore *store;
        Upstreams *upstreams;
        Scheduler *scheduler;
        pthread_mutex_t lock;
        Job *active;
        bool stopping;
        MetricsFamily *task_duration;
        bool redact;
        ResultCache *cache;        /* NULL = off */
        MetricsFamily *redactions; /* orch_redactions_total{kind} */
        void (*on_completed)(const Job *j, void *userdata);
        void *on_completed_userdata;

        /* Deferred synchronous jobs, oldest first, watched by the grace thread. */
        uint64_t grace_ms;
        pthread_t grace_thread;
        bool grace_started, grace_stop, grace_idle;
        pthread_mutex_t grace_lock;
        pthread_cond_t grace_cond;
        Job *grace_head, *grace_tail;
};

/* The job's row as job_store_insert() takes it. */
JobNew job_runner_row(const Job *j, const char *idempotency_key, const char *request_hash);

/* job-runner-grace.c: a synchronous job run at once is stored with its outcome, or as
 * running once it has run longer than grace_ms (the grace thread watches the list). */
void job_runner_grace_init(JobRunner *r);
int job_runner_grace_start(JobRunner *r);
/* Stops the thread and empties the list (the jobs stay as they are). */
void job_runner_grace_stop(JobRunner *r);
void job_runner_grace_done(JobRunner *r);
void job_runner_grace_list(JobRunner *r, Job *j);
void job_runner_grace_unlist(JobRunner *r, Job *j);
/* A deferred job that is still running (past its grace period, retrying, or stopped by
 * our shutdown) goes into the store as running, so that GET /jobs and a restart see it;
 * one still waiting for a slot (or dropped or cancelled meanwhile) goes in as pending. */
void job_runner_persist(JobRunner *r, Job *j);
/* Stores a job's outcome: one insert of the whole job when it was deferred, else a
 * transition (with the redaction counts first, so that no reader sees one without the
 * other). */
int job_runner_record_outcome(
        JobRunner *r, Job *j, JobStatus status, const char *result, const char *error, int error_status);
