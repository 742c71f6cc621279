/* SPDX-License-Identifier: MIT */
/* job-store-schema.c — the job store's tables on both engines and their migrations: a
 * schema_version table lists the versions applied; each start applies the missing ones in
 * one transaction (on PostgreSQL under an advisory lock, so that orchestrators starting
 * together migrate once). A database of a release from before the version table (SQLite
 * only) is version 0: version 1 adds the columns it lacks and keeps every row. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "job-store-internal.h"
#include "time-util.h"

/* pg_advisory_xact_lock key of the migration: "ai-semble" on a phone keypad. */
#define SCHEMA_LOCK_KEY "2473623"

/* Version 1, one text for both engines: INT, REAL, BLOB, SEQ (a row-number key) and
 * NOROWID are each engine's words. */
#define SCHEMA_V1_TABLES(INT, REAL, BLOB, SEQ, NOROWID)                \
        "CREATE TABLE IF NOT EXISTS jobs("                             \
        " seq " SEQ                                                    \
        ","                                                            \
        " id TEXT NOT NULL UNIQUE,"                                    \
        " kind TEXT NOT NULL DEFAULT 'task',"                          \
        " service TEXT NOT NULL,"                                      \
        " task TEXT NOT NULL,"                                         \
        " status TEXT NOT NULL,"                                       \
        " priority TEXT NOT NULL,"                                     \
        " payload TEXT NOT NULL,"                                      \
        " timeout_ms " INT                                             \
        " NOT NULL DEFAULT 0,"                                         \
        " result TEXT,"                                                \
        " error TEXT,"                                                 \
        " error_status " INT                                           \
        ","                                                            \
        " idempotency_key TEXT UNIQUE,"                                \
        " request_hash TEXT,"                                          \
        " created_at " REAL                                            \
        " NOT NULL,"                                                   \
        " updated_at " REAL                                            \
        " NOT NULL,"                                                   \
        " last_event " INT                                             \
        " NOT NULL DEFAULT 0,"                                         \
        " submitter TEXT,"                                             \
        " submitter_role TEXT,"                                        \
        " guardrail_flags TEXT,"                                       \
        " redactions TEXT,"                                            \
        " cached " INT                                                 \
        ","                                                            \
        " schedule_id TEXT,"                                           \
        " run_at " REAL                                                \
        ","                                                            \
        " delayed " INT                                                \
        ","                                                            \
        " trace_id TEXT);"                                             \
        "CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);" \
        "CREATE TABLE IF NOT EXISTS job_events("                       \
        " job_id TEXT NOT NULL,"                                       \
        " id " INT                                                     \
        " NOT NULL,"                                                   \
        " type TEXT NOT NULL,"                                         \
        " data TEXT NOT NULL,"                                         \
        " created_at " REAL                                            \
        " NOT NULL,"                                                   \
        " PRIMARY KEY(job_id, id))" NOROWID                            \
        ";"                                                            \
        "CREATE TABLE IF NOT EXISTS locks("                            \
        " name TEXT PRIMARY KEY,"                                      \
        " owner TEXT NOT NULL,"                                        \
        " expires_at " REAL " NOT NULL)" NOROWID                       \
        ";"                                                            \
        "CREATE TABLE IF NOT EXISTS service_tasks("                    \
        " service TEXT PRIMARY KEY,"                                   \
        " answer TEXT NOT NULL,"                                       \
        " saved_at " REAL " NOT NULL)" NOROWID                         \
        ";" /* API keys: only a SHA-256 of the secret. */              \
        "CREATE TABLE IF NOT EXISTS api_keys("                         \
        " id TEXT PRIMARY KEY,"                                        \
        " name TEXT NOT NULL UNIQUE,"                                  \
        " role TEXT NOT NULL,"                                         \
        " prefix TEXT NOT NULL,"                                       \
        " hash " BLOB                                                  \
        " NOT NULL UNIQUE,"                                            \
        " created_at " REAL                                            \
        " NOT NULL,"                                                   \
        " created_by TEXT,"                                            \
        " last_used " REAL                                             \
        ","                                                            \
        " revoked_at " REAL                                            \
        ","                                                            \
        " budget_tokens_day " INT                                      \
        ","                                                            \
        " budget_tokens_month " INT                                    \
        ","                                                            \
        " rpm " INT                                                    \
        ","                                                            \
        " tpm " INT ")" NOROWID                                        \
        ";" /* Token usage per principal, UTC day and model. */        \
        "CREATE TABLE IF NOT EXISTS usage("                            \
        " principal TEXT NOT NULL,"                                    \
        " day TEXT NOT NULL,"                                          \
        " model TEXT NOT NULL,"                                        \
        " requests " INT                                               \
        " NOT NULL,"                                                   \
        " prompt_tokens " INT                                          \
        " NOT NULL,"                                                   \
        " completion_tokens " INT                                      \
        " NOT NULL,"                                                   \
        " PRIMARY KEY(principal, day, model))" NOROWID                 \
        ";" /* next_run_at claims each run. */                         \
        "CREATE TABLE IF NOT EXISTS schedules("                        \
        " id TEXT PRIMARY KEY,"                                        \
        " owner TEXT,"                                                 \
        " owner_role TEXT,"                                            \
        " service TEXT NOT NULL,"                                      \
        " task TEXT NOT NULL,"                                         \
        " priority TEXT NOT NULL,"                                     \
        " payload TEXT NOT NULL,"                                      \
        " timeout_ms " INT                                             \
        " NOT NULL,"                                                   \
        " cron TEXT,"                                                  \
        " every_ms " INT                                               \
        ","                                                            \
        " anchor " REAL                                                \
        " NOT NULL,"                                                   \
        " start_at " REAL                                              \
        ","                                                            \
        " overlap TEXT NOT NULL,"                                      \
        " catch_up TEXT NOT NULL,"                                     \
        " paused " INT                                                 \
        " NOT NULL DEFAULT 0,"                                         \
        " next_run_at " REAL                                           \
        " NOT NULL,"                                                   \
        " held_at " REAL                                               \
        ","                                                            \
        " last_run_at " REAL                                           \
        ","                                                            \
        " last_job_id TEXT,"                                           \
        " runs " INT                                                   \
        " NOT NULL DEFAULT 0,"                                         \
        " skipped " INT                                                \
        " NOT NULL DEFAULT 0,"                                         \
        " missed " INT                                                 \
        " NOT NULL DEFAULT 0,"                                         \
        " created_at " REAL " NOT NULL)" NOROWID                       \
        ";" /* audit.c: one row per POST/DELETE. */                    \
        "CREATE TABLE IF NOT EXISTS audit("                            \
        " id " SEQ                                                     \
        ","                                                            \
        " time " REAL                                                  \
        " NOT NULL,"                                                   \
        " actor TEXT NOT NULL,"                                        \
        " role TEXT NOT NULL,"                                         \
        " action TEXT NOT NULL,"                                       \
        " target TEXT,"                                                \
        " result " INT                                                 \
        " NOT NULL,"                                                   \
        " request_id TEXT,"                                            \
        " remote_addr TEXT);"                                          \
        "CREATE INDEX IF NOT EXISTS audit_time ON audit(time);"

