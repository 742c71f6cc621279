/* SPDX-License-Identifier: MIT */
/* scheduler.h — the bounded priority queue and the worker pool that runs jobs. One FIFO
 * per priority; workers always take the oldest item of the highest non-empty priority. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum JobPriority {
        JOB_PRIORITY_LOW,
        JOB_PRIORITY_MEDIUM,
        JOB_PRIORITY_HIGH,
        JOB_PRIORITY_CRITICAL,
        _JOB_PRIORITY_MAX,
} JobPriority;

typedef struct Scheduler Scheduler;
/* Runs item on a worker; true when the item took the worker's slot with it (a caller
 * waiting for a slot, job-runner.c): the worker goes on without it, and whoever holds it
 * gives it back with scheduler_release(). */
typedef bool (*SchedulerRunFn)(void *item, void *userdata);
typedef void (*SchedulerDropFn)(void *item, void *userdata);

/* workers threads (started by scheduler_start) run run(item, userdata) for each item.
 * hand (NULL = none) is offered the slot a caller gives back while an item waits at the
 * head of the queue: true if that item takes it (as run does), so that no worker wakes
 * only to pass the slot on. */
int scheduler_new(
        unsigned workers,
        size_t capacity,
        SchedulerRunFn run,
        SchedulerRunFn hand,
        void *userdata,
        Scheduler **ret);
int scheduler_start(Scheduler *s);
/* Queues item; -EAGAIN when capacity items are already waiting, -ESHUTDOWN after stop. */
int scheduler_submit(Scheduler *s, void *item, JobPriority p);
/* Takes the next item without waiting (NULL if none): tests, and workers internally. */
void *scheduler_try_pop(Scheduler *s);
/* Removes a waiting item; true if it was still queued (it will not run). */
bool scheduler_remove(Scheduler *s, void *item);
/* "Caller runs": when nothing waits and a worker slot is free, takes the slot so that the
 * caller runs its item on its own thread (no hand-off to a worker and back); true if it
 * got one, which scheduler_release() gives back. Priority order is kept because it only
 * succeeds with an empty queue, and the bound because slots count either way. */
bool scheduler_try_claim(Scheduler *s);
void scheduler_release(Scheduler *s);
/* Items waiting (all priorities). */
size_t scheduler_depth(Scheduler *s);
size_t scheduler_busy(Scheduler *s);
/* Workers take no more items (queued ones stay queued); waits until the running ones are
 * done: 0, or -ETIMEDOUT when some still run after timeout_ms. */
int scheduler_drain(Scheduler *s, uint64_t timeout_ms);
/* Stops the workers after their current item; items still queued are handed to
 * drop(item, userdata) if set. */
void scheduler_free(Scheduler *s, SchedulerDropFn drop);

const char *job_priority_to_string(JobPriority p);
/* -EINVAL for anything but low|medium|high|critical. */
int job_priority_from_string(const char *s, JobPriority *ret);
