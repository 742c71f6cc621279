/* SPDX-License-Identifier: MIT */
/* trace.h — W3C Trace Context (traceparent, version 00): strict parsing, formatting, new
 * ids, and the one span line a service logs per request it serves and per call it makes
 * (TRACE_ID, SPAN_ID, PARENT_SPAN_ID, SPAN_NAME, SPAN_KIND, START_US, DURATION_MS,
 * OUTCOME). A thread's current span lives in log.c, next to its request id, so every line
 * logged on it carries trace_id and span_id. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define TRACE_ID_HEX 32
#define TRACE_SPAN_ID_HEX 16
#define TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */

typedef struct TraceContext {
        char trace_id[TRACE_ID_HEX + 1];       /* "" = not traced */
        char span_id[TRACE_SPAN_ID_HEX + 1];   /* this span */
        char parent_id[TRACE_SPAN_ID_HEX + 1]; /* "" = a root span */
        uint8_t flags;                         /* trace-flags, kept as received (01 = sampled) */
} TraceContext;

typedef enum TraceSpanKind {
        TRACE_SPAN_SERVER,   /* a request served */
        TRACE_SPAN_CLIENT,   /* a call made */
        TRACE_SPAN_INTERNAL, /* work of its own (a queued job's run) */
} TraceSpanKind;

/* Span lines on or off (the TRACE setting; on by default). Off: no trace is started or
 * continued, so nothing is sent on and nothing is logged. */
void trace_set_enabled(bool on);
bool trace_enabled(void);

#define TRACE_FLAG_SAMPLED 0x01

/* New traces a second that are sampled (TRACE_SAMPLE_RATE): their spans are logged and
 * exported; the others are carried (ids, traceparent with flags 00) but record nothing, so
 * that load does not flood the journal. 0 (the default before a call) = every trace. */
void trace_set_sample_rate(unsigned per_second);
static inline bool trace_sampled(const TraceContext *t) {
        return t && t->trace_id[0] && (t->flags & TRACE_FLAG_SAMPLED);
}

/* Parses a version-00 traceparent: exactly 55 characters, lowercase hex, neither id all
 * zeros. ret gets the caller's span as span_id (parent_id empty). -EINVAL on any other
 * input (another version, upper case, extra characters): the caller then starts anew. */
int trace_parse(const char *traceparent, TraceContext *ret);
/* A new span under parent (its trace id and flags kept, its span the new parent_id); with
 * parent NULL or not traced, the root of a new trace (sampled within the rate). */
int trace_child(const TraceContext *parent, TraceContext *ret);
/* The traceparent header value a call made from ctx's span sends. */
void trace_format(const TraceContext *ctx, char ret[static TRACEPARENT_LEN + 1]);
/* "ok" below 400, "rejected" for 4xx, "failed" for 5xx or no answer (status 0). */
const char *trace_outcome(int status);

/* Logs span's line (at level; info for a served request's own line) that ended now and
 * lasted duration_usec, with extra (NULL or NULL-terminated "KEY=value") and a message.
 * Nothing when span is not traced or not sampled. */
void trace_log_span(
        int level,
        const TraceContext *span,
        TraceSpanKind kind,
        const char *name,
        uint64_t duration_usec,
        const char *outcome,
        const char *const *extra,
        const char *format,
        ...) _printf_(8, 9);
