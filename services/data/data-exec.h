/* SPDX-License-Identifier: MIT */
/* data-exec.h — where a request's database work runs: on a thread of its own whose stack
 * holds the deepest recursion SQLite (and cairo, for plots) can reach under the guard's
 * limits, whatever stack the HTTP server gives its workers. The calling thread waits as
 * the work's watchdog: when the statement armed on the guard passes its deadline it
 * interrupts the database, so the work stops within one function call of it. */
#pragma once

#include "data-guard.h"

/* Measured needs: 340 KiB for a chain of 1000 CTEs (longer ones pass the compile budget,
 * DATA_SQL_MAX_COMPILE_BYTES), 135 KiB for JSON nested to SQLite's limit of 2000, about
 * as much under ASan (libsqlite3 is not instrumented); cairo and fontconfig draw plots
 * here too. Pages are only touched as they are used. */
#define DATA_EXEC_STACK (8 * 1024 * 1024)

/* Runs fn(userdata) on an executor thread and returns what it returns, watching g (which
 * data_guard_init() set up and fn may install on its database). */
int data_exec_run(DataGuard *g, int (*fn)(void *userdata), void *userdata);
