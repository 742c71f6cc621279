/* SPDX-License-Identifier: MIT */
/* time-util.h — the one clock of every binary (systemd's now(clockid)): CLOCK_MONOTONIC for
 * intervals, deadlines and backoffs, CLOCK_REALTIME for wall-clock times that are stored or
 * shown; absolute deadlines for the timed waits of POSIX (pthread_cond_timedwait,
 * sem_timedwait); and the one timestamp format. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 3339 UTC of secs since the epoch, "2026-01-31T12:00:00Z", or with ms >= 0 (0-999)
 * "2026-01-31T12:00:00.123Z". -EINVAL when secs has no calendar date, -ENOBUFS when buf is
 * too small (then it holds what fits). */
int time_format_rfc3339(time_t secs, int ms, char *buf, size_t size);

/* Microseconds of clock (CLOCK_MONOTONIC, CLOCK_REALTIME, ...). */
static inline uint64_t time_now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Milliseconds of clock. */
static inline uint64_t time_now_ms(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* Seconds of clock with the nanoseconds as fraction (Unix time on CLOCK_REALTIME). */
static inline double time_now_s(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Now plus timeout_ms on clock, normalized: the absolute time a timed wait on that clock
 * takes (a condition variable made with pthread_condattr_setclock(clock)). */
static inline struct timespec timespec_deadline_on(clockid_t clock, uint64_t timeout_ms) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        ts.tv_sec += (time_t) (timeout_ms / 1000);
        ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}

/* Now plus timeout_ms on CLOCK_REALTIME, the clock of a default condition variable. */
static inline struct timespec timespec_deadline_ms(uint64_t timeout_ms) {
        return timespec_deadline_on(CLOCK_REALTIME, timeout_ms);
}
