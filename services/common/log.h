/* SPDX-License-Identifier: MIT */
/* log.h — structured logging. One JSON object per line on stderr; when stderr is
 * connected to the journal (JOURNAL_STREAM matches stderr's dev:ino) entries go to
 * journald natively through sd_journal_send() with fields MESSAGE, PRIORITY,
 * SERVICE, REQUEST_ID, CODE_FILE/LINE/FUNC, ERRNO and any extra KEY=value pairs.
 * Only the top caller logs; library code returns -errno and logs at debug at most. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

/* Reads LOG_LEVEL (debug|info|notice|warning|error|crit or 0-7) and JOURNAL_STREAM.
 * service is copied; it is written as "service" (SERVICE= in the journal). */
void log_init(const char *service);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "debug", "info", ... or a digit; returns the syslog level or -EINVAL. */
int log_level_from_string(const char *s);
/* Forces the output target: true = journal (sd_journal_send), false = JSON on stderr. */
void log_set_journal(bool on);

/* Per-thread request id included in every line logged on that thread (NULL clears). */
void log_set_request_id(const char *id);
const char *log_get_request_id(void);
/* Per-thread current span (trace.h): its trace_id and span_id go in every line logged on
 * that thread (TRACE_ID=, SPAN_ID= in the journal). NULL or an untraced one clears it;
 * log_get_trace() is NULL when the thread has no traced span. */
struct TraceContext;
void log_set_trace(const struct TraceContext *t);
const struct TraceContext *log_get_trace(void);

/* Core: logs at level, returns -abs(error) (or 0 if error is 0) so callers can
 * `return log_error_errno(r, "...: %m")`; %m expands to strerror(abs(error)).
 * extra is NULL or a NULL-terminated list of "KEY=value" strings added as fields. */
int log_internal(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *const *extra,
        const char *format,
        ...) _printf_(7, 8);

#define log_full_errno(level, error, ...)                                                         \
        ({                                                                                        \
                int _l_ = (level), _e_ = (error);                                                 \
                (log_get_max_level() >= _l_)                                                      \
                        ? log_internal(_l_, _e_, __FILE__, __LINE__, __func__, NULL, __VA_ARGS__) \
                        : (_e_ > 0 ? -_e_ : _e_);                                                 \
        })
#define log_full(level, ...) ((void) log_full_errno((level), 0, __VA_ARGS__))

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

/* With extra structured fields: log_fields(LOG_INFO, (const char*[]){"ROUTE=/x", NULL}, "msg") */
#define log_fields(level, extra, ...)                                                                     \
        (                                                                                                 \
                (void) ((log_get_max_level() >= (level))                                                  \
                                ? log_internal(                                                           \
                                          (level), 0, __FILE__, __LINE__, __func__, (extra), __VA_ARGS__) \
                                : 0))
