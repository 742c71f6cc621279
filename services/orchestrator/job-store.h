/* SPDX-License-Identifier: MIT */
/* job-store.h — jobs and their events, in SQLite (WAL) on the data volume by default or in
 * PostgreSQL (ORCH_DB_URL), through store-db.h. One connection behind a mutex: writes
 * serialize in SQLite anyway, and a single connection keeps the prepared statements hot.
 * Every change wakes job_store_wait_change() (SSE streams). */
#pragma once

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store-db.h"

typedef enum JobStatus {
        JOB_PENDING,
        JOB_RUNNING,
        JOB_COMPLETED,
        JOB_FAILED,
        JOB_CANCELLED,
        _JOB_STATUS_MAX,
} JobStatus;

typedef struct JobStore JobStore;

/* The outcome of a job that finished before it was first stored. */
typedef struct JobOutcome {
        JobStatus status; /* terminal */
        const char *result;
        const char *error;
        int error_status;
        const char *redactions;
        double finished_at; /* Unix seconds; 0 = now */
} JobOutcome;

typedef struct JobNew {
        const char *id;
        const char *kind; /* "task" or "workflow" */
        const char *service;
        const char *task;
        const char *priority;
        const char *payload; /* JSON text sent upstream */
        uint64_t timeout_ms;
        const char *idempotency_key; /* NULL = none */
        const char *request_hash;    /* fingerprint of the request for Idempotency-Key */
        bool running;                /* recorded as pending then running in one commit */
        const char *guardrail_flags; /* JSON array of flagged guardrail rules, NULL = none */
        const char *submitter;       /* JWT sub; NULL or "" = auth off (not recorded) */
        const char *submitter_role;  /* the token's role when submitter is set */
        bool cached;                 /* answered from the result cache */
        double created_at;           /* Unix seconds; 0 = now */
        double started_at;           /* of its running event (running, outcome); 0 = created_at */
        const char *schedule_id;     /* the schedule whose run it is; NULL = none */
        double run_at;               /* Unix seconds it was due at; 0 = none */
        bool delayed;                /* waits in the store until run_at (job_store_delayed_*) */
        const char *trace_id;        /* the trace it runs in; NULL or "" = none */
        /* Non-NULL: the job already ran; stored as pending, running and this outcome (with
         * their three state events) in one commit. */
        const JobOutcome *outcome;
} JobNew;

/* A job as read back for re-running after a restart. */
typedef struct JobRow {
        const char *id, *service, *task, *priority, *payload;
        const char *submitter, *submitter_role; /* NULL when none was recorded */
        const char *schedule_id;                /* NULL when none */
        JobStatus status;
        uint64_t timeout_ms;
        double created_at; /* Unix seconds */
} JobRow;

/* location: an SQLite file path, or a postgresql:// URL (store_db_open()). Creates the
 * tables or migrates them to this release's schema. */
int job_store_open(const char *location, JobStore **ret);
StoreDbKind job_store_kind(JobStore *s);
void job_store_free(JobStore *s);

/* -EEXIST if the id or the idempotency key is taken, -EINVAL if an outcome is not terminal. */
int job_store_insert(JobStore *s, const JobNew *job);
/* Moves a job to status and records a "state" event; result is JSON text (may be NULL),
 * error a message. -ENOENT if unknown, -ESTALE if it is already terminal (the first
 * terminal state wins: a cancel racing a completion). */
int job_store_transition(
        JobStore *s,
        const char *id,
        JobStatus status,
        const char *result,
        const char *error,
        int error_status);
/* Records the redaction counts ({kind: n} JSON) of a job's result; call before the
 * transition that stores the result, so that no reader sees one without the other. */
int job_store_set_redactions(JobStore *s, const char *id, const char *redactions);
/* A "progress" (or other) event with JSON data. */
int job_store_add_event(JobStore *s, const char *id, const char *type, json_object *data);

/* The reads that take an owner answer only the jobs that submitter recorded (-ENOENT for
 * another's, as for none; owner NULL = any job): a principal sees its own work. */

/* {job_id, status, service, task, priority, created_at, updated_at, result, error}, plus
 * guardrails: {flagged: [...]}, redactions: {kind: n} and cached: true when the job has them,
 * submitted_by {sub, role} when the job recorded a submitter, schedule_id and run_at when set. */
int job_store_get_json(JobStore *s, const char *id, const char *owner, json_object **ret);
int job_store_get_status(JobStore *s, const char *id, JobStatus *ret);
/* The job's submitter (JWT sub) in *ret, NULL when none was recorded; -ENOENT if unknown. */
int job_store_get_owner(JobStore *s, const char *id, char **ret);
/* {jobs:[...], next_cursor} newest first; status < 0 = any; cursor 0 = from the newest. */
int job_store_list_json(
        JobStore *s, const char *owner, int status, unsigned limit, int64_t cursor, json_object **ret);
