/* SPDX-License-Identifier: MIT */
/* metrics.h — a small thread-safe Prometheus registry (counters, gauges, histograms
 * with label sets) rendered in text exposition format 0.0.4, plus the standard
 * process_* metrics read from /proc/self. */
#pragma once

#include <stdio.h>

#include "macro.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_LABELS 8
/* Hard cap of label sets per family: a bug that puts unbounded values in a label must
 * not turn into unbounded memory. */
#define METRICS_MAX_SERIES 4096

typedef struct MetricsRegistry MetricsRegistry;
typedef struct MetricsFamily MetricsFamily;

/* Called while rendering; writes complete families (use metrics_write_header()). */
typedef int (*MetricsCollector)(FILE *f, void *userdata);

int metrics_registry_new(MetricsRegistry **ret);
void metrics_registry_free(MetricsRegistry *r);
static inline void metrics_registry_freep(MetricsRegistry **r) {
        if (*r)
                metrics_registry_free(*r);
}

/* label_names: NULL-terminated list or NULL. Counter names must end in _total.
 * Families are owned by the registry. -EEXIST if the name is taken, -EINVAL on bad names. */
int metrics_counter_new(
        MetricsRegistry *r,
        const char *name,
        const char *help,
        const char *const *label_names,
        MetricsFamily **ret);
int metrics_gauge_new(
        MetricsRegistry *r,
        const char *name,
        const char *help,
        const char *const *label_names,
        MetricsFamily **ret);
/* buckets: strictly increasing upper bounds without +Inf; NULL = the default latency buckets. */
int metrics_histogram_new(
        MetricsRegistry *r,
        const char *name,
        const char *help,
        const char *const *label_names,
        const double *buckets,
        size_t n_buckets,
        MetricsFamily **ret);

/* label_values: as many values as the family has label names (NULL if none). */
int metrics_counter_add(MetricsFamily *f, const char *const *label_values, double v);
int metrics_gauge_set(MetricsFamily *f, const char *const *label_values, double v);
int metrics_gauge_add(MetricsFamily *f, const char *const *label_values, double delta);
int metrics_histogram_observe(MetricsFamily *f, const char *const *label_values, double v);
/* Current value of a counter/gauge series, or the count of a histogram series (tests). */
int metrics_family_get(MetricsFamily *f, const char *const *label_values, double *ret);

int metrics_registry_add_collector(MetricsRegistry *r, MetricsCollector cb, void *userdata);
/* process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds. */
int metrics_registry_add_process_collector(MetricsRegistry *r);

/* The whole registry in text format 0.0.4; *ret is NUL-terminated and owned by the caller. */
int metrics_registry_render(MetricsRegistry *r, char **ret, size_t *ret_size);

/* Helpers for collectors. */
void metrics_write_header(FILE *f, const char *name, const char *help, const char *type);
void metrics_write_label_value(FILE *f, const char *value);
void metrics_write_value(FILE *f, double v);
