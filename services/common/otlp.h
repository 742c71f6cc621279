/* SPDX-License-Identifier: MIT */
/* otlp.h — OTLP/HTTP JSON export of the spans trace.c logs, to OTEL_EXPORTER_OTLP_ENDPOINT
 * + /v1/traces: a bounded queue filled by trace_log_span() and sent in batches by one
 * thread (once a second, or sooner at OTLP_BATCH spans). A span that finds the queue full
 * is dropped and counted, never waited for; the export never slows a request. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "trace.h"

#define OTLP_QUEUE_MAX 4096
#define OTLP_BATCH 256

/* endpoint is the collector's base URL ("http://host:4318"); service_name goes in the
 * resource's service.name. -EALREADY when started already. */
int otlp_start(const char *endpoint, const char *service_name);
/* Sends what is queued, then stops the thread (no-op when not started). */
void otlp_stop(void);
bool otlp_active(void);
/* Queues one ended span (start in Unix µs). */
void otlp_add(
        const TraceContext *span,
        TraceSpanKind kind,
        const char *name,
        uint64_t start_unix_usec,
        uint64_t duration_usec,
        const char *outcome);
/* Spans dropped so far: the queue was full, or a batch could not be delivered. */
uint64_t otlp_dropped(void);