/* Events with id > after as [{id, event, data, time}], and the job's current status. */
int job_store_events_json(
        JobStore *s,
        const char *id,
        const char *owner,
        int64_t after,
        json_object **ret,
        JobStatus *ret_status);
/* Looks up an Idempotency-Key as stored (api-submit.c scopes it to its principal):
 * *ret_id and *ret_hash (owned by the caller). -ENOENT if unused. */
int job_store_find_key(JobStore *s, const char *key, char **ret_id, char **ret_hash);
/* Calls cb for every pending or running job of kind ("task", "workflow"), oldest first;
 * not the delayed ones that still wait for their run_at. */
int job_store_for_each_unfinished(
        JobStore *s, const char *kind, int (*cb)(const JobRow *row, void *userdata), void *userdata);
/* Deletes terminal jobs (and their events) last updated more than age_ms ago. */
int job_store_cleanup(JobStore *s, uint64_t age_ms, unsigned *ret_deleted);
/* The cleanup's statements, in order, ended by { NULL }: now = ?1 is the time, else the
 * cutoff (a test checks each one's plan). */
typedef struct JobStoreCleanup {
        const char *sql;
        bool now;
} JobStoreCleanup;
extern const JobStoreCleanup job_store_cleanups[];
int job_store_count_by_status(JobStore *s, uint64_t counts[_JOB_STATUS_MAX]);

/* Leases (job-store-lease.c), for several orchestrators on one shared store: each
 * unfinished job is held by the orchestrator (instance) that inserted, claimed or took it,
 * until its lease runs out; the holder renews its leases (every lease_ms / 3 or so), and
 * when it dies another one takes the jobs over once their leases have run out. With
 * instance set, every job inserted or delayed job claimed is leased to it for lease_ms;
 * NULL = no leases (one orchestrator: the default). */
int job_store_set_lease(JobStore *s, const char *instance, uint64_t lease_ms);
/* Leases are on. */
bool job_store_leasing(JobStore *s);
/* Extends every lease this instance holds on an unfinished job by lease_ms from now. */
int job_store_lease_renew(JobStore *s);
/* Takes up to max unfinished (not delayed) jobs of kind, oldest first, and calls cb for
 * each taken one (without the lock). At this instance's start (at_start): those without a
 * lease, its own from a previous run under the same name, and expired ones; after that
 * only the expired leases of other instances. The claim is one UPDATE, so two instances
 * never take the same job. *ret_taken: how many were taken. */
int job_store_lease_take(
        JobStore *s,
        const char *kind,
        bool at_start,
        unsigned max,
        int (*cb)(const JobRow *row, void *userdata),
        void *userdata,
        unsigned *ret_taken);
/* cb for every unfinished (not delayed) job of kind this instance holds that has not
 * changed since older_than (Unix seconds), oldest first. */
int job_store_lease_for_each_own(
        JobStore *s,
        const char *kind,
        double older_than,
        int (*cb)(const JobRow *row, void *userdata),
        void *userdata);

/* Webhook signatures accepted by the orchestrators of this store (job-store-replays.c):
 * 1 when mac (hex) is remembered and not expired at now (a replay), 0 after remembering
 * it until expires (Unix seconds). */
int job_store_replay_remember(JobStore *s, const char *mac, double expires, double now);

/* Request limits shared by the orchestrators of this store (job-store-limits.c); times
 * are Unix seconds. A token bucket: one token taken from key's when it has one, refilled
 * at rate up to burst; *ret_tokens what is left, *ret_allowed whether one was taken. */
int job_store_bucket_take(
        JobStore *s,
        const char *key,
        double rate,
        double burst,
        double now,
        double *ret_tokens,
        bool *ret_allowed);
/* An API key's minute window (minute number window): one request counted unless rpm or
 * tpm (0 = none) is reached already (*ret_counted); the window's counts after it. */
int job_store_window_take(
        JobStore *s,
        const char *name,
        int64_t window,
        int64_t rpm,
        int64_t tpm,
        int64_t *ret_requests,
        int64_t *ret_tokens,
        bool *ret_counted);
int job_store_window_add_tokens(JobStore *s, const char *name, int64_t window, int64_t tokens);

/* Locks (ORCH-Next's /locks): a named lease with an owner and an expiry. Acquiring a free
 * or expired lock, or renewing one's own, returns 0; a lock held by another owner
 * -EBUSY. *ret (if non-NULL) gets {name, owner, expires_at} of the holder either way. */
