/* SPDX-License-Identifier: MIT */
/* trace.c — W3C traceparent (version 00) parsed strictly and made, ids from the uuid
 * module's random pool, and the span line (log.c writes it: journald fields or JSON keys). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "log.h"
#include "otlp.h"
#include "time-util.h"
#include "trace.h"
#include "uuid.h"

#define TRACE_EXTRA_MAX 16

static atomic_bool trace_on = true;
static atomic_uint sample_rate;
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t sample_second; /* under sample_lock: the current second, and its roots sampled */
static unsigned sample_taken;

void trace_set_enabled(bool on) {
        atomic_store(&trace_on, on);
}

bool trace_enabled(void) {
        return atomic_load(&trace_on);
}

void trace_set_sample_rate(unsigned per_second) {
        atomic_store(&sample_rate, per_second);
}

/* At most sample_rate new traces in each second of the monotonic clock. */
static bool sample_root(void) {
        unsigned rate = atomic_load(&sample_rate);
        uint64_t second;
        bool yes;

        if (rate == 0)
                return true;
        second = time_now_usec(CLOCK_MONOTONIC) / 1000000;
        pthread_mutex_lock(&sample_lock);
        if (second != sample_second) {
                sample_second = second;
                sample_taken = 0;
        }
        yes = sample_taken < rate;
        if (yes)
                sample_taken++;
        pthread_mutex_unlock(&sample_lock);
        return yes;
}

static bool is_lower_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* n lowercase hex digits, not all zeros (both ids are invalid when zero). */
static bool hex_id_valid(const char *s, size_t n, bool zero_ok) {
        bool nonzero = false;

        for (size_t i = 0; i < n; i++) {
                if (!is_lower_hex(s[i]))
                        return false;
                nonzero = nonzero || s[i] != '0';
        }
        return nonzero || zero_ok;
}

static uint8_t hex_value(char c) {
        return (uint8_t) (c <= '9' ? c - '0' : c - 'a' + 10);
}

int trace_parse(const char *tp, TraceContext *ret) {
        const char *tid, *sid, *fl;
        TraceContext c = {};

        if (!tp || strlen(tp) != TRACEPARENT_LEN)
                return -EINVAL;
        tid = tp + 3;
        sid = tid + TRACE_ID_HEX + 1;
        fl = sid + TRACE_SPAN_ID_HEX + 1;
        if (tp[0] != '0' || tp[1] != '0' || tp[2] != '-' || tid[TRACE_ID_HEX] != '-' ||
            sid[TRACE_SPAN_ID_HEX] != '-')
                return -EINVAL;
        if (!hex_id_valid(tid, TRACE_ID_HEX, false) || !hex_id_valid(sid, TRACE_SPAN_ID_HEX, false) ||
            !hex_id_valid(fl, 2, true))
                return -EINVAL;
        memcpy(c.trace_id, tid, TRACE_ID_HEX);
        memcpy(c.span_id, sid, TRACE_SPAN_ID_HEX);
        c.flags = (uint8_t) (hex_value(fl[0]) << 4 | hex_value(fl[1]));
        *ret = c;
        return 0;
}

/* n random bytes as 2n hex digits; never all zeros. */
static int random_hex(char *ret, size_t n) {
        static const char hex[] = "0123456789abcdef";
        uint8_t b[16], any = 0;
        int r;

        if (n > sizeof(b))
                return -EINVAL;
        while (any == 0) {
                r = uuid_random_bytes(b, n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        any |= b[i];
        }
        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = hex[b[i] >> 4];
                ret[2 * i + 1] = hex[b[i] & 0x0f];
        }
        ret[2 * n] = '\0';
        return 0;
}

int trace_child(const TraceContext *parent, TraceContext *ret) {
        TraceContext c = {};
        int r;

        if (parent && parent->trace_id[0]) {
                memcpy(c.trace_id, parent->trace_id, sizeof(c.trace_id));
                memcpy(c.parent_id, parent->span_id, sizeof(c.parent_id));
                c.flags = parent->flags;
        } else {
                r = random_hex(c.trace_id, TRACE_ID_HEX / 2);
                if (r < 0)
                        return r;
                c.flags = sample_root() ? TRACE_FLAG_SAMPLED : 0;
        }
        r = random_hex(c.span_id, TRACE_SPAN_ID_HEX / 2);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

void trace_format(const TraceContext *ctx, char ret[static TRACEPARENT_LEN + 1]) {
        snprintf(ret, TRACEPARENT_LEN + 1, "00-%s-%s-%02x", ctx->trace_id, ctx->span_id, ctx->flags);
}

const char *trace_outcome(int status) {
        if (status >= 100 && status < 400)
                return "ok";
        if (status >= 400 && status < 500)
                return "rejected";
        return "failed";
}

static const char *const kind_names[] = {
        [TRACE_SPAN_SERVER] = "server",
        [TRACE_SPAN_CLIENT] = "client",
        [TRACE_SPAN_INTERNAL] = "internal",
};

void trace_log_span(
        int level,
        const TraceContext *span,
        TraceSpanKind kind,
        const char *name,
        uint64_t duration_usec,
        const char *outcome,
        const char *const *extra,
        const char *format,
        ...) {
        char f_parent[32], f_name[300], f_kind[24], f_start[48], f_dur[48], f_outcome[48], msg[1024];
        const char *fields[6 + TRACE_EXTRA_MAX + 1];
        const TraceContext *cur;
        TraceContext saved = {};
        uint64_t start_us;
        size_t n = 0;
        va_list ap;

        if (!trace_sampled(span) || !trace_enabled())
                return;
        start_us = time_now_usec(CLOCK_REALTIME) - duration_usec;
        if (otlp_active()) /* whatever the log level */
                otlp_add(span, kind, name, start_us, duration_usec, outcome);
        if (log_get_max_level() < level)
                return;
        snprintf(f_name, sizeof(f_name), "SPAN_NAME=%.280s", strempty(name));
        snprintf(f_kind, sizeof(f_kind), "SPAN_KIND=%s", kind_names[kind]);
        snprintf(f_start, sizeof(f_start), "START_US=%" PRIu64, start_us);
        snprintf(f_dur, sizeof(f_dur), "DURATION_MS=%.3f", (double) duration_usec / 1000.0);
        snprintf(f_outcome, sizeof(f_outcome), "OUTCOME=%.30s", strempty(outcome));
        fields[n++] = f_name;
        fields[n++] = f_kind;
        if (span->parent_id[0]) {
                snprintf(f_parent, sizeof(f_parent), "PARENT_SPAN_ID=%s", span->parent_id);
                fields[n++] = f_parent;
        }
        fields[n++] = f_start;
        fields[n++] = f_dur;
        fields[n++] = f_outcome;
        for (size_t i = 0; extra && extra[i] && i < TRACE_EXTRA_MAX; i++)
                fields[n++] = extra[i];
        fields[n] = NULL;

        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        /* The line carries the span's own ids: the thread's span for its duration. */
        cur = log_get_trace();
        if (cur)
                saved = *cur;
        log_set_trace(span);
        (void) log_internal(level, 0, __FILE__, __LINE__, __func__, fields, "%s", msg);
        log_set_trace(cur ? &saved : NULL);
}
