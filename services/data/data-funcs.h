/* SPDX-License-Identifier: MIT */
/* data-funcs.h — the SQL functions user SQL may call: the allowlist the authorizer
 * consults, and bounded stand-ins for the built-ins whose cost is not bounded by the
 * size of what they return (printf's %c repeats its precision even after the result
 * passed its limit; instr and replace search in O(n·m); trim tries every character of
 * its set at every position). The stand-ins are registered over SQLite's own on every
 * guarded handle and answer exactly as they do within the bounds. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

/* Width or precision of one printf/format conversion (literal or from '*'). */
#define DATA_PRINTF_MAX 100000
/* Bytes of the character set given to trim, ltrim and rtrim. */
#define DATA_TRIM_SET_MAX 32

/* name is on the allowlist (ASCII case ignored). */
bool data_funcs_allowed(const char *name);
/* Registers the stand-ins on db. */
int data_funcs_register(sqlite3 *db);
