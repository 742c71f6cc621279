/* SPDX-License-Identifier: MIT */
/* nlp-deadline.h — the per-request time limit: quadratic steps (TextRank's graph,
 * similarity over many texts) check it and give up with -ETIME. 0 = no limit. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "time-util.h"

static inline int nlp_deadline_check(uint64_t deadline) {
        return deadline && time_now_usec(CLOCK_MONOTONIC) > deadline ? -ETIME : 0;
}
