/* SPDX-License-Identifier: MIT */
/* data-guard.h — what stands between user SQL and the database: an authorizer that
 * allows only reading the `records` table and calling the functions of data-funcs.c (each
 * refusal names its rule), a deadline per statement, and prepare/step wrappers that turn
 * SQLite's codes into the request's error. The deadline is shared with the watchdog of
 * data-exec.c, which interrupts the statement from another thread when it passes. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include "data-util.h"

typedef struct DataGuard {
        const char *rule;  /* the rule that refused the last statement, NULL if none */
        char refused[160]; /* what it refused */
        bool saw_select;   /* the last statement compiled a SELECT */
        uint64_t timeout_ms;
        sqlite3 *db;             /* the handle it is installed on */
        pthread_mutex_t lock;    /* orders arming against the watchdog's interrupt */
        pthread_cond_t changed;  /* armed, or (data-exec.c) the work finished */
        atomic_ullong deadline;  /* CLOCK_MONOTONIC µs; 0 = no statement armed */
        atomic_bool timed_out;   /* the armed statement passed its deadline */
        bool compiling;          /* in data_guard_prepare(): allocations count */
        uint64_t compiled_bytes; /* allocated while compiling the last statement */
        unsigned allocations;
} DataGuard;

/* Bytes SQLite may allocate in all while compiling one statement of user SQL. */
#define DATA_SQL_MAX_COMPILE_BYTES (64 << 20)

/* Rule names, stable for clients and tests. */
#define DATA_RULE_SELECT_ONLY "select-only"
#define DATA_RULE_NO_WRITE "no-write"
#define DATA_RULE_NO_ATTACH "no-attach"
#define DATA_RULE_NO_PRAGMA "no-pragma"
#define DATA_RULE_NO_EXTENSION "no-load-extension"
#define DATA_RULE_RECORDS_ONLY "records-only"
#define DATA_RULE_ONE_STATEMENT "one-statement"
#define DATA_RULE_FUNCTIONS "allowed-functions"

/* Before SQLite is initialized: routes its allocations through the guard of the thread
 * making them (see data_guard_install()), which refuses them past the compile budget or
 * the deadline. Without it the guard holds all the same, except while SQLite compiles. */
int data_guard_setup(void);

int data_guard_init(DataGuard *g, uint64_t timeout_ms);
void data_guard_done(DataGuard *g);
/* Installs the authorizer, the progress handler and the bounded functions on db, and
 * makes g the calling thread's guard for SQLite's allocations; g must outlive db's use,
 * which stays on this thread. */
int data_guard_install(DataGuard *g, sqlite3 *db);
/* Before db is closed: the watchdog must not interrupt a handle that is going away. */
void data_guard_uninstall(DataGuard *g);
/* Starts the clock for the statement that follows; disarm when it has finished. */
void data_guard_arm(DataGuard *g);
void data_guard_disarm(DataGuard *g);
/* True once the armed statement has passed its deadline (checked by loops that do their
 * own work between steps, such as validate's pattern matching). */
bool data_guard_expired(DataGuard *g);

/* Prepares one statement of user SQL (field names it in errors): a refusal is 403 naming
 * the rule, a syntax error or a limit of SQLite 422, more than one statement 403
 * (one-statement). */
int data_guard_prepare(
        DataGuard *g, sqlite3 *db, const char *sql, const char *field, sqlite3_stmt **ret, DataError *err);
/* Maps a failed sqlite3_step() result: timeout 422, out of memory or an over-long value
 * 413, other SQL errors 422, else -EIO. */
int data_guard_step_error(DataGuard *g, sqlite3 *db, int rc, const char *field, DataError *err);
