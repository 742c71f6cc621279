/* SPDX-License-Identifier: MIT */
/* data-funcs.c — the functions user SQL may call and the bounded stand-ins. Every allowed
 * function costs at most a small multiple of DATA_SQL_MAX_VALUE per call, so that the
 * watchdog's interrupt, which SQLite only notices between calls, stops a statement soon
 * after its deadline. Left out: json_patch (its object merge is quadratic: 106 s of CPU
 * for two 2 MB objects), the FTS/R-Tree helpers, fts3_tokenizer (hands out a pointer
 * into libsqlite3), load_extension, sqlite_log and the functions about the connection. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data-funcs.h"
#include "data-table.h"

static const char *const allowed[] = {
        /* scalar */
        "abs",
        "char",
        "coalesce",
        "format",
        "glob",
        "hex",
        "ifnull",
        "iif",
        "instr",
        "length",
        "like",
        "likelihood",
        "likely",
        "lower",
        "ltrim",
        "max",
        "min",
        "nullif",
        "printf",
        "quote",
        "random",
        "randomblob",
        "replace",
        "round",
        "rtrim",
        "sign",
        "soundex",
        "substr",
        "substring",
        "trim",
        "typeof",
        "unicode",
        "unlikely",
        "upper",
        "zeroblob",
        /* math */
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "ceil",
        "ceiling",
        "cos",
        "cosh",
        "degrees",
        "exp",
        "floor",
        "ln",
        "log",
        "log10",
        "log2",
        "mod",
        "pi",
        "pow",
        "power",
        "radians",
        "sin",
        "sinh",
        "sqrt",
        "tan",
        "tanh",
        "trunc",
        /* date and time */
        "current_date",
        "current_time",
        "current_timestamp",
        "date",
        "datetime",
        "julianday",
        "strftime",
        "time",
        "unixepoch",
        /* JSON (-> and ->> are functions too) */
        "->",
        "->>",
        "json",
        "json_array",
        "json_array_length",
        "json_extract",
        "json_group_array",
        "json_group_object",
        "json_insert",
        "json_object",
        "json_quote",
        "json_remove",
        "json_replace",
        "json_set",
        "json_type",
        "json_valid",
        /* aggregate, with data-stats.c's */
        "avg",
        "count",
        "group_concat",
        "sum",
        "total",
        "median",
        "percentile",
        "stddev",
        "variance",
        /* window */
        "cume_dist",
        "dense_rank",
        "first_value",
        "lag",
        "last_value",
        "lead",
        "nth_value",
        "ntile",
        "percent_rank",
        "rank",
        "row_number",
};

bool data_funcs_allowed(const char *name) {
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                if (strcasecmp(allowed[i], name) == 0)
                        return true;
        return false;
}

/* ---- SQLite's own function, called on a private handle ----------------------------- */

/* Once a stand-in has checked its arguments it hands them to SQLite's own function, which
 * stays reachable on a handle where nothing was registered over it. */
typedef struct Builtin {
        const char *name;
        sqlite3 *db;
        sqlite3_stmt
                *st[DATA_SQL_MAX_ARGS + 1]; /* "SELECT name(?1, ..., ?n)" by n, prepared when first used */
} Builtin;

static void builtin_free(void *p) {
        Builtin *b = p;

        for (size_t i = 0; i <= DATA_SQL_MAX_ARGS; i++)
                sqlite3_finalize(b->st[i]);
        sqlite3_close_v2(b->db);
        free(b);
}

static sqlite3_stmt *builtin_statement(Builtin *b, int argc) {
        char sql[64 + DATA_SQL_MAX_ARGS * 6];
        int n;

        if (argc < 0 || argc > DATA_SQL_MAX_ARGS)
                return NULL;
        if (b->st[argc])
                return b->st[argc];
        if (!b->db && data_db_open_memory(&b->db) < 0)
                return NULL;
        n = snprintf(sql, sizeof(sql), "SELECT %s(", b->name);
        for (int i = 1; i <= argc; i++)
                n += snprintf(sql + n, sizeof(sql) - (size_t) n, "%s?%d", i > 1 ? "," : "", i);
        snprintf(sql + n, sizeof(sql) - (size_t) n, ")");
        if (sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &b->st[argc], NULL) != SQLITE_OK)
                return NULL;
        return b->st[argc];
}

static void builtin_call(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        Builtin *b = sqlite3_user_data(ctx);
        sqlite3_stmt *st = builtin_statement(b, argc);
        int rc;

        if (!st) {
                sqlite3_result_error_nomem(ctx);
                return;
        }
        for (int i = 0; i < argc; i++)
                if (sqlite3_bind_value(st, i + 1, argv[i]) != SQLITE_OK) {
                        sqlite3_result_error_nomem(ctx);
                        sqlite3_reset(st);
                        return;
                }
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                sqlite3_result_value(ctx, sqlite3_column_value(st, 0));
        else if (rc == SQLITE_TOOBIG)
                sqlite3_result_error_toobig(ctx);
        else if (rc == SQLITE_NOMEM)
                sqlite3_result_error_nomem(ctx);
        else
                sqlite3_result_error(ctx, sqlite3_errmsg(b->db), -1);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
}