int job_store_lock_acquire(
        JobStore *s, const char *name, const char *owner, uint64_t ttl_ms, json_object **ret);
/* 0 released; -ENOENT not held; -EPERM held by another owner. */
int job_store_lock_release(JobStore *s, const char *name, const char *owner);
/* The unexpired locks as [{name, owner, expires_at}]. */
int job_store_lock_list(JobStore *s, json_object **ret);

/* API keys (job-store-keys.c). A key's secret is never stored: only its SHA-256 (hash) and
 * a short prefix of it for listings. Names are unique, revoked keys included. */
#define KEY_HASH_SIZE 32

typedef struct KeyLimits {
        int64_t budget_tokens_day, budget_tokens_month; /* 0 = none */
        int64_t rpm, tpm;                               /* 0 = none */
} KeyLimits;

typedef struct KeyNew {
        const char *id, *name, *role, *prefix, *created_by;
        uint8_t hash[KEY_HASH_SIZE];
        KeyLimits limits;
} KeyNew;

/* -EEXIST when the name (or, never in practice, the hash) is taken. */
int job_store_key_insert(JobStore *s, const KeyNew *k);
/* The key whose secret hashes to hash, unrevoked: its name and role (buffers of the
 * caller), and its last use recorded (at most once a minute). -ENOENT unknown or revoked. */
int job_store_key_lookup(
        JobStore *s,
        const uint8_t hash[static KEY_HASH_SIZE],
        char *ret_name,
        size_t name_size,
        char *ret_role,
        size_t role_size);
/* The limits of the unrevoked key named name; -ENOENT when none. */
int job_store_key_limits(JobStore *s, const char *name, KeyLimits *ret);
/* [{id, name, role, prefix, created_at, created_by, last_used, revoked, revoked_at, limits...}] */
int job_store_key_list(JobStore *s, json_object **ret);
/* Revokes key id; its name in *ret_name (may be NULL). -ENOENT unknown, -EALREADY revoked. */
int job_store_key_revoke(JobStore *s, const char *id, char *ret_name, size_t name_size);

/* Token usage (job-store-usage.c): per principal, UTC day ("YYYY-MM-DD") and model. */
int job_store_usage_add(
        JobStore *s,
        const char *principal,
        const char *day,
        const char *model,
        int64_t prompt,
        int64_t completion);
/* Prompt + completion tokens of principal on days since..until (inclusive, NULL = open). */
int job_store_usage_total(
        JobStore *s, const char *principal, const char *since, const char *until, int64_t *ret);
/* [{principal, day, model, requests, prompt_tokens, completion_tokens, total_tokens}] of
 * principal (NULL = every one) on days since..until (NULL = open), oldest day first. */
int job_store_usage_json(
        JobStore *s, const char *principal, const char *since, const char *until, json_object **ret);

/* The services' last GET /tasks answers (upstream-tasks.c), so that a restart knows the
 * tasks of its unfinished jobs before the services answer: one row per service, replaced. */
int job_store_tasks_save(JobStore *s, const char *service, const char *answer);
/* {service: answer, ...} */
int job_store_tasks_load(JobStore *s, json_object **ret);

/* Runs fn with the store's connection under the store's lock: for modules that keep their
 * own tables in the same database (audit.c), so that there is one writer discipline. */
int job_store_with_db(JobStore *s, int (*fn)(StoreDb *db, void *userdata), void *userdata);
/* hook(db, userdata) runs under the store's lock right after each group commit, on the
 * connection that committed (NULL hook = none): one hook, set before the store is shared. */
typedef void (*JobStoreCommitHook)(StoreDb *db, void *userdata);
void job_store_set_commit_hook(JobStore *s, JobStoreCommitHook hook, void *userdata);
/* Transactions committed and writes queued since open (writes / commits = batching). */
void job_store_commit_stats(JobStore *s, uint64_t *ret_commits, uint64_t *ret_writes);
/* SQLite's WAL checkpoints (-EOPNOTSUPP on PostgreSQL): PASSIVE ones by the store's
 * checkpointer thread (woken when a commit leaves more than wake_pages in the WAL, and
 * every second), RESTART ones by a commit that leaves bound_pages (continuous writes never
 * let the WAL be reused). Defaults 1000 and 16000 1 KiB pages. */
int job_store_set_checkpoint_pages(JobStore *s, int wake_pages, int bound_pages);
int job_store_checkpoint_stats(JobStore *s, uint64_t *ret_passive, uint64_t *ret_restart);

