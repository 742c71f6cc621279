/* SPDX-License-Identifier: MIT */
/* nlp-deadline.h — the per-request time limit: quadratic steps (TextRank's graph,
 * similarity over many texts) check it and give up with -ETIME. 0 = no limit. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t nlp_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + ts.tv_nsec / 1000;
}

static inline int nlp_deadline_check(uint64_t deadline) {
        return deadline && nlp_now_usec() > deadline ? -ETIME : 0;
}
