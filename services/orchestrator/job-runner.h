/* SPDX-License-Identifier: MIT */
/* job-runner.h — jobs in flight: persisted through the job store, queued on the
 * scheduler, run against an upstream service by a worker, waited for by synchronous
 * requests, cancelled by DELETE, re-queued after a restart. */
#pragma once

#include <pthread.h>

#include "job-store.h"
#include "metrics.h"
#include "result-cache.h"
#include "scheduler.h"
#include "trace.h"
#include "upstream.h"

/* A job whose answer is relayed as it arrives (the /v1 streams): the service's headers
 * and body pieces go to these callbacks (on the thread that runs the job; < 0 aborts the
 * call), and the job keeps the first JOB_RELAY_KEEP bytes of the body as its result. */
typedef struct JobRelay {
        int (*on_header)(const char *name, const char *value, void *userdata);
        int (*on_data)(long status, const char *buf, size_t len, void *userdata);
        void *userdata;
        char job_id[37]; /* set before the job runs, for the relayed head */
} JobRelay;

#define JOB_RELAY_KEEP (1024 * 1024)
/* What a relayed body longer than JOB_RELAY_KEEP keeps of its end (Job.relay_tail): where
 * a stream says its token usage. */
#define JOB_RELAY_TAIL (16 * 1024)

typedef enum JobCacheMode {
        JOB_CACHE_OFF,     /* not a cacheable task (or no cache) */
        JOB_CACHE_USE,     /* answered from the cache when it has the key */
        JOB_CACHE_REFRESH, /* always run; its answer replaces the kept one */
} JobCacheMode;

typedef struct Job {
        int refs;
        char id[37];
        const UpstreamTask *task;
        JobPriority priority;
        char *payload; /* JSON text sent upstream */
        size_t payload_len;
        uint64_t timeout_ms;
        uint64_t deadline_ms; /* monotonic: queue wait counts against the timeout */
        char request_id[129];
        TraceContext trace;      /* the submitting request's span; "" trace id = not traced */
        char submitter[129];     /* JWT sub of who asked for it; "" = auth off */
        char submitter_role[16]; /* that token's role */
        char schedule_id[37];    /* the schedule whose run it is; "" = none */
        double run_at;           /* Unix seconds: later than now = wait in the store until then */
        int cancel;              /* set atomically by job_runner_cancel() */
        const JobRelay *relay;   /* NULL = the answer is collected (every job but the /v1 streams) */
        bool relay_truncated;    /* the relayed body was longer than what the job kept */
        char *relay_tail;        /* then its last JOB_RELAY_TAIL bytes at most (not stored) */
        size_t relay_tail_len;
        bool started; /* already recorded as running (inline runs) */
        /* Asynchronous work (202, workflow steps, jobs recovered after a restart): when its
         * service is unavailable in a way that is safe to repeat (upstream_unavailable),
         * the job waits until the service is ready again, within its timeout, instead of
         * failing. A synchronous request fails fast (503 + Retry-After) unless an update
         * holds the service. */
        bool wait_ready;
        bool waiting; /* in upstream_readiness_wait() now (atomic): a drain cancels it */

        /* A synchronous job run at once is not stored before it runs: it goes in with its
         * outcome, or as running when it outlives the grace period (or retries, or the
         * orchestrator stops). persist_lock orders those two writers. */
        pthread_mutex_t persist_lock;
        bool deferred;        /* not in the store yet */
        int store_error;      /* the deferred insert failed: the outcome is not stored */
        double created_at;    /* Unix seconds, for the deferred insert */
        double started_at;    /* Unix seconds it started running, for the same */
        uint64_t grace_at_ms; /* monotonic: store as running from then on */
        struct Job *grace_prev, *grace_next;
        bool grace_listed;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;
        /* A synchronous job that found every slot taken waits in the queue on its
         * request's thread (waiter); the worker that takes it hands it its slot
         * (granted) instead of running it. Under lock. */
        bool waiter, granted;

        /* The outcome, valid once done. */
        JobStatus status;
        int error_errno; /* transport error, -EBUSY breaker open, -EAGAIN queue timeout */
        long http_status;
        char *body; /* the upstream's answer */
        size_t body_len;
        /* body parsed, when it is JSON (NULL otherwise): parsed once, by the worker, for
         * the store's check and the synchronous answer. Whoever waits takes it over with
         * job_take_body_json() once the job is done; the worker no longer touches it. */
        struct json_object *body_json;
        char error[512];
        double upstream_ms;
        uint64_t retry_after_ms;
        char *guardrail_flags; /* JSON array of the rules that flagged the request, or NULL */
        char *redactions;      /* JSON {kind: n} when the result was redacted, or NULL */

        /* The result cache (set before job_runner_submit): a pure task's key, and whether
         * its request takes a kept answer or only refreshes it (Cache-Control: no-cache).
         * A hit (cache_hit, cached) is found when the job is submitted and runs at once,
         * without a worker or the service; its answer goes through the same steps. */
        JobCacheMode cache_mode;
        ResultCacheKey cache_key;
        ResultCacheValue *cache_hit;
        bool cached;

        struct Job *prev, *next; /* the runner's active list */
} Job;

