/* SPDX-License-Identifier: MIT */
/* audit.h — the audit trail of state-changing requests: one row per POST/DELETE (refused
 * ones included) in the job store's database (SQLite or PostgreSQL), in an "audit" table
 * next to the jobs (same connection, same lock: job_store_with_db), and one structured journald entry
 * with a fixed MESSAGE_ID. Rows are pruned after a retention by the cleanup thread. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "job-store.h"
#include "trace.h"

/* MESSAGE_ID of every audit journal entry: journalctl MESSAGE_ID=AUDIT_MESSAGE_ID */
#define AUDIT_MESSAGE_ID "5d1c0e6f3a8b4e27b9a4c2f18d7e6a31"
#define AUDIT_QUERY_LIMIT_MAX 1000

typedef struct AuditRecord {
        double time;        /* Unix seconds; 0 = now */
        const char *actor;  /* JWT sub, "anonymous", or the client address with auth off */
        const char *role;   /* viewer, operator, admin, none */
        const char *action; /* job.submit, job.cancel, workflow.submit, lock.acquire, ... */
        const char *target; /* job id, lock name, event type; NULL = none */
        int result;         /* HTTP status */
        const char *request_id;
        const char *remote_addr;
} AuditRecord;

typedef struct AuditQuery {
        const char *actor;  /* NULL = any */
        const char *action; /* NULL = any */
        double since;       /* Unix seconds; 0 = any */
        unsigned limit;
        int64_t cursor; /* 0 = from the newest; else rows with id < cursor */
} AuditQuery;

typedef struct AuditLog AuditLog;

/* Prepares the insert on store's connection (the table is the store's schema). */
int audit_open(JobStore *store, AuditLog **ret);
/* Stops the writer and writes what is queued: after the HTTP server stopped and before
 * job_store_free() of the store it was opened on. */
void audit_free(AuditLog *a);

/* Queues one row (copied); the writer thread commits it within AUDIT_FLUSH_MS. */
int audit_write(AuditLog *a, const AuditRecord *rec);
/* Writes the queued rows now (one transaction); returns how many, or -errno. */
int audit_flush(AuditLog *a);
/* The same record to the journal (structured AUDIT_* fields, MESSAGE_ID), when
 * audit_journal_copies() says so for it and the thread's trace. */
void audit_journal(const AuditRecord *rec);
/* The database keeps every event; the journal copies a refusal or failure (result >= 400)
 * always, one that succeeded when its request's trace is sampled (TRACE_SAMPLE_RATE) or
 * untraced, so that load does not flood the journal. */
bool audit_journal_copies(int result, const TraceContext *t);
/* {records:[{id, time, actor, role, action, target, result, request_id, remote_addr}],
 * next_cursor} newest first. */
int audit_query_json(AuditLog *a, const AuditQuery *q, json_object **ret);
/* Deletes rows older than age_ms. */
int audit_prune(AuditLog *a, uint64_t age_ms, unsigned *ret_deleted);

/* RFC 3339 date-time ("2026-11-21T16:44:41Z", fractions and ±hh:mm offsets allowed) to
 * Unix seconds; -EINVAL otherwise. */
int audit_parse_time(const char *s, double *ret);