/* After the columns of a database from before the version table are added: a principal's
 * own page of GET /jobs, a schedule's runs, the delayed jobs. */
static const char v1_indexes[] =
        "CREATE INDEX IF NOT EXISTS jobs_submitter ON jobs(submitter, seq);"
        "CREATE INDEX IF NOT EXISTS jobs_schedule ON jobs(schedule_id) WHERE schedule_id IS NOT NULL;"
        "CREATE INDEX IF NOT EXISTS jobs_delayed ON jobs(run_at) WHERE delayed = 1;";

/* The columns added to jobs by releases before the version table, which a database of
 * theirs may lack (existing rows: NULL = submitted with auth off, nothing flagged, ...). */
static const struct {
        const char *column, *decl;
} legacy_columns[] = {
        { "submitter", "TEXT" },       { "submitter_role", "TEXT" },
        { "guardrail_flags", "TEXT" }, /* JSON array of the guardrail rules that flagged it */
        { "redactions", "TEXT" },      /* JSON object of redaction counts by kind */
        { "cached", "INTEGER" },       /* 1 = answered from the result cache */
        { "schedule_id", "TEXT" },     /* the schedule whose run it is */
        { "run_at", "REAL" },          /* when it was due (a schedule's run, or run_at) */
        { "delayed", "INTEGER" },      /* 1 while it waits for run_at */
        { "trace_id", "TEXT" },        /* the W3C trace it ran in (deploy.sh trace) */
};

