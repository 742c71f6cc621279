/* SPDX-License-Identifier: MIT */
/* time-util.h — absolute deadlines for the CLOCK_REALTIME waits of POSIX
 * (pthread_cond_timedwait, sem_timedwait). */
#pragma once

#include <stdint.h>
#include <time.h>

/* Now plus timeout_ms on CLOCK_REALTIME, normalized. */
static inline struct timespec timespec_deadline_ms(uint64_t timeout_ms) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t) (timeout_ms / 1000);
        ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}