/* ---- printf and format ------------------------------------------------------------- */

static bool width_ok(int64_t v) {
        /* SQLite truncates the argument to int, then takes its magnitude. */
        int32_t t = (int32_t) (uint32_t) (uint64_t) v;

        return v >= -DATA_PRINTF_MAX && v <= DATA_PRINTF_MAX && t >= -DATA_PRINTF_MAX &&
                t <= DATA_PRINTF_MAX;
}

/* Walks fmt as SQLite's printf does, taking '*' widths and precisions from the arguments
 * in the same order. A conversion spec here is the longest run of flag, digit, '.', '*'
 * and 'l' characters: where SQLite ends a spec sooner, its conversion character is one of
 * those, which it does not know, and it stops printing there; so every width it uses is
 * checked (and some it would never reach). */
static bool printf_bounded(const char *fmt, int argc, sqlite3_value **argv) {
        int next = 1; /* argv[0] is the format */

        for (const char *p = fmt; *p; p++) {
                if (*p != '%')
                        continue;
                for (p++; *p && strchr("-+ #!0,123456789.*l", *p); p++) {
                        if (*p == '*') {
                                if (next < argc && !width_ok(sqlite3_value_int64(argv[next])))
                                        return false;
                                next++;
                        } else if (*p >= '0' && *p <= '9') {
                                int64_t v = 0;
                                for (; *p >= '0' && *p <= '9'; p++)
                                        if (v <= DATA_PRINTF_MAX)
                                                v = v * 10 + (*p - '0');
                                if (!width_ok(v))
                                        return false;
                                p--;
                        }
                }
                if (!*p)
                        break;
                if (*p == '%' || *p == 'n') /* take no argument */
                        continue;
                if (!strchr("dsgzqQwcouxXfeEGipr", *p))
                        break; /* SQLite prints nothing more */
                next++;
        }
        return true;
}

static void printf_call(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        const char *fmt = argc > 0 ? (const char *) sqlite3_value_text(argv[0]) : NULL;

        if (fmt && !printf_bounded(fmt, argc, argv)) {
                char msg[96];
                snprintf(
                        msg,
                        sizeof(msg),
                        "printf/format widths and precisions are limited to %d",
                        DATA_PRINTF_MAX);
                sqlite3_result_error(ctx, msg, -1);
                return;
        }
        builtin_call(ctx, argc, argv);
}

/* ---- trim, ltrim and rtrim with a character set ------------------------------------ */

static void trim_call(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        if (sqlite3_value_type(argv[1]) != SQLITE_NULL && sqlite3_value_bytes(argv[1]) > DATA_TRIM_SET_MAX) {
                char msg[96];
                snprintf(
                        msg,
                        sizeof(msg),
                        "the character set of trim is limited to %d bytes",
                        DATA_TRIM_SET_MAX);
                sqlite3_result_error(ctx, msg, -1);
                return;
        }
        builtin_call(ctx, argc, argv);
}

/* ---- instr and replace in linear time ------------------------------------------------ */

/* instr(X, Y) as SQLite answers it: NULL if either is NULL; 1 + the offset of the first Y
 * in X counted in bytes for two blobs, else in characters (the search only stops where a
 * character starts); 0 if none. memmem() finds it in O(n + m) instead of SQLite's O(n·m). */
