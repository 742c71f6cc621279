/* SPDX-License-Identifier: MIT */
/* schedule-timer.h — the one thread that fires schedules and releases delayed jobs: it
 * sleeps until the next due time and is woken when a schedule or a delayed job changes
 * (schedule_timer_kick), and, while a run waits for its previous one (overlap=queue), when
 * the store commits. With nothing due it still looks once a minute (another orchestrator's
 * schedules). */
#pragma once

#include <stdbool.h>

#include "job-runner.h"
#include "job-store.h"
#include "schedule.h"

typedef struct ScheduleTimer ScheduleTimer;

int schedule_timer_new(JobStore *store, JobRunner *runner, ScheduleTimer **ret);
int schedule_timer_start(ScheduleTimer *t);
/* Something changed: the thread looks again (NULL is a no-op). */
void schedule_timer_kick(ScheduleTimer *t);
/* One pass at now (Unix seconds): fires what is due, queues the due delayed jobs. *ret_next
 * is the next time something is due (0 = nothing), *ret_held whether a run waits for its
 * previous one. The thread's pass; tests call it with a clock of their own. */
int schedule_timer_tick(ScheduleTimer *t, double now, double *ret_next, bool *ret_held);
/* Stops and joins the thread. */
void schedule_timer_free(ScheduleTimer *t);

/* A stored schedule's timing (its cron text parsed again). */
int schedule_timing_from_row(const ScheduleRow *row, ScheduleTiming *ret);