/* PostgreSQL: the listener's connections made and notification batches received. */
void job_store_listen_stats(JobStore *s, uint64_t *ret_connects, uint64_t *ret_wakeups);
/* Returns the current change generation; wait until it differs from gen, timeout, or
 * *stop (may be NULL) is set and job_store_wake() called. On PostgreSQL the commits of
 * other orchestrators on the same database change it too (job-store-listen.c). */
uint64_t job_store_generation(JobStore *s);
void job_store_wait_change(JobStore *s, uint64_t gen, uint64_t timeout_ms, const atomic_bool *stop);
/* Wakes every job_store_wait_change() to look at its stop flag. */
void job_store_wake(JobStore *s);

const char *job_status_to_string(JobStatus s);
int job_status_from_string(const char *s, JobStatus *ret);
static inline bool job_status_is_terminal(JobStatus s) {
        return s == JOB_COMPLETED || s == JOB_FAILED || s == JOB_CANCELLED;
}
/* ISO 8601 UTC with milliseconds from Unix seconds. */
void job_format_time(double t, char buf[static 32]);

/* Schedules (job-store-schedules.c): a task run on cron or every N seconds, each run an
 * ordinary job with schedule_id. next_run_at is the claim: a fire moves it forward with a
 * conditional UPDATE, so that of several orchestrators on one store only one fires each
 * run. Reads and changes take an owner like the jobs' (NULL = any). */
typedef struct ScheduleRow {
        const char *id, *owner, *owner_role; /* owner NULL = auth off */
        const char *service, *task, *priority, *payload;
        uint64_t timeout_ms;
        const char *cron; /* NULL: every_ms */
        uint64_t every_ms;
        double anchor;   /* an every schedule's runs: anchor + k * every */
        double start_at; /* 0 = none */
        const char *overlap, *catch_up;
        bool paused;
        double next_run_at;
        double held_at; /* overlap=queue: the run that waits for the previous one; 0 = none */
        const char *last_job_id;
        double created_at;
} ScheduleRow;

/* -EEXIST when the id is taken. */
int job_store_schedule_insert(JobStore *s, const ScheduleRow *row);
/* cb(row) with the schedule (-ENOENT unknown or another's). */
int job_store_schedule_get(
        JobStore *s,
        const char *id,
        const char *owner,
        int (*cb)(const ScheduleRow *row, void *userdata),
        void *userdata);
/* {schedule_id, service, task, priority, payload, timeout, cron | every, start_at, overlap,
 * catch_up, paused, next_run_at, last_run_at, last_job_id, runs, skipped, missed, held,
 * jobs: {status: n}, created_at, created_by} */
int job_store_schedule_get_json(JobStore *s, const char *id, const char *owner, json_object **ret);
/* {schedules: [...]} oldest first. */
int job_store_schedule_list_json(JobStore *s, const char *owner, json_object **ret);
/* Pauses, or resumes with its next run at next_run_at. -ENOENT unknown or another's. */
int job_store_schedule_set_paused(
        JobStore *s, const char *id, const char *owner, bool paused, double next_run_at);
/* The schedule goes; its jobs stay (with their schedule_id). */
int job_store_schedule_delete(JobStore *s, const char *id, const char *owner);
/* cb (without the lock) for every unpaused schedule due at now (next_run_at <= now) or
 * holding a run. *ret_next: the earliest time something is due later, of the schedules
 * and of the delayed jobs (0 = nothing); *ret_held: some schedule holds a run. */
int job_store_schedule_for_each_due(
        JobStore *s,
        double now,
        int (*cb)(const ScheduleRow *row, void *userdata),
        void *userdata,
        double *ret_next,
        bool *ret_held);

typedef struct ScheduleClaim {
        const char *id;
        double old_next, old_held; /* as read: the claim fails when either changed */
        double new_next, new_held; /* held 0 = none */
        uint64_t missed, skipped;
} ScheduleClaim;
/* -ESTALE when the row changed since it was read (another orchestrator fired the run, or
 * it was paused or deleted). */
int job_store_schedule_claim(JobStore *s, const ScheduleClaim *c);
/* A run became job job_id: last_run_at, last_job_id and the run count. */
int job_store_schedule_ran(JobStore *s, const char *id, const char *job_id, double at);

/* Delayed jobs: cb for each one whose run_at <= now; claiming one (-ESTALE when another
 * did, or it was cancelled) makes it an ordinary pending job to queue. */
int job_store_delayed_for_each_due(
        JobStore *s, double now, int (*cb)(const JobRow *row, void *userdata), void *userdata);
int job_store_delayed_claim(JobStore *s, const char *id);
