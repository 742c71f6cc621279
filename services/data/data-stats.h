/* SPDX-License-Identifier: MIT */
/* data-stats.h — exact descriptive statistics over numbers (sorted copies, two-pass
 * variance) and the SQL aggregates built on them: median(x), percentile(x, p),
 * stddev(x), variance(x). */
#pragma once

#include <sqlite3.h>
#include <stddef.h>

/* Linear interpolation between closest ranks (numpy's default, Python's
 * statistics.quantiles(method="inclusive")); v sorted ascending, n > 0, p in [0, 100]. */
double data_stats_percentile(const double *v, size_t n, double p);
/* Mean with compensated summation. */
double data_stats_mean(const double *v, size_t n);
/* Sample standard deviation (n - 1), like statistics.stdev and pandas; NaN for n < 2. */
double data_stats_stddev(const double *v, size_t n, double mean);
int data_stats_sort(double *v, size_t n);

/* Registers the aggregates on db. */
int data_stats_register(sqlite3 *db);