typedef struct JobRunnerConfig {
        unsigned workers;
        size_t queue_max;
        uint64_t sync_grace_ms; /* 0 = every job is stored before it runs */
        bool redact_output;     /* redact results before they are stored or returned */
        ResultCache *cache;     /* the answers of pure tasks; NULL = off */
        /* Called with each completed job (its body and body_json set) on the thread that
         * ran it, before anyone waiting for it wakes: the token usage of its answer. */
        void (*on_completed)(const Job *j, void *userdata);
        void *userdata;
} JobRunnerConfig;

typedef struct JobRunner JobRunner;

int job_generate_id(char ret[static 37]);
int job_new(
        const UpstreamTask *task,
        JobPriority priority,
        char *payload, /* taken over */
        uint64_t timeout_ms,
        const char *request_id,
        Job **ret);
/* The span that submitted the job (before job_runner_submit; NULL = not traced): a queued
 * run is its child span, an inline run stays in it, and the job stores its trace id. */
void job_set_trace(Job *j, const TraceContext *submitter_span);
/* Records who submitted the job (before job_runner_submit; sub NULL or "" = nobody). */
void job_set_submitter(Job *j, const char *sub, const char *role);
Job *job_ref(Job *j);
void job_unref(Job *j);
static inline void job_unrefp(Job **j) {
        if (*j)
                job_unref(*j);
}

int job_runner_new(
        JobStore *store,
        Upstreams *upstreams,
        const JobRunnerConfig *config,
        MetricsRegistry *metrics,
        JobRunner **ret);
/* At shutdown: workers take no more queued jobs (they stay pending in the store), jobs
 * that only wait for their service stop waiting (re-queued by the next start), and the
 * running ones get up to timeout_ms to finish. */
void job_runner_drain(JobRunner *r, uint64_t timeout_ms);
void job_runner_free(JobRunner *r);
/* Persists the job (pending) and queues it. With inline, when the queue is empty and a
 * worker slot is free, runs it on the calling thread instead and returns 1 with the job
 * done (a result cache hit always runs so, inline or not); such a job without an
 * idempotency key is stored once, with its outcome, when it finishes within sync_grace_ms
 * (as running when it takes longer), and a failure to store its outcome is returned. A job
 * whose run_at is still to come is only stored (delayed): job_runner_queue_row() queues it
 * when it is due. -EAGAIN when the queue is full (the job is then recorded as failed),
 * -EEXIST when the idempotency key is taken. */
int job_runner_submit(
        JobRunner *r, Job *j, bool inline_ok, const char *idempotency_key, const char *request_hash);
bool job_is_done(Job *j);
/* X-Cache of the job's answer: "hit", "miss", "bypass", or NULL when it was not cacheable. */
const char *job_cache_status(const Job *j);
/* The parsed answer of a done job (NULL when it was not JSON or was already taken);
 * the caller owns the reference. */
struct json_object *job_take_body_json(Job *j);
/* Waits until the job is done; -ETIMEDOUT after timeout_ms. */
int job_runner_wait(Job *j, uint64_t timeout_ms);
/* Cancels a queued or running job: 0 when done or under way, -ENOENT unknown, -ESTALE
 * when it had already finished. */
int job_runner_cancel(JobRunner *r, const char *id);
/* Queues a stored job (a delayed one that is due, a schedule's run, one recovered after a
 * restart): 0 queued, 1 when it could not be (unknown task, full queue: recorded as
 * failed with the reason), < 0 on error. */
int job_runner_queue_row(JobRunner *r, const JobRow *row);
/* Re-queues pending jobs, and running ones whose task is idempotent; fails the others.
 * *ret_requeued / *ret_failed count them. */
int job_runner_recover(JobRunner *r, unsigned *ret_requeued, unsigned *ret_failed);
/* With leases (a shared store): takes up to max jobs whose orchestrator stopped renewing
 * their leases, and re-runs or fails each by the same rule as job_runner_recover. */
int job_runner_take_over(JobRunner *r, unsigned max, unsigned *ret_taken);
/* With leases: this orchestrator's own unfinished jobs, unchanged since older_than (Unix
 * seconds), that it no longer has in memory (their last write was lost with the database
 * connection, or they failed to queue): re-run or failed by the same rule. */
int job_runner_adopt_orphans(JobRunner *r, double older_than, unsigned *ret_adopted);
size_t job_runner_queue_depth(JobRunner *r);
size_t job_runner_busy(JobRunner *r);
