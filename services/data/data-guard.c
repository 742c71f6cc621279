/* SPDX-License-Identifier: MIT */
/* data-guard.c — the authorizer and limits. Defence in depth: the authorizer is the rule,
 * sqlite3_stmt_readonly() double-checks it, stored datasets are opened read-only and
 * extensions are disabled on every handle (data_db_harden). */
#include <ctype.h>

#include "data-guard.h"
#include "time-util.h"

static int refuse(DataGuard *g, const char *rule, const char *what, const char *arg) {
        if (g->rule) /* the first refusal is the reason */
                return SQLITE_DENY;
        g->rule = rule;
        snprintf(g->refused, sizeof(g->refused), "%s%s%s", what, arg ? " " : "", strempty(arg));
        return SQLITE_DENY;
}

static int
authorizer(void *userdata, int action, const char *a1, const char *a2, const char *db, const char *trigger) {
        DataGuard *g = userdata;

        switch (action) {
        case SQLITE_SELECT:
        case SQLITE_RECURSIVE:
                return SQLITE_OK;
        case SQLITE_READ:
                /* a1 is the table, db its schema. Common table expressions come with no
                 * schema: they are the query's own rows, not stored tables. */
                if (!db || (a1 && streq(a1, "records") && streq(db, "main")))
                        return SQLITE_OK;
                if (a1 && startswith(a1, "pragma_"))
                        return refuse(g, DATA_RULE_NO_PRAGMA, "PRAGMA function", a1);
                return refuse(g, DATA_RULE_RECORDS_ONLY, "reading table", a1);
        case SQLITE_FUNCTION:
                if (a2 && strcasecmp(a2, "load_extension") == 0)
                        return refuse(g, DATA_RULE_NO_EXTENSION, "calling", a2);
                return SQLITE_OK;
        case SQLITE_ATTACH:
        case SQLITE_DETACH:
                return refuse(g, DATA_RULE_NO_ATTACH, "ATTACH/DETACH", a1);
        case SQLITE_PRAGMA:
                return refuse(g, DATA_RULE_NO_PRAGMA, "PRAGMA", a1);
        case SQLITE_INSERT:
        case SQLITE_UPDATE:
        case SQLITE_DELETE:
        case SQLITE_CREATE_INDEX:
        case SQLITE_CREATE_TABLE:
        case SQLITE_CREATE_TEMP_INDEX:
        case SQLITE_CREATE_TEMP_TABLE:
        case SQLITE_CREATE_TEMP_TRIGGER:
        case SQLITE_CREATE_TEMP_VIEW:
        case SQLITE_CREATE_TRIGGER:
        case SQLITE_CREATE_VIEW:
        case SQLITE_CREATE_VTABLE:
        case SQLITE_DROP_INDEX:
        case SQLITE_DROP_TABLE:
        case SQLITE_DROP_TEMP_INDEX:
        case SQLITE_DROP_TEMP_TABLE:
        case SQLITE_DROP_TEMP_TRIGGER:
        case SQLITE_DROP_TEMP_VIEW:
        case SQLITE_DROP_TRIGGER:
        case SQLITE_DROP_VIEW:
        case SQLITE_DROP_VTABLE:
        case SQLITE_ALTER_TABLE:
        case SQLITE_REINDEX:
        case SQLITE_ANALYZE:
                return refuse(g, DATA_RULE_NO_WRITE, "writing", a1);
        default:
                return refuse(g, DATA_RULE_SELECT_ONLY, "a statement other than SELECT", NULL);
        }
}

static int progress(void *userdata) {
        DataGuard *g = userdata;

        if (g->deadline_usec == 0 || time_now_usec(CLOCK_MONOTONIC) < g->deadline_usec)
                return 0;
        g->timed_out = true;
        return 1;
}

void data_guard_install(DataGuard *g, sqlite3 *db, uint64_t timeout_ms) {
        g->timeout_ms = timeout_ms;
        sqlite3_set_authorizer(db, authorizer, g);
        sqlite3_progress_handler(db, 10000, progress, g);
}

void data_guard_arm(DataGuard *g) {
        g->timed_out = false;
        g->deadline_usec = g->timeout_ms ? time_now_usec(CLOCK_MONOTONIC) + g->timeout_ms * 1000u : 0;
}

int data_guard_prepare(
        DataGuard *g, sqlite3 *db, const char *sql, const char *field, sqlite3_stmt **ret, DataError *err) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int rc;

        g->rule = NULL;
        rc = sqlite3_prepare_v3(db, sql, -1, 0, &st, &tail);
        /* A table-valued pragma function (pragma_table_info(...)) first shows up as SQLite
         * writing its schema table while it declares the function's columns. */
        if (g->rule && streq(g->rule, DATA_RULE_NO_WRITE) && strstr(g->refused, "sqlite_master") &&
            strcasestr(sql, "pragma_")) {
                g->rule = DATA_RULE_NO_PRAGMA;
                snprintf(g->refused, sizeof(g->refused), "a PRAGMA function");
        }
        if (rc == SQLITE_AUTH || g->rule) {
                sqlite3_finalize(st);
                return data_error(
                        err,
                        403,
                        field,
                        "refused by rule %s: %s is not allowed",
                        g->rule ? g->rule : DATA_RULE_SELECT_ONLY,
                        g->rule ? g->refused : "this statement");
        }
        if (rc == SQLITE_NOMEM)
                return data_error(
                        err, 413, field, "out of memory (DATA_SQL_MEMORY_LIMIT) compiling the SQL");
        if (rc != SQLITE_OK)
                return data_error(err, 422, field, "%s", sqlite3_errmsg(db));
        if (!st)
                return data_error(err, 422, field, "no SQL statement");
        while (tail && isspace((unsigned char) *tail))
                tail++;
        if (tail && *tail == ';') {
                tail++;
                while (isspace((unsigned char) *tail))
                        tail++;
        }
        if (tail && *tail) {
                sqlite3_finalize(st);
                return data_error(
                        err,
                        403,
                        field,
                        "refused by rule %s: more than one statement is not allowed",
                        DATA_RULE_ONE_STATEMENT);
        }
        if (!sqlite3_stmt_readonly(st)) {
                sqlite3_finalize(st);
                return data_error(
                        err,
                        403,
                        field,
                        "refused by rule %s: the statement would write",
                        DATA_RULE_NO_WRITE);
        }
        *ret = st;
        return 0;
}

int data_guard_step_error(DataGuard *g, sqlite3 *db, int rc, const char *field, DataError *err) {
        if (rc == SQLITE_INTERRUPT && g->timed_out)
                return data_error(
                        err,
                        422,
                        field,
                        "the statement ran longer than %" PRIu64 " ms (DATA_QUERY_TIMEOUT)",
                        g->timeout_ms);
        if (rc == SQLITE_NOMEM || rc == SQLITE_FULL || rc == SQLITE_TOOBIG)
                return data_error(
                        err,
                        413,
                        field,
                        "the statement needs more memory than DATA_SQL_MEMORY_LIMIT allows");
        if (rc == SQLITE_ERROR || rc == SQLITE_MISMATCH || rc == SQLITE_CONSTRAINT || rc == SQLITE_RANGE)
                return data_error(err, 422, field, "%s", sqlite3_errmsg(db));
        return -EIO;
}