static void instr_call(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        sqlite3_value *h = NULL, *n = NULL;
        const unsigned char *hay, *needle;
        int th = sqlite3_value_type(argv[0]), tn = sqlite3_value_type(argv[1]), nh, nn, at = 1;
        bool text = true;

        (void) argc;
        if (th == SQLITE_NULL || tn == SQLITE_NULL)
                return;
        nh = sqlite3_value_bytes(argv[0]);
        nn = sqlite3_value_bytes(argv[1]);
        if (nn > 0) {
                if (th == SQLITE_BLOB && tn == SQLITE_BLOB) {
                        hay = sqlite3_value_blob(argv[0]);
                        needle = sqlite3_value_blob(argv[1]);
                        text = false;
                } else if (th != SQLITE_BLOB && tn != SQLITE_BLOB) {
                        hay = sqlite3_value_text(argv[0]);
                        needle = sqlite3_value_text(argv[1]);
                } else {
                        /* One blob: both as text, on copies so the arguments keep their type. */
                        h = sqlite3_value_dup(argv[0]);
                        n = sqlite3_value_dup(argv[1]);
                        hay = h ? sqlite3_value_text(h) : NULL;
                        needle = n ? sqlite3_value_text(n) : NULL;
                        nh = hay ? sqlite3_value_bytes(h) : 0;
                        nn = needle ? sqlite3_value_bytes(n) : 0;
                }
                if (!needle || (nh > 0 && !hay)) {
                        sqlite3_result_error_nomem(ctx);
                        goto finish;
                }
                if (text && (needle[0] & 0xc0) == 0x80)
                        /* Y starts inside a character: only X's first byte is tried. */
                        at = nn <= nh && memcmp(hay, needle, (size_t) nn) == 0 ? 1 : 0;
                else {
                        const unsigned char *p = memmem(hay, (size_t) nh, needle, (size_t) nn);
                        if (!p)
                                at = 0;
                        else if (!text)
                                at = (int) (p - hay) + 1;
                        else
                                for (const unsigned char *q = hay + 1; q <= p; q++)
                                        at += (*q & 0xc0) != 0x80;
                }
        }
        sqlite3_result_int(ctx, at);
finish:
        sqlite3_value_free(h);
        sqlite3_value_free(n);
}

/* replace(X, Y, Z) as SQLite answers it (bytes, leftmost non-overlapping matches, X as it
 * is when Y is empty, an error past SQLITE_LIMIT_LENGTH), finding Y with memmem(). */
static void replace_call(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        const unsigned char *str, *pat, *rep, *p;
        unsigned char *out;
        size_t ns, np, nr, count = 0, len, j = 0;

        (void) argc;
        str = sqlite3_value_text(argv[0]);
        if (!str)
                return;
        ns = (size_t) sqlite3_value_bytes(argv[0]);
        pat = sqlite3_value_text(argv[1]);
        if (!pat)
                return;
        if (pat[0] == 0) {
                sqlite3_result_value(ctx, argv[0]);
                return;
        }
        np = (size_t) sqlite3_value_bytes(argv[1]);
        rep = sqlite3_value_text(argv[2]);
        if (!rep)
                return;
        nr = (size_t) sqlite3_value_bytes(argv[2]);
        for (size_t i = 0; np <= ns && (p = memmem(str + i, ns - i, pat, np)); i = (size_t) (p - str) + np)
                count++;
        len = ns - count * np + count * nr;
        if (nr > np &&
            len > (size_t) sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1)) {
                sqlite3_result_error_toobig(ctx);
                return;
        }
        out = sqlite3_malloc64(len + 1);
        if (!out) {
                sqlite3_result_error_nomem(ctx);
                return;
        }
        for (size_t i = 0;;) {
                p = np <= ns - i ? memmem(str + i, ns - i, pat, np) : NULL;
                size_t upto = p ? (size_t) (p - str) : ns;
                memcpy(out + j, str + i, upto - i);
                j += upto - i;
                if (!p)
                        break;
                memcpy(out + j, rep, nr);
                j += nr;
                i = upto + np;
        }
        out[j] = '\0';
        sqlite3_result_text64(ctx, (const char *) out, j, sqlite3_free, SQLITE_UTF8);
}

/* ---- registration ------------------------------------------------------------------ */

static int register_builtin(
        sqlite3 *db, const char *name, int argc, void (*fn)(sqlite3_context *, int, sqlite3_value **)) {
        Builtin *b = calloc(1, sizeof(Builtin));

        if (!b)
                return -ENOMEM;
        b->name = name;
        /* On failure SQLite calls builtin_free itself. */
        if (sqlite3_create_function_v2(
                    db,
                    name,
                    argc,
                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                    b,
                    fn,
                    NULL,
                    NULL,
                    builtin_free) != SQLITE_OK)
                return -ENOMEM;
        return 0;
}

int data_funcs_register(sqlite3 *db) {
        static const struct {
                const char *name;
                int argc;
                void (*fn)(sqlite3_context *, int, sqlite3_value **);
        } builtins[] = {
                { "printf", -1, printf_call }, { "format", -1, printf_call }, { "trim", 2, trim_call },
                { "ltrim", 2, trim_call },     { "rtrim", 2, trim_call },
        };
        int r;

        for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
                r = register_builtin(db, builtins[i].name, builtins[i].argc, builtins[i].fn);
                if (r < 0)
                        return r;
        }
        if (sqlite3_create_function_v2(
                    db,
                    "instr",
                    2,
                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                    NULL,
                    instr_call,
                    NULL,
                    NULL,
                    NULL) != SQLITE_OK ||
            sqlite3_create_function_v2(
                    db,
                    "replace",
                    3,
                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                    NULL,
                    replace_call,
                    NULL,
                    NULL,
                    NULL) != SQLITE_OK)
                return -ENOMEM;
        return 0;
}