static int legacy_add_columns(StoreDb *db) {
        bool have[ELEMENTSOF(legacy_columns)] = {};
        _cleanup_stmt_ StoreStmt *st = NULL;
        int r;

        r = store_db_prepare(db, "PRAGMA table_info(jobs)", 0, &st);
        if (r < 0)
                return r;
        while ((r = store_step(st)) > 0)
                for (size_t i = 0; i < ELEMENTSOF(legacy_columns); i++)
                        have[i] = have[i] || streq_ptr(store_column_text(st, 1), legacy_columns[i].column);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(legacy_columns); i++) {
                _cleanup_free_ char *sql = NULL;

                if (have[i])
                        continue;
                if (asprintf(
                            &sql,
                            "ALTER TABLE jobs ADD COLUMN %s %s",
                            legacy_columns[i].column,
                            legacy_columns[i].decl) < 0)
                        return -ENOMEM;
                r = store_db_exec(db, sql);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_finish(StoreDb *db) {
        int r;

        if (store_db_kind(db) == STORE_DB_SQLITE) {
                r = legacy_add_columns(db);
                if (r < 0)
                        return r;
        }
        return store_db_exec(db, v1_indexes);
}

/* Version 2: leases on unfinished jobs, for several orchestrators on one store
 * (job-store-lease.c): who runs the job, and until when unless renewed. */
#define SCHEMA_V2(REAL)                                 \
        "ALTER TABLE jobs ADD COLUMN lease_owner TEXT;" \
        "ALTER TABLE jobs ADD COLUMN lease_until " REAL \
        ";"                                             \
        "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs(lease_owner) WHERE status IN ('pending', 'running');"

/* Version 3: the webhook signatures accepted, shared by the orchestrators of one store
 * (job-store-replays.c). */
#define SCHEMA_V3(REAL)                               \
        "CREATE TABLE IF NOT EXISTS webhook_replays(" \
        " mac TEXT PRIMARY KEY,"                      \
        " expires_at " REAL                           \
        " NOT NULL);"                                 \
        "CREATE INDEX IF NOT EXISTS webhook_replays_expiry ON webhook_replays(expires_at);"

/* Version 4: the request limits shared by the orchestrators of one store
 * (job-store-limits.c): token buckets per principal, API keys' minute windows. */
#define SCHEMA_V4(INT, REAL)                       \
        "CREATE TABLE IF NOT EXISTS rate_buckets(" \
        " key TEXT PRIMARY KEY,"                   \
        " tokens " REAL                            \
        " NOT NULL,"                               \
        " at " REAL                                \
        " NOT NULL,"                               \
        " allowed " INT                            \
        " NOT NULL);"                              \
        "CREATE TABLE IF NOT EXISTS key_windows("  \
        " name TEXT NOT NULL,"                     \
        " win " INT                                \
        " NOT NULL,"                               \
        " requests " INT                           \
        " NOT NULL,"                               \
        " tokens " INT                             \
        " NOT NULL,"                               \
        " counted " INT                            \
        " NOT NULL,"                               \
        " PRIMARY KEY(name, win));"

/* Version 5: finished jobs by age, for the retention cleanup (job_store_cleanup). Without
 * it the cleanup read every finished job through jobs_status while it held the store: 2.6 s
 * with a million jobs, during which no request could be stored. Finished is written as
 * "neither pending nor running", which jobs_status cannot serve, so that no engine's
 * planner prefers it. */
#define SCHEMA_V5                                                       \
        "CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(updated_at) " \
        "WHERE status <> 'pending' AND status <> 'running';"

static const struct {
        int version;
        const char *sql[2];         /* by StoreDbKind */
        int (*finish)(StoreDb *db); /* after sql; NULL = nothing */
} steps[] = {
        { 1,
          {
                  [STORE_DB_SQLITE] = SCHEMA_V1_TABLES(
                          "INTEGER", "REAL", "BLOB", "INTEGER PRIMARY KEY", " WITHOUT ROWID"),
                  [STORE_DB_POSTGRESQL] = SCHEMA_V1_TABLES(
                          "bigint",
                          "double precision",
                          "bytea",
                          "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                          ""),
          },
          v1_finish },
        { 2,
          {
                  [STORE_DB_SQLITE] = SCHEMA_V2("REAL"),
                  [STORE_DB_POSTGRESQL] = SCHEMA_V2("double precision"),
          },
          NULL },
        { 3,
          {
                  [STORE_DB_SQLITE] = SCHEMA_V3("REAL"),
                  [STORE_DB_POSTGRESQL] = SCHEMA_V3("double precision"),
          },
          NULL },
        { 4,
          {
                  [STORE_DB_SQLITE] = SCHEMA_V4("INTEGER", "REAL"),
                  [STORE_DB_POSTGRESQL] = SCHEMA_V4("bigint", "double precision"),
          },
          NULL },
        { 5, { [STORE_DB_SQLITE] = SCHEMA_V5, [STORE_DB_POSTGRESQL] = SCHEMA_V5 }, NULL },
};

static int current_version(StoreDb *db, int *ret) {
        _cleanup_stmt_ StoreStmt *st = NULL;
        int r;

        r = store_db_prepare(db, "SELECT coalesce(max(version), 0) FROM schema_version", 0, &st);
        if (r < 0)
                return r;
        r = store_step(st);
        if (r < 0)
                return r;
        *ret = r > 0 ? (int) store_column_int64(st, 0) : 0;
        return 0;
}

static int record_version(StoreDb *db, int version) {
        _cleanup_stmt_ StoreStmt *st = NULL;
        int r;

        r = store_db_prepare(db, "INSERT INTO schema_version(version, applied_at) VALUES(?1, ?2)", 0, &st);
        if (r < 0)
                return r;
        store_bind_int64(st, 1, version);
        store_bind_double(st, 2, time_now_s(CLOCK_REALTIME));
        r = store_step(st);
        return r < 0 ? r : 0;
}

static int migrate_locked(StoreDb *db) {
        StoreDbKind k = store_db_kind(db);
        int version, r;

        if (k == STORE_DB_POSTGRESQL) {
                r = store_db_exec(db, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")");
                if (r < 0)
                        return r;
        }
        r = store_db_exec(
                db,
                k == STORE_DB_POSTGRESQL
                        ? "CREATE TABLE IF NOT EXISTS schema_version(version bigint PRIMARY KEY, applied_at double precision NOT NULL)"
                        : "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)");
        if (r >= 0)
                r = current_version(db, &version);
        if (r < 0)
                return r;
        /* A newer release's database: its tables may mean what this binary does not know. */
        if (version > steps[ELEMENTSOF(steps) - 1].version)
                return -EPROTO;
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                if (steps[i].version <= version)
                        continue;
                r = store_db_exec(db, steps[i].sql[k]);
                if (r >= 0 && steps[i].finish)
                        r = steps[i].finish(db);
                if (r >= 0)
                        r = record_version(db, steps[i].version);
                if (r < 0)
                        return r;
        }
        return 0;
}

int job_store_schema_migrate(StoreDb *db) {
        int r;

        r = store_db_begin(db);
        if (r < 0)
                return r;
        r = migrate_locked(db);
        if (r < 0) {
                (void) store_db_rollback(db);
                return r;
        }
        return store_db_commit(db);
}
