/* SPDX-License-Identifier: MIT */
/* schedule.h — the rules of a schedule, pure functions of its spec and a clock: when its
 * runs fall (cron or every), which missed runs fire after downtime (catch_up) and which
 * fire while the previous run is unfinished (overlap). The thread that applies them:
 * schedule-timer.c; the rows: job-store-schedules.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"

typedef enum ScheduleOverlap {
        SCHEDULE_OVERLAP_SKIP,  /* no run while the previous one is unfinished */
        SCHEDULE_OVERLAP_QUEUE, /* one run waits for the previous one (at most one) */
        SCHEDULE_OVERLAP_ALLOW,
        _SCHEDULE_OVERLAP_MAX,
} ScheduleOverlap;

typedef enum ScheduleCatchUp {
        SCHEDULE_CATCH_UP_NONE, /* missed runs are dropped */
        SCHEDULE_CATCH_UP_ONE,  /* the latest missed run fires, once */
        SCHEDULE_CATCH_UP_ALL,  /* every missed run fires (the last SCHEDULE_CATCH_UP_MAX) */
        _SCHEDULE_CATCH_UP_MAX,
} ScheduleCatchUp;

/* A run at most this late is on time, not missed: it fires whatever catch_up says. */
#define SCHEDULE_ON_TIME_S 30.0
/* catch_up=all fires at most this many runs at once; older ones count as missed. */
#define SCHEDULE_CATCH_UP_MAX 100
#define SCHEDULE_EVERY_MIN_MS 1000

typedef struct ScheduleTiming {
        bool cron_set;
        CronSpec cron;
        uint64_t every_ms; /* when !cron_set: runs at anchor + k * every_ms */
        double anchor;     /* Unix seconds: start_at, else creation + every */
} ScheduleTiming;

/* The first run at or after t (Unix seconds). */
int schedule_next_at(const ScheduleTiming *t, double at, double *ret);

/* The runs due at now (next_run_at <= now): which fire (times[], oldest first, *ret_n at
 * most max), how many are dropped as missed, and the next run after now. */
typedef struct SchedulePlan {
        size_t n;
        uint64_t missed;
        double next;
} SchedulePlan;
int schedule_plan(
        const ScheduleTiming *t,
        ScheduleCatchUp catch_up,
        double next_run_at,
        double now,
        double *times,
        size_t max,
        SchedulePlan *ret);

/* Of n runs due together, which fire while the previous run is unfinished or not: the
 * last one fires (fire = 1, or n with allow), one is held for later (queue), the rest
 * are skipped. held: a run is held already. */
typedef struct ScheduleOverlapDecision {
        size_t fire; /* the last fire runs of the n */
        bool hold;   /* the last run is held until the previous one is done */
        size_t skipped;
} ScheduleOverlapDecision;
ScheduleOverlapDecision
schedule_overlap_decide(ScheduleOverlap o, size_t n, bool previous_unfinished, bool held);

const char *schedule_overlap_to_string(ScheduleOverlap o);
int schedule_overlap_from_string(const char *s, ScheduleOverlap *ret);
const char *schedule_catch_up_to_string(ScheduleCatchUp c);
int schedule_catch_up_from_string(const char *s, ScheduleCatchUp *ret);
/* "30s", "5m", "2h", "1d" or a number of seconds: milliseconds. -EINVAL otherwise. */
int schedule_parse_every(const char *s, uint64_t *ret_ms);
