/* SPDX-License-Identifier: MIT */
/* data-guard.c — the authorizer and limits. Defence in depth: the authorizer is the rule,
 * sqlite3_stmt_readonly() double-checks it, stored datasets are opened read-only and
 * extensions are disabled on every handle (data_db_harden). */
#include <ctype.h>
#include <threads.h>

#include "data-funcs.h"
#include "data-guard.h"
#include "time-util.h"

/* ---- SQLite's allocations, watched per request ----------------------------------------
 * Compiling can cost more than running: each reference to a common table expression
 * expands a copy of it, so a chain that doubles at each step compiles for minutes and
 * fills the heap, with no callback on the way (neither the authorizer nor the progress
 * handler is called while SQLite expands). What it does all along is allocate: the
 * executor thread's guard is asked before each allocation, which fails once the
 * statement's compile budget is spent or its deadline has passed. */

static sqlite3_mem_methods default_mem;
static thread_local DataGuard *current; /* the guard installed on this thread */

static bool may_allocate(int n) {
        DataGuard *g = current;

        if (!g)
                return true;
        if (g->compiling) {
                g->compiled_bytes += (uint64_t) MAX(n, 0);
                if (g->compiled_bytes > DATA_SQL_MAX_COMPILE_BYTES)
                        return false;
        }
        /* A clock read is cheap but not free; SQLite allocates often. */
        if ((++g->allocations & 63) == 0 && atomic_load(&g->deadline) != 0)
                return !data_guard_expired(g);
        return !atomic_load(&g->timed_out) || atomic_load(&g->deadline) == 0;
}

static void *guarded_malloc(int n) {
        return may_allocate(n) ? default_mem.xMalloc(n) : NULL;
}

static void *guarded_realloc(void *p, int n) {
        return may_allocate(n) ? default_mem.xRealloc(p, n) : NULL;
}

int data_guard_setup(void) {
        sqlite3_mem_methods m;

        if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &default_mem) != SQLITE_OK)
                return -EBUSY;
        m = default_mem;
        m.xMalloc = guarded_malloc;
        m.xRealloc = guarded_realloc;
        return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? 0 : -EBUSY;
}

/* ---- the authorizer ------------------------------------------------------------------- */

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
                g->saw_select = true;
                return SQLITE_OK;
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
                if (!a2 || !data_funcs_allowed(a2))
                        return refuse(g, DATA_RULE_FUNCTIONS, "calling", a2);
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

int data_guard_init(DataGuard *g, uint64_t timeout_ms) {
        pthread_condattr_t attr;
        int r;

        *g = (DataGuard){ .timeout_ms = timeout_ms };
        r = pthread_mutex_init(&g->lock, NULL);
        if (r != 0)
                return -r;
        /* The watchdog sleeps until the deadline, which is on the monotonic clock. */
        r = pthread_condattr_init(&attr);
        if (r == 0) {
                r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                if (r == 0)
                        r = pthread_cond_init(&g->changed, &attr);
                pthread_condattr_destroy(&attr);
        }
        if (r != 0) {
                pthread_mutex_destroy(&g->lock);
                return -r;
        }
        return 0;
}

void data_guard_done(DataGuard *g) {
        pthread_cond_destroy(&g->changed);
        pthread_mutex_destroy(&g->lock);
}

bool data_guard_expired(DataGuard *g) {
        uint64_t d = atomic_load(&g->deadline);

        if (d != 0 && time_now_usec(CLOCK_MONOTONIC) >= d)
                atomic_store(&g->timed_out, true);
        return atomic_load(&g->timed_out);
}

static int progress(void *userdata) {
        return data_guard_expired(userdata);
}

int data_guard_install(DataGuard *g, sqlite3 *db) {
        int r = data_funcs_register(db);

        if (r < 0)
                return r;
        pthread_mutex_lock(&g->lock);
        g->db = db;
        pthread_mutex_unlock(&g->lock);
        current = g;
        sqlite3_set_authorizer(db, authorizer, g);
        /* The watchdog's sqlite3_interrupt() is the deadline that holds whatever one step
         * costs; this is the same check from inside, for callers without one. */
        sqlite3_progress_handler(db, 1000, progress, g);
        return 0;
}

void data_guard_uninstall(DataGuard *g) {
        if (current == g)
                current = NULL;
        pthread_mutex_lock(&g->lock);
        g->db = NULL;
        atomic_store(&g->deadline, 0);
        pthread_mutex_unlock(&g->lock);
}

void data_guard_arm(DataGuard *g) {
        pthread_mutex_lock(&g->lock);
        atomic_store(&g->timed_out, false);
        atomic_store(
                &g->deadline, g->timeout_ms ? time_now_usec(CLOCK_MONOTONIC) + g->timeout_ms * 1000u : 0);
        pthread_cond_broadcast(&g->changed);
        pthread_mutex_unlock(&g->lock);
}

void data_guard_disarm(DataGuard *g) {
        pthread_mutex_lock(&g->lock);
        atomic_store(&g->deadline, 0);
        pthread_mutex_unlock(&g->lock);
}

int data_guard_prepare(
        DataGuard *g, sqlite3 *db, const char *sql, const char *field, sqlite3_stmt **ret, DataError *err) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int rc;

        g->rule = NULL;
        g->saw_select = false;
        g->compiling = true;
        g->compiled_bytes = 0;
        data_guard_arm(g);
        rc = sqlite3_prepare_v3(db, sql, -1, 0, &st, &tail);
        data_guard_disarm(g);
        g->compiling = false;
        if (atomic_load(&g->timed_out) || g->compiled_bytes > DATA_SQL_MAX_COMPILE_BYTES) {
                sqlite3_finalize(st);
                if (atomic_load(&g->timed_out))
                        return data_error(
                                err,
                                422,
                                field,
                                "compiling the statement took longer than %" PRIu64
                                " ms (DATA_QUERY_TIMEOUT)",
                                g->timeout_ms);
                return data_error(
                        err,
                        422,
                        field,
                        "the statement is too complex: compiling it needs more than %d MiB",
                        DATA_SQL_MAX_COMPILE_BYTES >> 20);
        }
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
        /* Statements that compile to nothing the authorizer is asked about (REINDEX with
         * no index to rebuild, for one) are not reads either. */
        if (!g->saw_select) {
                sqlite3_finalize(st);
                return data_error(
                        err,
                        403,
                        field,
                        "refused by rule %s: a statement other than SELECT is not allowed",
                        DATA_RULE_SELECT_ONLY);
        }
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
        /* Past the deadline the statement is interrupted, or its allocations fail. */
        if ((rc == SQLITE_INTERRUPT || rc == SQLITE_NOMEM) && atomic_load(&g->timed_out))
                return data_error(
                        err,
                        422,
                        field,
                        "the statement ran longer than %" PRIu64 " ms (DATA_QUERY_TIMEOUT)",
                        g->timeout_ms);
        if (rc == SQLITE_TOOBIG)
                return data_error(
                        err,
                        413,
                        field,
                        "the statement makes a value longer than %d bytes (the SQL value limit)",
                        DATA_SQL_MAX_VALUE);
        if (rc == SQLITE_NOMEM || rc == SQLITE_FULL)
                return data_error(
                        err,
                        413,
                        field,
                        "the statement needs more memory than DATA_SQL_MEMORY_LIMIT allows");
        if (rc == SQLITE_ERROR || rc == SQLITE_MISMATCH || rc == SQLITE_CONSTRAINT || rc == SQLITE_RANGE)
                return data_error(err, 422, field, "%s", sqlite3_errmsg(db));
        return -EIO;
}
