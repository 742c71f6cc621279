/* SPDX-License-Identifier: MIT */
/* data-guard.h — what stands between user SQL and the database: an authorizer that
 * allows only reading the `records` table (each refusal names its rule), a time limit
 * through the progress handler, and prepare/step wrappers that turn SQLite's codes into
 * the request's error. */
#pragma once

#include "data-util.h"

typedef struct DataGuard {
        const char *rule;       /* the rule that refused the last statement, NULL if none */
        char refused[160];      /* what it refused */
        uint64_t deadline_usec; /* 0 = no time limit */
        uint64_t timeout_ms;
        bool timed_out;
} DataGuard;

/* Rule names, stable for clients and tests. */
#define DATA_RULE_SELECT_ONLY "select-only"
#define DATA_RULE_NO_WRITE "no-write"
#define DATA_RULE_NO_ATTACH "no-attach"
#define DATA_RULE_NO_PRAGMA "no-pragma"
#define DATA_RULE_NO_EXTENSION "no-load-extension"
#define DATA_RULE_RECORDS_ONLY "records-only"
#define DATA_RULE_ONE_STATEMENT "one-statement"

/* Installs the authorizer and the progress handler on db; g must outlive db's use. */
void data_guard_install(DataGuard *g, sqlite3 *db, uint64_t timeout_ms);
/* Starts the clock for the statements that follow. */
void data_guard_arm(DataGuard *g);

/* Prepares one statement of user SQL (field names it in errors): a refusal is 403 naming
 * the rule, a syntax error 422, more than one statement 403 (one-statement). */
int data_guard_prepare(
        DataGuard *g, sqlite3 *db, const char *sql, const char *field, sqlite3_stmt **ret, DataError *err);
/* Maps a failed sqlite3_step() result: timeout 422, out of memory 413, other -EIO. */
int data_guard_step_error(DataGuard *g, sqlite3 *db, int rc, const char *field, DataError *err);
